from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import takewhile
from typing import Any

import pytest

from campaign_gitops.lifecycle import Facts, Schedule, live_state, run_times, upcoming_runs
from campaign_gitops.models.schedule import When


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def when(**kw: Any) -> Schedule:
    schedule = Schedule.from_when(When.model_validate(kw))
    assert Schedule.from_json(schedule.to_json()) == schedule
    return schedule


def state(facts: Facts, w: Schedule, now: str) -> tuple[str, bool]:
    live = live_state(facts, w, at(now))
    return live.status, live.archived


PUBLISHED = Facts(
    created_at=at("2026-11-01"), updated_at=at("2026-11-01"), published_at=at("2026-11-02")
)


def test_on_date_time_scheduled_running_completed() -> None:
    w = when(delivery="on_date_time", start="2026-12-01T09:00:00Z")
    assert state(PUBLISHED, w, "2026-12-01T08:59:59") == ("scheduled", False)
    assert state(PUBLISHED, w, "2026-12-01T09:00:00") == ("running", False)
    assert state(PUBLISHED, w, "2026-12-01T10:00:00") == ("completed", False)
    live = live_state(PUBLISHED, w, at("2026-12-01T08:00:00"))
    assert live.scheduled_at == at("2026-12-01T09:00:00") and not live.has_run


def test_user_timezone_delivery_runs_across_every_timezone() -> None:
    w = when(
        delivery="on_date_time", start="2026-12-01T09:00:00Z", preferences={"user_timezone": True}
    )
    assert state(PUBLISHED, w, "2026-12-02T10:00:00")[0] == "running"
    assert state(PUBLISHED, w, "2026-12-02T11:00:00")[0] == "completed"


def test_now_runs_at_publication() -> None:
    w = when(delivery="now")
    assert state(PUBLISHED, w, "2026-11-01T12:00:00")[0] == "draft"
    assert state(PUBLISHED, w, "2026-11-02T00:30:00")[0] == "running"
    assert state(PUBLISHED, w, "2026-11-02T01:00:00")[0] == "completed"


def test_recurring_alternates_running_and_awaiting_next_run_until_its_end() -> None:
    w = when(
        delivery="recurring",
        start="2026-12-07T09:00:00Z",
        end="2027-03-01T00:00:00Z",
        recurring={"unit": "month", "day_of_month": 7, "at": "09:00"},
    )
    runs = list(run_times(w, PUBLISHED.published_at))  # type: ignore[arg-type]
    assert runs == [at("2026-12-07T09:00"), at("2027-01-07T09:00"), at("2027-02-07T09:00")]
    assert state(PUBLISHED, w, "2026-12-07T09:30:00")[0] == "running"
    live = live_state(PUBLISHED, w, at("2026-12-20T00:00:00"))
    assert (live.status, live.scheduled_at, live.has_run) == (
        "awaiting_next_run",
        at("2027-01-07T09:00"),
        True,
    )
    assert state(PUBLISHED, w, "2027-02-07T10:00:00")[0] == "completed"


def test_weekly_recurring_on_days() -> None:
    w = when(
        delivery="recurring",
        start="2026-12-01T11:00:00Z",
        recurring={"unit": "week", "on": ["mon", "thu"], "at": "11:00"},
    )
    first = list(zip(range(4), run_times(w, PUBLISHED.published_at), strict=False))  # type: ignore[arg-type]
    assert [t.strftime("%a %d") for _, t in first] == ["Thu 03", "Mon 07", "Thu 10", "Mon 14"]


def test_multiple_dates() -> None:
    w = when(delivery="multiple_dates", dates=["2026-12-12T12:00:00Z", "2026-12-19T12:00:00Z"])
    assert state(PUBLISHED, w, "2026-12-12T12:10:00")[0] == "running"
    assert state(PUBLISHED, w, "2026-12-15T00:00:00")[0] == "awaiting_next_run"
    assert state(PUBLISHED, w, "2026-12-19T14:00:00")[0] == "completed"


