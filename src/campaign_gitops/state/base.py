"""The state store: which platform campaign each id maps to, what was last applied (for drift),
who applied it, the apply journal, and the locks."""

from __future__ import annotations

import os
import socket
import uuid
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from campaign_gitops.errors import FatalError


class LockHeld(FatalError):
    """Another apply holds what this one needs: the whole state (`names` empty), or the named
    campaigns and labels; `others` are further holders of some of them."""

    def __init__(
        self,
        holder: LockInfo,
        names: Iterable[str] = (),
        others: Iterable[tuple[LockInfo, tuple[str, ...]]] = (),
    ):
        held = [(holder, tuple(names)), *others]
        super().__init__("; ".join(_held_by(info, what) for info, what in held))
        self.info = holder
        self.names = held[0][1]
        self.holders = held


def _held_by(holder: LockInfo, names: tuple[str, ...]) -> str:
    listed = ", ".join(shown_lock(n) for n in names)
    what = (
        f"{listed} {'is' if len(names) == 1 else 'are'} locked" if names else "the state is locked"
    )
    return (
        f"{what} by {holder.holder} on {holder.host} (pid {holder.pid}) since "
        f"{holder.started_at}; lock id {holder.lock_id}. If that apply is gone, run "
        f"`campaign-gitops state unlock {holder.lock_id}`"
    )


def campaign_lock(campaign_id: str) -> str:
    return f"campaign:{campaign_id}"


def label_lock(name: str) -> str:
    return f"label:{name}"


def shown_lock(name: str) -> str:
    """`campaign:spring-sale` as `campaign spring-sale`, for messages."""
    kind, _, key = name.partition(":")
    return f"{kind} {key}" if key else name


@dataclass(frozen=True)
class LockSet:
    """What an apply locks: campaigns and labels by name (`campaign_lock`, `label_lock`), each
    exclusively (it changes them) or shared (it uses them: a label its campaigns name); or, with
    `store`, the whole state store exclusively (the names are then what it means to change)."""

    exclusive: frozenset[str] = frozenset()
    shared: frozenset[str] = frozenset()
    store: bool = False

    @property
    def names(self) -> frozenset[str]:
        return self.exclusive | self.shared

    def modes(self) -> dict[str, bool]:
        """Each name -> exclusive?, in the order locks are taken (by name)."""
        return {name: name in self.exclusive for name in sorted(self.names)}

    def covers(self, other: LockSet) -> bool:
        """Whether holding this lets `other`'s holder do its work."""
        if self.store:
            return True
        return not other.store and other.exclusive <= self.exclusive and other.names <= self.names

    def __or__(self, other: LockSet) -> LockSet:
        exclusive = self.exclusive | other.exclusive
        return LockSet(
            exclusive, (self.shared | other.shared) - exclusive, self.store or other.store
        )

    def whole(self) -> LockSet:
        """The whole store, for the same work."""
        return LockSet(self.exclusive, self.shared, store=True)


@dataclass(frozen=True)
class LockInfo:
    lock_id: str
    holder: str
    host: str
    pid: int
    started_at: str

    @classmethod
    def mine(cls, holder: str) -> LockInfo:
        return cls(
            uuid.uuid4().hex[:12],
            holder,
            socket.gethostname(),
            os.getpid(),
            datetime.now(UTC).isoformat(timespec="seconds"),
        )


@dataclass(frozen=True)
class Managed:
    """One campaign under management, as last applied."""

    id: str
    platform_id: str
    spec: dict[str, Any]
    applied_at: str
    applied_by: str
    commit: str | None = None
    pull_request: int | None = None
    history: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    author: str | None = None  # of the commit
    merged_by: str | None = None  # who merged the pull request
    approvers: tuple[str, ...] = ()  # whose approvals counted
    # the files the apply read (campaigns, labels, config) that were not as in `commit`: ()
    # clean; None not known (no git checkout, or recorded before schema 5)
    dirty: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Cursor:
    """The last commit of main taken as applied: the next apply on main starts after it."""

    commit: str
    set_at: str
    set_by: str
    note: str = ""


OUTCOMES = ("applied", "no-op", "set-applied", "refused")


@dataclass(frozen=True)
class AppliedCommit:
    """One commit of main the apply walked, and what became of it (one of OUTCOMES)."""

    commit: str
    pull_request: int | None
    outcome: str
    at: str
    by: str
    detail: str = ""


