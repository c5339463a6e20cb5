from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaign_gitops.backends.base import Actor
from campaign_gitops.backends.local import LocalBackend
from campaign_gitops.embedded import synthetic
from campaign_gitops.embedded.runs import CONVERSION, run_due
from campaign_gitops.models import Label
from campaign_gitops.sqlite_util import DatabaseUnusable
from tests.helpers import at, spec

ME = Actor("me@shop.example")
T0 = at("2026-11-23T10:00:00")
ONE_OFF = {"delivery": "on_date_time", "start": "2026-12-01T09:00:00Z"}


@pytest.fixture
def platform(tmp_path: Path) -> LocalBackend:
    backend = LocalBackend(tmp_path / "platform.db")
    synthetic.generate(backend.profiles_path(), 4000, seed=3, now=T0)
    backend.db.executemany(
        "INSERT INTO saved_segments VALUES (?, ?)",
        [(k, json.dumps(v)) for k, v in synthetic.SAVED_SEGMENTS.items()],
    )
    backend.create_label(Label(name="Promotions"))
    return backend


def runs_of(platform: LocalBackend, key: str) -> list[dict[str, Any]]:
    rows = platform.db.execute(
        "SELECT r.* FROM runs r JOIN campaigns c ON c.pk = r.campaign_pk WHERE c.key = ? "
        "ORDER BY run_at",
        (key,),
    )
    return [dict(row) for row in rows]


def test_one_run_and_its_figures_add_up(platform: LocalBackend) -> None:
    platform.create_campaign(
        "p",
        spec(
            when=ONE_OFF,
            who={"control_group": {"percent": 10}},
            goal={"event": "Charged", "within": "3d"},
        ),
        publish=True,
        actor=ME,
        now=T0,
    )
    assert run_due(platform, at("2026-11-30")) == 0  # not due yet
    assert run_due(platform, at("2026-12-02")) == 1
    assert run_due(platform, at("2026-12-03")) == 0  # recorded once
    (run,) = runs_of(platform, "p")
    assert run["qualified"] == 4000
    assert 300 < run["held_out"] < 500
    assert run["sent"] == run["qualified"] - run["held_out"]
    assert run["viewed"] > run["clicked"] > run["converted"] > 0


def test_safety_limit_skips_the_run_and_says_why(platform: LocalBackend) -> None:
    platform.create_campaign(
        "s",
        spec(when=ONE_OFF, who={"targeting_cap": {"safety_limit": 100}}),
        publish=True,
        actor=ME,
        now=T0,
    )
    (row,) = platform.report(at("2026-12-02"))
    assert row.sent == 0 and row.qualified == 4000
    assert row.skipped == ("safety limit: 4000 users qualified, more than 100; nothing was sent",)


@pytest.mark.parametrize(("per", "expected"), [("run", [50, 50]), ("campaign", [50, 0])])
def test_targeting_cap(platform: LocalBackend, per: str, expected: list[int]) -> None:
    when = {"delivery": "multiple_dates", "dates": ["2026-12-01T09:00:00Z", "2026-12-08T09:00:00Z"]}
    platform.create_campaign(
        "c",
        spec(when=when, who={"targeting_cap": {"limit": 50, "per": per}}),
        publish=True,
        actor=ME,
        now=T0,
    )
    run_due(platform, at("2026-12-09"))
    assert [r["sent"] for r in runs_of(platform, "c")] == expected


def test_dnd_discard_and_delay(platform: LocalBackend) -> None:
    # 09:00 UTC is 14:30 in India and 01:00 in San Francisco: DND 21:00-09:00 local
    prefs = {"dnd": {"from": "21:00", "to": "09:00", "mode": "discard"}}
    platform.create_campaign(
        "discard", spec(when=ONE_OFF | {"preferences": prefs}), publish=True, actor=ME, now=T0
    )
    delay = {"dnd": {"from": "21:00", "to": "09:00", "mode": "delay"}}
    platform.create_campaign(
        "delay", spec(when=ONE_OFF | {"preferences": delay}), publish=True, actor=ME, now=T0
    )
    run_due(platform, at("2026-12-02"))
    (discarded,) = runs_of(platform, "discard")
    (delayed,) = runs_of(platform, "delay")
    assert discarded["dnd_discarded"] == delayed["dnd_delayed"] > 0
    assert discarded["sent"] == 4000 - discarded["dnd_discarded"]
    assert delayed["sent"] == 4000


