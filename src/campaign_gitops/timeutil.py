from __future__ import annotations

from datetime import UTC, datetime

from campaign_gitops.errors import FatalError


def parse_at(text: str | None) -> datetime:
    """`--at`: ISO 8601; a time without an offset is taken as UTC. Default: now."""
    if text is None or text == "now":
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise FatalError(f"--at {text!r} is not an ISO 8601 time (2026-12-01T09:00:00Z)") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)