@dataclass(frozen=True)
class Ack:
    """A person's word that the manual changes a plan showed for a campaign were done in the
    dashboard (`campaign-gitops ack`): the spec they cover becomes the last-applied one."""

    campaign_id: str
    changes: tuple[str, ...]  # manual changes covered: create, replace, update, publish, archive
    platform_id: str  # the platform campaign they were done on (a create: the dashboard's id)
    spec: dict[str, Any]
    checksum: str  # of `spec`
    file_checksum: str | None  # of the campaign's file when acknowledged
    at: str
    by: str
    note: str = ""


@dataclass(frozen=True)
class JournalEntry:
    apply_id: str
    step: int
    change: str  # the change's key, e.g. "create campaign welcome-push"
    status: str  # started | done | failed
    detail: str = ""
    platform_id: str | None = None


class StateStore(ABC):
    @abstractmethod
    def managed(
        self, history: bool = False, ids: Collection[str] | None = None
    ) -> dict[str, Managed]:
        """Every managed campaign, or those of `ids` (a partial plan's); its apply history only
        when asked (planning needs none)."""

    def managed_ids(self) -> list[str]:
        """The ids of every managed campaign (an id glob's candidates)."""
        return list(self.managed())

    @abstractmethod
    def labels(self) -> dict[str, str | None]:
        """Labels under management: name -> description as last applied."""

    @abstractmethod
    def record(self, managed: Managed) -> None: ...

    @abstractmethod
    def forget(self, campaign_id: str) -> None: ...

    @abstractmethod
    def move(self, old: str, new: str) -> bool:
        """The record of `old` (and its acknowledgements) now under `new`; False when `old` is
        not managed. FatalError when `new` is."""

    @abstractmethod
    def acknowledge(self, ack: Ack, managed: Managed) -> None:
        """Record the acknowledgement and `managed` (its spec as last applied) in one
        transaction."""

    @abstractmethod
    def acks(self, campaign_id: str | None = None) -> list[Ack]:
        """Acknowledgements, oldest first; of one campaign when given."""

    @abstractmethod
    def record_label(
        self, name: str, description: str | None, previous: str | None = None
    ) -> None: ...

    @abstractmethod
    def forget_label(self, name: str) -> None: ...

    @abstractmethod
    def journal(self, entry: JournalEntry) -> None: ...

    @abstractmethod
    def journal_of(self, apply_id: str | None = None) -> list[JournalEntry]:
        """Entries of one apply, or of the last apply that did not finish."""

    @abstractmethod
    def finish(self, apply_id: str) -> None: ...

    @abstractmethod
    def unfinished(self, within: Collection[str] | None = None) -> str | None:
        """The newest apply that started, never finished and is not running (its lock is gone:
        it crashed), if any; with `within` (lock names), only one that locked any of them. An
        apply of a lock this store holds, or that another live apply holds, is running."""

    @abstractmethod
    def settle(self, apply_id: str, covered: Collection[str] | None) -> None:
        """An interrupted apply is over for what a later apply `covered` (lock names it planned
        and applied again; None: everything): it is finished when nothing it locked is left."""

    @abstractmethod
    def acquire(self, info: LockInfo, timeout: float) -> None:
        """Take the whole store's lock, waiting up to `timeout` seconds; LockHeld names the
        holder."""

    @abstractmethod
    def acquire_set(self, info: LockInfo, locks: LockSet, timeout: float) -> None:
        """Take the locks of `locks` (in name order, after the store's in shared mode), waiting
        up to `timeout` seconds in all; LockHeld names the holders and what they hold. A store
        without named locks (SQLite) takes the whole store."""

    @abstractmethod
    def release(self, lock_id: str) -> None: ...

    @abstractmethod
    def unlock(self, lock_id: str) -> bool:
        """Force-release a lock by id (`state unlock`); False when no such lock."""

    @abstractmethod
    def cursor(self) -> Cursor | None:
        """Where the apply on main stands; None before its first run."""

    @abstractmethod
    def set_cursor(self, commit: str, by: str, note: str = "") -> None: ...

    @abstractmethod
    def record_commit(
        self,
        commit: str,
        pull_request: int | None,
        outcome: str,
        at: str,
        by: str,
        detail: str = "",
    ) -> None:
        """Log what became of one commit of main; a commit logged again keeps only its latest
        outcome, and moves to the end of the log."""

    @abstractmethod
    def applied_commits(self, limit: int = 100) -> list[AppliedCommit]:
        """The commit log, newest first."""

    @abstractmethod
    def export(self) -> dict[str, Any]:
        """The whole store (not the lock) as a versioned JSON document (state/document.py)."""

    @abstractmethod
    def import_(self, doc: Mapping[str, Any]) -> None:
        """Replace the whole store (not the lock) with an export, in one transaction; a
        document of another format or version is refused (FatalError) before anything changes."""

    @abstractmethod
    def close(self) -> None: ...
