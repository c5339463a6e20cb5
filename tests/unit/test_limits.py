"""Global limits: parsing "3/day", the runs' enforcement and the plan's forecast arithmetic,
on profile stores small enough to compute by hand."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from campaign_gitops.config import parse_config
from campaign_gitops.errors import ValidationFailed
from campaign_gitops.limits.config import GlobalLimits, Rate, Rule, parse_dwell, parse_rate
from campaign_gitops.limits.enforce import History, skipped
from campaign_gitops.limits.forecast import Sender, forecast
from campaign_gitops.models import CHANNELS

DAY0 = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "rate"),
    [("3/day", Rate(3, 1)), ("10/7d", Rate(10, 7)), ("2/week", Rate(2, 7)), ("5/2w", Rate(5, 14))],
)
def test_a_rate_is_messages_over_whole_days(text: str, rate: Rate) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("3/dy", "is not a limit; write N/day"),
        ("2/3h", "whole days"),
        ("0/day", "at least one message"),
        ("1/31d", "at most 30"),
    ],
)
def test_a_bad_rate_says_how_to_write_one(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_rate(text)


def test_dwell_is_from_five_minutes_to_seven_days() -> None:
    assert parse_dwell("5m") == timedelta(minutes=5)
    assert parse_dwell("7d") == timedelta(days=7)
    for text in ("4m", "8d", "2w", "30 minutes"):
        with pytest.raises(ValueError):
            parse_dwell(text)


def test_every_channel_has_a_limit_key() -> None:
    assert set(GlobalLimits.model_fields) == {*CHANNELS, "all", "dwell", "on_exceed",
                                              "forecast_days"}  # fmt: skip


def test_config_errors_point_at_their_keys() -> None:
    text = (
        'backend = "local"\n\n[global_limits]\npush = "3/day"\nemail = "3/dy"\n'
        'dwell = "1m"\non_exceed = "stop"\npushes = "1/day"\n\n[safety]\nmax_changed_percent = 0\n'
    )
    with pytest.raises(ValidationFailed) as failed:
        parse_config("campaign-gitops.toml", text)
    found = {(p.path, p.line, p.code) for p in failed.value.problems}
    assert found == {
        ("global_limits.email", 5, "config-bad-limit"),
        ("global_limits.dwell", 6, "config-bad-limit"),
        ("global_limits.on_exceed", 7, "config-not-one-of"),
        ("global_limits.pushes", 8, "config-unknown-key"),
        ("safety.max_changed_percent", 11, "config-out-of-range"),
    }
    messages = " ".join(p.message for p in failed.value.problems)
    assert '"3/dy" is not a limit' in messages and "did you mean 'push'" in messages


def test_config_reads_rules_and_dwell() -> None:
    raw = parse_config(
        "pyproject.toml",
        '[tool.campaign-gitops.global_limits]\npush = "3/day"\nall = "10/7d"\ndwell = "30m"\n'
        "[tool.campaign-gitops.safety]\nmax_reach = 1000\n",
    )
    assert sorted(raw.global_limits.rules(), key=lambda r: r.scope) == [
        Rule("all", 10, 7),
        Rule("push", 3, 1),
    ]
    assert raw.global_limits.dwell_time == timedelta(minutes=30)
    assert raw.safety.max_reach == 1000 and raw.safety.max_changed_percent is None
    assert not parse_config("campaign-gitops.toml", "").global_limits.active


# -- the runs' enforcement -------------------------------------------------------------------


def _history(*sends: tuple[int, datetime, str]) -> History:
    return History(
        np.array([u for u, _, _ in sends], dtype=np.int64),
        np.array([int(t.timestamp()) for _, t, _ in sends], dtype=np.int64),
        np.array([c for _, _, c in sends], dtype=object),
    )


def test_a_user_at_a_limit_or_within_the_dwell_time_is_skipped() -> None:
    noon = DAY0 + timedelta(hours=12)
    history = _history(
        (0, DAY0 + timedelta(hours=8), "push"),  # user 0: two pushes today
        (0, DAY0 + timedelta(hours=9), "push"),
        (1, DAY0 - timedelta(hours=2), "push"),  # user 1: one push yesterday
        (2, noon - timedelta(minutes=10), "email"),  # user 2: an email ten minutes ago
        (3, noon + timedelta(hours=1), "push"),  # later than the run: not seen
    )
    users = np.arange(4)
    per_day = [Rule("push", 2, 1)]
    assert skipped(history, per_day, None, "push", noon, users, 4).tolist() == [
        True, False, False, False]  # fmt: skip
    assert not skipped(history, per_day, None, "email", noon, users, 4).any()  # not its scope
    two_days = [Rule("all", 1, 2)]  # any message today or yesterday
    assert skipped(history, two_days, None, "sms", noon, users, 4).tolist() == [
        True, True, True, False]  # fmt: skip
    dwell = timedelta(minutes=30)
    assert skipped(history, [], dwell, "push", noon, users, 4).tolist() == [
        False, False, True, False]  # fmt: skip


# -- the forecast ----------------------------------------------------------------------------


def _mask(size: int, *users: int) -> np.ndarray:
    mask = np.zeros(size, dtype=bool)
    mask[list(users)] = True
    return mask


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return DAY0 + timedelta(days=day, hours=hour, minutes=minute)


CHANGE = Sender("new", "push", (_at(0, 12), _at(1, 12)), _mask(6, 1, 2, 3, 4))
A = Sender("a", "push", (_at(0, 9),), _mask(6, 0, 1, 2))
B = Sender("b", "email", (_at(0, 10),), _mask(6, 2, 3))


def test_users_pushed_past_a_daily_limit_on_the_first_day_only() -> None:
    found = forecast(CHANGE, [A, B], [Rule("push", 1, 1)], None, DAY0, 3)
    # day 0: users 1 and 2 have a's push already; the email of b is not a push
    assert [(p.day, p.limit, p.users, p.collides) for p in found] == [
        (date(2026, 12, 1), "push 1/day", 2, {"a": 2})
    ]


def test_a_window_of_days_counts_the_days_before() -> None:
    found = forecast(CHANGE, [A, B], [Rule("all", 2, 2)], None, DAY0, 3)
    # day 0: user 2 has a and b (2), the change makes 3; users 1 and 3 reach 2, not over.
    # day 1: the window is days 0-1: users 1 and 3 get the change's second message (3 > 2);
    # user 4 only has the change's two. Day 2's window still holds day 1: nobody new.
    assert [(p.day.day, p.users, p.collides) for p in found] == [
        (1, 1, {"a": 1, "b": 1}),
        (2, 2, {"a": 1, "b": 1}),
    ]


def test_users_already_over_without_the_change_are_not_pushed_by_it() -> None:
    twice = Sender("twice", "push", (_at(0, 8), _at(0, 9)), _mask(6, 1, 2, 3, 4))
    assert forecast(CHANGE, [twice], [Rule("push", 1, 1)], None, DAY0, 3) == []


def test_dwell_collides_with_runs_closer_than_it() -> None:
    near = Sender("near", "sms", (_at(0, 11, 45),), _mask(6, 0, 3, 4))
    far = Sender("far", "sms", (_at(0, 10),), _mask(6, 1))
    found = forecast(CHANGE, [near, far], [], timedelta(minutes=30), DAY0, 3)
    assert [(p.day.day, p.limit, p.users, p.collides) for p in found] == [
        (1, "dwell 30m", 2, {"near": 2})
    ]


def test_nothing_outside_the_horizon_or_of_other_channels() -> None:
    later = Sender("new", "push", (_at(5, 12),), _mask(6, 1))
    assert forecast(later, [A], [Rule("push", 1, 1)], None, DAY0, 3) == []
    email = Sender("new", "email", (_at(0, 12),), _mask(6, 1, 2))
    assert forecast(email, [A], [Rule("push", 1, 1)], None, DAY0, 3) == []


def test_the_forecast_is_the_definition_counted_user_by_user() -> None:
    """Against the definition, one user at a time: pushed on the first day their messages in
    the window go over the limit with the change and not without it."""
    rng = np.random.default_rng(13)
    first = int(DAY0.timestamp()) // 86_400
    for _ in range(200):
        size = 30
        senders = [
            Sender(
                f"s{i}",
                str(rng.choice(["push", "email"])),
                tuple(sorted(DAY0 + timedelta(hours=int(h)) for h in rng.integers(0, 216, 4))),
                rng.random(size) < 0.5,
            )
            for i in range(4)
        ]
        rule = Rule(
            str(rng.choice(["push", "all"])), int(rng.integers(1, 4)), int(rng.integers(1, 4))
        )
        change, others = senders[0], senders[1:]
        if not rule.covers(change.channel):
            continue
        found = [(p.day, p.users) for p in forecast(change, others, [rule], None, DAY0, 7)]

        def window(s: Sender, d: int, span: int = rule.days) -> int:
            days = [int(t.timestamp()) // 86_400 - first for t in s.runs]
            return sum(d - span < x <= d for x in days)

        expected: list[tuple[date, int]] = []
        seen: set[int] = set()
        for d in range(7):
            count = 0
            for u in range(size):
                if not change.users[u] or u in seen:
                    continue
                base = sum(window(o, d) for o in others if rule.covers(o.channel) and o.users[u])
                if base <= rule.count < base + window(change, d):
                    seen.add(u)
                    count += 1
            if count:
                expected.append((DAY0.date() + timedelta(days=d), count))
        assert found == expected


def test_the_dwell_forecast_is_the_definition_counted_user_by_user() -> None:
    """Against the definition, pair by pair: a user is pushed at the change's first run less
    than the dwell time from a run of another campaign sending to them (exactly the dwell time
    apart is not too close), counted on that run's day with each such campaign."""
    rng = np.random.default_rng(17)
    dwell = timedelta(minutes=30)
    first = int(DAY0.timestamp()) // 86_400
    for _ in range(200):
        size = 20
        senders = [
            Sender(
                f"s{i}",
                "push",
                tuple(DAY0 + timedelta(minutes=15 * int(q)) for q in rng.integers(0, 400, 6)),
                rng.random(size) < 0.5,
            )
            for i in range(4)
        ]
        change, others = senders[0], senders[1:]
        found = [(p.day, p.users, p.collides) for p in forecast(change, others, [], dwell, DAY0, 5)]
        days: dict[date, tuple[int, dict[str, int]]] = {}
        seen: set[int] = set()
        for t in sorted(change.runs):
            day = int(t.timestamp()) // 86_400 - first
            if not 0 <= day < 5:
                continue
            near = [o for o in others if any(abs(t - u) < dwell for u in o.runs)]
            for u in range(size):
                if not change.users[u] or u in seen:
                    continue
                with_u = [o.key for o in near if o.users[u]]
                if with_u:
                    seen.add(u)
                    count, collides = days.get(DAY0.date() + timedelta(days=day), (0, {}))
                    for key in with_u:
                        collides[key] = collides.get(key, 0) + 1
                    days[DAY0.date() + timedelta(days=day)] = (count + 1, collides)
        assert found == [(day, n, c) for day, (n, c) in sorted(days.items())]


