"""The state store's schema versions, on SQLite and on a real PostgreSQL: stores made before
schema versions existed (with and without `author`) migrate on first open, keep their rows and
are exported first, and so do stores at schema 2 (before acknowledgements); a newer store is
refused; processes migrating at once; the apply cursor and commit log; pull-request attribution;
acknowledgements; export and import through the CLI, across both stores."""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from campaign_gitops.errors import FatalError
from campaign_gitops.state.base import Ack, AppliedCommit, JournalEntry, Managed, StateStore
from campaign_gitops.state.postgres import PostgresState
from campaign_gitops.state.schema import LATEST, MIGRATIONS, VERSION_DDL
from campaign_gitops.state.sql import SqlState
from campaign_gitops.state.sqlite import SqliteState
from tests.e2e.cli import run
from tests.postgres_server import PostgresServer

T0, T1, T2 = "2026-11-23T10:00:00+00:00", "2026-11-24T10:00:00+00:00", "2026-11-25T10:00:00+00:00"

# The tables as sql.py's TABLES created them before schema versions (version 1), and the same
# without managed.author, as the first release made them (version 0).
V1_TABLES = """
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
V0_TABLES = V1_TABLES.replace(
    " history TEXT NOT NULL,\n    author TEXT\n", " history TEXT NOT NULL\n"
)
OLD_HISTORY = [
    {"applied_at": T0, "applied_by": "ci", "commit": "c0ffee", "pull_request": 7,
     "platform_id": "1457000001"},
]  # fmt: skip


def old_store(version: int) -> list[str]:
    """An old store's tables and rows: a campaign, a label, an apply that never finished."""
    tables = (V1_TABLES if version else V0_TABLES).split(";")
    if version == 2:  # as migration 2 left it, with its version row
        [v2] = [m for m in MIGRATIONS if m.version == 2]
        tables += [*v2.statements, VERSION_DDL, "INSERT INTO schema_version VALUES (1, 2)"]
    author = ", 'alice'" if version else ""
    author += ", NULL, NULL" if version == 2 else ""  # merged_by, approvers
    return [
        *tables,
        "INSERT INTO managed VALUES ('welcome', '1457000001', '{\"name\": \"Welcome\"}', "
        f"'{T0}', 'ci', 'c0ffee', 7, '{json.dumps(OLD_HISTORY)}'{author})",
        "INSERT INTO managed_labels VALUES ('Onboarding', 'New users')",
        "INSERT INTO applies VALUES ('a1', 1, 0)",
        "INSERT INTO journal (apply_id, step, change, status, detail, platform_id) "
        "VALUES ('a1', 1, 'create campaign spring', 'started', '', NULL)",
    ]


@dataclass
class Store:
    kind: str  # sqlite | postgresql
    target: str  # the SQLite file or the PostgreSQL URL
    folder: Path  # where an export made before a migration goes

    def open(self) -> SqlState:
        if self.kind == "sqlite":
            return SqliteState(Path(self.target))
        return PostgresState(self.target, export_dir=self.folder)

    def query(self, *statements: str) -> list[tuple[Any, ...]]:
        """Run statements on a connection of its own; the last one's rows."""
        rows: list[tuple[Any, ...]] = []
        if self.kind == "sqlite":
            with closing(sqlite3.connect(self.target)) as db:
                for statement in statements:
                    sql = statement.replace("SERIAL_TYPE", "INTEGER PRIMARY KEY AUTOINCREMENT")
                    rows = db.execute(sql).fetchall()
                db.commit()
            return rows
        with psycopg.connect(self.target, autocommit=True) as pg:
            for statement in statements:
                cursor = pg.execute(
                    statement.replace("SERIAL_TYPE", "BIGSERIAL PRIMARY KEY").encode()
                )
                rows = cursor.fetchall() if cursor.description else []
        return rows

    def columns(self) -> dict[str, set[str]]:
        if self.kind == "sqlite":
            tables = self.query("SELECT name FROM sqlite_master WHERE type = 'table'")
            return {t: {c[1] for c in self.query(f"PRAGMA table_info({t})")} for (t,) in tables}
        found: dict[str, set[str]] = {}
        for table, column in self.query(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema()"
        ):
            found.setdefault(table, set()).add(column)
        return found

    def exports(self) -> list[Path]:
        return sorted(self.folder.glob("*.export.json"))

    def repo(self, folder: Path) -> Path:
        """A repository whose config names this store. A config may not name a SQLite file
        outside its repository (issue #11): a SQLite store's own folder is the repository."""
        if self.kind == "sqlite":
            folder = self.folder
        folder.mkdir(parents=True, exist_ok=True)
        target = Path(self.target).name if self.kind == "sqlite" else self.target
        (folder / "campaign-gitops.toml").write_text(f'backend = "local"\nstate = "{target}"\n')
        return folder


