"""`[global_limits]` and `[safety]` of the config: the platform's frequency caps ("3/day",
"10/7d", a dwell time) and the plan's blast-radius thresholds.

A limit counts messages per user over whole UTC days: "3/day" is at most three on one calendar
day, "10/7d" at most ten over the day of the send and the six before it. The forecast works in
days too, so both read a limit the same way."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from campaign_gitops.models.common import Strict, fail, parse_duration

RATE_RE = re.compile(r"^([1-9][0-9]*)/(day|week|([1-9][0-9]*)([dw]))$")
RATE_HINT = 'N/day, N/week, N/<days>d or N/<weeks>w (e.g. "3/day", "10/7d")'
MAX_DAYS = 30  # the longest period, and forecast horizon, a plan looks over
MAX_COUNT = 10_000
MIN_DWELL, MAX_DWELL = timedelta(minutes=5), timedelta(days=7)
RateText = Annotated[
    str,
    Field(
        json_schema_extra={"pattern": RATE_RE.pattern},
        description=f"At most N messages a user per period: {RATE_HINT}",
    ),
]


@dataclass(frozen=True)
class Rate:
    count: int
    days: int


@dataclass(frozen=True)
class Rule:
    """One limit: at most `count` messages of `scope` (a channel, or "all") per user over
    `days` UTC days."""

    scope: str
    count: int
    days: int

    @property
    def text(self) -> str:
        period = "day" if self.days == 1 else f"{self.days}d"
        return f"{self.scope} {self.count}/{period}"

    def covers(self, channel: str) -> bool:
        return self.scope in ("all", channel)


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # as TOML writes it


def parse_rate(text: str) -> Rate:
    """`"3/day"` -> Rate(3, 1); ValueError with the accepted forms otherwise."""
    found = RATE_RE.fullmatch(text.strip())
    if not found:
        if re.fullmatch(r"\s*[0-9]+\s*/\s*[0-9]*\s*(m|h|min|minutes?|hours?)\s*", text):
            raise ValueError(
                f"{_q(text)}: a limit's period is whole days (the dwell time is the gap within a "
                f"day); write {RATE_HINT}"
            )
        if re.fullmatch(r"\s*0+\s*/.*", text):
            raise ValueError(f"{_q(text)}: a limit allows at least one message; write {RATE_HINT}")
        raise ValueError(f"{_q(text)} is not a limit; write {RATE_HINT}")
    count = int(found[1])
    if found[2] in ("day", "week"):
        days = 1 if found[2] == "day" else 7
    else:
        days = int(found[3]) * (7 if found[4] == "w" else 1)
    if days > MAX_DAYS:
        raise ValueError(f"{_q(text)}: the period is {days} days; at most {MAX_DAYS}")
    if count > MAX_COUNT:
        raise ValueError(f"{_q(text)}: at most {MAX_COUNT:,} messages a period")
    return Rate(count, days)


def parse_dwell(text: str) -> timedelta:
    try:
        dwell = parse_duration(text.strip())
    except ValueError:
        raise ValueError(
            f'{_q(text)} is not a duration; write a number and a unit m, h, d or w (e.g. "30m")'
        ) from None
    if not MIN_DWELL <= dwell <= MAX_DWELL:
        raise ValueError(f"{_q(text)}: the dwell time is from 5 minutes (5m) to 7 days (7d)")
    return dwell


class GlobalLimits(Strict):
    """The account's global campaign limits (the platform's frequency caps): a campaign with
    `when.preferences.ignore_global_limits: true` is exempt from them."""

    all: RateText | None = Field(None, description="Messages of every channel together")
    push: RateText | None = None
    in_app: RateText | None = None
    app_inbox: RateText | None = None
    email: RateText | None = None
    sms: RateText | None = None
    whatsapp: RateText | None = None
    web_push: RateText | None = None
    web_popup: RateText | None = None
    web_exit_intent: RateText | None = None
    native_display: RateText | None = None
    web_native_display: RateText | None = None
    webhook: RateText | None = None
    facebook_audience: RateText | None = None
    google_ads: RateText | None = None
    tiktok_audience: RateText | None = None
    segment_export: RateText | None = None
    dwell: str | None = Field(
        None,
        description="The least gap between two messages to one user, any channels: 5m to 7d",
    )
    on_exceed: Literal["warn", "block"] = Field(
        "warn",
        description="A change the plan forecasts to push users past a limit: a warning, or "
        "a blocked change",
    )
    forecast_days: int = Field(7, ge=1, le=MAX_DAYS, description="Days the plan looks ahead")

    @field_validator("*")
    @classmethod
    def _rate(cls, value: object, info: ValidationInfo) -> object:
        name = str(info.field_name)
        if value is None or not isinstance(value, str) or name in ("on_exceed",):
            return value
        try:
            parse_dwell(value) if name == "dwell" else parse_rate(value)
        except ValueError as exc:
            raise fail("config-bad-limit", "{why}", why=str(exc)) from None
        return value

    def rules(self) -> list[Rule]:
        found = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name not in ("dwell", "on_exceed", "forecast_days") and value is not None:
                rate = parse_rate(value)
                found.append(Rule(name, rate.count, rate.days))
        return found

    @property
    def dwell_time(self) -> timedelta | None:
        return parse_dwell(self.dwell) if self.dwell is not None else None

    @property
    def active(self) -> bool:
        return bool(self.rules()) or self.dwell is not None


class Safety(Strict):
    """Blast-radius thresholds: a plan above one is refused unless --force is given (as
    octodns refuses a plan updating too many records without --force)."""

    max_reach: int | None = Field(
        None, ge=0, description="Users the plan's changes reach together, at most"
    )
    max_changed_percent: float | None = Field(
        None,
        gt=0,
        le=100,
        description="Managed campaigns a plan changes (updates, stops, archives...), at most, "
        "in percent",
    )
    min_managed: int = Field(
        10,
        ge=1,
        description="max_changed_percent applies from this many managed campaigns (octodns's "
        "MIN_EXISTING_RECORDS)",
    )
