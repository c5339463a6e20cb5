"""The PostgreSQL state store for teams: the lock is a session advisory lock, so it dies with
the connection of an apply that is killed; a row beside it names the holder."""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from campaign_gitops import redact
from campaign_gitops.config import STATE_ENV
from campaign_gitops.errors import FatalError
from campaign_gitops.state.base import LockHeld, LockInfo
from campaign_gitops.state.document import stamped
from campaign_gitops.state.sql import SqlState

LOCK_KEY = zlib.crc32(b"campaign-gitops state lock")  # one advisory lock per database


def redacted(conninfo: str) -> str:
    """The connection string (a URL or libpq's key=value form) without its password, for
    messages; the password, wherever it was (user:password@, ?password=, password=), is
    registered as a secret."""
    try:
        password = conninfo_to_dict(conninfo).get("password")
    except psycopg.Error:
        return "(a connection string libpq cannot parse)"
    if not password:
        return conninfo
    redact.secret(str(password))
    if "://" not in conninfo:
        return make_conninfo(conninfo, password=redact.MASK)
    parts = urlsplit(conninfo)
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}:{redact.MASK}@{host}"
    query = [(k, redact.MASK if k == "password" else v) for k, v in parse_qsl(parts.query)]
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query, safe="*")))


def _parsed(conninfo: str) -> None:
    """libpq's parse errors quote the fragment they trip on, which may be the password: only
    an unknown keyword is shown."""
    try:
        conninfo_to_dict(conninfo)
    except psycopg.Error as exc:
        reason = str(exc).strip()
        shown = reason if reason.startswith("invalid connection option") else "not shown"
        raise FatalError(
            "the PostgreSQL state store's connection string cannot be parsed "
            f"({shown}): check its quoting, and percent-encoding in a URL"
        ) from None


def _unreachable(url: str, where: str, reason: str) -> str:
    """Where the connection went (host and port, never the password) and what to check."""
    params = conninfo_to_dict(url)
    host = params.get("host") or "the local socket"
    port = params.get("port") or "5432"
    if "FATAL" in reason or "authentication" in reason:
        remedy = "The server refused the login: check the user, its password and the database"
    else:
        remedy = "Check that the server is running and reachable from here"
    return (
        f"cannot reach the PostgreSQL state store at {where} (host {host}, port {port}): "
        f"{reason}. {remedy} (`state` in the config, or {STATE_ENV})"
    )


@contextmanager
def _repeatable_read(db: psycopg.Connection[Any]) -> Iterator[None]:
    with db.transaction():
        db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


class PostgresState(SqlState):
    PARAM = "%s"
    SERIAL = "BIGSERIAL PRIMARY KEY"

    def __init__(self, url: str, export_dir: Path | None = None):
        """`export_dir`: where an export is written before a migration (default:
        .campaign-gitops in the working folder)."""
        self.export_dir = export_dir
        _parsed(url)
        where = redacted(url)
        try:
            self.db = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            reason = redact.text(str(exc).replace(url, where)).strip().splitlines()[0]
            raise FatalError(_unreachable(url, where, reason)) from None
        try:
            self._prepare()
        except BaseException:
            self.db.close()
            raise

    def _tx(self) -> AbstractContextManager[Any]:
        return self.db.transaction()

    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self.db.execute(self._sql(sql).encode(), params)
        return cursor.fetchall() if cursor.description else []

    def _snapshot(self) -> AbstractContextManager[Any]:
        return _repeatable_read(self.db)

    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.db.cursor() as cursor:
            cursor.executemany(self._sql(sql).encode(), rows)

    def _tables(self) -> set[str]:
        rows = self._run(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        return {row[0] for row in rows}

    def _columns(self, table: str) -> set[str]:
        rows = self._run(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ?",
            (table,),
        )
        return {row[0] for row in rows}

    def _schema_lock(self) -> None:
        # two first opens must not both create or migrate the tables
        self.db.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY + 1,))

    def _export_path(self, version: int) -> Path:
        folder = self.export_dir or Path.cwd() / ".campaign-gitops"
        return stamped(folder, f"postgres-{self.db.info.dbname}", version)

    def _try_lock(self) -> bool:
        row = self.db.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
        return bool(row and row[0])

    def acquire(self, info: LockInfo, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self._try_lock():
            if time.monotonic() >= deadline:
                holder = self._holder() or LockInfo("unknown", "unknown", "unknown", 0, "unknown")
                raise LockHeld(holder)
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        with self._tx():
            self._write_lock(info, self._session())

    def _session(self) -> int | None:
        row = self.db.execute("SELECT pg_backend_pid()").fetchone()
        return int(row[0]) if row else None

    def release(self, lock_id: str) -> None:
        with self._tx():
            self._run("DELETE FROM lock WHERE lock_id = ?", (lock_id,))
        self.db.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))

    def unlock(self, lock_id: str) -> bool:
        """End the holder's session, which frees its advisory lock (needs the right to
        terminate that session: the same role, or pg_signal_backend)."""
        rows = self._run("SELECT session FROM lock WHERE lock_id = ?", (lock_id,))
        if not rows:
            return False
        session = rows[0][0]
        if session is not None and session == self._session():
            self.db.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        elif session is not None:
            self.db.execute("SELECT pg_terminate_backend(%s)", (session,))
        with self._tx():
            self._run("DELETE FROM lock WHERE lock_id = ?", (lock_id,))
        return True

    def close(self) -> None:
        self.db.close()