def new_store(request: pytest.FixtureRequest, kind: str, folder: Path) -> Store:
    folder.mkdir(parents=True)
    if kind == "sqlite":
        return Store(kind, str(folder / "state.db"), folder)
    server: PostgresServer = request.getfixturevalue("postgres")
    return Store(kind, server.new_database(), folder)


@pytest.fixture(params=["sqlite", "postgresql"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Store]:
    """New, empty stores of one kind."""
    count = itertools.count()
    return lambda: new_store(request, str(request.param), tmp_path / f"store{next(count)}")


def fill(state: StateStore) -> None:
    """A store with something in every part: campaigns with history and attribution, labels,
    a finished and an unfinished apply, the cursor and the commit log."""
    welcome = Managed("welcome", "1457000001", {"name": "Welcome ✓", "what": {"n": [1, 2.5]}},
                      T0, "ci", "beef", 11, author="alice")  # fmt: skip
    state.record(welcome)
    merged = Managed(
        "welcome",
        "1457000001",
        {"name": "Welcome"},
        T1,
        "ci",
        "c0ffee",
        12,
        author="alice",
        merged_by="bob",
        approvers=("carol", "acme/leads"),
    )
    state.record(merged)
    cart = {"name": "Cart ✓", "who": {"ratio": 2.5, "ids": [1, None, True]}}
    state.record(Managed("cart", "1457000002", cart, T1, "dave@laptop"))
    state.record_label("Onboarding", "New users")
    state.record_label("Promotions", None)
    state.journal(JournalEntry("a1", 1, "create campaign welcome", "started"))
    state.journal(JournalEntry("a1", 1, "create campaign welcome", "done", "", "1457000001"))
    state.finish("a1")
    state.journal(JournalEntry("a2", 1, "update campaign cart", "started"))
    state.set_cursor("c0ffee", "ci", "Merge pull request #12")
    state.record_commit("beef", 11, "applied", T0, "ci")
    state.record_commit("c0ffee", 12, "applied", T1, "ci")
    popup = {"name": "Popup ✓", "channel": "web_popup"}
    state.acknowledge(
        Ack("popup", ("create",), "1457000003", popup, "5eed", "f11e", T2, "erin", "by hand"),
        Managed("popup", "1457000003", popup, T2, "erin"),
    )


def content(doc: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in doc.items() if key != "exported_at"}


@pytest.mark.parametrize("old", [0, 1, 2])
def test_an_old_store_migrates_keeping_its_rows_after_an_export(
    make: Callable[[], Store], old: int, capsys: pytest.CaptureFixture[str]
) -> None:
    store = make()
    store.query(*old_store(old))
    state = store.open()
    [export] = store.exports()
    prefix = "state.db" if store.kind == "sqlite" else "postgres-"
    assert export.name.startswith(prefix) and f".v{old}-" in export.name
    assert export.parent == store.folder  # SQLite: beside the file
    note = capsys.readouterr().err
    assert f"from schema {old} to {LATEST}" in note and str(export) in note
    saved = json.loads(export.read_text())
    assert (saved["format"], saved["version"], saved["schema"]) == ("campaign-gitops-state", 1, old)
    assert [(m["id"], m["author"]) for m in saved["managed"]] == [
        ("welcome", "alice" if old else None)
    ]

    managed = state.managed(history=True)["welcome"]
    assert (managed.platform_id, managed.spec, managed.commit, managed.pull_request) == (
        "1457000001", {"name": "Welcome"}, "c0ffee", 7,
    )  # fmt: skip
    assert (managed.author, managed.merged_by, managed.approvers) == (
        "alice" if old else None, None, (),
    )  # fmt: skip
    assert list(managed.history) == OLD_HISTORY
    assert state.labels() == {"Onboarding": "New users"}
    assert state.unfinished() == "a1"
    assert [e.change for e in state.journal_of()] == ["create campaign spring"]
    assert state.cursor() is None and state.applied_commits() == []
    assert state.acks() == [] and "acks" in store.columns()
    migrated = state.export()
    state.record(Managed("welcome", "2", {}, T1, "ci", merged_by="bob", approvers=("carol",)))
    assert state.managed()["welcome"].approvers == ("carol",)
    state.close()
    assert store.query("SELECT version FROM schema_version") == [(LATEST,)]

    fresh = make()
    restored = fresh.open()
    assert store.columns() == fresh.columns()  # a migrated store is a fresh one
    restored.import_(saved)  # the export made before migrating restores what was migrated
    assert content(restored.export()) == content(migrated)
    restored.close()
    store.open().close()
    assert store.exports() == [export]  # migrated once


def test_an_old_store_without_rows_migrates_without_an_export(make: Callable[[], Store]) -> None:
    store = make()
    store.query(*V1_TABLES.split(";"))
    store.open().close()
    assert store.exports() == []
    assert store.query("SELECT version FROM schema_version") == [(LATEST,)]


def test_the_cli_migrates_and_says_where_the_export_is(
    make: Callable[[], Store], tmp_path: Path
) -> None:
    store = make()
    store.query(*old_store(1))
    repo = store.repo(tmp_path / "repo")
    listed = run("state", "list", "--format", "json", cwd=repo)
    assert listed.returncode == 0, listed.stderr
    assert [m["id"] for m in json.loads(listed.stdout)] == ["welcome"]
    # PostgreSQL: the repository's .campaign-gitops (here the working folder, too)
    folder = store.folder if store.kind == "sqlite" else repo / ".campaign-gitops"
    [export] = folder.glob("*.v1-*.export.json")
    assert f"exported to {export}" in listed.stderr
    again = run("state", "list", cwd=repo)
    assert again.returncode == 0 and "migrating" not in again.stderr


def test_a_store_from_a_newer_version_is_refused(make: Callable[[], Store], tmp_path: Path) -> None:
    store = make()
    state = store.open()
    fill(state)
    state.close()
    store.query(f"UPDATE schema_version SET version = {LATEST + 1}")
    message = f"made by a newer campaign-gitops (schema {LATEST + 1}); upgrade"
    with pytest.raises(FatalError, match=re.escape(message)):
        store.open()
    done = run("state", "list", cwd=store.repo(tmp_path / "repo"))
    assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr
    assert store.exports() == [] and store.query("SELECT count(*) FROM managed") == [(3,)]


OPENER = """
import sys, time
from pathlib import Path
from campaign_gitops.state.postgres import PostgresState
from campaign_gitops.state.sqlite import SqliteState
kind, target, folder, go = sys.argv[1:]
print("ready", flush=True)
while not Path(go).exists():
    time.sleep(0.002)
s = SqliteState(Path(target)) if kind == "sqlite" else PostgresState(target, Path(folder))
print(sorted(s.managed()), s.labels(), flush=True)
s.close()
"""


def test_processes_opening_an_old_store_at_once_all_succeed(
    make: Callable[[], Store], tmp_path: Path
) -> None:
    store = make()
    store.query(*old_store(1))
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, store.kind, store.target, str(store.folder), str(go)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(3)
    ]  # fmt: skip
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    go.touch()  # all at once
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0], outputs
    assert all(out.strip() == "['welcome'] {'Onboarding': 'New users'}" for out, _ in outputs)
    assert sum("migrating the state store" in err for _, err in outputs) == 1
    assert len(store.exports()) == 1
    assert store.query("SELECT version FROM schema_version") == [(LATEST,)]


