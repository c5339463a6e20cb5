"""The state store: which platform campaign each id maps to, what was last applied (for drift),
who applied it, the apply journal, and the lock."""

from __future__ import annotations

import os
import socket
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from campaign_gitops.errors import FatalError


class LockHeld(FatalError):
    def __init__(self, holder: LockInfo):
        super().__init__(
            f"the state is locked by {holder.holder} on {holder.host} (pid {holder.pid}) since "
            f"{holder.started_at}; lock id {holder.lock_id}. If that apply is gone, run "
            f"`campaign-gitops state unlock {holder.lock_id}`"
        )
        self.info = holder


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
    def managed(self, history: bool = False) -> dict[str, Managed]:
        """Every managed campaign; its apply history only when asked (planning needs none)."""

    @abstractmethod
    def labels(self) -> dict[str, str | None]:
        """Labels under management: name -> description as last applied."""

    @abstractmethod
    def record(self, managed: Managed) -> None: ...

    @abstractmethod
    def forget(self, campaign_id: str) -> None: ...

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
    def unfinished(self) -> str | None:
        """The id of an apply that started and never finished (it crashed), if any."""

    @abstractmethod
    def acquire(self, info: LockInfo, timeout: float) -> None:
        """Take the lock, waiting up to `timeout` seconds; LockHeld names the holder."""

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
