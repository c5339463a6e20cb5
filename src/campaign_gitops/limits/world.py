"""Who each campaign would message, on the local platform: its audience over the profile store
(cached per audience and channel) and its runs in a span, from the platform's own records.

Approximations, all on the side of more messages (a forecast that warns too often is read; one
that misses is not): a triggered campaign's daily batch is its whole segment, and a control
group's users are counted as reached."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from campaign_gitops import lifecycle
from campaign_gitops.embedded.audience import Audience, AudienceError
from campaign_gitops.embedded.runs import MAX_RUNS
from campaign_gitops.lifecycle import Schedule
from campaign_gitops.limits.forecast import Sender
from campaign_gitops.models import CAMPAIGN_ADAPTER, CampaignBase

# Over this many users, `platform seed` also writes a sample of every k-th user: the forecast
# runs on it (each user counting for k), within the 20% of a plan's time issue #13 allows
SAMPLE_USERS = 100_000

if TYPE_CHECKING:
    from campaign_gitops.backends.local import LocalBackend


def runs_between(
    schedule: Schedule, published: datetime, start: datetime, end: datetime
) -> tuple[datetime, ...]:
    """The runs of a campaign published at `published` from `start` (inclusive) to `end`."""
    if schedule.delivery == "api":
        return ()  # sends happen on API calls: none the platform could foresee
    return tuple(lifecycle.runs_between(schedule, published, start, end, MAX_RUNS))


class Profiles:
    """The local platform's audiences, one mask per distinct (segment, channel); or a sample
    of them: every k-th user, each counting for k."""

    def __init__(self, audience: Audience, at: datetime, every: int = 1, path: Path | None = None):
        self.audience, self.at, self.every, self.path = audience, at, every, path
        self._masks: dict[str, Any] = {}

    @classmethod
    def of(cls, backend: LocalBackend, at: datetime) -> Profiles:
        path = backend.profiles_path()
        return cls(Audience.open(path, backend.saved_segments()), at, path=path)

    def sample(self) -> Profiles:
        """The store's sample of every k-th user (written with it by `platform seed`), each
        counting for k; the whole store when it has none (small, or seeded before samples)."""
        path = sample_path(self.path)
        if self.path is None or path is None or not path.exists():
            return self
        sample = Audience.open(path, self.audience.saved)
        full, meta = self.audience.meta, sample.meta
        if (meta.get("of_users"), meta.get("generated_at")) != (
            full["users"],
            full.get("generated_at"),
        ):
            return self  # a sample of another store
        return Profiles(sample, self.at, int(meta.get("every", 1)))

    @property
    def size(self) -> int:
        return self.audience.size

    def mask(self, spec: CampaignBase) -> Any:
        key = json.dumps([spec.who.segment.model_dump(mode="json"), spec.channel], sort_keys=True)
        if key not in self._masks:
            self._masks[key] = self._compute(spec)
        return self._masks[key]

    def _compute(self, spec: CampaignBase) -> Any:
        if self.audience.size == 0:
            return np.zeros(0, dtype=bool)
        try:
            mask = self.audience.mask(spec.who.segment, self.at)
        except AudienceError:  # a saved segment the platform lacks: its runs send nothing
            return np.zeros(self.audience.size, dtype=bool)
        return mask & self.audience.reachable(spec.channel)


def live_senders(
    backend: LocalBackend,
    profiles: Profiles,
    start: datetime,
    end: datetime,
    channels: Iterable[str] | None,
) -> dict[str, Sender]:
    """Every published campaign that is not stopped or archived and runs between `start` and
    `end`, on `channels` (None: any), by id."""
    wanted = None if channels is None else set(channels)
    out: dict[str, Sender] = {}
    rows = backend.db.execute(
        "SELECT key, channel, spec, schedule, published_at FROM campaigns WHERE published_at "
        "IS NOT NULL AND stopped_at IS NULL AND archived_at IS NULL AND approval = 'none'"
    ).fetchall()
    for key, channel, spec_text, schedule_text, published in rows:
        if wanted is not None and channel not in wanted:
            continue
        schedule = Schedule.from_json(json.loads(schedule_text))
        runs = runs_between(schedule, datetime.fromisoformat(published), start, end)
        if runs:
            spec = CAMPAIGN_ADAPTER.validate_python(json.loads(spec_text))
            out[key] = Sender(key, channel, runs, profiles.mask(spec))
    return out


def published_at(backend: LocalBackend, key: str) -> datetime | None:
    """When the live campaign with this id was published (None: it never was)."""
    row = backend.db.execute(
        "SELECT published_at FROM campaigns WHERE key = ? AND stopped_at IS NULL "
        "AND archived_at IS NULL ORDER BY pk DESC LIMIT 1",
        (key,),
    ).fetchone()
    return datetime.fromisoformat(row[0]) if row is not None and row[0] else None


def sample_path(path: Path | None) -> Path | None:
    return path.with_suffix(".sample.npz") if path is not None else None


def write_sample(
    path: Path, columns: dict[str, Any], meta: dict[str, Any], limit: int = SAMPLE_USERS
) -> None:
    """Beside the store at `path`, its sample of every k-th user (none for a small store):
    their columns, and their events (in time order still) with user numbers divided by k."""
    target = sample_path(path)
    assert target is not None
    users = int(meta["users"])
    if users <= limit:
        target.unlink(missing_ok=True)
        return
    every = -(-users // limit)
    out: dict[str, Any] = {}
    for event in meta["events"]:
        keep = columns[f"ev:{event}:user"] % every == 0
        for name in [n for n in columns if n.startswith(f"ev:{event}:")]:
            out[name] = columns[name][keep]
        out[f"ev:{event}:user"] = out[f"ev:{event}:user"] // every
    for name, column in columns.items():
        if not name.startswith("ev:"):
            out[name] = column[::every]
    sampled = meta | {"users": len(range(0, users, every)), "every": every, "of_users": users}
    partial = target.with_suffix(".partial.npz")
    np.savez(partial, meta=np.array(json.dumps(sampled)), **out)
    os.replace(partial, target)