def test_the_cursor_and_the_commit_log(make: Callable[[], Store]) -> None:
    store = make()
    state = store.open()
    assert state.cursor() is None and state.applied_commits() == []
    state.set_cursor("aaa111", "ci", "the first commit")
    cursor = state.cursor()
    assert cursor is not None
    assert (cursor.commit, cursor.set_by, cursor.note) == ("aaa111", "ci", "the first commit")
    assert datetime.fromisoformat(cursor.set_at).tzinfo is not None
    state.set_cursor("bbb222", "alice")
    state.record_commit("aaa111", 4, "applied", T0, "ci")
    state.record_commit("bbb222", None, "refused", T1, "ci", "not approved")
    state.record_commit("ccc333", 5, "no-op", T1, "ci")
    state.record_commit("bbb222", None, "set-applied", T2, "alice", "checked by hand")
    with pytest.raises(ValueError, match="outcome 'merged'"):
        state.record_commit("ddd444", None, "merged", T2, "ci")
    state.close()

    state = store.open()
    cursor = state.cursor()
    assert cursor is not None and (cursor.commit, cursor.set_by, cursor.note) == (
        "bbb222", "alice", "",
    )  # fmt: skip
    assert state.applied_commits() == [  # newest first; a commit logged again moved to the end
        AppliedCommit("bbb222", None, "set-applied", T2, "alice", "checked by hand"),
        AppliedCommit("ccc333", 5, "no-op", T1, "ci", ""),
        AppliedCommit("aaa111", 4, "applied", T0, "ci", ""),
    ]
    assert [c.commit for c in state.applied_commits(2)] == ["bbb222", "ccc333"]
    state.close()


