"""The workspace, the backends, the state stores and the GitHub client are context managers:
leaving a `with` block closes them, an exception too (and the exception goes on); and no command
closes one by hand in a `finally` any more (issue #20)."""

from __future__ import annotations

import ast
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from campaign_gitops.backends.base import Backend
from campaign_gitops.backends.clevertap import ClevertapBackend
from campaign_gitops.backends.local import LocalBackend
from campaign_gitops.backends.snapshot import StateSnapshot
from campaign_gitops.config import ClevertapConfig, load_settings
from campaign_gitops.github import GitHub, GitHubContext
from campaign_gitops.state.base import StateStore
from campaign_gitops.state.postgres import PostgresState
from campaign_gitops.state.sqlite import SqliteState
from campaign_gitops.workspace import Workspace

COMMANDS = Path(__file__).resolve().parents[2] / "src" / "campaign_gitops" / "commands"


class Boom(Exception):
    pass


def _sqlite_closed(db: sqlite3.Connection) -> bool:
    try:
        db.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False


# each: a fresh object, and whether it is closed
Opened = tuple[AbstractContextManager[Any], Callable[[], bool]]


def _local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Opened:
    backend = LocalBackend(tmp_path / "platform.db")
    return backend, lambda: _sqlite_closed(backend.db)


def _clevertap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Opened:
    monkeypatch.setenv("CLEVERTAP_PASSCODE", "context-manager-test-passcode")
    backend = ClevertapBackend(ClevertapConfig(account_id="A", base_url="http://127.0.0.1:9/"))
    return backend, lambda: backend.client.is_closed


def _sqlite_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Opened:
    state = SqliteState(tmp_path / "state.db")
    return state, lambda: _sqlite_closed(state.db)


def _github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Opened:
    ctx = GitHubContext("http://127.0.0.1:9", "context-manager-test-token", "o/r", None)
    github = GitHub(ctx)
    return github, lambda: github.client.is_closed


def _workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Opened:
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "campaign-gitops.toml").write_text('backend = "local"\n')
    settings = load_settings(tmp_path).for_env(None).with_environ(os.environ)
    workspace = Workspace(settings)
    state, backend = workspace.state, workspace.backend  # both opened
    assert isinstance(state, SqliteState) and isinstance(backend, LocalBackend)

    def closed() -> bool:
        return _sqlite_closed(state.db) and _sqlite_closed(backend.db) and not workspace._opened

    return workspace, closed


OPENERS = {
    "local backend": _local,
    "clevertap backend": _clevertap,
    "sqlite state": _sqlite_state,
    "github": _github,
    "workspace": _workspace,
}


@pytest.fixture(params=list(OPENERS))
def opened(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Opened]:
    thing, closed = OPENERS[request.param](tmp_path, monkeypatch)
    yield thing, closed
    if not closed():  # a failing test leaves nothing open
        thing.__exit__(None, None, None)


def test_leaving_the_block_closes_it(opened: Opened) -> None:
    thing, closed = opened
    assert not closed()
    with thing as entered:
        assert entered is thing
        assert not closed()
    assert closed()


def test_an_exception_closes_it_and_goes_on(opened: Opened) -> None:
    thing, closed = opened
    with pytest.raises(Boom, match="inside"), thing:
        raise Boom("inside")
    assert closed()


def test_the_workspace_closes_what_it_opened_newest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace, _ = _workspace(tmp_path, monkeypatch)
    assert isinstance(workspace, Workspace)
    order: list[str] = []
    for opened in workspace._opened:
        real = opened.close

        def close(real: Callable[[], None] = real, name: str = type(opened).__name__) -> None:
            order.append(name)
            real()

        opened.close = close  # type: ignore[method-assign]
    with workspace:
        pass
    assert order == ["LocalBackend", "SqliteState"]  # the state was opened first


def test_a_shared_state_is_left_open(tmp_path: Path) -> None:
    """The caller's store (an apply's, locked) is the caller's to close."""
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "campaign-gitops.toml").write_text('backend = "local"\n')
    settings = load_settings(tmp_path).for_env(None).with_environ(os.environ)
    with SqliteState(tmp_path / "shared.db") as shared:
        with Workspace(settings, shared_state=shared) as workspace:
            assert workspace.state is shared
        assert not _sqlite_closed(shared.db)
    assert _sqlite_closed(shared.db)


@pytest.mark.parametrize(
    "cls", [LocalBackend, ClevertapBackend, StateSnapshot, SqliteState, PostgresState]
)
def test_every_implementation_is_one(cls: type[Backend | StateStore]) -> None:
    assert issubclass(cls, AbstractContextManager)
    base = Backend if issubclass(cls, Backend) else StateStore
    assert cls.__enter__ is base.__enter__ and cls.__exit__ is base.__exit__


def test_the_snapshot_backend_closes_nothing_of_its_store(tmp_path: Path) -> None:
    with SqliteState(tmp_path / "state.db") as state:
        with StateSnapshot(state, "local", LocalBackend.capabilities, lambda spec: []):
            pass
        assert not _sqlite_closed(state.db)


# -- no hand-written close in the commands ------------------------------------------------------


def closes_in_finally(source: str) -> list[int]:
    """The lines of `x.close()` calls inside a `finally` block."""
    found: list[int] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Try | ast.TryStar):
            for statement in node.finalbody:
                for inner in ast.walk(statement):
                    if (
                        isinstance(inner, ast.Call)
                        and isinstance(inner.func, ast.Attribute)
                        and inner.func.attr == "close"
                    ):
                        found.append(inner.lineno)
    return found


def test_the_check_finds_a_close_in_finally() -> None:
    source = "def f():\n    x = g()\n    try:\n        x.run()\n    finally:\n        x.close()\n"
    assert closes_in_finally(source) == [6]
    assert closes_in_finally("with g() as x:\n    x.run()\n") == []


def test_no_command_closes_by_hand_in_finally() -> None:
    files = sorted(COMMANDS.glob("*.py"))
    assert files
    left = [
        f"{path.name}:{line}"
        for path in files
        for line in closes_in_finally(path.read_text(encoding="utf-8"))
    ]
    assert left == [], "use `with` instead of try/finally close(): " + ", ".join(left)
