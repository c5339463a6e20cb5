"""Every campaign's sends in a time window: a pure function of the desired specs, the live
statuses and the window (no clock is read: "now" is the caller's evaluation time).

The calendar page (calendar_page.py) draws these; so can any other view (a gantt chart of the
next days in a pull-request comment)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from operator import attrgetter, itemgetter
from typing import Literal, Protocol

from campaign_gitops.lifecycle import Schedule, runs_between
from campaign_gitops.models.schedule import TRIGGERED, When

SendKind = Literal["on_publish", "once", "date", "run", "triggered"]
NEW = "new"  # in the files, not on the platform yet: apply creates it
# statuses after which a campaign sends nothing more
FINISHED = frozenset({"stopped", "completed", "archived"})
# statuses of a campaign not sending yet: a `now` campaign sends when it is published (approved)
UNPUBLISHED = frozenset({NEW, "draft", "pending_approval", "rejected", "scheduled"})


class Scheduled(Protocol):
    """What the sends of a campaign are drawn from: a campaign's model, or the calendar page's
    digest of one (calendar_page.Drawn)."""

    @property
    def name(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def labels(self) -> Sequence[str]: ...
    @property
    def state(self) -> str: ...
    @property
    def when(self) -> When: ...


@dataclass(frozen=True)
class Dnd:
    start: str  # "21:00", in each user's local time
    end: str
    mode: str  # delay | discard


@dataclass(frozen=True)
class Campaign:
    """What every send of one campaign shares."""

    id: str
    name: str
    channel: str
    delivery: str
    status: str
    labels: tuple[str, ...]
    local_time: bool = False  # user_timezone or best_time: at each user's own wall time
    dnd: Dnd | None = None


@dataclass(frozen=True)
class Send:
    """One send of a campaign, or (kind "triggered") the band of time a triggered or API
    campaign sends in, from `at` to `until` (exclusive). Times are in the window's timezone."""

    campaign: Campaign
    kind: SendKind
    at: datetime
    until: datetime | None = None

    @property
    def campaign_id(self) -> str:
        return self.campaign.id


def status_of(spec: Scheduled, live_status: str | None) -> str:
    """The status drawn for a campaign: the platform's (archived wins), else the file's intent:
    `new`, `draft` or `stopped`."""
    if live_status is not None:
        return live_status
    if spec.state == "draft":
        return "draft"
    return "stopped" if spec.state == "stopped" else NEW


def sends(
    campaigns: Mapping[str, Scheduled] | Iterable[tuple[str, Scheduled]],
    live_status_by_id: Mapping[str, str],
    start: datetime,
    end: datetime,
    tz: tzinfo,
    *,
    now: datetime | None = None,
) -> list[Send]:
    """The sends in [start, end) of each campaign (id -> spec), ordered by time then id.

    `live_status_by_id`: the platform's status of each live campaign ("archived" for an
    archived one); a campaign it lacks is `new` (or the file's draft/stopped intent). `now`
    (default: `start`) is the evaluation time: a `now` campaign not sent yet sends then, and a
    stopped, completed or archived campaign sends nothing after it."""
    if end <= start:
        return []
    now = start if now is None else now
    items = campaigns.items() if isinstance(campaigns, Mapping) else campaigns
    out: list[Send] = []
    for campaign_id, spec in sorted(items, key=itemgetter(0)):
        live = live_status_by_id.get(campaign_id)
        if live is None and spec.state == "stopped":
            continue  # never created, and apply will not create it
        status = status_of(spec, live)
        out.extend(_of(campaign_id, spec, status, start, end, tz, now))
    out.sort(key=attrgetter("at"))  # stable: by id within one time
    return out


def _of(
    campaign_id: str,
    spec: Scheduled,
    status: str,
    start: datetime,
    end: datetime,
    tz: tzinfo,
    now: datetime,
) -> list[Send]:
    when = spec.when
    prefs = when.preferences
    dnd = Dnd(prefs.dnd.from_, prefs.dnd.to, prefs.dnd.mode) if prefs.dnd else None
    campaign = Campaign(
        campaign_id,
        spec.name,
        spec.channel,
        when.delivery,
        status,
        tuple(spec.labels),
        prefs.user_timezone or prefs.best_time,
        dnd,
    )
    # a finished campaign's sends up to now happened; none come after
    stop = min(end, now) if status in FINISHED else end

    def send(kind: SendKind, at: datetime, until: datetime | None = None) -> Send:
        return Send(
            campaign, kind, at.astimezone(tz), None if until is None else until.astimezone(tz)
        )

    delivery = when.delivery
    if delivery in TRIGGERED:
        # api campaigns send on API calls at any time: a band too. One not live yet and
        # without a start starts sending when apply publishes it
        begin = when.start or (now if status in UNPUBLISHED else start)
        band_start, band_end = max(begin, start), min(when.end or stop, stop)
        return [send("triggered", band_start, band_end)] if band_start < band_end else []
    if delivery == "now":
        sent = status not in UNPUBLISHED and status != "running"
        return [] if sent or not start <= now < stop else [send("on_publish", now)]
    if delivery == "on_date_time":
        assert when.start is not None  # the model requires it
        return [send("once", when.start)] if start <= when.start < stop else []
    if delivery == "multiple_dates":
        return [send("date", d) for d in sorted(when.dates) if start <= d < stop]
    schedule = Schedule.from_when(when)
    assert schedule.start is not None
    return [send("run", t) for t in runs_between(schedule, schedule.start, start, stop)]


def day_starts(first: date, days: int, tz: tzinfo) -> list[datetime]:
    """Midnight in `tz` of each day of the window, and of the day after the last (days + 1
    times; a day with a daylight-saving change is 23 or 25 hours long)."""
    return [datetime.combine(first + timedelta(days=k), time(), tz) for k in range(days + 1)]
