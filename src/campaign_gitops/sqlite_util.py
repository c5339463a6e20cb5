"""SQLite set-up shared by the local platform and the state store."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT = 30.0  # seconds a second writer waits


def connect(path: Path, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """WAL lets readers and one writer proceed together across processes; the busy timeout
    makes a second writer wait instead of failing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
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
    return db


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
