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

from campaign_gitops.closing import Closing
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


class StateStore(ABC, Closing):
    """Where the reconciler's own facts live. The contract every store keeps (checked by
    tests/contract/test_state_contract.py against SQLite and PostgreSQL):

    Raises: FatalError for what a user must settle (a store that cannot be opened or is of a
    newer version, a move onto a managed id, a document it cannot import, LockHeld); a
    connection lost mid-way surfaces as the driver's error, which failures.py explains.

    Retries: every write is one transaction, so a failed one changed nothing and may be run
    again; each write's docstring says whether running it twice is harmless.

    Threads: not thread-safe: one instance is one connection, to be used by one thread at a
    time (the applier's threads take turns through one lock: apply.py). Several processes, each
    with its own instance, share a store: the transactions keep it consistent and the locks
    (acquire, acquire_set) keep applies apart."""

    @abstractmethod
    def managed(
        self, history: bool = False, ids: Collection[str] | None = None
    ) -> dict[str, Managed]:
        """Every managed campaign by id, or those of `ids` (a partial plan's; unknown ids are
        left out); its apply history only when asked (planning needs none). A read."""

    def managed_ids(self) -> list[str]:
        """The ids of every managed campaign (an id glob's candidates)."""
        return list(self.managed())

    @abstractmethod
    def labels(self) -> dict[str, str | None]:
        """Labels under management: name -> description as last applied. A read."""

    @abstractmethod
    def record(self, managed: Managed) -> None:
        """`managed` becomes the campaign's record (created or replaced), its attribution
        appended to the history. Idempotent for the record; a repeat adds a history entry."""

    @abstractmethod
    def forget(self, campaign_id: str) -> None:
        """The campaign is no longer managed. Idempotent: an unknown id is no error."""

    @abstractmethod
    def move(self, old: str, new: str) -> bool:
        """The record of `old` (and its acknowledgements) now under `new`; False when `old` is
        not managed (a repeat: nothing left to move). FatalError when `new` is, and then
        nothing changes."""

    @abstractmethod
    def acknowledge(self, ack: Ack, managed: Managed) -> None:
        """Record the acknowledgement and `managed` (its spec as last applied) in one
        transaction. Not idempotent: a repeat records a second acknowledgement."""

    @abstractmethod
    def acks(self, campaign_id: str | None = None) -> list[Ack]:
        """Acknowledgements, oldest first; of one campaign when given. A read."""

    @abstractmethod
    def record_label(self, name: str, description: str | None, previous: str | None = None) -> None:
        """The label is managed with this description (an upsert), replacing `previous` (a
        rename). Idempotent."""

    @abstractmethod
    def forget_label(self, name: str) -> None:
        """The label is no longer managed. Idempotent: an unknown name is no error."""

    @abstractmethod
    def journal(self, entry: JournalEntry) -> None:
        """Append a step of an apply; its first entry starts the apply, with the locks this
        store holds as its scope. Not idempotent: a repeat appends the entry again."""

    @abstractmethod
    def journal_of(self, apply_id: str | None = None) -> list[JournalEntry]:
        """Entries of one apply in the order written, or of the last apply that did not
        finish; empty when there is none. A read."""

    @abstractmethod
    def finish(self, apply_id: str) -> None:
        """The apply is over: never `unfinished` again. Idempotent."""

    @abstractmethod
    def unfinished(self, within: Collection[str] | None = None) -> str | None:
        """The newest apply that started, never finished and is not running (its lock is gone:
        it crashed), if any; with `within` (lock names), only one that locked any of them. An
        apply of a lock this store holds, or that another live apply holds, is running. A
        read."""

    @abstractmethod
    def settle(self, apply_id: str, covered: Collection[str] | None) -> None:
        """An interrupted apply is over for what a later apply `covered` (lock names it planned
        and applied again; None: everything): it is finished when nothing it locked is left.
        Idempotent; an unknown apply id is no error."""

    @abstractmethod
    def acquire(self, info: LockInfo, timeout: float) -> None:
        """Take the whole store's lock, waiting up to `timeout` seconds; LockHeld names the
        holder (and nothing is taken). Exclusive against every other instance and process."""

    @abstractmethod
    def acquire_set(self, info: LockInfo, locks: LockSet, timeout: float) -> None:
        """Take the locks of `locks` (in name order, after the store's in shared mode), waiting
        up to `timeout` seconds in all; LockHeld names the holders and what they hold. A store
        without named locks (SQLite) takes the whole store. Nothing is taken on LockHeld."""

    @abstractmethod
    def release(self, lock_id: str) -> None:
        """Give back a lock this instance took. Idempotent: an unknown id is no error."""

    @abstractmethod
    def unlock(self, lock_id: str) -> bool:
        """Force-release a lock by id, whoever holds it (`state unlock`); False when no such
        lock (a repeat)."""

    @abstractmethod
    def cursor(self) -> Cursor | None:
        """Where the apply on main stands; None before its first run. A read."""

    @abstractmethod
    def set_cursor(self, commit: str, by: str, note: str = "") -> None:
        """The cursor moves to `commit` (set now, by `by`). Idempotent."""

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
        outcome, and moves to the end of the log (so a repeat is harmless). ValueError for an
        outcome not in OUTCOMES."""

    @abstractmethod
    def applied_commits(self, limit: int = 100) -> list[AppliedCommit]:
        """The commit log, newest first, at most `limit`. A read."""

    @abstractmethod
    def export(self) -> dict[str, Any]:
        """The whole store (not the lock) as a versioned JSON document (state/document.py),
        read in one snapshot. A read."""

    @abstractmethod
    def import_(self, doc: Mapping[str, Any]) -> None:
        """Replace the whole store (not the lock) with an export, in one transaction; a
        document of another format or version is refused (FatalError) before anything changes.
        Idempotent."""

    @abstractmethod
    def close(self) -> None:
        """Close the connection; a lock still held is given up with it (PostgreSQL) or stays
        until its process ends (SQLite)."""
