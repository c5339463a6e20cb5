"""The SQLite state store: one file beside the platform's; the lock is a row whose holder is
checked for liveness, since a row outlives a killed process. It has one lock, for the whole
store: an apply that asks for campaigns' and labels' locks takes it (SQLite has one writer at a
time anyway, and one file is one team's)."""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from campaign_gitops.sqlite_util import STATE, connect, immediate
from campaign_gitops.state.base import LockHeld, LockInfo, LockSet
from campaign_gitops.state.document import stamped
from campaign_gitops.state.sql import SqlState

log = logging.getLogger(__name__)


def _alive(info: LockInfo) -> bool:
    """On this host, a dead pid frees the lock; on another host only `state unlock` does."""
    if info.host != socket.gethostname():
        return True
    try:
        os.kill(info.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SqliteState(SqlState):
    def __init__(self, path: Path):
        # WAL with synchronous=NORMAL: a committed step survives the process being killed (-9);
        # only a power cut can lose the last steps, and the next plan reads the platform anyway
        self.path = path
        self._held = {}
        self.db = connect(path, synchronous="NORMAL", kind=STATE)
        try:
            self._prepare()  # BEGIN IMMEDIATE keeps a second process out while it migrates
        except BaseException:
            self.db.close()
            raise

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self.db)

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        # a deferred transaction reads one WAL snapshot without holding writers back
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            self.db.execute("COMMIT")

    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.db.execute(sql, params).fetchall()

    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.db.executemany(sql, rows)

    def _tables(self) -> set[str]:
        return {row[0] for row in self._run("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def _columns(self, table: str) -> set[str]:
        return {row[1] for row in self._run(f"PRAGMA table_info({table})")}

    def _export_path(self, version: int) -> Path:
        return stamped(self.path.parent, self.path.name, version)

    def acquire(self, info: LockInfo, timeout: float) -> None:
        self.acquire_set(info, LockSet(store=True), timeout)

    def acquire_set(self, info: LockInfo, locks: LockSet, timeout: float) -> None:
        """The whole store, whatever `locks` names (recorded as what the apply changes)."""
        deadline = time.monotonic() + timeout
        waiting = False
        while True:
            with self._tx():
                holders = [held for held, _ in self._holders() if _alive(held)]
                if not holders:
                    self._run("DELETE FROM locks")  # rows of dead processes
                    self._write_lock(info, None, locks)
                    return
            if time.monotonic() >= deadline:
                raise LockHeld(holders[0])
            if not waiting:
                waiting = True
                log.debug("waiting for the lock held by %s (lock %s)", holders[0].holder,
                          holders[0].lock_id)  # fmt: skip
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))

    def _live_locks(self) -> set[str]:
        return {held.lock_id for held, _ in self._holders() if _alive(held)}

    def release(self, lock_id: str) -> None:
        self._held.pop(lock_id, None)
        with self._tx():
            self._run("DELETE FROM locks WHERE lock_id = ?", (lock_id,))

    def unlock(self, lock_id: str) -> bool:
        self._held.pop(lock_id, None)
        with self._tx():
            return self.db.execute("DELETE FROM locks WHERE lock_id = ?", (lock_id,)).rowcount > 0

    def close(self) -> None:
        self.db.close()