@pytest.mark.parametrize("delivery", ["action", "inaction", "date_property", "api"])
def test_triggered_campaigns_run_until_their_end_or_a_stop(delivery: str) -> None:
    parts: dict[str, Any] = {
        "action": {"trigger": {"event": "X"}},
        "inaction": {"trigger": {"event": "X"}, "inaction": {"event": "Y", "within": "10m"}},
        "date_property": {"date_property": {"property": "Due"}},
        "api": {},
    }[delivery]
    w = when(delivery=delivery, start="2026-12-01T00:00:00Z", end="2027-01-01T00:00:00Z", **parts)
    assert state(PUBLISHED, w, "2026-11-20")[0] == "scheduled"
    assert state(PUBLISHED, w, "2026-12-15")[0] == "running"
    assert state(PUBLISHED, w, "2027-01-01")[0] == "completed"
    stopped = Facts(**{**PUBLISHED.__dict__, "stopped_at": at("2026-12-10")})
    assert state(stopped, w, "2026-12-15")[0] == "stopped"
    assert state(stopped, w, "2026-12-09")[0] == "running"  # the past is seen as it was


def test_stop_is_final() -> None:
    w = when(
        delivery="recurring", start="2026-12-01T11:00:00Z", recurring={"unit": "day", "at": "11:00"}
    )
    stopped = Facts(**{**PUBLISHED.__dict__, "stopped_at": at("2026-12-05")})
    assert state(stopped, w, "2027-05-01")[0] == "stopped"
    assert len(upcoming_runs(stopped, w, at("2027-05-01"))) == 4


@pytest.mark.parametrize(
    ("status", "facts", "last_active", "archived_on"),
    [
        # Seed 002: "Diwali 2024 – Push" completed on Mar 10 2024, auto-archived on Sep 10 2024.
        (
            "completed",
            Facts(at("2024-03-01"), at("2024-03-01"), published_at=at("2024-03-01")),
            "2024-03-10",
            "2024-09-10",
        ),
        # "Summer Sale – Email" stopped on Jan 15 2025, auto-archived on Jul 15 2025.
        (
            "stopped",
            Facts(
                at("2025-01-01"),
                at("2025-01-01"),
                published_at=at("2025-01-01"),
                stopped_at=at("2025-01-15"),
            ),
            "2025-01-15",
            "2025-07-15",
        ),
        # "Promo Dec 2024" created on Dec 1 2024, auto-archived on Jun 1 2025.
        ("draft", Facts(at("2024-12-01"), at("2024-12-01")), "2024-12-01", "2025-06-01"),
    ],
)
def test_seed_auto_archival_examples(
    status: str, facts: Facts, last_active: str, archived_on: str
) -> None:
    # the completed one ends its one-hour send on Mar 10
    w = when(delivery="on_date_time", start=f"{last_active}T00:00:00Z")
    day_before = at(archived_on) - timedelta(seconds=1)
    before = live_state(facts, w, day_before)
    assert (before.status, before.archived) == (status, False)
    after = live_state(facts, w, at(archived_on) + timedelta(hours=1))
    assert (after.status, after.archived) == (status, True)
    assert after.archived_at is not None and after.archived_at.date().isoformat() == archived_on


def test_pending_approval_and_rejected_override_the_schedule() -> None:
    w = when(delivery="on_date_time", start="2026-12-01T09:00:00Z")
    pending = Facts(
        at("2026-11-01"), at("2026-11-01"), approval="pending", approval_at=at("2026-11-02")
    )
    assert state(pending, w, "2026-11-01T12:00")[0] == "draft"
    assert state(pending, w, "2026-11-03")[0] == "pending_approval"
    rejected = Facts(**{**pending.__dict__, "approval": "rejected"})
    assert state(rejected, w, "2026-11-03")[0] == "rejected"
    assert live_state(rejected, w, at("2026-11-03")).scheduled_at == at("2026-12-01T09:00")


