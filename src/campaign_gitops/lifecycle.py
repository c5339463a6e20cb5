"""When a published campaign runs, and what its live status is at any time.

A pure function of the campaign's recorded facts (created, published, approval, stopped,
archived) and of "now": the local platform stores facts, never a status, so `--at` can show
the platform as it will be."""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from itertools import count, islice, takewhile
from typing import Any, Literal

from dateutil.relativedelta import relativedelta

from campaign_gitops.models.schedule import TRIGGERED, When

AUTO_ARCHIVE_AFTER = relativedelta(months=6)  # "6 months after their last active date"
SEND_WINDOW = timedelta(hours=1)  # a run of a scheduled campaign is "running" this long
USER_TIMEZONE_WINDOW = timedelta(hours=26)  # local-time delivery passes every timezone
_WEEKDAY_INDEX = {day: i for i, day in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}


@dataclass(frozen=True)
class Facts:
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None = None
    approval: Literal["none", "pending", "rejected"] = "none"
    approval_at: datetime | None = None
    stopped_at: datetime | None = None
    archived_at: datetime | None = None


@dataclass(frozen=True)
class Live:
    status: str
    archived: bool
    last_active: datetime
    scheduled_at: datetime | None  # the first or next scheduled execution
    has_run: bool
    archived_at: datetime | None = None


@dataclass(frozen=True)
class Schedule:
    """The part of a campaign's `when` that decides its runs; light enough to rebuild for
    10,000 campaigns per `list` (a pydantic When is not)."""

    delivery: str
    start: datetime | None = None
    end: datetime | None = None
    dates: tuple[datetime, ...] = ()
    every: int = 1
    unit: str | None = None
    on: tuple[str, ...] = ()
    day_of_month: int | None = None
    at: str | None = None
    user_timezone: bool = False

    @classmethod
    def from_when(cls, when: When) -> Schedule:
        cadence = when.recurring
        return cls(
            delivery=when.delivery,
            start=when.start,
            end=when.end,
            dates=tuple(sorted(when.dates)),
            every=cadence.every if cadence else 1,
            unit=cadence.unit if cadence else None,
            on=tuple(cadence.on) if cadence else (),
            at=cadence.at if cadence else None,
            day_of_month=cadence.day_of_month if cadence else None,
            user_timezone=when.preferences.user_timezone,
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"delivery": self.delivery}
        for key in ("start", "end"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key).isoformat()
        if self.dates:
            out["dates"] = [d.isoformat() for d in self.dates]
        if self.unit:
            out |= {
                "every": self.every,
                "unit": self.unit,
                "on": list(self.on),
                "day_of_month": self.day_of_month,
                "at": self.at,
            }
        if self.user_timezone:
            out["user_timezone"] = True
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Schedule:
        parse = datetime.fromisoformat
        return cls(
            delivery=data["delivery"],
            start=parse(data["start"]) if "start" in data else None,
            end=parse(data["end"]) if "end" in data else None,
            dates=tuple(parse(d) for d in data.get("dates", ())),
            every=data.get("every", 1),
            unit=data.get("unit"),
            on=tuple(data.get("on", ())),
            day_of_month=data.get("day_of_month"),
            at=data.get("at"),
            user_timezone=data.get("user_timezone", False),
        )

    @property
    def window(self) -> timedelta:
        return USER_TIMEZONE_WINDOW if self.user_timezone else SEND_WINDOW


