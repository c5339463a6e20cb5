"""The local platform's global limits in its runs: a user a run would send to is skipped when
the messages already sent to them reach a limit, or the last one is within the dwell time.

Messages of a campaign that ignores the limits still count against the others: the user did
receive them."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from campaign_gitops.limits.config import GlobalLimits, Rule

DAY = 86_400


@dataclass(frozen=True)
class History:
    """Messages sent before a run: who, when (UTC seconds) and on which channel."""

    users: Any  # int64
    times: Any  # int64 seconds
    channels: Any  # object: channel names

    @classmethod
    def empty(cls) -> History:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, object))


def day_of(seconds: Any) -> Any:
    """UTC day numbers (days since the epoch) of times in seconds."""
    return np.floor_divide(seconds, DAY)


def skipped(
    history: History,
    rules: list[Rule],
    dwell: timedelta | None,
    channel: str,
    at: datetime,
    users: Any,
    size: int,
) -> Any:
    """Which of `users` (indices) a message on `channel` at `at` may not reach: a limit of its
    channel (or of all channels) is reached over the UTC days it counts, or the user's last
    message is less than the dwell time ago."""
    skip = np.zeros(len(users), dtype=bool)
    if not len(users) or not len(history.users):
        return skip
    now = int(at.timestamp())
    earlier = history.times <= now
    days = day_of(history.times)
    today = now // DAY
    for rule in rules:
        if not rule.covers(channel):
            continue
        within = earlier & (days > today - rule.days)
        if rule.scope != "all":
            within &= history.channels == rule.scope
        counts = np.bincount(history.users[within], minlength=size)
        skip |= counts[users] >= rule.count
    if dwell is not None:
        recent = np.zeros(size, dtype=bool)
        recent[history.users[earlier & (history.times > now - dwell.total_seconds())]] = True
        skip |= recent[users]
    return skip


def since(limits: GlobalLimits, at: datetime) -> datetime:
    """The earliest message a run at `at` must see."""
    longest = max((rule.days for rule in limits.rules()), default=1)
    start_of_day = datetime.fromtimestamp((int(at.timestamp()) // DAY) * DAY, UTC)
    earliest = start_of_day - timedelta(days=longest - 1)
    dwell = limits.dwell_time
    return min(earliest, at - dwell) if dwell is not None else earliest


class Limiter:
    """The limits as a series of runs in time order asks them: the messages sent since the
    first run's lookback are read from the platform once, and each run's own are kept as it is
    recorded (a run's messages share its time and channel: one chunk each)."""

    def __init__(self, db: sqlite3.Connection, limits: GlobalLimits, size: int):
        self.db, self.limits, self.size = db, limits, size
        self.rules, self.dwell = limits.rules(), limits.dwell_time
        self.chunks: list[tuple[int, str, Any]] | None = None  # (UTC seconds, channel, users)

    def _load(self, start: datetime) -> list[tuple[int, str, Any]]:
        rows = self.db.execute(
            "SELECT n.at, c.channel, n.user_idx FROM notification_sent n "
            "JOIN campaigns c ON c.pk = n.campaign_pk WHERE n.at >= ?",
            (start.astimezone(UTC).isoformat(),),
        ).fetchall()
        grouped: dict[tuple[str, str], list[int]] = {}
        for at, channel, user in rows:
            grouped.setdefault((at, channel), []).append(user)
        return [
            (int(datetime.fromisoformat(at).timestamp()), channel, np.array(users, np.int64))
            for (at, channel), users in grouped.items()
        ]

    def __call__(self, channel: str, at: datetime, users: Any) -> Any:
        """Which of `users` a message on `channel` at `at` may not reach."""
        start = since(self.limits, at)
        if self.chunks is None:
            self.chunks = self._load(start)
        lo, hi = int(start.timestamp()), int(at.timestamp())
        kept = [(t, c, u) for t, c, u in self.chunks if lo <= t <= hi]
        if not kept:
            return np.zeros(len(users), dtype=bool)
        history = History(
            np.concatenate([u for _, _, u in kept]),
            np.concatenate([np.full(len(u), t, np.int64) for t, _, u in kept]),
            np.concatenate([np.full(len(u), c, object) for _, c, u in kept]),
        )
        return skipped(history, self.rules, self.dwell, channel, at, users, self.size)

    def record(self, channel: str, at: datetime, users: Any) -> None:
        """A run's messages, as it is recorded."""
        if self.chunks is not None and len(users):
            self.chunks.append((int(at.timestamp()), channel, np.asarray(users, np.int64)))


def limiter(db: sqlite3.Connection, limits: GlobalLimits, size: int) -> Limiter | None:
    """What a series of runs asks of the limits; None when the account sets none."""
    return Limiter(db, limits, size) if limits.active else None
