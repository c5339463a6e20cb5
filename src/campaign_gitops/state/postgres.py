"""The PostgreSQL state store for teams. Its locks are session advisory locks, so they die with
the connection of an apply that is killed; a row beside them names the holder and what it holds.

An apply locks the campaigns and labels it changes (`pg_advisory_lock(NAMED_KEY,
hashtext(name))`, a label its campaigns use in shared mode) after taking the store's lock
(`LOCK_KEY`) in shared mode; whatever needs the whole store (a state import, an ack, an apply of
main's merged pull requests, a label rename) takes the store's lock exclusively. Locks are taken
in one order (the store's, then by key), so two applies never wait for each other in a circle;
the server does the waiting, bounded by `lock_timeout` and `statement_timeout`."""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from campaign_gitops import redact
from campaign_gitops.config import STATE_ENV
from campaign_gitops.errors import FatalError
from campaign_gitops.state.base import LockHeld, LockInfo, LockSet
from campaign_gitops.state.document import stamped
from campaign_gitops.state.sql import SqlState

LOCK_KEY = zlib.crc32(b"campaign-gitops state lock")  # the whole store (one per database)
NAMED_KEY = zlib.crc32(b"campaign-gitops named locks") & 0x7FFFFFFF  # (NAMED_KEY, hashtext(name))
# a lock free now is taken even at --lock-timeout 0 on a loaded machine
WAIT_FLOOR_MS = 50
RESET_TRIES = 100
WAITED = (errors.LockNotAvailable, errors.QueryCanceled, errors.DeadlockDetected)
_HERE = "l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
_STORE = f"l.locktype = 'advisory' AND {_HERE} AND l.objsubid = 1 AND l.objid::bigint = {LOCK_KEY}"
_NAMED = f"l.locktype = 'advisory' AND {_HERE} AND l.objsubid = 2 AND l.classid = {NAMED_KEY}"
# the sessions holding the store's lock: every running apply (and ack, import) is one of them
STORE_HOLDERS = f"SELECT l.pid FROM pg_locks l WHERE {_STORE} AND l.granted"
ORDERED_KEYS = (
    "SELECT k, bool_or(x) FROM (SELECT hashtext(n) AS k, x FROM unnest(%s::text[], %s::bool[]) "
    "AS t(n, x)) s GROUP BY k ORDER BY k"
)
LOCK_KEYS = (
    f"SELECT count(*) FROM (SELECT CASE WHEN x THEN pg_advisory_lock({NAMED_KEY}, k) "
    f"ELSE pg_advisory_lock_shared({NAMED_KEY}, k) END FROM unnest(%s::int4[], %s::bool[]) "
    "WITH ORDINALITY AS t(k, x, i) ORDER BY i) s"
)
UNLOCK_KEYS = (
    f"SELECT count(*) FROM (SELECT CASE WHEN x THEN pg_advisory_unlock({NAMED_KEY}, k) "
    f"ELSE pg_advisory_unlock_shared({NAMED_KEY}, k) END FROM unnest(%s::int4[], %s::bool[]) "
    "AS t(k, x)) s"
)
# who holds, in a mode that conflicts, the names asked for (exclusively: x), other than us
NAMED_HOLDERS = (
    f"SELECT l.pid, t.n FROM unnest(%s::text[], %s::bool[]) AS t(n, x) JOIN pg_locks l ON {_NAMED} "
    "AND l.objid::bigint = (hashtext(t.n)::bigint & 4294967295) AND l.granted "
    "AND l.pid <> pg_backend_pid() AND (t.x OR l.mode = 'ExclusiveLock') ORDER BY t.n"
)
MY_KEYS = (
    f"SELECT l.objid::bigint, l.mode FROM pg_locks l WHERE {_NAMED} AND l.pid = pg_backend_pid()"
)


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
        self._held = {}
        self._keys: dict[str, tuple[bool, list[tuple[int, bool]]]] = {}  # store exclusive?, keys
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

    def _session(self) -> int | None:
        row = self.db.execute("SELECT pg_backend_pid()").fetchone()
        return int(row[0]) if row else None

    def acquire(self, info: LockInfo, timeout: float) -> None:
        self.acquire_set(info, LockSet(store=True), timeout)

    def acquire_set(self, info: LockInfo, locks: LockSet, timeout: float) -> None:
        if info.lock_id in self._held:
            raise ValueError(f"lock {info.lock_id} is already held")
        names = [] if locks.store else list(locks.modes().items())
        keys: list[tuple[int, bool]] = []
        if names:
            keys = [
                (int(k), bool(x))
                for k, x in self._run(ORDERED_KEYS, ([n for n, _ in names], [x for _, x in names]))
            ]
        deadline = time.monotonic() + timeout
        store_taken = False
        try:
            self._wait_until(deadline)
            lock = "pg_advisory_lock" if locks.store else "pg_advisory_lock_shared"
            self.db.execute(f"SELECT {lock}(%s)".encode(), (LOCK_KEY,))
            store_taken = True
            if keys:
                self._wait_until(deadline)
                self.db.execute(LOCK_KEYS.encode(), ([k for k, _ in keys], [x for _, x in keys]))
        except WAITED:
            self._reset_timeouts()
            self._unlock(locks.store, self._taken_now() if store_taken else None)
            raise self._contention(locks, names) from None
        self._reset_timeouts()
        self._keys[info.lock_id] = (locks.store, keys)
        try:
            with self._tx():
                self._run(
                    f"DELETE FROM locks WHERE session IS NULL OR session NOT IN ({STORE_HOLDERS})"
                )
                self._write_lock(info, self._session(), locks)
        except BaseException:
            self._held.pop(info.lock_id, None)
            self._unlock(*self._keys.pop(info.lock_id))
            raise

    def _reset_timeouts(self) -> None:
        """The session's own timeouts again. A statement's timer starts with the timeout in
        force, so a reset can itself be cancelled on a loaded machine: it is tried again, each
        time with a fresh timer (of WAIT_FLOOR_MS at least). Cancelled RESET_TRIES times, the
        session ends: what it took is then certainly released (an unlock under the same short
        timeout could be cancelled too), and the error is raised."""
        for statement in ("RESET statement_timeout", "RESET lock_timeout"):
            for attempt in range(RESET_TRIES):
                try:
                    self.db.execute(statement)
                    break
                except errors.QueryCanceled:
                    if attempt == RESET_TRIES - 1:
                        self.db.close()
                        raise

    def _wait_until(self, deadline: float) -> None:
        """How long the server waits for a lock (and for the statement taking several): what is
        left until `deadline`, at least WAIT_FLOOR_MS."""
        left = f"{max(WAIT_FLOOR_MS, int((deadline - time.monotonic()) * 1000))}ms"
        self.db.execute(
            "SELECT set_config('lock_timeout', %s, false), "
            "set_config('statement_timeout', %s, false)",
            (left, left),
        )

    def _taken_now(self) -> list[tuple[int, bool]]:
        """The named locks this session holds that no lock id of it accounts for: those a
        statement took before it timed out."""
        accounted = {key for _, keys in self._keys.values() for key, _ in keys}
        taken = []
        for objid, mode in self._run(MY_KEYS):
            key = int(objid) - (1 << 32) if int(objid) >= 1 << 31 else int(objid)
            if key not in accounted:
                taken.append((key, mode == "ExclusiveLock"))
        return taken

    def _unlock(self, store: bool, keys: list[tuple[int, bool]] | None) -> None:
        """Release named locks, then the store's (None: the store's was not taken either)."""
        if keys is None:
            return
        if keys:
            self.db.execute(UNLOCK_KEYS.encode(), ([k for k, _ in keys], [x for _, x in keys]))
        unlock = "pg_advisory_unlock" if store else "pg_advisory_unlock_shared"
        self.db.execute(f"SELECT {unlock}(%s)".encode(), (LOCK_KEY,))

    def _contention(self, locks: LockSet, names: list[tuple[str, bool]]) -> LockHeld:
        """Who holds what this apply waited for: the named locks' holders, or the store's."""
        held: dict[int, list[str]] = {}
        if names:
            wanted = ([n for n, _ in names], [x for _, x in names])
            for pid, name in self._run(NAMED_HOLDERS, wanted):
                held.setdefault(int(pid), []).append(str(name))
        if not held:
            mode = "" if locks.store else " AND l.mode = 'ExclusiveLock'"
            rows = self._run(f"{STORE_HOLDERS}{mode} AND l.pid <> pg_backend_pid()")
            held = {int(pid): [] for (pid,) in rows}
        rows = self._run("SELECT session, scope FROM locks WHERE session = ANY(%s)", (list(held),))
        scopes = {int(pid): scope for pid, scope in rows}
        holders: list[tuple[LockInfo, tuple[str, ...]]] = []
        infos = {session: info for info, session in self._holders()}
        for pid, what in sorted(held.items()):
            info = infos.get(pid) or LockInfo("unknown", f"backend {pid}", "unknown", 0, "unknown")
            if not what and scopes.get(pid):  # a store-wide wait on a holder of named locks
                what = list(json.loads(scopes[pid]))
            holders.append((info, tuple(what)))
        if not holders:
            return LockHeld(LockInfo("unknown", "another apply (gone since)", "unknown", 0, "?"))
        (first, first_names), *others = holders
        return LockHeld(first, first_names, others)

    def _live_locks(self) -> set[str]:
        rows = self._run(f"SELECT lock_id FROM locks WHERE session IN ({STORE_HOLDERS})")
        return {str(row[0]) for row in rows} | set(self._held)

    def release(self, lock_id: str) -> None:
        with self._tx():
            self._run("DELETE FROM locks WHERE lock_id = ?", (lock_id,))
        self._held.pop(lock_id, None)
        if lock_id in self._keys:
            self._unlock(*self._keys.pop(lock_id))

    def unlock(self, lock_id: str) -> bool:
        """End the holder's session, which frees its advisory locks (needs the right to
        terminate that session: the same role, or pg_signal_backend)."""
        rows = self._run("SELECT session FROM locks WHERE lock_id = ?", (lock_id,))
        if not rows:
            return False
        session = rows[0][0]
        if lock_id in self._keys:
            self.release(lock_id)
            return True
        if session is not None and session != self._session():
            self.db.execute("SELECT pg_terminate_backend(%s)", (session,))
        with self._tx():
            self._run("DELETE FROM locks WHERE lock_id = ?", (lock_id,))
        return True

    def close(self) -> None:
        self.db.close()
