"""The plan's forecast: per day, how many users a change would push past a global limit, and
which other campaigns they collide with.

Arithmetic over days (UTC), from each campaign's runs in the horizon and its audience (a mask
over the profile store): a user is pushed past a limit on the first day their messages in
the limit's window go over it with the change and not without it. Only the change's own
users can be pushed, so every array is over them alone."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from campaign_gitops.limits.config import Rule
from campaign_gitops.limits.enforce import DAY


@dataclass(frozen=True)
class Sender:
    """A campaign as it would send after the apply: its runs in the horizon and its users."""

    key: str
    channel: str
    runs: tuple[datetime, ...]
    users: Any  # bool mask over the profile store


@dataclass(frozen=True)
class Pushed:
    day: date
    limit: str  # the rule ("push 3/day") or the dwell time ("dwell 30m")
    users: int
    collides: dict[str, int]  # other campaign -> how many of these users it sends to

    def scaled(self, every: int) -> Pushed:
        """Of a sample of every k-th user: each stands for k."""
        if every == 1:
            return self
        collides = {key: n * every for key, n in self.collides.items()}
        return Pushed(self.day, self.limit, self.users * every, collides)

    def data(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "limit": self.limit,
            "users": self.users,
            "collides": self.collides,
        }


def _per_day(runs: Sequence[datetime], first: int, days: int) -> Any:
    counts = np.zeros(days, dtype=np.int32)
    for t in runs:
        d = int(t.timestamp()) // DAY - first
        if 0 <= d < days:
            counts[d] += 1
    return counts


def forecast(
    change: Sender,
    others: Sequence[Sender],
    rules: Sequence[Rule],
    dwell: timedelta | None,
    start: datetime,
    days: int,
) -> list[Pushed]:
    """The days `change` pushes users past a limit, from `start` for `days` UTC days."""
    return Forecast([change, *others], rules, dwell, start, days).of(change.key)


class Forecast:
    """Every campaign as it would send after the apply; each limit's table of messages a user
    gets over its window, made once for all the plan's changes. A change's own messages are in
    the table: over its own users, they are exactly its runs, taken off to get the others'."""

    def __init__(
        self,
        senders: Sequence[Sender],
        rules: Sequence[Rule],
        dwell: timedelta | None,
        start: datetime,
        days: int,
    ):
        self.senders = {s.key: s for s in senders}
        self.rules, self.dwell, self.days = list(rules), dwell, days
        self.first = int(start.timestamp()) // DAY
        self.per_day = {s.key: _per_day(s.runs, self.first, days) for s in senders}
        self._tables: dict[Rule, Any] = {}

    def _sending(self, rule: Rule) -> list[Sender]:
        return [s for s in self.senders.values()
                if rule.covers(s.channel) and self.per_day[s.key].any()]  # fmt: skip

    def table(self, rule: Rule) -> Any:
        """Days x users: the messages in `rule`'s scope over the window ending each day."""
        if rule not in self._tables:
            sending = self._sending(rule)
            size = len(sending[0].users) if sending else 0
            same: dict[bytes, Any] = {}  # campaigns running on the same days: their users summed
            for sender in sending:
                runs = self.per_day[sender.key]
                total = same.setdefault(runs.tobytes(), np.zeros(size, dtype=np.int16))
                total += sender.users
            base = np.zeros((self.days, size), dtype=np.int16)
            for runs_bytes, total in same.items():
                runs = np.frombuffer(runs_bytes, dtype=np.int32)
                for d in np.flatnonzero(runs):
                    base[d] += total if runs[d] == 1 else total * np.int16(runs[d])
            self._tables[rule] = _window(base, rule.days)
        return self._tables[rule]

    def of(self, key: str) -> list[Pushed]:
        change = self.senders[key]
        mine = np.flatnonzero(change.users)
        own = self.per_day[key]
        if not len(mine) or not own.any():
            return []
        out: list[Pushed] = []
        for rule in self.rules:
            if rule.covers(change.channel):
                out += self._rule(rule, change, mine, own)
        if self.dwell is not None:
            others = [s for s in self.senders.values() if s.key != key]
            gathered: dict[str, Any] = {}

            def over_mine(other: Sender) -> Any:
                if other.key not in gathered:
                    gathered[other.key] = other.users[mine]
                return gathered[other.key]

            out += _dwell(change, others, self.dwell, over_mine, self.first, self.days, len(mine))
        return sorted(out, key=lambda p: (p.day, p.limit))

    def _rule(self, rule: Rule, change: Sender, mine: Any, own: Any) -> list[Pushed]:
        days = self.days
        window_with = self.table(rule)[:, mine]
        window_base = window_with - _window(own, rule.days).astype(np.int16)[:, None]
        over = (window_base <= rule.count) & (window_with > rule.count)
        pushed = over.any(axis=0)
        # the day each user is first pushed past it (a user counts once)
        first_day = over.argmax(axis=0)[pushed]
        counts = np.bincount(first_day, minlength=days)
        if not counts.any():
            return []
        users = mine[pushed]
        met = {
            o.key: np.bincount(first_day[o.users[users]], minlength=days)
            for o in self._sending(rule)
            if o.key != change.key
        }
        out = []
        for d in np.flatnonzero(counts):
            lo = max(0, int(d) - rule.days + 1)
            collides = {k: int(n[d]) for k, n in met.items()
                        if n[d] and self.per_day[k][lo : d + 1].any()}  # fmt: skip
            out.append(Pushed(_day(self.first, int(d)), rule.text, int(counts[d]), collides))
        return out


