"""Runs of the local platform: who qualified, who was held out, capped, delayed or discarded by
DND, who was sent the message, and deterministic simulated engagement and conversions.

Runs are computed lazily, in order, for every run time up to "now", and recorded once; each sent
message records a Notification Sent event carrying the campaign's labels (seed 002), and each
conversion its own time. Reads are time-correct: a report at T counts only the runs, sends and
conversions at or before T, whatever later time an earlier command recorded runs for. A write
at W (edit, publish, stop...) first records the runs due by W under the old facts, then drops
the runs recorded for after W: they were computed ahead under facts that no longer hold.

Times are stored as UTC ISO 8601 strings, which sort as the times do."""

from __future__ import annotations

import json
import sqlite3
import zlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from campaign_gitops.embedded.audience import Audience, AudienceError
from campaign_gitops.lifecycle import Schedule, live_state, upcoming_runs
from campaign_gitops.models import CAMPAIGN_ADAPTER, CampaignBase
from campaign_gitops.models.common import parse_duration

if TYPE_CHECKING:
    from contextlib import AbstractContextManager
    from pathlib import Path

    from campaign_gitops.lifecycle import Facts
    from campaign_gitops.limits.config import GlobalLimits
    from campaign_gitops.limits.enforce import Limiter


class Platform(Protocol):
    """What running campaigns needs of the local platform (backends/local.py), named here so
    the platform can use this module without a circle."""

    db: sqlite3.Connection
    limits: GlobalLimits | None  # the account's global campaign limits

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def _facts(self, row: sqlite3.Row) -> Facts: ...

    def profiles_path(self) -> Path: ...

    def saved_segments(self) -> dict[str, Any]: ...


# channel -> (viewed, clicked) rates of delivered messages
ENGAGEMENT = {
    "push": (0.85, 0.06),
    "in_app": (0.95, 0.12),
    "app_inbox": (0.6, 0.08),
    "email": (0.35, 0.04),
    "sms": (0.95, 0.03),
    "whatsapp": (0.9, 0.08),
    "web_push": (0.8, 0.04),
    "web_popup": (0.9, 0.05),
    "web_exit_intent": (0.9, 0.06),
    "native_display": (0.95, 0.07),
    "web_native_display": (0.9, 0.05),
}
# channel -> share of the users sent a message who do the campaign's goal event within the goal's
# window (the README lists them); the other channels deliver nothing to a user: no conversions
CONVERSION = {
    "push": 0.04,
    "in_app": 0.06,
    "app_inbox": 0.03,
    "email": 0.02,
    "sms": 0.03,
    "whatsapp": 0.05,
    "web_push": 0.02,
    "web_popup": 0.03,
    "web_exit_intent": 0.04,
    "native_display": 0.035,
    "web_native_display": 0.025,
}
DAILY_SHARE = 30  # a date-property campaign reaches the users whose date is today: 1 in 30
MAX_RUNS = 400  # per campaign per call: a recurring campaign far in the future stays bounded


