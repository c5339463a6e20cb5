"""When a published campaign runs, and what its live status is at any time.

A pure function of the campaign's recorded facts (created, published, approval, stopped,
archived) and of "now": the local platform stores facts, never a status, so `--at` can show
the platform as it will be."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from itertools import islice, takewhile
from typing import Any, Literal

from dateutil.relativedelta import relativedelta
from dateutil.rrule import DAILY, MONTHLY, WEEKLY, rrule, weekday

from campaign_gitops.models.schedule import TRIGGERED, When

AUTO_ARCHIVE_AFTER = relativedelta(months=6)  # "6 months after their last active date"
SEND_WINDOW = timedelta(hours=1)  # a run of a scheduled campaign is "running" this long
USER_TIMEZONE_WINDOW = timedelta(hours=26)  # local-time delivery passes every timezone
_WEEKDAYS = {day: weekday(index) for index, day in
             enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}
_FREQ: dict[str, Any] = {"day": DAILY, "week": WEEKLY, "month": MONTHLY}


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


def _window(when: When) -> timedelta:
    return USER_TIMEZONE_WINDOW if when.preferences.user_timezone else SEND_WINDOW


def run_times(when: When, published_at: datetime) -> Iterator[datetime]:
    """Every execution of a published campaign, in order (possibly endless). Triggered
    campaigns are simulated as one batch a day over the users who qualified that day."""
    delivery = when.delivery
    if delivery == "now":
        yield published_at
    elif delivery == "on_date_time":
        yield max(when.start or published_at, published_at)
    elif delivery == "multiple_dates":
        yield from (d for d in sorted(when.dates) if d >= published_at)
    elif delivery == "recurring" and when.recurring is not None and when.start is not None:
        cadence = when.recurring
        hour, minute = map(int, cadence.at.split(":"))
        first = when.start.replace(hour=hour, minute=minute, second=0, microsecond=0)
        rule = rrule(
            _FREQ[cadence.unit], interval=cadence.every, dtstart=first,
            byweekday=[_WEEKDAYS[d] for d in cadence.on] or None,
            bymonthday=cadence.day_of_month, until=when.end,
        )
        # "the campaign will start for the specified day and ignore the creation date"
        yield from (t for t in rule if t >= published_at and t >= when.start)
    elif delivery in TRIGGERED:
        day = max(when.start or published_at, published_at)
        day = datetime.combine(day.date(), time(), tzinfo=day.tzinfo or UTC)
        while when.end is None or day < when.end:
            yield day + timedelta(days=1)  # the batch of a day runs at its end
            day += timedelta(days=1)


def _first_after(times: Iterator[datetime], now: datetime) -> tuple[list[datetime], datetime | None]:
    """The runs already started (bounded) and the next one."""
    started: list[datetime] = []
    for t in times:
        if t > now:
            return started, t
        started.append(t)
        if len(started) > 100_000:
            break
    return started, None


def live_state(facts: Facts, when: When, now: datetime) -> Live:
    archived_at = facts.archived_at if facts.archived_at and facts.archived_at <= now else None
    status, last_active, scheduled_at, has_run = _status(facts, when, now)
    if archived_at is None and status in ("completed", "stopped", "draft"):
        auto = last_active + AUTO_ARCHIVE_AFTER
        if now >= auto:
            archived_at = auto
    return Live(status, archived_at is not None, last_active, scheduled_at, has_run, archived_at)


def _status(facts: Facts, when: When, now: datetime) -> tuple[str, datetime, datetime | None, bool]:
    published = facts.published_at if facts.published_at and facts.published_at <= now else None
    started: list[datetime] = []
    upcoming = None
    if published is not None:
        horizon = min(filter(None, (now, facts.stopped_at)))
        started, upcoming = _first_after(run_times(when, published), horizon)
    elif facts.published_at is None or facts.published_at > now:
        upcoming = next(iter(run_times(when, facts.published_at or now)), None)
    has_run = bool(started)
    if facts.stopped_at and facts.stopped_at <= now:
        return "stopped", facts.stopped_at, None, has_run
    if facts.approval != "none" and facts.approval_at and facts.approval_at <= now:
        status = "pending_approval" if facts.approval == "pending" else "rejected"
        return status, max(facts.approval_at, facts.updated_at), upcoming, has_run
    if published is None:
        return "draft", min(facts.updated_at, now), upcoming, False
    if when.delivery in TRIGGERED:
        active_from = max(when.start or published, published)
        if now < active_from:
            return "scheduled", published, active_from, False
        if when.end is not None and now >= when.end:
            return "completed", when.end, None, True
        return "running", now, upcoming, has_run
    if not started:
        return "scheduled", published, upcoming, False
    last_start = started[-1]
    if now < last_start + _window(when):
        return "running", now, upcoming, True
    finished = last_start + _window(when)
    if upcoming is None or (when.end is not None and upcoming >= when.end):
        return "completed", finished, None, True
    return "awaiting_next_run", finished, upcoming, True


def upcoming_runs(facts: Facts, when: When, until: datetime, limit: int = 1000) -> list[datetime]:
    """Runs between publication and `until` (not after a stop), for reports."""
    if facts.published_at is None:
        return []
    end = min(filter(None, (until, facts.stopped_at)))
    times = takewhile(lambda t: t <= end, run_times(when, facts.published_at))
    return list(islice(times, limit))
