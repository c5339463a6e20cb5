"""SQLite set-up shared by the local platform and the state store, and what to tell the user
when one of their files is damaged, foreign, or cannot be written."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from campaign_gitops.errors import FatalError

BUSY_TIMEOUT = 30.0  # seconds a second writer waits


@dataclass(frozen=True)
class Kind:
    """What a SQLite file is to the user: its name, its config key, the tables that mark it as
    ours, what it holds and how to get it back."""

    what: str
    key: str
    tables: frozenset[str]
    holds: str
    recover: str


STATE = Kind(
    "the state store",
    "state",
    frozenset({"managed", "schema_version", "managed_labels", "journal", "lock"}),
    "which platform campaign each file manages, what was last applied, and the apply history "
    "(the campaigns on the platform are not affected)",
    "move it aside, then `campaign-gitops state import FILE` from the newest export (`state "
    "export` writes one; a schema migration leaves `<store>.v<N>-<time>.export.json` beside "
    "it); without an export, the next plan adopts the live campaigns whose ids match the "
    "files again, and only the history is lost",
)
PLATFORM = Kind(
    "the local platform",
    "platform",
    frozenset({"campaigns", "labels", "campaign_labels", "runs", "saved_segments"}),
    "the embedded platform's campaigns, labels, runs and saved segments",
    "move it aside; `campaign-gitops platform seed` refills the profiles and `apply` creates "
    "the campaigns and labels from the files again (their run history is lost)",
)
SQLITE = Kind("the SQLite database", "", frozenset(), "its data", "restore it from a backup")
_OPENED: dict[Path, Kind] = {}  # every file connect() opened in this process


def shown(path: Path) -> str:
    """A path as the user gave it: relative to the working folder when under it."""
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else Path(relative).as_posix()


class DatabaseUnusable(FatalError):
    pass


def damaged(path: Path, kind: Kind, reason: str) -> DatabaseUnusable:
    return DatabaseUnusable(
        f"{kind.what} {shown(path)} is damaged ({reason}): it holds {kind.holds}. To recover: "
        f"{kind.recover}"
    )


def unwritable(path: Path, kind: Kind, reason: str) -> DatabaseUnusable:
    elsewhere = f", or point `{kind.key}` in the config elsewhere" if kind.key else ""
    return DatabaseUnusable(
        f"cannot use {kind.what} {shown(path)}: {reason}. Check that its folder exists, is "
        f"writable by this user and has free space{elsewhere}"
    )


CORRUPT = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
UNWRITABLE = ("SQLITE_FULL", "SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_PERM")


def _classify(exc: sqlite3.Error) -> str | None:
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith(CORRUPT):
        return "corrupt"
    if name.startswith(UNWRITABLE):
        return "unwritable"
    return None


def connect(path: Path, synchronous: str = "NORMAL", kind: Kind = SQLITE) -> sqlite3.Connection:
    """WAL lets readers and one writer proceed together across processes; the busy timeout
    makes a second writer wait instead of failing. A file that is damaged, holds another
    program's tables or cannot be written is a FatalError naming it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
    except (OSError, sqlite3.Error) as exc:
        raise unwritable(path, kind, getattr(exc, "strerror", None) or str(exc)) from None
    _OPENED[path] = kind
    try:
        _prepare(db, synchronous)
        _ours(db, path, kind)
    except sqlite3.Error as exc:
        db.close()
        problem = _classify(exc)
        if problem == "corrupt":
            raise damaged(path, kind, str(exc)) from None
        if problem == "unwritable":
            raise unwritable(path, kind, str(exc)) from None
        raise
    except BaseException:
        db.close()
        raise
    return db


def _prepare(db: sqlite3.Connection, synchronous: str) -> None:
    # Switching a new file to WAL takes an exclusive lock without waiting on the busy handler:
    # two processes opening a new database at once would see "database is locked".
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)
    db.execute(f"PRAGMA synchronous={synchronous}")


def _ours(db: sqlite3.Connection, path: Path, kind: Kind) -> None:
    """A database with tables, none of them ours, belongs to something else: creating our
    tables in it would write into another program's file."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    tables = {t for t in tables if not t.startswith("sqlite_")}
    if kind.tables and tables and not tables & kind.tables:
        listed = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise DatabaseUnusable(
            f"{shown(path)} is a SQLite database of something else (its tables: {listed}), not "
            f"{kind.what}: nothing was written to it. Point `{kind.key}` in the config at "
            "another file, or move this one aside"
        )


def explain(exc: sqlite3.Error) -> DatabaseUnusable | None:
    """The FatalError for a SQLite error raised after connect(): which of the files this process
    opened is damaged (each is checked now), or which cannot be written."""
    problem = _classify(exc)
    if problem is None or not _OPENED:
        return None
    if problem == "unwritable":
        path, kind = next(reversed(_OPENED.items()))
        if len(_OPENED) > 1:
            folders = sorted({shown(p.parent) for p in _OPENED})
            return DatabaseUnusable(
                f"cannot write to SQLite in {', '.join(folders)}: {exc}. Check that the folder "
                "is writable by this user and the disk has free space"
            )
        return unwritable(path, kind, str(exc))
    broken = [(p, k) for p, k in _OPENED.items() if not _intact(p)]
    if not broken:
        broken = list(_OPENED.items())
    return DatabaseUnusable("; ".join(str(damaged(p, k, str(exc))) for p, k in broken))


def _intact(path: Path) -> bool:
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = db.execute("PRAGMA quick_check(1)").fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return False
    return rows == [("ok",)]


@contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction that takes the write lock up front (no upgrade deadlocks)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