def test_user_timezone_delivery_sends_at_local_time_outside_dnd(platform: LocalBackend) -> None:
    prefs = {"dnd": {"from": "21:00", "to": "09:00", "mode": "discard"}, "user_timezone": True}
    platform.create_campaign(
        "tz", spec(when=ONE_OFF | {"preferences": prefs}), publish=True, actor=ME, now=T0
    )
    run_due(platform, at("2026-12-03"))
    (run,) = runs_of(platform, "tz")
    assert run["dnd_discarded"] == 0 and run["sent"] == 4000


def test_channel_reachability(platform: LocalBackend) -> None:
    email = spec(
        channel="email",
        when=ONE_OFF,
        what={"content": {"subject": "s", "body": "b", "sender_name": "n"}},
    )
    platform.create_campaign("mail", email, publish=True, actor=ME, now=T0)
    run_due(platform, at("2026-12-02"))
    (run,) = runs_of(platform, "mail")
    assert 2600 < run["qualified"] < 3400  # has an email and has not unsubscribed


def test_notification_sent_events_carry_the_labels(platform: LocalBackend) -> None:
    platform.create_campaign(
        "l",
        spec(
            when=ONE_OFF,
            labels=["Promotions"],
            who={"segment": {"geography": {"country": "France"}}},
        ),
        publish=True,
        actor=ME,
        now=T0,
    )
    run_due(platform, at("2026-12-02"))
    rows = platform.db.execute("SELECT labels, COUNT(*) FROM notification_sent GROUP BY labels")
    ((labels, count),) = rows.fetchall()
    assert json.loads(labels) == ["Promotions"]
    assert count == runs_of(platform, "l")[0]["sent"] > 0


def test_triggered_campaigns_run_daily_over_users_who_did_the_event(platform: LocalBackend) -> None:
    when = {
        "delivery": "inaction",
        "trigger": {"event": "Added To Cart"},
        "inaction": {"event": "Charged", "within": "10m"},
        "start": "2026-11-24T00:00:00Z",
    }
    platform.create_campaign("cart", spec(when=when), publish=True, actor=ME, now=T0)
    run_due(platform, at("2026-12-01T01:00"))
    runs = runs_of(platform, "cart")
    assert len(runs) == 7
    assert all(0 < r["qualified"] < 200 for r in runs)


def test_no_runs_while_pending_approval_and_none_after_a_stop(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "wf.db", workflow=True)
    synthetic.generate(backend.profiles_path(), 500, seed=1, now=T0)
    c = backend.create_campaign("w", spec(when=ONE_OFF), publish=True, actor=ME, now=T0)
    assert run_due(backend, at("2026-12-02")) == 0
    daily = {
        "delivery": "recurring",
        "start": "2026-11-24T09:00:00Z",
        "recurring": {"unit": "day", "at": "09:00"},
    }
    d = backend.create_campaign(
        "d", spec(when=daily), publish=True, actor=Actor("boss@x", "approver"), now=T0
    )
    backend.stop(d.platform_id, actor=ME, now=at("2026-11-27"))
    run_due(backend, at("2026-12-10"))
    assert len(runs_of(backend, "d")) == 3 and not runs_of(backend, c.id)


def test_report_rows(platform: LocalBackend) -> None:
    platform.create_campaign(
        "r",
        spec(when=ONE_OFF, goal={"event": "Charged", "within": "1d"}),
        publish=True,
        actor=ME,
        now=T0,
    )
    (row,) = platform.report(at("2026-12-05"))
    assert (row.id, row.status, row.channel, row.created_by) == ("r", "completed", "push", ME.email)
    assert row.sent == 4000 and 0 < row.conversions < row.sent
    assert row.conversion_rate == pytest.approx(row.conversions / row.sent)


# -- conversions and time (issue #18) ------------------------------------------------------

GOAL = {"event": "Charged", "within": "1d"}


def conversions_of(platform: LocalBackend, key: str) -> list[tuple[str, int, str]]:
    rows = platform.db.execute(
        "SELECT v.run_at, v.user_idx, v.at FROM conversions v "
        "JOIN campaigns c ON c.pk = v.campaign_pk WHERE c.key = ? ORDER BY v.run_at, v.user_idx",
        (key,),
    )
    return [tuple(row) for row in rows]


