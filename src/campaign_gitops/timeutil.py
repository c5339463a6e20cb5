from __future__ import annotations

import email.utils
import math
import re
from datetime import UTC, datetime

from campaign_gitops.errors import FatalError

_DELAY_SECONDS = re.compile(r"\d+(\.\d+)?")


def parse_at(text: str | None) -> datetime:
    """`--at`: ISO 8601; a time without an offset is taken as UTC. Default: now."""
    if text is None or text == "now":
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise FatalError(f"--at {text!r} is not an ISO 8601 time (2026-12-01T09:00:00Z)") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def http_date(text: str | None) -> datetime | None:
    """An HTTP-date (RFC 9110 5.6.7, e.g. `Wed, 21 Oct 2026 07:28:00 GMT`) as an aware time;
    None when `text` is not one."""
    if not text:
        return None
    try:
        when = email.utils.parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def retry_after(value: str, received: datetime) -> float | None:
    """A `Retry-After` header (RFC 9110 10.2.3), delay-seconds or an HTTP-date, as the seconds
    to wait from `received`, the time the response came (never negative); None when it is
    neither. The caller bounds the wait by its own retry budget."""
    text = value.strip()
    if _DELAY_SECONDS.fullmatch(text):
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None
    when = http_date(text)
    return None if when is None else max((when - received).total_seconds(), 0.0)
