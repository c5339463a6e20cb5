"""Issue #20 item 5, through the real CLI: `-v` logs each phase (config, files read, counts,
verdicts, apply batches and steps, locks, every HTTP call with its status, attempt and retry
wait), and never a secret: the CleverTap passcode and the GitHub token are grepped for in the
whole of stderr."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from campaign_gitops.state.base import LockInfo
from campaign_gitops.state.sqlite import SqliteState
from tests.e2e.cli import run
from tests.e2e.test_github_flow import NEW, env_for, git, make_repo
from tests.fake_clevertap import ACCOUNT, PASSCODE, FakeClevertap
from tests.fake_github import TOKEN, FakeGitHub

T0 = "2026-11-23T10:00:00Z"
GEN_Z = Path("campaigns/audiences/gen-z-tiktok.yaml")
PUSH = """name: Sale {n}
channel: push
what: {{content: {{title: Hello, body: Twenty percent off}}}}
when: {{delivery: on_date_time, start: "2026-12-01T09:00:00Z"}}
"""


def _printed(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


def _ours(stderr: str) -> list[str]:
    """The tool's own log lines (not git's, httpx's or httpcore's)."""
    return [line for line in stderr.splitlines() if line.startswith("DEBUG campaign_gitops.")]


def _has(stderr: str, pattern: str) -> None:
    assert re.search(pattern, stderr, re.MULTILINE), f"no line matches {pattern!r} in:\n{stderr}"


def test_plan_logs_each_phase(repo: Path) -> None:
    done = run("-v", "--at", T0, "plan", cwd=repo)
    assert done.returncode == 0, done.stderr
    err = done.stderr
    _has(
        err,
        r"^DEBUG campaign_gitops\.cli\.context: config loaded: .*campaign-gitops\.toml "
        r"\(env default, backend local at \.campaign-gitops/platform\.db, "
        r"state: sqlite from the config\)$",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.desired\.loader: read 21 campaign files under campaigns in "
        r"\d+\.\d{3} s \(0 unread\)$",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.desired\.parallel: checking 21 campaign files in this process",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.desired\.loader: checked 21 campaign files and labels\.yaml in "
        r"\d+\.\d{3} s: 21 valid, 0 problem\(s\)$",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.workspace: desired 21 campaigns, 8 labels; live 0 "
        r"campaigns, 0 labels \(local backend\); managed 0 campaigns \(state store\)$",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.planning\.planner: verdict ok for create campaign welcome-push "
        r"\(rule -\): nothing forbids it$",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.planning\.planner: planned 29 change\(s\), 29 applicable; "
        r"0 drifted field\(s\)$",
    )
    assert len([line for line in _ours(err) if "verdict " in line]) == 29
    quiet = run("--at", T0, "plan", cwd=repo)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr  # nothing new without -v


def test_apply_logs_locks_batches_and_steps_and_a_blocked_verdict_its_rule(repo: Path) -> None:
    done = run("-v", "--at", T0, "apply", "--auto-approve", cwd=repo)
    assert done.returncode == 0, done.stderr
    err = done.stderr
    _has(
        err,
        r"^DEBUG campaign_gitops\.applying\.locks: taking 29 exclusive, 0 shared lock\(s\) "
        r"\(waiting up to \d+ s\)$",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.applying\.locks: took 29 exclusive, 0 shared lock\(s\) "
        r"after \d+\.\d{3} s$",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.applying\.applier: apply [0-9a-f]{12}: 29 step\(s\), up to 1 "
        r"worker\(s\) \(local backend\)$",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.applying\.applier: batch of 8 create label step\(s\) \(1-8\): "
        r"one at a time$",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.applying\.applier: batch of 21 create campaign step\(s\) "
        r"\(9-29\): one at a time$",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.applying\.applier: step 1 create label \w[\w ]*: done in "
        r"\d+\.\d{3} s$",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.applying\.applier: step 9 create campaign [\w-]+: done in "
        r"\d+\.\d{3} s \(platform id \d+\)$",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.applying\.applier: apply [0-9a-f]{12} finished: 29 applied, "
        r"0 failed, 0 not applied$",
    )
    # after the send time has passed, the edit is blocked: the rule and the reason are logged
    path = repo / GEN_Z
    path.write_text(path.read_text().replace("max: 27", "max: 30"))
    late = run("-v", "--at", "2026-12-05T02:00:00Z", "plan", cwd=repo)
    assert late.returncode == 1, late.stderr
    _has(
        late.stderr,
        r"^DEBUG campaign_gitops\.planning\.planner: verdict blocked for update campaign "
        r"gen-z-tiktok \(rule [\w:-]+\): \S.*$",
    )
    _has(
        late.stderr,
        r"^DEBUG campaign_gitops\.workspace: desired 21 campaigns, 8 labels; "
        r"live 21 campaigns, 8 labels \(local backend\); managed 21 campaigns",
    )


def test_a_lock_wait_is_logged_with_its_holder(repo: Path) -> None:
    state = SqliteState(repo / ".campaign-gitops" / "state.db")
    holder = LockInfo.mine("alice@ci")
    state.acquire(holder, 0)
    try:
        done = run("-v", "--at", T0, "apply", "--auto-approve", "--lock-timeout", "1s", cwd=repo)
    finally:
        state.close()
    assert done.returncode == 1, done.stderr
    _has(
        done.stderr,
        r"^DEBUG campaign_gitops\.applying\.locks: taking 29 exclusive, 0 shared "
        r"lock\(s\) \(waiting up to 1 s\)$",
    )
    _has(
        done.stderr,
        r"^DEBUG campaign_gitops\.state\.sqlite: waiting for the lock held by "
        rf"alice@ci \(lock {holder.lock_id}\)$",
    )


def test_files_checked_by_worker_processes_say_how_many(tmp_path: Path) -> None:
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "labels.yaml").write_text("labels: []\n")
    (tmp_path / "campaign-gitops.toml").write_text('backend = "local"\n')
    for n in range(400):  # parallel.THRESHOLD: fewer are checked in the command's process
        (tmp_path / "campaigns" / f"sale-{n:03}.yaml").write_text(PUSH.format(n=n))
    done = run("-v", "--jobs", "2", "--at", T0, "validate", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    _has(
        done.stderr,
        r"^DEBUG campaign_gitops\.desired\.parallel: checking 400 campaign files in 2 "
        r"worker processes \((fork|spawn|forkserver), chunks of \d+\)$",
    )
    _has(
        done.stderr,
        r"^DEBUG campaign_gitops\.desired\.loader: read 400 campaign files under campaigns",
    )


# -- CleverTap: every call with its status and attempt; 429s retried; never the passcode ---------


@pytest.fixture
def server() -> Iterator[FakeClevertap]:
    with FakeClevertap() as fake:
        yield fake


def _clevertap_repo(root: Path, server: FakeClevertap) -> Path:
    (root / "campaigns").mkdir(parents=True)
    (root / "labels.yaml").write_text("labels: []\n")
    (root / "campaign-gitops.toml").write_text(
        f'backend = "clevertap"\n\n[clevertap]\naccount_id = "{ACCOUNT}"\n'
        f'base_url = "{server.url}"\ntimeout = 5\n'
    )
    for n in range(3):
        (root / "campaigns" / f"sale-{n}.yaml").write_text(PUSH.format(n=n))
    return root


def test_clevertap_calls_and_429_retries_are_logged_never_the_passcode(
    server: FakeClevertap, tmp_path: Path
) -> None:
    root = _clevertap_repo(tmp_path, server)
    env = {"CLEVERTAP_PASSCODE": PASSCODE}
    server.state.faults.throttle = 2  # the plan's first two calls answer 429
    planned = run("-v", "--at", T0, "plan", cwd=root, env=env)
    assert planned.returncode == 0, planned.stderr
    err = planned.stderr
    _has(
        err,
        r"^DEBUG campaign_gitops\.cli\.context: config loaded: .* \(env default, backend "
        r"clevertap at http://127\.0\.0\.1:\d+, state: sqlite from the config\)$",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.backends\.clevertap: POST /1/targets/list\.json -> 429 "
        r"in \d+\.\d{3} s \(attempt 1\)$",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.backends\.clevertap: POST /1/targets/list\.json: 429 "
        r"\(too many requests\) on attempt 1; retrying in \d+\.\d{3} s$",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.backends\.clevertap: POST /1/targets/list\.json -> 200 "
        r"in \d+\.\d{3} s \(attempt 3\)$",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.backends\.clevertap: POST /1/message/report\.json -> 200 "
        r"in \d+\.\d{3} s \(attempt 1\)$",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.workspace: desired 3 campaigns, 0 labels; live 0 "
        r"campaigns, 0 labels \(clevertap backend\); managed 0 campaigns",
    )
    server.state.faults.throttle, server.state.faults.only = 2, "create"
    applied = run("-v", "--at", T0, "apply", "--auto-approve", cwd=root, env=env)
    assert applied.returncode == 0, _printed(applied)
    err = applied.stderr
    _has(
        err,
        r"^DEBUG campaign_gitops\.applying\.applier: apply [0-9a-f]{12}: 3 step\(s\), up to 3 "
        r"worker\(s\) \(clevertap backend\)$",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.applying\.applier: batch of 3 create campaign step\(s\) \(1-3\): "
        r"3 workers$",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.backends\.clevertap: POST /1/targets/create\.json: 429 "
        r"\(too many requests\) on attempt 1; retrying in \d+\.\d{3} s$",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.backends\.clevertap: POST /1/targets/create\.json -> 200 "
        r"in \d+\.\d{3} s \(attempt 2\)$",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.applying\.applier: step \d create campaign sale-\d: done in "
        r"\d+\.\d{3} s \(platform id \d+\)$",
    )
    for done in (planned, applied):
        assert PASSCODE not in _printed(done)
        assert "9f8e7d" not in _printed(done)  # the passcode's tail, in any escaped form
        assert "X-CleverTap-Passcode" not in done.stderr  # no line shows a header


def test_clevertap_server_errors_are_logged_with_their_retries(
    server: FakeClevertap, tmp_path: Path
) -> None:
    root = _clevertap_repo(tmp_path, server)
    server.state.faults.errors = 1
    done = run("-v", "--at", T0, "plan", cwd=root, env={"CLEVERTAP_PASSCODE": PASSCODE})
    assert done.returncode == 0, done.stderr
    _has(
        done.stderr,
        r"^DEBUG campaign_gitops\.backends\.clevertap: POST /1/targets/list\.json "
        r"-> 500 in \d+\.\d{3} s \(attempt 1\)$",
    )
    _has(
        done.stderr,
        r"^DEBUG campaign_gitops\.backends\.clevertap: POST /1/targets/list\.json: "
        r"HTTP 500 on attempt 1; retrying in \d+\.\d{3} s$",
    )
    assert PASSCODE not in _printed(done)


# -- GitHub: every call with its status; a rate limit's retry; never the token -----------------


@pytest.fixture
def hub() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


def test_github_calls_and_rate_limit_retries_are_logged_never_the_token(
    repo: Path, hub: FakeGitHub, tmp_path: Path
) -> None:
    make_repo(repo)
    assert run("--at", T0, "apply", "--auto-approve", cwd=repo).returncode == 0
    git(repo, "switch", "-q", "-c", "spring")
    (repo / "campaigns" / "promotions" / "spring-sale.yaml").write_text(NEW)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Spring sale")
    hub.repo.add_pull(7, "dana", git(repo, "rev-parse", "HEAD"))
    hub.repo.rate_limit_next = 1  # the first call is over the rate limit: waited for, retried
    env = env_for(hub, tmp_path, pr=7)
    done = run("-v", "--at", T0, "plan", "--changed-since", "main", "--comment", cwd=repo, env=env)
    assert done.returncode == 0, _printed(done)
    err = done.stderr
    _has(
        err,
        r"^DEBUG campaign_gitops\.github: GitHub GET /repos/acme/campaigns/\S+ -> 403 in "
        r"\d+\.\d{3} s \(attempt 1\)$",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.github: GitHub GET /repos/acme/campaigns/\S+: 403 "
        r"\(rate limited\) on attempt 1; retrying in \d+\.\d{3} s$",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.github: GitHub GET /repos/acme/campaigns/\S+ -> 200 in "
        r"\d+\.\d{3} s \(attempt 2\)$",
    )
    _has(
        err,
        r"^DEBUG campaign_gitops\.github: GitHub POST /repos/acme/campaigns/issues/7/"
        r"comments -> 201 in \d+\.\d{3} s \(attempt 1\)$",
    )
    # no query string: ours leave them out, and httpx's own lines (whole URLs) are off
    assert not [line for line in err.splitlines() if "/repos/" in line and "?" in line]
    assert TOKEN not in _printed(done)
    assert "Bearer" not in err and "Authorization" not in err
