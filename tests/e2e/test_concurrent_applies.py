"""Concurrent applies on a real PostgreSQL server (issue #12): 2 to 4 appliers, each a process of
its own with its own connection, on disjoint and on overlapping campaigns. Disjoint ones hold
their locks at the same time; overlapping ones wait, plan again under the locks and never create
or update twice; every apply's journal stays whole; kill -9 of an applier frees its locks, and
the next applies finish its journal for their own campaigns only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from campaign_gitops.state.base import LockHeld, LockInfo, LockSet, campaign_lock
from campaign_gitops.state.postgres import PostgresState
from tests.e2e.cli import inherited, run
from tests.e2e.locked_apply import main as apply_in_process
from tests.postgres_server import PostgresServer

REPO = Path(__file__).resolve().parents[2]
AT = "2026-11-23T10:00:00Z"
IDS = [f"c{n:02d}" for n in range(1, 13)]


def _campaign(name: str, title: str = "Hi") -> str:
    return (
        f"name: {name}\nchannel: push\nlabels: [Team A, Shared]\nwho:\n  segment:\n"
        "    user_properties: [{name: Customer Type, op: equals, value: New}]\n"
        f"what:\n  content: {{title: {title}, body: There}}\nwhen:\n  delivery: action\n"
        "  trigger: {event: App Installed}\n  start: 2026-12-01T00:00:00Z\n"
    )


@pytest.fixture
def world(tmp_path: Path, postgres: PostgresServer) -> tuple[Path, str]:
    """12 campaigns, not applied yet, and their labels, applied: a repository on PostgreSQL."""
    root, url = tmp_path / "repo", postgres.new_database()
    (root / "campaigns").mkdir(parents=True)
    (root / "campaign-gitops.toml").write_text(f'backend = "local"\nstate = "{url}"\n')
    (root / "labels.yaml").write_text("labels:\n  - name: Team A\n  - name: Shared\n")
    for key in IDS:
        (root / "campaigns" / f"{key}.yaml").write_text(_campaign(key.upper()))
    assert apply_in_process([str(root), AT, "10"]) == 0  # no campaign: the labels only
    return root, url


class Applier:
    def __init__(self, root: Path, *ids: str, timeout: float = 60, options: tuple[str, ...] = ()):
        command = [sys.executable, "-m", "tests.e2e.locked_apply", str(root), AT, str(timeout)]
        env = {**inherited(), "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [*command, *options, *ids], cwd=root, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.out = self.err = ""

    def wait(self) -> int:
        self.out, self.err = self.proc.communicate(timeout=180)
        return self.proc.returncode


def _until(check: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _query(url: str, sql: str) -> list[tuple[object, ...]]:
    state = PostgresState(url)
    try:
        return state.db.execute(sql.encode()).fetchall()
    finally:
        state.close()


def _waiters(url: str) -> int:
    """Sessions waiting for an advisory lock."""
    rows = _query(
        url, "SELECT count(DISTINCT pid) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    )
    return int(str(rows[0][0]))


def _journals(url: str) -> dict[str, list[tuple[int, str, str]]]:
    """Each apply's journal (but the one that made the labels)."""
    rows = _query(url, "SELECT apply_id, step, change, status FROM journal ORDER BY seq")
    journals: dict[str, list[tuple[int, str, str]]] = {}
    for apply_id, step, change, status in rows:
        journals.setdefault(str(apply_id), []).append((int(str(step)), str(change), str(status)))
    return {
        key: journal
        for key, journal in journals.items()
        if not all(change.split()[1] == "label" for _, change, _ in journal)
    }


def _intact(journal: list[tuple[int, str, str]]) -> bool:
    """Steps 1, 2, ... each started once, then done once, in order."""
    changes = [change for _, change, status in journal if status == "started"]
    expected = [(n, c, status) for n, c in enumerate(changes, 1) for status in ("started", "done")]
    return journal == expected


def _check_converged(root: Path, url: str) -> None:
    """One platform campaign per id, every id managed, and a plan with nothing to do."""
    listed = run("--at", AT, "list", "--all", "--format", "json", cwd=root)
    assert listed.returncode == 0, listed.stderr
    ids = Counter(c["id"] for c in json.loads(listed.stdout))
    assert ids == Counter(IDS), ids
    managed = json.loads(run("state", "list", "--format", "json", cwd=root).stdout)
    assert sorted(m["id"] for m in managed) == IDS
    plan = run("--at", AT, "plan", "--detailed-exitcode", cwd=root)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert _query(url, "SELECT count(*) FROM locks") == [(0,)]