def _hash(users: Any, salt: int) -> Any:
    """splitmix64 of (user, salt): deterministic per user, campaign and run."""
    with np.errstate(over="ignore"):
        x = users.astype(np.uint64) + np.uint64(salt & 0xFFFFFFFFFFFFFFFF)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _unit(users: Any, salt: int) -> Any:
    return (_hash(users, salt) >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def utc(at: datetime) -> str:
    """A stored time: UTC ISO 8601, so that SQL compares times as strings."""
    return at.astimezone(UTC).isoformat()


def _in_dnd(minutes: Any, start: str, end: str) -> Any:
    a = int(start[:2]) * 60 + int(start[3:])
    b = int(end[:2]) * 60 + int(end[3:])
    return (minutes >= a) & (minutes < b) if a < b else (minutes >= a) | (minutes < b)


def simulate(
    audience: Audience,
    spec: CampaignBase,
    key: str,
    at: datetime,
    sent_before: int,
    sent_today: int,
    limited: Limiter | None = None,
) -> tuple[dict[str, Any], Any, Any]:
    """One run: its figures, the users sent the message, and the conversions: (user, seconds
    after the send) pairs. `limited`: the account's global limits, which skip users."""
    salt = zlib.crc32(key.encode()) << 32 | int(at.timestamp()) & 0xFFFFFFFF
    stats: dict[str, Any] = dict.fromkeys(
        (
            "qualified",
            "held_out",
            "capped",
            "dnd_delayed",
            "dnd_discarded",
            "limited",
            "sent",
            "viewed",
            "clicked",
            "converted",
        ),
        0,
    ) | {"skipped": None}
    none = np.zeros((0, 2), dtype=np.int64)
    if audience.size == 0:
        return stats, np.zeros(0, dtype=np.int64), none
    try:
        mask = audience.mask(spec.who.segment, at) & audience.reachable(spec.channel)
    except AudienceError as exc:  # a saved segment the platform lacks: the run sends nothing
        stats["skipped"] = f"{exc}; nothing was sent"
        return stats, np.zeros(0, dtype=np.int64), none
    when = spec.when
    if when.delivery in ("action", "inaction") and when.trigger is not None:
        mask &= audience.event_counts(when.trigger.event, at - timedelta(days=1), at) >= 1
        if when.inaction is not None:
            mask &= audience.event_counts(when.inaction.event, at - timedelta(days=1), at) == 0
    elif when.delivery == "date_property":
        mask &= _hash(np.arange(audience.size), salt) % np.uint64(DAILY_SHARE) == 0
    elif when.delivery == "api":
        mask &= False  # sends happen on API calls; the local platform receives none
    users = np.flatnonzero(mask)
    stats["qualified"] = len(users)
    cap = spec.who.targeting_cap
    if cap and cap.safety_limit is not None and len(users) > cap.safety_limit:
        stats["skipped"] = (
            f"safety limit: {len(users)} users qualified, more than "
            f"{cap.safety_limit}; nothing was sent"
        )
        return stats, users[:0], none
    control = spec.who.control_group
    if control is not None:
        share = control.percent / 100 if control.percent is not None else 0.1
        group_salt = zlib.crc32((control.custom or key).encode())
        held = _unit(users, group_salt) < share
        stats["held_out"] = int(held.sum())
        users = users[~held]
    if cap and cap.limit is not None:
        room = {
            "run": cap.limit,
            "day": cap.limit - sent_today,
            "campaign": cap.limit - sent_before,
        }[cap.per]
        room = max(room, 0)
        if len(users) > room:
            order = np.argsort(_hash(users, salt), kind="stable")
            stats["capped"] = len(users) - room
            users = np.sort(users[order[:room]])
    dnd = when.preferences.dnd
    if dnd is not None and len(users):
        if when.preferences.user_timezone:  # every user gets it at the scheduled wall time
            local = np.full(len(users), at.hour * 60 + at.minute)
        else:
            utc = at.astimezone(UTC)
            local = (
                utc.hour * 60 + utc.minute + audience.columns["tz"][users].astype(np.int64)
            ) % 1440
        quiet = _in_dnd(local, dnd.from_, dnd.to)
        if dnd.mode == "delay":
            stats["dnd_delayed"] = int(quiet.sum())
        else:
            stats["dnd_discarded"] = int(quiet.sum())
            users = users[~quiet]
    if limited is not None and len(users) and not when.preferences.ignore_global_limits:
        skip = limited(spec.channel, at, users)
        stats["limited"] = int(skip.sum())
        users = users[~skip]
    stats["sent"] = len(users)
    viewed_rate, clicked_rate = ENGAGEMENT.get(spec.channel, (0.0, 0.0))
    roll = _unit(users, salt + 1)
    viewed, clicked = roll < viewed_rate, roll < clicked_rate
    stats["viewed"], stats["clicked"] = int(viewed.sum()), int(clicked.sum())
    converted = none
    if spec.goal is not None and len(users):
        # the profile store's seed makes another synthetic world: other users convert
        world = salt ^ (int(audience.meta.get("seed", 0)) * 0x9E3779B97F4A7C15)
        who = users[_unit(users, world + 3) < CONVERSION.get(spec.channel, 0.0)]
        window = parse_duration(spec.goal.within).total_seconds()
        # after the send, within the goal's window, most of them early
        delay = np.maximum(1, np.floor(_unit(who, world + 2) ** 2 * window)).astype(np.int64)
        converted = np.stack([who.astype(np.int64), delay], axis=1)
        stats["converted"] = len(who)
    return stats, users, converted


def run_due(backend: Platform, now: datetime) -> int:
    """Record every run due by `now` that is not recorded yet; returns how many."""
    rows = backend.db.execute("SELECT * FROM campaigns WHERE published_at IS NOT NULL").fetchall()
    pending = [row["pk"] for row in rows if _due(backend, row, now)]
    if not pending:
        return 0
    with backend.transaction():
        return _record_pending(backend, pending, now, _audience(backend))


def _record_pending(backend: Platform, pks: list[int], now: datetime, audience: Audience) -> int:
    """Record the due runs of these campaigns (the caller holds the write lock). Under global
    limits, every campaign's runs in time order: a run sees the messages of every run before
    it, whichever campaign sent them."""
    rows = []
    for pk in pks:  # read again under the write lock: another process may have run it
        row = backend.db.execute("SELECT * FROM campaigns WHERE pk = ?", (pk,)).fetchone()
        if row is not None:
            rows.append(row)
    from campaign_gitops.limits.enforce import limiter

    limited = None if backend.limits is None else limiter(backend.db, backend.limits, audience.size)
    if limited is None:
        return sum(_record(backend, row, _due(backend, row, now), audience) for row in rows)
    runs = sorted(
        ((t, row["pk"], row) for row in rows for t in _due(backend, row, now)),
        key=lambda run: (run[0], run[1]),
    )
    specs: dict[int, CampaignBase] = {}
    for t, _pk, row in runs:
        _record(backend, row, [t], audience, limited, specs)
    return len(runs)


# what a recorded run writes, each table with its time column
RECORDED = (("runs", "run_at"), ("notification_sent", "at"), ("conversions", "run_at"))


def settle(backend: Platform, row: sqlite3.Row, now: datetime) -> None:
    """Before a write at `now` to this campaign, in the write's transaction: record its runs
    due by then under the facts and spec they ran with, and drop those recorded for after
    `now` (a report at a later time computed them ahead; they are computed again, under the
    facts the write leaves, when a read reaches their time)."""
    db, pk, cut = backend.db, row["pk"], utc(now)
    if backend.limits is not None and backend.limits.active:
        # every campaign's runs count against every other's: all of them up to `now`, and
        # none of those computed ahead under the old facts
        published = db.execute("SELECT * FROM campaigns WHERE published_at IS NOT NULL")
        pending = [r["pk"] for r in published.fetchall() if _due(backend, r, now)]
        _record_pending(backend, pending, now, _audience(backend))
        for table, column in RECORDED:
            db.execute(f"DELETE FROM {table} WHERE {column} > ?", (cut,))
        return
    due = _due(backend, row, now)
    if due:
        _record(backend, row, due, _audience(backend))
    if db.execute("SELECT 1 FROM runs WHERE campaign_pk = ? AND run_at > ?", (pk, cut)).fetchone():
        for table, column in RECORDED:
            db.execute(f"DELETE FROM {table} WHERE campaign_pk = ? AND {column} > ?", (pk, cut))


def _audience(backend: Platform) -> Audience:
    return Audience.open(backend.profiles_path(), backend.saved_segments())


def _due(backend: Platform, row: sqlite3.Row, now: datetime) -> list[datetime]:
    """The campaign's runs due by `now` that are not recorded yet, in order."""
    if row["published_at"] is None:
        return []
    facts, schedule = backend._facts(row), Schedule.from_json(json.loads(row["schedule"]))
    recorded = {
        r[0]
        for r in backend.db.execute("SELECT run_at FROM runs WHERE campaign_pk = ?", (row["pk"],))
    }
    return [
        t
        for t in upcoming_runs(facts, schedule, now, limit=MAX_RUNS)
        if utc(t) not in recorded and live_state(facts, schedule, t).status == "running"
    ]


def _record(
    backend: Platform,
    row: sqlite3.Row,
    due: list[datetime],
    audience: Audience,
    limited: Limiter | None = None,
    specs: dict[int, CampaignBase] | None = None,
) -> int:
    """Simulate and record these runs of one campaign (the caller holds the write lock);
    `specs`: the campaigns' parsed specs, kept across calls."""
    if not due:
        return 0
    db = backend.db
    specs = {} if specs is None else specs
    if row["pk"] not in specs:
        specs[row["pk"]] = CAMPAIGN_ADAPTER.validate_python(json.loads(row["spec"]))
    spec = specs[row["pk"]]
    labels = json.dumps(sorted(spec.labels))
    for at in due:
        run_at = utc(at)
        sent_before, sent_today = _sent_so_far(db, row["pk"], at)
        stats, users, converted = simulate(
            audience, spec, row["key"], at, sent_before, sent_today, limited
        )
        if limited is not None:
            limited.record(spec.channel, at, users)
        db.execute(
            "INSERT INTO runs (campaign_pk, run_at, qualified, held_out, capped, dnd_delayed, "
            "dnd_discarded, sent, viewed, clicked, converted, skipped, limited) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row["pk"],
                run_at,
                stats["qualified"],
                stats["held_out"],
                stats["capped"],
                stats["dnd_delayed"],
                stats["dnd_discarded"],
                stats["sent"],
                stats["viewed"],
                stats["clicked"],
                stats["converted"],
                stats["skipped"],
                stats["limited"],
            ),
        )
        db.executemany(
            "INSERT INTO notification_sent VALUES (?, ?, ?, ?)",
            [(int(u), row["pk"], run_at, labels) for u in users],
        )
        db.executemany(
            "INSERT INTO conversions VALUES (?, ?, ?, ?)",
            [
                (row["pk"], run_at, int(u), utc(at + timedelta(seconds=int(d))))
                for u, d in converted
            ],
        )
    return len(due)


