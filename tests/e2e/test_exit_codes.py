"""Every exit code through the real CLI (README, Commands: "Exit codes"): 0 ok; 1 refused,
invalid input or a held lock; 2 a usage error, or with --detailed-exitcode changes (a usage
error then exits 1); 3 an unexpected error; 130 interrupted."""

from __future__ import annotations

import os
import pty
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from campaign_gitops import __version__
from campaign_gitops.state.base import LockInfo
from campaign_gitops.state.sqlite import SqliteState
from tests.e2e.cli import inherited, run

T0 = "2026-11-23T10:00:00Z"


def _applied(repo: Path) -> None:
    done = run("--at", T0, "apply", "--auto-approve", cwd=repo)
    assert done.returncode == 0, done.stderr


def test_0_ok(repo: Path) -> None:
    assert run("validate", cwd=repo).returncode == 0
    assert run("--at", T0, "plan", cwd=repo).returncode == 0  # changes, not detailed
    _applied(repo)
    assert run("--at", T0, "plan", "--detailed-exitcode", cwd=repo).returncode == 0


def test_1_invalid_input(repo: Path) -> None:
    (repo / "campaigns" / "broken.yaml").write_text("name: [\n")
    done = run("validate", cwd=repo)
    assert done.returncode == 1 and "problem(s) found" in done.stdout + done.stderr


def test_1_refused_blocked_change(repo: Path) -> None:
    _applied(repo)
    path = repo / "campaigns" / "audiences" / "gen-z-tiktok.yaml"
    path.write_text(path.read_text().replace("max: 27", "max: 30"))
    later = "2026-12-05T02:00:00Z"  # the campaign is running: its audience is locked
    assert run("--at", later, "plan", "--detailed-exitcode", cwd=repo).returncode == 1
    done = run("--at", later, "apply", "--auto-approve", cwd=repo)
    assert done.returncode == 1 and "blocked by the platform's rules" in done.stderr


def test_1_held_lock(repo: Path) -> None:
    _applied(repo)
    state = SqliteState(repo / ".campaign-gitops" / "state.db")
    holder = LockInfo.mine("alice@ci")
    state.acquire(holder, 0)
    try:
        (repo / "campaigns" / "new.yaml").write_text(
            (repo / "campaigns" / "onboarding" / "welcome-push.yaml")
            .read_text()
            .replace("Welcome push, day 1", "A copy")
        )
        done = run("--at", T0, "apply", "--auto-approve", "--lock-timeout", "0s", cwd=repo)
        assert done.returncode == 1 and "alice@ci" in done.stderr, done.stderr
    finally:
        state.release(holder.lock_id)
        state.close()


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "--format", "xml"),
        ("plan", "--no-such-flag"),
        ("plan", "--target", "Not An Id"),  # the tool's own check of a command-line value
        ("plan", "--target", "x", "--changed-since", "main"),  # the command's own check
    ],
    ids=["bad-value", "no-such-option", "bad-target", "options-that-conflict"],
)
def test_2_usage_error_and_1_with_detailed_exitcode(repo: Path, args: tuple[str, ...]) -> None:
    plain = run(*args, cwd=repo)
    assert plain.returncode == 2, plain.stderr
    assert "Traceback" not in plain.stderr
    for flag in ("--detailed-exitcode", "-detailed-exitcode"):  # Terraform's spelling too
        detailed = run(*args, flag, cwd=repo)
        assert detailed.returncode == 1, detailed.stderr  # 2 would read as "changes"
        assert detailed.stderr == plain.stderr
    # apply has no --detailed-exitcode: a usage error, and still not a 2 that reads "changes"
    assert run("apply", "--detailed-exitcode", cwd=repo).returncode == 1


def test_2_changes_with_detailed_exitcode(repo: Path) -> None:
    assert run("--at", T0, "plan", "--detailed-exitcode", cwd=repo).returncode == 2
    _applied(repo)
    drift = run("--at", T0, "plan", "--refresh-only", "--detailed-exitcode", cwd=repo)
    assert drift.returncode == 0, drift.stderr  # no drift


def test_3_unexpected_error(repo: Path) -> None:
    """A platform.db whose rows the backend cannot read (a date that is no date): no domain
    error names it, so it is a bug's exit: the version, a hint, no traceback without -v."""
    _applied(repo)
    db = sqlite3.connect(repo / ".campaign-gitops" / "platform.db")
    with db:
        db.execute("UPDATE campaigns SET created_at = 'the day before yesterday'")
    db.close()
    done = run("--at", T0, "list", cwd=repo)
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith(f"error: campaign-gitops {__version__}: unexpected error: ")
    assert done.stderr.rstrip().endswith("; rerun with -v for a traceback")
    assert "Traceback" not in done.stderr and done.stdout == ""
    verbose = run("-v", "--at", T0, "list", cwd=repo)
    assert verbose.returncode == 3
    assert "Traceback" in verbose.stderr and "rerun with -v" not in verbose.stderr


def _read_until(fd: int, text: bytes, seconds: float = 60) -> bytes:
    seen = b""
    deadline = time.monotonic() + seconds
    while text not in seen:
        left = deadline - time.monotonic()
        assert left > 0, seen.decode(errors="replace")[-2000:]
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536)
            assert chunk, seen.decode(errors="replace")[-2000:]  # it ended before asking
            seen += chunk
    return seen


def _as_at_a_terminal() -> None:
    """Ctrl-C as a terminal delivers it: a suite started in the background by a shell without
    job control ignores SIGINT, and a child inherits that (Python then keeps it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt(proc: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """Ctrl-C, as a user would press it: a while after the question. (A SIGINT that lands
    between the prompt's write and the read that waits for the answer is only seen at the
    next one: CPython cannot interrupt a read that starts after the signal.)"""
    for _ in range(10):
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        try:
            return proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            continue
    raise AssertionError("the command did not stop on SIGINT")


def test_130_interrupted_at_the_confirmation(repo: Path) -> None:
    """Ctrl-C while apply asks (on a terminal) before changing anything."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "campaign_gitops", "--at", T0, "apply"],
        cwd=repo,
        stdin=secondary,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**inherited(), "NO_COLOR": "1"},
        preexec_fn=_as_at_a_terminal,
    )
    os.close(secondary)
    try:
        assert proc.stdout is not None
        _read_until(proc.stdout.fileno(), b"Apply these 29 change(s)? [y/N]: ")
        _, err = _interrupt(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(primary)
    assert proc.returncode == 130, err
    assert err.decode().strip() == "Interrupted."
    assert run("--at", T0, "plan", "--detailed-exitcode", cwd=repo).returncode == 2  # nothing


def test_130_interrupted_while_waiting_for_the_lock(repo: Path) -> None:
    """Ctrl-C while apply waits for another apply's lock: the wait ends, the lock it waited
    for is left to its holder."""
    state = SqliteState(repo / ".campaign-gitops" / "state.db")
    holder = LockInfo.mine("alice@ci")
    state.acquire(holder, 0)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "campaign_gitops", "-v", "--at", T0, "apply",
             "--auto-approve", "--lock-timeout", "120s"],
            cwd=repo,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**inherited(), "NO_COLOR": "1"},
            preexec_fn=_as_at_a_terminal,
        )  # fmt: skip
        try:
            assert proc.stderr is not None
            _read_until(proc.stderr.fileno(), b"waiting for the lock")
            _, err = _interrupt(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 130, err
        assert err.decode().rstrip().endswith("Interrupted.")
        assert "Traceback" not in err.decode()
        assert [held.holder for held, _ in state._holders()] == ["alice@ci"]
    finally:
        state.release(holder.lock_id)
        state.close()
