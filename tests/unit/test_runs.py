from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from campaign_gitops import synthetic
from campaign_gitops.backends.base import Actor
from campaign_gitops.backends.local import LocalBackend
from campaign_gitops.models import Label
from campaign_gitops.runs import run_due
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