def _sent_so_far(db: sqlite3.Connection, pk: int, at: datetime) -> tuple[int, int]:
    rows = db.execute(
        "SELECT run_at, sent FROM runs WHERE campaign_pk = ? AND run_at < ?", (pk, utc(at))
    ).fetchall()
    today = at.date()  # the run's own calendar day, in its schedule's offset
    before = sum(sent for _, sent in rows)
    return before, sum(
        s for t, s in rows if datetime.fromisoformat(t).astimezone(at.tzinfo).date() == today
    )


def totals(db: sqlite3.Connection, now: datetime) -> dict[int, dict[str, Any]]:
    """Each campaign's figures as of `now`: its runs at or before then, and the conversions
    that happened by then."""
    out: dict[int, dict[str, Any]] = {}
    cut = utc(now)
    query = (
        "SELECT campaign_pk, COUNT(*), SUM(qualified), SUM(held_out), SUM(sent), "
        "SUM(viewed), SUM(clicked), GROUP_CONCAT(skipped, '\n'), SUM(limited) "
        "FROM runs WHERE run_at <= ? GROUP BY campaign_pk"
    )
    for pk, runs, qualified, held, sent, viewed, clicked, skipped, limited in db.execute(
        query, (cut,)
    ):
        out[pk] = {
            "runs": runs,
            "qualified": qualified,
            "held_out": held,
            "sent": sent,
            "viewed": viewed,
            "clicked": clicked,
            "conversions": 0,
            "skipped": tuple(skipped.split("\n")) if skipped else (),
            "limited": limited,
        }
    conversions = db.execute(
        "SELECT campaign_pk, COUNT(*) FROM conversions WHERE at <= ? GROUP BY campaign_pk", (cut,)
    )
    for pk, count in conversions:
        if pk in out:
            out[pk]["conversions"] = count
    return out