def seeded(path: Path, seed: int, users: int = 4000) -> LocalBackend:
    backend = LocalBackend(path)
    synthetic.generate(backend.profiles_path(), users, seed=seed, now=T0)
    backend.create_label(Label(name="Promotions"))
    return backend


def test_conversions_follow_the_channel_rate_within_the_goal_window(
    platform: LocalBackend,
) -> None:
    platform.create_campaign("g", spec(when=ONE_OFF, goal=GOAL), publish=True, actor=ME, now=T0)
    platform.create_campaign("n", spec(when=ONE_OFF), publish=True, actor=ME, now=T0)
    rows = {r.id: r for r in platform.report(at("2026-12-03"))}
    assert rows["g"].sent == rows["n"].sent == 4000
    assert rows["g"].conversion_rate == pytest.approx(CONVERSION["push"], abs=0.01)
    assert rows["n"].conversions == 0 and not conversions_of(platform, "n")  # no goal
    window = timedelta(days=1)
    for run_at, _, converted_at in conversions_of(platform, "g"):
        sent = datetime.fromisoformat(run_at)
        assert sent < datetime.fromisoformat(converted_at) <= sent + window
    # a conversion counts from its own time: an hour after the send only the early ones
    (early,) = [r for r in platform.report(at("2026-12-01T10:00")) if r.id == "g"]
    assert early.sent == 4000 and 0 < early.conversions < rows["g"].conversions


def test_conversions_are_deterministic_per_seed(tmp_path: Path) -> None:
    def converted(name: str, seed: int) -> list[tuple[str, int, str]]:
        backend = seeded(tmp_path / f"{name}.db", seed)
        backend.create_campaign("g", spec(when=ONE_OFF, goal=GOAL), publish=True, actor=ME, now=T0)
        backend.report(at("2026-12-03"))
        return conversions_of(backend, "g")

    first = converted("a", 3)
    assert first and converted("b", 3) == first
    assert converted("c", 5) != first


DAILY = {
    "delivery": "recurring",
    "start": "2026-11-24T09:00:00Z",
    "recurring": {"unit": "day", "at": "09:00"},
}


def figures(rows: list[Any]) -> dict[str, tuple[Any, ...]]:
    return {
        r.id: (r.status, r.runs, r.qualified, r.held_out, r.sent, r.conversions, r.skipped)
        for r in rows
    }


def mixed(path: Path) -> LocalBackend:
    """A platform with campaigns of every kind of run: one-off, recurring with a campaign
    cap, triggered, multiple dates, each with a goal."""
    backend = seeded(path, 3, users=600)
    campaigns = {
        "once": spec(when=ONE_OFF, goal=GOAL),
        "daily": spec(
            when=DAILY,
            goal={"event": "Charged", "within": "2d"},
            who={"targeting_cap": {"limit": 2000, "per": "campaign"}},
        ),
        "cart": spec(
            when={
                "delivery": "action",
                "trigger": {"event": "Added To Cart"},
                "start": "2026-11-24T00:00:00Z",
            },
            goal=GOAL,
        ),
        "dates": spec(
            channel="in_app",
            what={"content": {"title": "t", "body": "b"}},
            when={
                "delivery": "multiple_dates",
                "dates": ["2026-11-30T12:00:00+05:30", "2026-12-10T12:00:00+05:30"],
            },
            goal={"event": "Charged", "within": "3d"},
        ),
    }
    for key, doc in campaigns.items():
        backend.create_campaign(key, doc, publish=True, actor=ME, now=T0)
    return backend


def test_an_earlier_report_counts_nothing_recorded_for_later(tmp_path: Path) -> None:
    ahead = mixed(tmp_path / "ahead.db")
    later = figures(ahead.report(at("2027-01-15")))
    assert later["once"][4] == 600 and later["dates"][1] == 2
    before = figures(ahead.report(at("2026-11-30T06:00")))  # 11:30 in India: not yet
    assert before["once"][1:] == (0, 0, 0, 0, 0, ())
    assert before["dates"][0] == "scheduled" and before["dates"][4] == 0
    assert figures(mixed(tmp_path / "first.db").report(at("2026-11-30T06:00"))) == before