def _window(counts: Any, days: int) -> Any:
    """Sums over the window ending on each day (the first axis): the day and days - 1 before."""
    total = np.cumsum(counts, axis=0, dtype=counts.dtype if counts.dtype != bool else np.int16)
    before = np.zeros_like(total)
    before[days:] = total[:-days]
    return total - before


def _day(first: int, d: int) -> date:
    return date.fromordinal(date(1970, 1, 1).toordinal() + first + d)


def _dwell(
    change: Sender,
    others: Sequence[Sender],
    dwell: timedelta,
    over_mine: Any,
    first: int,
    days: int,
    size: int,
) -> list[Pushed]:
    """Users the change messages less than the dwell time from another campaign's message."""
    pushed_before = np.zeros(size, dtype=bool)
    found: dict[int, tuple[Any, dict[str, int]]] = {}
    # each other campaign's runs sorted once: a run's neighbours are found by bisection, not by
    # comparing every pair of runs (40 campaigns of 400 runs each took 21 s)
    span = dwell.total_seconds()
    stamps = [(other, sorted(u.timestamp() for u in other.runs)) for other in others]
    for t in sorted(change.runs):
        d = int(t.timestamp()) // DAY - first
        if not 0 <= d < days:
            continue
        hit = np.zeros(size, dtype=bool)
        by: dict[str, Any] = {}
        at = t.timestamp()
        for other, runs in stamps:
            after = bisect_right(runs, at - span)  # the first run later than at - dwell
            if after < len(runs) and runs[after] < at + span:
                by[other.key] = over_mine(other) & ~pushed_before
                hit |= by[other.key]
        if not hit.any():
            continue
        pushed_before |= hit
        users, collides = found.get(d, (np.zeros(size, dtype=bool), {}))
        for key, mask in by.items():
            if mask.any():
                collides[key] = collides.get(key, 0) + int(mask.sum())
        found[d] = (users | hit, collides)
    text = f"dwell {_span(dwell)}"
    return [
        Pushed(_day(first, d), text,
               int(users.sum()), collides)
        for d, (users, collides) in sorted(found.items())
    ]  # fmt: skip


def _span(dwell: timedelta) -> str:
    minutes = int(dwell.total_seconds()) // 60
    for unit, size in (("d", 1440), ("h", 60)):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"