def test_a_large_store_has_a_sample_of_every_kth_user(tmp_path: Path) -> None:
    from campaign_gitops.embedded.audience import Audience
    from campaign_gitops.limits.world import Profiles, write_sample

    columns: dict[str, Any] = {
        "age": np.arange(10, dtype=np.int16),
        "ev:Charged:user": np.array([9, 0, 3, 4, 6, 3], dtype=np.int32),
        "ev:Charged:ts": np.array([1, 2, 3, 4, 5, 6], dtype=np.int64),
    }
    meta = {
        "users": 10,
        "generated_at": "then",
        "events": {"Charged": {}},
        "vocab": {},
        "kinds": {},
    }
    path = tmp_path / "p.profiles.npz"
    np.savez(path, meta=np.array(json.dumps(meta)), **columns)
    write_sample(path, columns, meta, limit=4)  # every 3rd user: 0, 3, 6, 9
    full = Profiles(Audience.open(path), DAY0, path=path)
    sample = full.sample()
    assert sample.every == 3 and sample.size == 4
    assert sample.audience.columns["age"].tolist() == [0, 3, 6, 9]
    assert sample.audience.columns["ev:Charged:user"].tolist() == [3, 0, 1, 2, 1]
    assert sample.audience.columns["ev:Charged:ts"].tolist() == [1, 2, 3, 5, 6]
    write_sample(path, columns, meta | {"generated_at": "later"}, limit=20)  # small: none
    assert full.sample() is full