def test_a_campaign_is_attributed_to_its_pull_request(make: Callable[[], Store]) -> None:
    state = make().open()
    fill(state)
    welcome = state.managed(history=True)["welcome"]
    assert (welcome.pull_request, welcome.author, welcome.merged_by, welcome.approvers) == (
        12, "alice", "bob", ("carol", "acme/leads"),
    )  # fmt: skip
    assert [(h["pull_request"], h["merged_by"], h["approvers"]) for h in welcome.history] == [
        (11, None, []), (12, "bob", ["carol", "acme/leads"]),
    ]  # fmt: skip
    cart = state.managed()["cart"]
    assert (cart.merged_by, cart.approvers, cart.history) == (None, (), ())
    state.close()


@pytest.mark.parametrize(
    ("source_kind", "target_kind"), [("sqlite", "postgresql"), ("postgresql", "sqlite")]
)
def test_export_and_import_through_the_cli_across_stores(
    request: pytest.FixtureRequest, tmp_path: Path, source_kind: str, target_kind: str
) -> None:
    source = new_store(request, source_kind, tmp_path / "a")
    target = new_store(request, target_kind, tmp_path / "b")
    state = source.open()
    fill(state)
    state.close()
    a, b = source.repo(tmp_path / "repo-a"), target.repo(tmp_path / "repo-b")

    exported = run("state", "export", "state.json", cwd=a)
    assert exported.returncode == 0, exported.stderr
    assert "3 campaign(s), 2 label(s), 2 commit(s) in the log, cursor at c0ffee" in exported.stdout
    file = a / "state.json"
    imported = run("state", "import", str(file), cwd=b)
    assert imported.returncode == 0, imported.stderr
    back = run("state", "export", "-", cwd=b)
    assert back.returncode == 0, back.stderr
    assert content(json.loads(back.stdout)) == content(json.loads(file.read_text()))

    shown = json.loads(run("state", "show", "welcome", cwd=b).stdout)
    assert (shown["pull_request"], shown["author"], shown["merged_by"], shown["approvers"]) == (
        12, "alice", "bob", ["carol", "acme/leads"],
    )  # fmt: skip
    assert [h["commit"] for h in shown["history"]] == ["beef", "c0ffee"]
    assert shown["acknowledgements"] == []
    popup = json.loads(run("state", "show", "popup", cwd=b).stdout)
    assert popup["history"][0]["acknowledged"] == ["create"]
    assert [(a["changes"], a["platform_id"], a["by"], a["note"], a["checksum"])
            for a in popup["acknowledgements"]] == [(["create"], "1457000003", "erin", "by hand",
                                                     "5eed")]  # fmt: skip

    refused = run("state", "import", str(file), cwd=b)
    assert refused.returncode == 1
    assert "already holds 3 managed campaign(s), 2 managed label(s)" in refused.stderr
    assert "acknowledgements of manual changes" in refused.stderr
    assert "--replace" in refused.stderr
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"format": "campaign-gitops-state", "version": 1, "schema": 2}))
    replaced = run("state", "import", "--replace", str(empty), cwd=b)
    assert replaced.returncode == 0, replaced.stderr
    assert json.loads(run("state", "list", "--format", "json", cwd=b).stdout) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "terraform"}, "is not a campaign-gitops state export (format 'terraform'"),
        ({"version": 2}, "is a state export of version 2; this campaign-gitops reads version 1"),
        ({"schema": LATEST + 1}, f"by a newer campaign-gitops (schema {LATEST + 1}); upgrade"),
        ({"managed": [{"id": "x"}]}, "managed[0].platform_id: Field required"),
        ({"labels": [{"name": "A"}, {"name": "A"}]}, "label 'A' appears twice"),
        ({"acks": [{"campaign_id": "x", "platform_id": "1"}]}, "acks[0].changes: Field required"),
        (
            {"applied": [{"commit": "a", "outcome": "merged", "at": T0, "by": "ci"}]},
            "applied[0].outcome: Input should be 'applied', 'no-op', 'set-applied' or 'refused'",
        ),
    ],
)
def test_import_refuses_what_it_cannot_read_and_changes_nothing(
    make: Callable[[], Store], change: dict[str, Any], message: str
) -> None:
    state = make().open()
    fill(state)
    before = state.export()
    with pytest.raises(FatalError, match=re.escape(message)):
        state.import_({**before, **change})
    assert content(state.export()) == content(before)
    state.close()