def _created_once(url: str) -> None:
    done = Counter(
        change
        for journal in _journals(url).values()
        for _, change, status in journal
        if status == "done" and change.startswith("create campaign")
    )
    assert done == Counter(f"create campaign {key}" for key in IDS), done


def test_disjoint_applies_hold_their_locks_at_the_same_time(
    world: tuple[Path, str], tmp_path: Path
) -> None:
    root, url = world
    meet = ("--meet", str(tmp_path), "4")  # each waits, locks held, until all four hold theirs
    appliers = [Applier(root, *IDS[i : i + 3], timeout=30, options=meet) for i in (0, 3, 6, 9)]
    codes = [a.wait() for a in appliers]
    assert codes == [0, 0, 0, 0], [a.err for a in appliers]
    assert len(list(tmp_path.glob("held-*"))) == 4
    for a in appliers:
        assert "Apply complete: 3 applied, 0 failed, 0 not applied" in a.out, a.out
        assert "Resuming" not in a.out  # a running apply is never taken for an interrupted one
    journals = _journals(url)
    assert len(journals) == 4 and all(_intact(j) and len(j) == 6 for j in journals.values())
    _created_once(url)
    _check_converged(root, url)


def test_overlapping_applies_wait_plan_again_and_never_create_or_update_twice(
    world: tuple[Path, str], tmp_path: Path
) -> None:
    root, url = world
    first = Applier(root, *IDS[:6], options=("--meet", str(tmp_path), "99"))
    _until(lambda: (tmp_path / f"held-{first.proc.pid}").exists(), "the first apply's locks")
    # both overlap the first (c04-c06, c05) and each other (c09)
    later = [Applier(root, *IDS[3:9]), Applier(root, "c05", *IDS[8:])]
    _until(lambda: _waiters(url) == 2, "the overlapping applies to wait")
    (tmp_path / "go").touch()
    assert [a.wait() for a in [first, *later]] == [0, 0, 0], [first.err, later[0].err]
    applied = [int(a.out.split("Apply complete: ")[1].split()[0]) for a in [first, *later]]
    assert applied[0] == 6 and sum(applied) == 12, [a.out for a in later]
    assert all(_intact(j) for j in _journals(url).values())
    _created_once(url)
    _check_converged(root, url)
    # an edit of two campaigns, applied by two appliers at once: one update each, no more
    for key in ("c05", "c08"):
        (root / "campaigns" / f"{key}.yaml").write_text(_campaign(key.upper(), title="Hey"))
    both = [Applier(root, "c05", "c08", "c01"), Applier(root, "c08", "c05", "c12")]
    outputs = [(a.wait(), a.out) for a in both]
    assert [code for code, _ in outputs] == [0, 0], [a.err for a in both]
    assert sorted("No changes." in out for _, out in outputs) == [False, True], outputs
    for key in ("c05", "c08"):
        shown = json.loads(run("state", "show", key, cwd=root).stdout)
        assert shown["spec"]["what"]["content"]["title"] == "Hey"
        assert len(shown["history"]) == 2  # the create and one update: none lost, none twice
    _check_converged(root, url)


def test_a_waiting_apply_times_out_naming_the_holder_and_the_campaigns(
    world: tuple[Path, str], tmp_path: Path
) -> None:
    root, url = world
    holder = Applier(root, "c01", "c02", options=("--meet", str(tmp_path), "99"))
    _until(lambda: (tmp_path / f"held-{holder.proc.pid}").exists(), "the holder's locks")
    [(lock_id, started)] = _query(url, "SELECT lock_id, started_at FROM locks")
    waiting = Applier(root, "c02", "c03", timeout=1)
    assert waiting.wait() == 1
    message = waiting.err
    assert "campaign c02 is locked by" in message and "c03" not in message, message
    for part in (f"pid {holder.proc.pid}", f"since {started}", str(lock_id), "state unlock"):
        assert part in message, message
    disjoint = Applier(root, "c04", timeout=1)  # another team's campaign is not held back
    assert disjoint.wait() == 0, disjoint.err
    (tmp_path / "go").touch()
    assert holder.wait() == 0, holder.err
    again = Applier(root, *IDS[2:], timeout=5)
    assert again.wait() == 0, again.err
    _check_converged(root, url)


