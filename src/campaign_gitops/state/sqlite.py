from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import AbstractContextManager
from pathlib import Path

from campaign_gitops.sqlite_util import connect, immediate
from campaign_gitops.state.base import JournalEntry, LockHeld, LockInfo, Managed, StateStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS managed (
    id TEXT PRIMARY KEY, platform_id TEXT NOT NULL, spec TEXT NOT NULL, applied_at TEXT NOT NULL,
    applied_by TEXT NOT NULL, commit_sha TEXT, pull_request INTEGER, history TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS managed_labels (name TEXT PRIMARY KEY, description TEXT);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, apply_id TEXT NOT NULL, step INTEGER NOT NULL,
    change TEXT NOT NULL, status TEXT NOT NULL, detail TEXT NOT NULL, platform_id TEXT
);
CREATE TABLE IF NOT EXISTS applies (apply_id TEXT PRIMARY KEY, finished INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS lock (
    one INTEGER PRIMARY KEY CHECK (one = 1), lock_id TEXT NOT NULL, holder TEXT NOT NULL,
    host TEXT NOT NULL, pid INTEGER NOT NULL, started_at TEXT NOT NULL
)
"""


def _alive(info: LockInfo) -> bool:
    """A lock row outlives a killed process; on this host, a dead pid frees it."""
    import socket

    if info.host != socket.gethostname():
        return True
    try:
        os.kill(info.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SqliteState(StateStore):
    def __init__(self, path: Path):
        self.db = connect(path, synchronous="FULL")  # the journal must survive a crash
        with self._tx():
            for statement in SCHEMA.split(";"):
                self.db.execute(statement)

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self.db)

    def managed(self) -> dict[str, Managed]:
        rows = self.db.execute(
            "SELECT id, platform_id, spec, applied_at, applied_by, commit_sha, "
            "pull_request, history FROM managed"
        )
        return {
            r[0]: Managed(
                r[0], r[1], json.loads(r[2]), r[3], r[4], r[5], r[6], tuple(json.loads(r[7]))
            )
            for r in rows
        }

    def labels(self) -> dict[str, str | None]:
        return dict(self.db.execute("SELECT name, description FROM managed_labels").fetchall())

    def record(self, managed: Managed) -> None:
        entry = {
            "applied_at": managed.applied_at,
            "applied_by": managed.applied_by,
            "commit": managed.commit,
            "pull_request": managed.pull_request,
            "platform_id": managed.platform_id,
        }
        with self._tx():
            row = self.db.execute(
                "SELECT history FROM managed WHERE id = ?", (managed.id,)
            ).fetchone()
            history = [*(json.loads(row[0]) if row else []), entry][-50:]
            self.db.execute(
                "INSERT OR REPLACE INTO managed VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    managed.id,
                    managed.platform_id,
                    json.dumps(managed.spec, sort_keys=True),
                    managed.applied_at,
                    managed.applied_by,
                    managed.commit,
                    managed.pull_request,
                    json.dumps(history),
                ),
            )

    def forget(self, campaign_id: str) -> None:
        with self._tx():
            self.db.execute("DELETE FROM managed WHERE id = ?", (campaign_id,))

    def record_label(self, name: str, description: str | None, previous: str | None = None) -> None:
        with self._tx():
            if previous is not None:
                self.db.execute("DELETE FROM managed_labels WHERE name = ?", (previous,))
            self.db.execute(
                "INSERT OR REPLACE INTO managed_labels VALUES (?, ?)", (name, description)
            )

    def forget_label(self, name: str) -> None:
        with self._tx():
            self.db.execute("DELETE FROM managed_labels WHERE name = ?", (name,))

    def journal(self, entry: JournalEntry) -> None:
        with self._tx():
            self.db.execute("INSERT OR IGNORE INTO applies VALUES (?, 0)", (entry.apply_id,))
            self.db.execute(
                "INSERT INTO journal (apply_id, step, change, status, detail, platform_id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    entry.apply_id,
                    entry.step,
                    entry.change,
                    entry.status,
                    entry.detail,
                    entry.platform_id,
                ),
            )

    def journal_of(self, apply_id: str | None = None) -> list[JournalEntry]:
        apply_id = apply_id or self.unfinished()
        rows = self.db.execute(
            "SELECT apply_id, step, change, status, detail, platform_id FROM "
            "journal WHERE apply_id = ? ORDER BY seq",
            (apply_id,),
        )
        return [JournalEntry(*row) for row in rows]

    def finish(self, apply_id: str) -> None:
        with self._tx():
            self.db.execute("INSERT OR REPLACE INTO applies VALUES (?, 1)", (apply_id,))

    def unfinished(self) -> str | None:
        row = self.db.execute(
            "SELECT apply_id FROM applies WHERE finished = 0 ORDER BY rowid DESC LIMIT 1"
        ).fetchone()
        return row[0] if row else None

    def _holder(self) -> LockInfo | None:
        row = self.db.execute("SELECT lock_id, holder, host, pid, started_at FROM lock").fetchone()
        return LockInfo(*row) if row else None

    def acquire(self, info: LockInfo, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self._tx():
                holder = self._holder()
                if holder is not None and not _alive(holder):
                    self.db.execute("DELETE FROM lock")
                    holder = None
                if holder is None:
                    self.db.execute(
                        "INSERT INTO lock VALUES (1, ?, ?, ?, ?, ?)",
                        (info.lock_id, info.holder, info.host, info.pid, info.started_at),
                    )
                    return
            if time.monotonic() >= deadline:
                raise LockHeld(holder)
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))

    def release(self, lock_id: str) -> None:
        with self._tx():
            self.db.execute("DELETE FROM lock WHERE lock_id = ?", (lock_id,))

    def unlock(self, lock_id: str) -> bool:
        with self._tx():
            return self.db.execute("DELETE FROM lock WHERE lock_id = ?", (lock_id,)).rowcount > 0

    def close(self) -> None:
        self.db.close()