def test_the_cli_refuses_a_file_that_is_not_an_export(
    make: Callable[[], Store], tmp_path: Path
) -> None:
    repo = make().repo(tmp_path / "repo")
    (repo / "plan.json").write_text('{"format_version": 1, "changes": []}')
    (repo / "broken.json").write_text('{"format": \n')
    plan = run("state", "import", "plan.json", cwd=repo)
    assert plan.returncode == 1
    assert "error: plan.json is not a campaign-gitops state export (format None" in plan.stderr
    broken = run("state", "import", "broken.json", cwd=repo)
    assert broken.returncode == 1 and "broken.json:2:1: not JSON" in broken.stderr
    missing = run("state", "import", "nowhere.json", cwd=repo)
    assert missing.returncode == 1 and "cannot read nowhere.json" in missing.stderr


def test_acknowledgements_are_kept_in_order_and_outlive_their_campaign(
    make: Callable[[], Store],
) -> None:
    state = make().open()
    fill(state)
    edit = {"name": "Popup ✓", "channel": "web_popup", "what": {"content": {"title": "Now"}}}
    state.acknowledge(
        Ack("popup", ("update", "archive"), "1457000003", edit, "e1", None, T2, "frank"),
        Managed("popup", "1457000003", edit, T2, "frank"),
    )
    assert state.managed()["popup"].spec == edit  # the acknowledged spec is the applied one
    assert [(a.changes, a.by, a.file_checksum) for a in state.acks("popup")] == [
        (("create",), "erin", "f11e"), (("update", "archive"), "frank", None),
    ]  # fmt: skip
    assert state.acks("welcome") == [] and len(state.acks()) == 2
    history = state.managed(history=True)["popup"].history
    assert [h["acknowledged"] for h in history] == [["create"], ["update", "archive"]]
    state.forget("popup")
    assert "popup" not in state.managed() and len(state.acks("popup")) == 2
    state.close()