@given(
    st.lists(st.integers(0, 60 * 24), min_size=1, max_size=3),
    st.integers(0, 60 * 24),
)
@settings(max_examples=15, deadline=None, database=None, derandomize=True)
def test_a_report_at_t_is_the_same_whatever_later_times_came_first(
    tmp_path_factory: pytest.TempPathFactory, ahead: list[int], t: int
) -> None:
    """Reports at T + each of `ahead` hours first, then at T (hours after 2026-11-23)."""
    when = T0 + timedelta(hours=t)
    folder = tmp_path_factory.mktemp("report")
    queried = mixed(folder / "queried.db")
    for hours in ahead:
        queried.report(when + timedelta(hours=hours))
    assert figures(queried.report(when)) == figures(mixed(folder / "fresh.db").report(when))


def test_a_write_drops_the_runs_recorded_ahead_of_it(tmp_path: Path) -> None:
    def stopped(name: str, look_ahead: bool) -> LocalBackend:
        backend = seeded(tmp_path / f"{name}.db", 3, users=600)
        c = backend.create_campaign(
            "d", spec(when=DAILY, goal=GOAL), publish=True, actor=ME, now=T0
        )
        if look_ahead:
            backend.report(at("2026-12-20"))
        backend.stop(c.platform_id, actor=ME, now=at("2026-12-05"))
        return backend

    ahead = figures(stopped("ahead", True).report(at("2026-12-20")))
    assert ahead == figures(stopped("fresh", False).report(at("2026-12-20")))
    assert ahead["d"][:2] == ("stopped", 11)  # 24 Nov .. 4 Dec


def test_runs_before_an_edit_keep_the_spec_they_ran_with(platform: LocalBackend) -> None:
    platform.create_label(Label(name="Winter"))
    c = platform.create_campaign(
        "d", spec(when=DAILY, labels=["Promotions"]), publish=True, actor=ME, now=T0
    )
    platform.update_campaign(
        c.platform_id,
        spec(when=DAILY, labels=["Promotions", "Winter"]),
        frozenset({"labels"}),
        actor=ME,
        now=at("2026-11-26T12:00"),
    )
    platform.report(at("2026-11-28T12:00"))  # no read before the edit
    rows = platform.db.execute("SELECT at, labels FROM notification_sent GROUP BY at ORDER BY at")
    assert [(t[:10], json.loads(labels)) for t, labels in rows] == [
        ("2026-11-24", ["Promotions"]),
        ("2026-11-25", ["Promotions"]),
        ("2026-11-26", ["Promotions"]),
        ("2026-11-27", ["Promotions", "Winter"]),
        ("2026-11-28", ["Promotions", "Winter"]),
    ]


def test_a_platform_file_of_the_previous_format_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    backend = seeded(path, 3, users=300)
    backend.create_campaign("g", spec(when=ONE_OFF, goal=GOAL), publish=True, actor=ME, now=T0)
    expected = figures(backend.report(at("2026-12-03")))
    # as the previous version left it: no conversions table, runs in the schedule's offset
    backend.db.execute("DROP TABLE conversions")
    backend.db.execute("UPDATE runs SET run_at = '2026-12-01T10:00:00+01:00', converted = 7")
    backend.db.execute("PRAGMA user_version = 0")
    backend.close()
    reopened = LocalBackend(path)
    assert tuple(reopened.db.execute("SELECT COUNT(*) FROM runs").fetchone()) == (0,)
    assert figures(reopened.report(at("2026-12-03"))) == expected
    reopened.db.execute("PRAGMA user_version = 99")
    reopened.close()
    with pytest.raises(DatabaseUnusable, match="newer campaign-gitops"):
        LocalBackend(path)


def test_the_readme_lists_the_conversion_rates() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    header = "  | push | in-app | app inbox | email | SMS | WhatsApp | web push |"
    lines = readme[readme.index(header) :].splitlines()
    listed = [float(cell.strip(" %")) / 100 for cell in lines[2].strip(" |").split("|")]
    assert listed == pytest.approx(list(CONVERSION.values()))


def test_a_saved_segment_the_platform_lacks_skips_the_run(platform: LocalBackend) -> None:
    daily = spec(when=DAILY, who={"segment": {"saved": "Nobody saved this"}})
    c = platform.create_campaign("s", daily, publish=True, actor=ME, now=T0)
    # a write after its runs were due still works: they are recorded as skipped
    platform.stop(c.platform_id, actor=ME, now=at("2026-11-25T12:00"))
    (row,) = platform.report(at("2026-11-26"))
    assert (row.runs, row.sent) == (2, 0)
    assert row.skipped[0] == (
        "no saved segment named 'Nobody saved this' on the platform; nothing was sent"
    )