def test_kill_9_frees_the_locks_and_its_journal_is_finished_per_campaign(
    world: tuple[Path, str], tmp_path: Path
) -> None:
    root, url = world
    killed = Applier(root, "c01", "c02", "c03", options=("--stall", str(tmp_path), "1"))
    _until(lambda: (tmp_path / f"stalled-{killed.proc.pid}").exists(), "the second step")
    [(apply_id,)] = _query(url, "SELECT apply_id FROM applies WHERE finished = 0")
    killed.proc.send_signal(signal.SIGKILL)  # kill -9: the server ends its session, and locks
    killed.wait()
    assert _journals(url)[str(apply_id)] == [
        (1, "create campaign c01", "started"),
        (1, "create campaign c01", "done"),
        (2, "create campaign c02", "started"),
    ]
    second = Applier(root, "c02", timeout=5)  # waits for no lock: they died with the session
    assert second.wait() == 0, second.err
    assert f"Resuming after apply {apply_id} was interrupted (1 step(s) done; in progress: " \
        "create campaign c02)" in second.out  # fmt: skip
    # finished for c02 (and the labels, always planned); c01 and c03 are not planned yet
    left = _query(url, f"SELECT finished, scope FROM applies WHERE apply_id = '{apply_id}'")
    assert left == [(0, json.dumps(["campaign:c01", "campaign:c03"]))]
    unrelated = Applier(root, "c04", timeout=5)
    assert unrelated.wait() == 0 and "Resuming" not in unrelated.out
    third = Applier(root, "c01", "c03", timeout=5)
    assert third.wait() == 0 and f"Resuming after apply {apply_id}" in third.out
    assert _query(url, "SELECT count(*) FROM applies WHERE finished = 0") == [(0,)]
    assert Applier(root, *IDS, timeout=5).wait() == 0
    _created_once(url)
    _check_converged(root, url)


def test_state_unlock_ends_an_apply_holding_campaign_locks(world: tuple[Path, str]) -> None:
    root, url = world
    stuck = PostgresState(url)
    lock = LockInfo.mine("stuck@ci")
    stuck.acquire_set(lock, LockSet(frozenset({campaign_lock("c01")})), 0)
    blocked = Applier(root, "c01", timeout=0.5)
    assert blocked.wait() == 1 and lock.lock_id in blocked.err
    unlocked = run("state", "unlock", lock.lock_id, cwd=root)
    assert unlocked.returncode == 0, unlocked.stderr
    assert Applier(root, "c01", timeout=5).wait() == 0


def test_the_whole_store_and_named_locks_exclude_each_other(postgres: PostgresServer) -> None:
    url = postgres.new_database()
    named, whole, other = PostgresState(url), PostgresState(url), PostgresState(url)
    named.acquire_set(LockInfo.mine("alice@ci"), LockSet(frozenset({campaign_lock("a")})), 0)
    started = time.monotonic()
    with pytest.raises(LockHeld) as info:
        whole.acquire(LockInfo.mine("import@ops"), 0.5)  # a state import waits for applies
    assert 0.4 < time.monotonic() - started < 5  # the server waited, and timed out
    assert "campaign a is locked by alice@ci" in str(info.value)
    other.acquire_set(LockInfo.mine("bob@ci"), LockSet(frozenset({campaign_lock("b")})), 0)
    named.close()  # its session ends: its locks are gone
    other.close()
    whole.acquire(LockInfo.mine("import@ops"), 5)
    late = PostgresState(url)
    with pytest.raises(LockHeld, match="the state is locked by import@ops"):
        late.acquire_set(LockInfo.mine("carol@ci"), LockSet(frozenset({"campaign:c"})), 0.2)
    whole.close()
    late.close()


def test_an_applying_session_is_never_an_interrupted_one(postgres: PostgresServer) -> None:
    from campaign_gitops.state.base import JournalEntry

    url = postgres.new_database()
    running, other = PostgresState(url), PostgresState(url)
    mine = LockInfo.mine("alice@ci")
    running.acquire_set(mine, LockSet(frozenset({"campaign:a", "campaign:b"})), 0)
    running.journal(JournalEntry("run1", 1, "create campaign a", "started"))
    assert other.unfinished() is None and running.unfinished() is None
    pid = os.getpid()
    assert _query(url, "SELECT pid FROM locks") == [(pid,)]
    running.close()  # as a crash does
    # the server ends the closed session's backend a moment later (longer on a loaded machine)
    deadline = time.monotonic() + 10
    while other.unfinished() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert other.unfinished() == "run1" and other.unfinished(["campaign:c"]) is None
    other.settle("run1", ["campaign:a", "label:x"])
    assert other.unfinished(["campaign:a"]) is None and other.unfinished() == "run1"
    other.settle("run1", ["campaign:b"])
    assert other.unfinished() is None
    other.close()