def _recurring(s: Schedule, published_at: datetime, near: datetime | None) -> Iterator[datetime]:
    """The cadence's run times by arithmetic, with the semantics of dateutil's rrule (its
    WEEKLY counts weeks from the start's Monday; a monthly day the month lacks is skipped;
    `end` is inclusive). rrule itself is the oracle in the tests: it walks every past run,
    too slow for `list` over 10,000 campaigns."""
    assert s.start is not None and s.unit is not None and s.at is not None
    hour, minute = map(int, s.at.split(":"))
    first = s.start.replace(hour=hour, minute=minute, second=0, microsecond=0)
    begin = max(published_at, s.start)
    near = max(near or begin, begin)  # no run before `begin` is wanted: jump there at least
    late = near > first
    if s.unit == "day":
        step = timedelta(days=s.every)
        k = max(0, (near - first) // step - 1) if late else 0
        candidates: Iterator[datetime] = (first + (k + i) * step for i in count())
    elif s.unit == "week":
        monday = first - timedelta(days=first.weekday())
        days = sorted(_WEEKDAY_INDEX[d] for d in s.on)
        k = max(0, (near - monday).days // (7 * s.every) - 1) if late else 0
        candidates = (
            monday + timedelta(weeks=(k + i) * s.every, days=d) for i in count() for d in days
        )
    else:
        day = s.day_of_month or first.day
        if late:
            months = (near.year - first.year) * 12 + near.month - first.month
            k = max(0, months // s.every - 1)
        else:
            k = 0
        candidates = (t for i in count() if (t := _month_day(first, (k + i) * s.every, day)))
    for misses, t in enumerate(candidates):
        if s.end is not None and t > s.end:
            return
        if t >= first and t >= begin:
            yield t
        elif misses > 5000:  # a day of month that never comes (cannot happen with day <= 31)
            return


def _month_day(first: datetime, months: int, day: int) -> datetime | None:
    year, month = divmod(first.month - 1 + months, 12)
    year += first.year
    if day > monthrange(year, month + 1)[1]:
        return None
    return first.replace(year=year, month=month + 1, day=day)


def run_times(
    s: Schedule, published_at: datetime, near: datetime | None = None
) -> Iterator[datetime]:
    """Executions of a published campaign in order (possibly endless); with `near`, starting
    shortly before that time. Triggered campaigns are simulated as one batch a day over the
    users who qualified that day, run at the day's end."""
    delivery = s.delivery
    if delivery == "now":
        yield published_at
    elif delivery == "on_date_time":
        yield max(s.start or published_at, published_at)
    elif delivery == "multiple_dates":
        yield from (d for d in s.dates if d >= published_at)
    elif delivery == "recurring":
        yield from _recurring(s, published_at, near)
    elif delivery in TRIGGERED:
        begin = max(s.start or published_at, published_at)
        day = datetime.combine(begin.date(), time(), tzinfo=begin.tzinfo or UTC)
        if near is not None and near - timedelta(days=2) > day:
            day += timedelta(days=(near - day).days - 2)
        while s.end is None or day < s.end:
            yield day + timedelta(days=1)
            day += timedelta(days=1)


def runs_between(
    s: Schedule, published_at: datetime, start: datetime, end: datetime, limit: int | None = None
) -> list[datetime]:
    """The runs from `start` (inclusive) to `end` (exclusive), in order, the first `limit` of
    them: what the calendar draws and the forecast counts."""
    times = takewhile(lambda t: t < end, run_times(s, published_at, near=start))
    return list(islice((t for t in times if t >= start), limit))


def _around(
    s: Schedule, published: datetime, now: datetime
) -> tuple[datetime | None, datetime | None, datetime | None]:
    """(first run, last run started at or before now, next run after now)."""
    first = next(run_times(s, published), None)
    if first is None or first > now:
        return first, None, first
    last = None
    for t in run_times(s, published, near=now):
        if t > now:
            return first, last, t
        last = t
    return first, last, None


def live_state(facts: Facts, when: Schedule, now: datetime) -> Live:
    archived_at = facts.archived_at if facts.archived_at and facts.archived_at <= now else None
    status, last_active, scheduled_at, has_run = _status(facts, when, now)
    if archived_at is None and status in ("completed", "stopped", "draft"):
        auto = last_active + AUTO_ARCHIVE_AFTER
        if now >= auto:
            archived_at = auto
    return Live(status, archived_at is not None, last_active, scheduled_at, has_run, archived_at)


def _status(
    facts: Facts, s: Schedule, now: datetime
) -> tuple[str, datetime, datetime | None, bool]:
    published = facts.published_at if facts.published_at and facts.published_at <= now else None
    horizon = min(filter(None, (now, facts.stopped_at)))
    if published is not None:
        first, last, upcoming = _around(s, published, horizon)
    else:
        first = last = None
        upcoming = next(run_times(s, facts.published_at or now), None)
    has_run = last is not None
    if facts.stopped_at and facts.stopped_at <= now:
        return "stopped", facts.stopped_at, None, has_run
    if facts.approval != "none" and facts.approval_at and facts.approval_at <= now:
        status = "pending_approval" if facts.approval == "pending" else "rejected"
        if published is not None:  # the run the request was made for, passed or not: the
            upcoming = _around(s, published, facts.approval_at)[2]  # rules' "after" its time
        return status, max(facts.approval_at, facts.updated_at), upcoming, has_run
    if published is None:
        return "draft", min(facts.updated_at, now), upcoming, False
    if s.delivery in TRIGGERED:
        active_from = max(s.start or published, published)
        if now < active_from:
            return "scheduled", published, active_from, False
        if s.end is not None and now >= s.end:
            return "completed", s.end, None, True
        return "running", now, upcoming, has_run
    if last is None:
        return "scheduled", published, upcoming or first, False
    if now < last + s.window:
        return "running", now, upcoming, True
    finished = last + s.window
    if upcoming is None or (s.end is not None and upcoming >= s.end):
        return "completed", finished, None, True
    return "awaiting_next_run", finished, upcoming, True


def upcoming_runs(facts: Facts, s: Schedule, until: datetime, limit: int = 1000) -> list[datetime]:
    """Runs between publication and `until` (not after a stop), for reports."""
    if facts.published_at is None:
        return []
    end = min(filter(None, (until, facts.stopped_at)))
    times = takewhile(lambda t: t <= end, run_times(s, facts.published_at))
    return list(islice(times, limit))
