"""The state store's SQL, shared by SQLite and PostgreSQL; each dialect brings its connection,
its transactions and its lock."""

from __future__ import annotations

import json
import time
from abc import abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import orjson

from campaign_gitops.state.base import JournalEntry, LockInfo, Managed, StateStore

TABLES = """
CREATE TABLE IF NOT EXISTS managed (
    id TEXT PRIMARY KEY, platform_id TEXT NOT NULL, spec TEXT NOT NULL, applied_at TEXT NOT NULL,
    applied_by TEXT NOT NULL, commit_sha TEXT, pull_request INTEGER, history TEXT NOT NULL,
    author TEXT
);
CREATE TABLE IF NOT EXISTS managed_labels (name TEXT PRIMARY KEY, description TEXT);
CREATE TABLE IF NOT EXISTS applies (
    apply_id TEXT PRIMARY KEY, started BIGINT NOT NULL, finished INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS journal (
    seq SERIAL_TYPE, apply_id TEXT NOT NULL, step INTEGER NOT NULL, change TEXT NOT NULL,
    status TEXT NOT NULL, detail TEXT NOT NULL, platform_id TEXT
);
CREATE TABLE IF NOT EXISTS lock (
    one INTEGER PRIMARY KEY CHECK (one = 1), lock_id TEXT NOT NULL, holder TEXT NOT NULL,
    host TEXT NOT NULL, pid INTEGER NOT NULL, started_at TEXT NOT NULL, session INTEGER
)
"""
HISTORY_KEPT = 50
ADDED_COLUMNS = (("managed", "author", "TEXT"),)


class SqlState(StateStore):
    PARAM = "?"
    SERIAL = "INTEGER PRIMARY KEY AUTOINCREMENT"

    @abstractmethod
    def _tx(self) -> AbstractContextManager[Any]: ...

    @abstractmethod
    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (inside a transaction when one is open); the rows it returns."""

    def _sql(self, sql: str) -> str:
        return sql.replace("?", self.PARAM)

    @abstractmethod
    def _columns(self, table: str) -> set[str]: ...

    def _create_tables(self) -> None:
        with self._tx():
            for statement in TABLES.replace("SERIAL_TYPE", self.SERIAL).split(";"):
                self._run(statement)
            for table, column, kind in ADDED_COLUMNS:  # stores made by an earlier version
                if column not in self._columns(table):
                    self._run(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    def managed(self, history: bool = False) -> dict[str, Managed]:
        rows = self._run(
            "SELECT id, platform_id, spec, applied_at, applied_by, commit_sha, pull_request, "
            + ("history" if history else "'[]'")
            + ", author FROM managed"
        )
        return {
            r[0]: Managed(
                r[0],
                r[1],
                orjson.loads(r[2]),
                r[3],
                r[4],
                r[5],
                r[6],
                tuple(orjson.loads(r[7])),
                r[8],
            )
            for r in rows
        }

    def labels(self) -> dict[str, str | None]:
        return {
            name: text for name, text in self._run("SELECT name, description FROM managed_labels")
        }

    def record(self, managed: Managed) -> None:
        entry = {
            "applied_at": managed.applied_at,
            "applied_by": managed.applied_by,
            "commit": managed.commit,
            "author": managed.author,
            "pull_request": managed.pull_request,
            "platform_id": managed.platform_id,
        }
        with self._tx():
            rows = self._run("SELECT history FROM managed WHERE id = ?", (managed.id,))
            history = [*(json.loads(rows[0][0]) if rows else []), entry][-HISTORY_KEPT:]
            self._run("DELETE FROM managed WHERE id = ?", (managed.id,))
            self._run(
                "INSERT INTO managed VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    managed.id,
                    managed.platform_id,
                    json.dumps(managed.spec, sort_keys=True),
                    managed.applied_at,
                    managed.applied_by,
                    managed.commit,
                    managed.pull_request,
                    json.dumps(history),
                    managed.author,
                ),
            )

    def forget(self, campaign_id: str) -> None:
        with self._tx():
            self._run("DELETE FROM managed WHERE id = ?", (campaign_id,))

    def record_label(self, name: str, description: str | None, previous: str | None = None) -> None:
        with self._tx():
            self._run("DELETE FROM managed_labels WHERE name IN (?, ?)", (name, previous or name))
            self._run("INSERT INTO managed_labels VALUES (?, ?)", (name, description))

    def forget_label(self, name: str) -> None:
        with self._tx():
            self._run("DELETE FROM managed_labels WHERE name = ?", (name,))

    def journal(self, entry: JournalEntry) -> None:
        with self._tx():
            self._run(
                "INSERT INTO applies VALUES (?, ?, 0) ON CONFLICT (apply_id) DO NOTHING",
                (entry.apply_id, time.time_ns()),
            )
            self._run(
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
        rows = self._run(
            "SELECT apply_id, step, change, status, detail, platform_id FROM "
            "journal WHERE apply_id = ? ORDER BY seq",
            (apply_id,),
        )
        return [JournalEntry(*row) for row in rows]

    def finish(self, apply_id: str) -> None:
        with self._tx():
            self._run(
                "INSERT INTO applies VALUES (?, ?, 1) "
                "ON CONFLICT (apply_id) DO UPDATE SET finished = 1",
                (apply_id, time.time_ns()),
            )

    def unfinished(self) -> str | None:
        rows = self._run(
            "SELECT apply_id FROM applies WHERE finished = 0 ORDER BY started DESC LIMIT 1"
        )
        return rows[0][0] if rows else None

    def _holder(self) -> LockInfo | None:
        rows = self._run("SELECT lock_id, holder, host, pid, started_at FROM lock")
        return LockInfo(*rows[0]) if rows else None

    def _write_lock(self, info: LockInfo, session: int | None) -> None:
        self._run("DELETE FROM lock")
        self._run(
            "INSERT INTO lock VALUES (1, ?, ?, ?, ?, ?, ?)",
            (info.lock_id, info.holder, info.host, info.pid, info.started_at, session),
        )
