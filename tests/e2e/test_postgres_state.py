"""The state store on a real PostgreSQL server: the same contract as SQLite, through the CLI,
two concurrent applies, an advisory lock that dies with its connection, no password in output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from psycopg.errors import QueryCanceled

from campaign_gitops.state.base import (
    JournalEntry,
    LockHeld,
    LockInfo,
    LockSet,
    Managed,
    StateStore,
    campaign_lock,
)
from campaign_gitops.state.postgres import RESET_TRIES, PostgresState
from campaign_gitops.state.sqlite import SqliteState
from tests.e2e.cli import run
from tests.postgres_server import PostgresServer

T0 = "2026-11-23T10:00:00Z"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> StateStore:
    if request.param == "sqlite":
        return SqliteState(tmp_path / "state.db")
    server: PostgresServer = request.getfixturevalue("postgres")
    return PostgresState(server.new_database())


def test_store_contract(store: StateStore) -> None:
    store.record(Managed("w", "145", {"name": "W"}, "2026-11-23T10:00", "ci", "abc", 7))
    store.record(Managed("w", "146", {"name": "W2"}, "2026-11-24T10:00", "ci", "def", 8))
    managed = store.managed(history=True)["w"]
    assert (managed.platform_id, managed.spec, managed.pull_request) == ("146", {"name": "W2"}, 8)
    assert [h["commit"] for h in managed.history] == ["abc", "def"]
    store.record_label("Onboarding", "d")
    store.record_label("Welcome", "d", previous="Onboarding")
    assert store.labels() == {"Welcome": "d"}
    store.journal(JournalEntry("a1", 1, "create campaign w", "started"))
    store.journal(JournalEntry("a2", 1, "create campaign v", "started"))
    assert store.unfinished() == "a2"
    store.finish("a2")
    assert store.unfinished() == "a1"
    store.journal(JournalEntry("a1", 1, "create campaign w", "done", platform_id="146"))
    assert [e.status for e in store.journal_of()] == ["started", "done"]
    store.finish("a1")
    assert store.unfinished() is None
    lock = LockInfo.mine("ci@runner")
    store.acquire(lock, 0)
    store.release(lock.lock_id)
    store.acquire(lock, 0)  # released means free again
    assert store.unlock(lock.lock_id) and not store.unlock(lock.lock_id)
    store.forget("w")
    assert store.managed() == {}
    store.close()


def test_postgres_lock_names_the_holder_and_dies_with_its_connection(
    postgres: PostgresServer,
) -> None:
    url = postgres.new_database()
    PostgresState(url).close()  # tables exist before the holder starts
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from campaign_gitops.state.postgres import PostgresState\n"
         "from campaign_gitops.state.base import LockInfo\n"
         "s = PostgresState(sys.argv[1]); s.acquire(LockInfo.mine('alice@ci'), 0)\n"
         "print('held', flush=True); time.sleep(120)\n", url],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    waiting = PostgresState(url)
    with pytest.raises(LockHeld) as info:
        waiting.acquire(LockInfo.mine("bob@laptop"), 0.5)
    assert "alice@ci" in str(info.value) and f"pid {holder.pid}" in str(info.value)
    holder.send_signal(signal.SIGKILL)  # kill -9: the server drops the session and its lock
    holder.wait()
    waiting.acquire(LockInfo.mine("bob@laptop"), 10)
    waiting.close()


def test_state_unlock_ends_a_stuck_holder(postgres: PostgresServer) -> None:
    url = postgres.new_database()
    stuck = PostgresState(url)
    lock = LockInfo.mine("stuck@ci")
    stuck.acquire(lock, 0)
    other = PostgresState(url)
    assert other.unlock(lock.lock_id)
    other.acquire(LockInfo.mine("next"), 10)  # the stuck session was ended, its lock freed
    other.close()


def _repo_on(repo: Path, url: str) -> None:
    (repo / "campaign-gitops.toml").write_text(f'backend = "local"\nstate = "{url}"\n')


def test_plan_apply_with_postgres_state(repo: Path, postgres: PostgresServer) -> None:
    _repo_on(repo, postgres.new_database())
    done = run("--at", T0, "apply", "--auto-approve", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert not (repo / ".campaign-gitops" / "state.db").exists()
    again = run("--at", T0, "plan", "--detailed-exitcode", cwd=repo)
    assert again.returncode == 0, again.stdout
    managed = json.loads(run("state", "list", "--format", "json", cwd=repo).stdout)
    assert len(managed) == 21


def test_two_concurrent_applies_on_postgres(repo: Path, postgres: PostgresServer) -> None:
    _repo_on(repo, postgres.new_database())
    command = [sys.executable, "-m", "campaign_gitops", "--at", T0, "apply", "--auto-approve",
               "--lock-timeout", "90s"]  # fmt: skip
    env = {**os.environ, "NO_COLOR": "1"}
    procs = [
        subprocess.Popen(command, cwd=repo, env=env, text=True, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
        for _ in range(2)
    ]  # fmt: skip
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    texts = [out for out, _ in outputs]
    assert sum("Apply complete: 29 applied" in t for t in texts) == 1
    assert sum("No changes." in t for t in texts) == 1
    listed = json.loads(run("--at", T0, "list", "--format", "json", cwd=repo).stdout)
    assert len(listed) == len({c["id"] for c in listed}) == 21


def test_the_password_never_shows(repo: Path, postgres: PostgresServer) -> None:
    url = postgres.new_database().replace("postgres@", "postgres:s3cret-pw@")
    _repo_on(repo, url)  # trust authentication: the password is accepted and ignored
    outputs = [run("--at", T0, *args, cwd=repo) for args in (["plan"], ["state", "list"])]
    assert all(r.returncode == 0 for r in outputs), outputs
    wrong = url.replace(f":{postgres.port}/", f":{postgres.port + 1}/")
    _repo_on(repo, wrong)
    failed = run("-v", "--at", T0, "plan", cwd=repo)
    assert failed.returncode == 1 and "cannot reach the PostgreSQL state store" in failed.stderr
    (repo / "campaign-gitops.toml").write_text('backend = "local"\n')  # the URL from a secret
    from_env = run("--at", T0, "state", "list", cwd=repo, env={"CAMPAIGN_GITOPS_STATE": url})
    assert from_env.returncode == 0 and not (repo / ".campaign-gitops" / "state.db").exists()
    for r in [*outputs, failed, from_env]:
        assert "s3cret-pw" not in r.stdout + r.stderr


class _CancelledResets:
    """The session's connection, except that its next `faults` RESET statements are cancelled
    as the server cancels a statement whose timer ran out (on a loaded machine, the 1 ms
    timer of `--lock-timeout 0` cancelled the RESET that follows a lock taken)."""

    def __init__(self, db: Any, faults: int) -> None:
        self.db, self.faults = db, faults

    def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(query, str) and query.startswith("RESET") and self.faults > 0:
            self.faults -= 1
            raise QueryCanceled("canceling statement due to statement timeout")
        return self.db.execute(query, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


def _free(url: str) -> bool:
    other = PostgresState(url)
    try:
        other.acquire(LockInfo.mine("other@ci"), 0)
    except LockHeld:
        return False
    finally:
        other.close()
    return True


def test_a_cancelled_timeout_reset_is_retried_and_never_leaves_a_lock_held(
    postgres: PostgresServer,
) -> None:
    url = postgres.new_database()
    store = PostgresState(url)
    real = store.db
    store.db = _CancelledResets(real, faults=3)  # type: ignore[assignment]
    lock = LockInfo.mine("ci@runner")
    store.acquire_set(lock, LockSet(frozenset({campaign_lock("a"), campaign_lock("b")})), 0)
    assert store.db.faults == 0  # type: ignore[attr-defined]
    assert [real.execute(f"SHOW {name}").fetchone()[0] for name in ("statement_timeout",
            "lock_timeout")] == ["0", "0"]  # fmt: skip
    assert not _free(url)  # held, and known to this store: it releases it
    store.release(lock.lock_id)
    assert _free(url)

    store.db = _CancelledResets(real, faults=RESET_TRIES)  # type: ignore[assignment]
    with pytest.raises(QueryCanceled):
        store.acquire_set(LockInfo.mine("ci@runner"), LockSet(frozenset({campaign_lock("a")})), 0)
    # the reset gave up: the session ended, and with it every lock it had taken
    assert real.closed and _eventually_free(url)
    store.db = real  # type: ignore[assignment]
    store.close()


def _eventually_free(url: str) -> bool:
    """The server ends a closed session's backend a moment after the client closes it."""
    deadline = time.monotonic() + 10
    while not _free(url):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_timeout_reset_that_gives_up_while_waiting_leaves_no_lock_held(
    postgres: PostgresServer,
) -> None:
    """Contention: another session holds the campaign; this one takes the store's shared lock,
    waits for the campaign's, times out, and cannot reset its timeouts: it ends its session
    rather than leave the store's lock held."""
    url = postgres.new_database()
    holder = PostgresState(url)
    holder.acquire_set(LockInfo.mine("alice@ci"), LockSet(frozenset({campaign_lock("a")})), 0)
    store = PostgresState(url)
    real = store.db
    pid = store._session()
    store.db = _CancelledResets(real, faults=RESET_TRIES)  # type: ignore[assignment]
    with pytest.raises(QueryCanceled):
        store.acquire_set(LockInfo.mine("bob@ci"), LockSet(frozenset({campaign_lock("a")})), 0.2)
    assert real.closed
    deadline = time.monotonic() + 10
    while holder.db.execute(
        "SELECT count(*) FROM pg_locks WHERE pid = %s AND locktype = 'advisory'", (pid,)
    ).fetchone() != (0,):
        assert time.monotonic() < deadline, "the ended session still holds an advisory lock"
        time.sleep(0.05)
    holder.close()
    store.db = real  # type: ignore[assignment]
    store.close()
