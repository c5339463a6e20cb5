"""The state store's SQL, shared by SQLite and PostgreSQL; each dialect brings its connection,
its transactions, its locks and where an export made before a migration goes. The rows of the
`locks` table name who holds what (the locks themselves are the dialect's)."""

from __future__ import annotations

import json
import logging
import time
from abc import abstractmethod
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import orjson

from campaign_gitops.errors import FatalError
from campaign_gitops.state import document
from campaign_gitops.state.base import (
    OUTCOMES,
    Ack,
    AppliedCommit,
    Cursor,
    JournalEntry,
    LockInfo,
    LockSet,
    Managed,
    StateStore,
)
from campaign_gitops.state.schema import (
    CONTENT_TABLES,
    LATEST,
    VERSION_DDL,
    VERSION_TABLE,
    NewerStore,
    pending,
    unversioned,
)

log = logging.getLogger(__name__)
HISTORY_KEPT = 50
IDS_A_QUERY = 500  # bound parameters a statement (SQLite allows 999 in old builds)
MANAGED_COLUMNS = (
    "id, platform_id, spec, applied_at, applied_by, commit_sha, pull_request, history, author, "
    "merged_by, approvers, dirty"
)
APPLIED_COLUMNS = "commit_sha, pull_request, outcome, recorded_at, recorded_by, detail"
ACK_COLUMNS = (
    "campaign_id, changes, platform_id, spec, checksum, file_checksum, acked_at, acked_by, note"
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SqlState(StateStore):
    PARAM = "?"
    SERIAL = "INTEGER PRIMARY KEY AUTOINCREMENT"
    _held: dict[str, LockSet]  # lock id -> what this connection holds under it, oldest first
    # _scope() of the locks it was computed for: an apply journals every step under the same
    # locks, and serialising thousands of names for each step made a large apply quadratic
    _scoped: tuple[tuple[tuple[str, LockSet], ...], tuple[str | None, str | None]] | None = None

    @abstractmethod
    def _tx(self) -> AbstractContextManager[Any]: ...

    def _snapshot(self) -> AbstractContextManager[Any]:
        """A transaction whose reads all see one moment (for an export)."""
        return self._tx()

    @abstractmethod
    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (inside a transaction when one is open); the rows it returns."""

    @abstractmethod
    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement once per row."""

    def _sql(self, sql: str) -> str:
        return sql.replace("?", self.PARAM)

    @abstractmethod
    def _tables(self) -> set[str]: ...

    @abstractmethod
    def _columns(self, table: str) -> set[str]: ...

    def _schema_lock(self) -> None:
        """Inside the migration's transaction, when the transaction alone does not keep a
        second process out."""

    @abstractmethod
    def _export_path(self, version: int) -> Path:
        """Where the export written before migrating a store at `version` goes."""

    @abstractmethod
    def _live_locks(self) -> set[str]:
        """The ids of the locks some running process (this one included) holds."""

    # -- schema ---------------------------------------------------------------------------

    def _version(self) -> int | None:
        tables = self._tables()
        if VERSION_TABLE in tables:
            rows = self._run(f"SELECT version FROM {VERSION_TABLE}")
            if rows:
                return int(rows[0][0])
        return unversioned(tables, self._columns("managed") if "managed" in tables else set())

    def _prepare(self) -> None:
        """Bring the store to the latest schema: create it, or migrate it in one transaction
        after exporting its content; refuse a store made by a newer version."""
        version = self._version()
        if version == LATEST:
            return
        if version is not None and version > LATEST:
            raise NewerStore(version)
        with self._tx():
            self._schema_lock()
            version = self._version()  # another process may have migrated it meanwhile
            if version == LATEST:
                return
            if version is not None and version > LATEST:
                raise NewerStore(version)
            if version is not None and self._has_content():
                self._export_before(version)
            for statement in pending(version):
                self._run(statement.replace("SERIAL_TYPE", self.SERIAL))
            self._run(VERSION_DDL)
            self._run(f"DELETE FROM {VERSION_TABLE}")
            self._run(f"INSERT INTO {VERSION_TABLE} (one, version) VALUES (1, ?)", (LATEST,))
        if version is not None:
            log.info("state store migrated from schema %d to %d", version, LATEST)

    def _has_content(self) -> bool:
        present = self._tables().intersection(CONTENT_TABLES)
        return any(self._run(f"SELECT 1 FROM {table} LIMIT 1") for table in present)

    def _export_before(self, version: int) -> None:
        path = self._export_path(version)
        document.write(self._document(version), path)
        log.info("state store at schema %d exported to %s before migrating it", version, path)
        click.echo(
            f"note: migrating the state store from schema {version} to {LATEST}; its content "
            f"was first exported to {path} (`campaign-gitops state import` restores it)",
            err=True,
        )

    # -- campaigns and labels -------------------------------------------------------------

    def managed(
        self, history: bool = False, ids: Collection[str] | None = None
    ) -> dict[str, Managed]:
        if ids is None:
            return self._managed(history, LATEST)
        found: dict[str, Managed] = {}
        wanted = sorted(ids)
        for start in range(0, len(wanted), IDS_A_QUERY):
            chunk = wanted[start : start + IDS_A_QUERY]
            where = f" WHERE id IN ({', '.join('?' * len(chunk))})"
            found |= self._managed(history, LATEST, where, chunk)
        return found

    def managed_ids(self) -> list[str]:
        return [r[0] for r in self._run("SELECT id FROM managed")]

    def _managed(
        self, history: bool, version: int, where: str = "", params: Sequence[Any] = ()
    ) -> dict[str, Managed]:
        columns = MANAGED_COLUMNS.replace("history", "history" if history else "'[]'")
        if version < 5:
            columns = columns.replace("dirty", "NULL")
        if version < 2:
            columns = columns.replace("merged_by, approvers", "NULL, NULL")
        if version < 1:
            columns = columns.replace("author", "NULL")
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
                r[9],
                tuple(orjson.loads(r[10])) if r[10] else (),
                None if r[11] is None else tuple(orjson.loads(r[11])),
            )
            for r in self._run(f"SELECT {columns} FROM managed{where}", params)
        }

    def labels(self) -> dict[str, str | None]:
        return {
            name: text for name, text in self._run("SELECT name, description FROM managed_labels")
        }

    @staticmethod
    def _managed_row(managed: Managed, history: Sequence[Mapping[str, Any]]) -> tuple[Any, ...]:
        return (
            managed.id,
            managed.platform_id,
            json.dumps(managed.spec, sort_keys=True),
            managed.applied_at,
            managed.applied_by,
            managed.commit,
            managed.pull_request,
            json.dumps(list(history)),
            managed.author,
            managed.merged_by,
            json.dumps(list(managed.approvers)),
            None if managed.dirty is None else json.dumps(list(managed.dirty)),
        )

    def _insert_managed(self, rows: Iterable[tuple[Any, ...]]) -> None:
        self._many(f"INSERT INTO managed ({MANAGED_COLUMNS}) VALUES ({', '.join('?' * 12)})", rows)

    def record(self, managed: Managed) -> None:
        with self._tx():
            self._record(managed)

    def _record(self, managed: Managed, ack: Ack | None = None) -> None:
        entry = {
            "applied_at": managed.applied_at,
            "applied_by": managed.applied_by,
            "commit": managed.commit,
            "author": managed.author,
            "pull_request": managed.pull_request,
            "merged_by": managed.merged_by,
            "approvers": list(managed.approvers),
            "platform_id": managed.platform_id,
            "dirty": None if managed.dirty is None else list(managed.dirty),
        }
        if ack is not None:
            entry["acknowledged"] = list(ack.changes)
        rows = self._run("SELECT history FROM managed WHERE id = ?", (managed.id,))
        history = [*(json.loads(rows[0][0]) if rows else []), entry][-HISTORY_KEPT:]
        self._run("DELETE FROM managed WHERE id = ?", (managed.id,))
        self._insert_managed([self._managed_row(managed, history)])

    # -- acknowledgements of manual changes -----------------------------------------------

    @staticmethod
    def _ack_row(ack: Ack) -> tuple[Any, ...]:
        return (
            ack.campaign_id,
            json.dumps(list(ack.changes)),
            ack.platform_id,
            json.dumps(ack.spec, sort_keys=True),
            ack.checksum,
            ack.file_checksum,
            ack.at,
            ack.by,
            ack.note,
        )

    def _insert_acks(self, rows: Iterable[tuple[Any, ...]]) -> None:
        self._many(f"INSERT INTO acks ({ACK_COLUMNS}) VALUES ({', '.join('?' * 9)})", rows)

    def acknowledge(self, ack: Ack, managed: Managed) -> None:
        with self._tx():
            self._insert_acks([self._ack_row(ack)])
            self._record(managed, ack)

    def acks(self, campaign_id: str | None = None) -> list[Ack]:
        where, params = (" WHERE campaign_id = ?", (campaign_id,)) if campaign_id else ("", ())
        rows = self._run(f"SELECT {ACK_COLUMNS} FROM acks{where} ORDER BY seq", params)
        return [
            Ack(r[0], tuple(orjson.loads(r[1])), r[2], orjson.loads(r[3]), *r[4:]) for r in rows
        ]

    def forget(self, campaign_id: str) -> None:
        with self._tx():
            self._run("DELETE FROM managed WHERE id = ?", (campaign_id,))

    def move(self, old: str, new: str) -> bool:
        with self._tx():
            if not self._run("SELECT 1 FROM managed WHERE id = ?", (old,)):
                return False
            if self._run("SELECT 1 FROM managed WHERE id = ?", (new,)):
                raise FatalError(f"the state store already manages a campaign {new!r}")
            self._run("UPDATE managed SET id = ? WHERE id = ?", (new, old))
            self._run("UPDATE acks SET campaign_id = ? WHERE campaign_id = ?", (new, old))
        return True

    def record_label(self, name: str, description: str | None, previous: str | None = None) -> None:
        # an upsert: two applies may settle the same label at once (PostgreSQL)
        with self._tx():
            if previous and previous != name:
                self._run("DELETE FROM managed_labels WHERE name = ?", (previous,))
            self._run(
                "INSERT INTO managed_labels (name, description) VALUES (?, ?) ON CONFLICT (name) "
                "DO UPDATE SET description = excluded.description",
                (name, description),
            )

    def forget_label(self, name: str) -> None:
        with self._tx():
            self._run("DELETE FROM managed_labels WHERE name = ?", (name,))

    # -- the journal ----------------------------------------------------------------------

    def journal(self, entry: JournalEntry) -> None:
        """The first entry of an apply records the lock it runs under and what that locks."""
        with self._tx():
            self._run(
                "INSERT INTO applies (apply_id, started, finished, lock_id, scope) "
                "VALUES (?, ?, 0, ?, ?) ON CONFLICT (apply_id) DO NOTHING",
                (entry.apply_id, time.time_ns(), *self._scope()),
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
                "INSERT INTO applies (apply_id, started, finished) VALUES (?, ?, 1) "
                "ON CONFLICT (apply_id) DO UPDATE SET finished = 1",
                (apply_id, time.time_ns()),
            )

    def _scope(self) -> tuple[str | None, str | None]:
        """The newest lock this connection holds, and the names of all it holds as JSON (None:
        the whole store, or no lock at all)."""
        held = tuple(self._held.items())
        if self._scoped is not None and self._scoped[0] == held:
            return self._scoped[1]
        self._scoped = (held, self._scope_of(held))
        return self._scoped[1]

    @staticmethod
    def _scope_of(held: tuple[tuple[str, LockSet], ...]) -> tuple[str | None, str | None]:
        if not held:
            return None, None
        lock_id = held[-1][0]
        if any(locks.store and not locks.names for _, locks in held):
            return lock_id, None
        names = frozenset().union(*(locks.names for _, locks in held))
        return lock_id, json.dumps(sorted(names))

    def unfinished(self, within: Collection[str] | None = None) -> str | None:
        rows = self._run(
            "SELECT apply_id, lock_id, scope FROM applies WHERE finished = 0 ORDER BY started DESC"
        )
        if not rows:
            return None
        running = self._live_locks()
        wanted = None if within is None else set(within)
        for apply_id, lock_id, scope in rows:
            if lock_id is not None and lock_id in running:
                continue
            if wanted is None or scope is None or wanted & set(json.loads(scope)):
                return str(apply_id)
        return None

    def settle(self, apply_id: str, covered: Collection[str] | None) -> None:
        with self._tx():
            rows = self._run("SELECT scope FROM applies WHERE apply_id = ?", (apply_id,))
            if not rows:
                return
            left: list[str] = []
            if covered is not None:
                if rows[0][0] is None:
                    return  # an apply of the whole store is over once everything is planned
                left = sorted(set(json.loads(rows[0][0])) - set(covered))
            if left:
                self._run(
                    "UPDATE applies SET scope = ? WHERE apply_id = ?", (json.dumps(left), apply_id)
                )
            else:
                self._run("UPDATE applies SET finished = 1 WHERE apply_id = ?", (apply_id,))

    # -- the apply cursor on main ---------------------------------------------------------

    def cursor(self) -> Cursor | None:
        rows = self._run("SELECT commit_sha, set_at, set_by, note FROM apply_cursor")
        return Cursor(*rows[0]) if rows else None

    def set_cursor(self, commit: str, by: str, note: str = "") -> None:
        with self._tx():
            self._run("DELETE FROM apply_cursor")
            self._run(
                "INSERT INTO apply_cursor (one, commit_sha, set_at, set_by, note) "
                "VALUES (1, ?, ?, ?, ?)",
                (commit, _now(), by, note),
            )

    def record_commit(
        self,
        commit: str,
        pull_request: int | None,
        outcome: str,
        at: str,
        by: str,
        detail: str = "",
    ) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
        with self._tx():
            last = self._run("SELECT COALESCE(MAX(seq), 0) FROM applied_commits")[0][0]
            self._run(
                f"INSERT INTO applied_commits ({APPLIED_COLUMNS}, seq) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (commit_sha) DO UPDATE SET "
                "pull_request = excluded.pull_request, outcome = excluded.outcome, "
                "recorded_at = excluded.recorded_at, recorded_by = excluded.recorded_by, "
                "detail = excluded.detail, seq = excluded.seq",
                (commit, pull_request, outcome, at, by, detail, int(last) + 1),
            )

    def applied_commits(self, limit: int = 100) -> list[AppliedCommit]:
        rows = self._run(
            f"SELECT {APPLIED_COLUMNS} FROM applied_commits ORDER BY seq DESC LIMIT ?", (limit,)
        )
        return [AppliedCommit(*row) for row in rows]

    # -- export and import ----------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        with self._snapshot():
            return self._document(LATEST)

    def _document(self, version: int) -> dict[str, Any]:
        """The content of a store at `version` (older ones lack some columns and tables)."""
        doc = document.header(version)
        managed = self._managed(True, version)
        doc["managed"] = [document.managed_item(managed[key]) for key in sorted(managed)]
        doc["labels"] = [
            {"name": name, "description": text} for name, text in sorted(self.labels().items())
        ]
        cursor = self.cursor() if version >= 2 else None
        doc["cursor"] = asdict(cursor) if cursor else None
        applied = (
            self._run(f"SELECT {APPLIED_COLUMNS} FROM applied_commits ORDER BY seq")
            if version >= 2
            else []
        )
        doc["applied"] = [asdict(AppliedCommit(*row)) for row in applied]
        applies = self._run("SELECT apply_id, started, finished FROM applies ORDER BY started")
        doc["applies"] = [
            {"apply_id": a, "started": int(s), "finished": bool(f)} for a, s, f in applies
        ]
        journal = self._run(
            "SELECT apply_id, step, change, status, detail, platform_id FROM journal ORDER BY seq"
        )
        doc["journal"] = [asdict(JournalEntry(*row)) for row in journal]
        doc["acks"] = [document.ack_item(a) for a in self.acks()] if version >= 3 else []
        return doc

    def import_(self, doc: Mapping[str, Any]) -> None:
        parsed = document.parse(dict(doc))
        with self._tx():
            for table in CONTENT_TABLES:
                self._run(f"DELETE FROM {table}")
            self._insert_managed(self._managed_row(m.managed(), m.history) for m in parsed.managed)
            self._many(
                "INSERT INTO managed_labels (name, description) VALUES (?, ?)",
                ((label.name, label.description) for label in parsed.labels),
            )
            if parsed.cursor is not None:
                c = parsed.cursor
                self._run(
                    "INSERT INTO apply_cursor (one, commit_sha, set_at, set_by, note) "
                    "VALUES (1, ?, ?, ?, ?)",
                    (c.commit, c.set_at, c.set_by, c.note),
                )
            self._many(
                f"INSERT INTO applied_commits ({APPLIED_COLUMNS}, seq) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    (a.commit, a.pull_request, a.outcome, a.at, a.by, a.detail, seq)
                    for seq, a in enumerate(parsed.applied, 1)
                ),
            )
            self._many(
                "INSERT INTO applies (apply_id, started, finished) VALUES (?, ?, ?)",
                ((a.apply_id, a.started, int(a.finished)) for a in parsed.applies),
            )
            self._many(
                "INSERT INTO journal (apply_id, step, change, status, detail, platform_id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    (j.apply_id, j.step, j.change, j.status, j.detail, j.platform_id)
                    for j in parsed.journal
                ),
            )
            self._insert_acks(
                self._ack_row(Ack(**(a.model_dump() | {"changes": tuple(a.changes)})))
                for a in parsed.acks
            )

    # -- the rows naming the locks' holders -----------------------------------------------

    def _holders(self, where: str = "", params: Sequence[Any] = ()) -> list[tuple[LockInfo, Any]]:
        """Each holder's row (of those `where` selects), with its session."""
        rows = self._run(
            f"SELECT lock_id, holder, host, pid, started_at, session FROM locks{where} "
            "ORDER BY started_at, lock_id",
            params,
        )
        return [(LockInfo(*row[:5]), row[5]) for row in rows]

    def _write_lock(self, info: LockInfo, session: int | None, locks: LockSet) -> None:
        scope = None if locks.store and not locks.names else json.dumps(sorted(locks.names))
        self._run("DELETE FROM locks WHERE lock_id = ?", (info.lock_id,))
        self._run(
            "INSERT INTO locks (lock_id, holder, host, pid, started_at, session, scope) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (info.lock_id, info.holder, info.host, info.pid, info.started_at, session, scope),
        )
        self._held[info.lock_id] = locks