def test_manual_archive_is_permanent() -> None:
    facts = Facts(at("2026-11-01"), at("2026-11-01"), archived_at=at("2026-11-05"))
    assert state(facts, when(delivery="now"), "2026-11-04") == ("draft", False)
    assert state(facts, when(delivery="now"), "2026-11-06") == ("draft", True)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(
    unit=st.sampled_from(["day", "week", "month"]),
    every=st.integers(1, 4),
    days=st.lists(
        st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
        min_size=1,
        max_size=3,
        unique=True,
    ),
    day_of_month=st.integers(1, 31),
    offset_days=st.integers(0, 900),
)
def test_jumping_near_now_gives_the_same_runs(
    unit: str, every: int, days: list[str], day_of_month: int, offset_days: int
) -> None:
    cadence: dict[str, Any] = {"unit": unit, "every": every, "at": "09:30"}
    if unit == "week":
        cadence["on"] = days
    if unit == "month":
        cadence["day_of_month"] = day_of_month
    w = when(delivery="recurring", start="2026-01-15T08:00:00Z", recurring=cadence)
    published = at("2026-01-01")
    now = at("2026-01-15") + timedelta(days=offset_days, hours=3)
    walked = list(takewhile(lambda t: t <= now + timedelta(days=130), run_times(w, published)))
    jumped = list(
        takewhile(lambda t: t <= now + timedelta(days=130), run_times(w, published, near=now))
    )
    assert [t for t in walked if t >= now - timedelta(days=1)] == [
        t for t in jumped if t >= now - timedelta(days=1)
    ]


@settings(max_examples=300, deadline=None)
@given(
    unit=st.sampled_from(["day", "week", "month"]),
    every=st.integers(1, 5),
    days=st.lists(
        st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
        min_size=1,
        max_size=4,
        unique=True,
    ),
    day_of_month=st.integers(1, 31),
    start_offset=st.integers(0, 400),
    published_offset=st.integers(-30, 60),
)
def test_cadence_arithmetic_matches_dateutil_rrule(
    unit: str,
    every: int,
    days: list[str],
    day_of_month: int,
    start_offset: int,
    published_offset: int,
) -> None:
    from dateutil.rrule import DAILY, MONTHLY, WEEKLY, rrule, weekday

    cadence: dict[str, Any] = {"unit": unit, "every": every, "at": "07:15"}
    if unit == "week":
        cadence["on"] = days
    if unit == "month":
        cadence["day_of_month"] = day_of_month
    start = datetime(2025, 1, 1, 18, 0, tzinfo=UTC) + timedelta(days=start_offset)
    end = start + timedelta(days=700)
    w = when(delivery="recurring", start=start.isoformat(), end=end.isoformat(), recurring=cadence)
    published = start + timedelta(days=published_offset)
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    oracle = rrule(
        {"day": DAILY, "week": WEEKLY, "month": MONTHLY}[unit],
        interval=every,
        dtstart=start.replace(hour=7, minute=15),
        byweekday=[weekday(names.index(d)) for d in days] if unit == "week" else None,
        bymonthday=day_of_month if unit == "month" else None,
        until=end,
    )
    expected = [t for t in oracle if t >= max(start, published)]
    assert list(run_times(w, published)) == expected


def test_runs_between_is_the_window_from_start_to_before_end_and_limits_those_only() -> None:
    """The calendar's and the forecast's runs: a run at `start` is in, one at `end` is out,
    and `limit` counts runs in the window (runs before it, found near `start`, do not count)."""
    from campaign_gitops.lifecycle import runs_between

    w = when(
        delivery="recurring",
        start="2026-12-01T09:00:00Z",
        recurring={"unit": "day", "every": 1, "at": "09:00"},
    )
    published = at("2026-11-30T00:00")
    start, end = at("2027-06-01T09:00"), at("2027-06-05T09:00")
    every = list(takewhile(lambda t: t < end, run_times(w, published)))
    assert runs_between(w, published, start, end) == [t for t in every if t >= start]
    assert runs_between(w, published, start, end) == [
        at(f"2027-06-0{d}T09:00") for d in (1, 2, 3, 4)
    ]
    assert runs_between(w, published, start, end, limit=2) == [
        at("2027-06-01T09:00"),
        at("2027-06-02T09:00"),
    ]
    assert runs_between(w, published, end, end) == []
