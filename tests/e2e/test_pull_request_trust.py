"""Issue #15, what runs on a pull request: its files are data read at its head, and everything
that decides trust (the approval policy, the endpoints, the state) comes from the base commit.
Each test is a scenario that worked for an attacker before: real git repositories, the CLI in
subprocesses, the GitHub and CleverTap stand-ins on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cli import run
from tests.e2e.test_github_flow import NEW, env_for, git
from tests.fake_clevertap import ACCOUNT, PASSCODE, FakeClevertap
from tests.fake_github import FakeGitHub

T0 = "2026-11-23T10:00:00Z"
POLICY = '\n[approval]\napprovers = ["carol"]\n'


@pytest.fixture
def hub() -> Iterator[FakeGitHub]:
    with FakeGitHub() as server:
        for login in ("carol", "dana"):
            server.repo.add_collaborator(login, "write")
        yield server


def _init(repo: Path, config_name: str, config: str) -> None:
    (repo / config_name).write_text(config)
    (repo / ".gitignore").write_text(".campaign-gitops/\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "dana@example.com")
    git(repo, "config", "user.name", "Dana Author")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "campaigns")


def _pull_request(repo: Path, edits: dict[str, str]) -> str:
    """A branch that adds a published campaign and writes `edits`; back on main after."""
    git(repo, "switch", "-q", "-c", "attack")
    (repo / "campaigns" / "promotions" / "spring-sale.yaml").write_text(NEW)
    for name, text in edits.items():
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Spring sale")
    head = git(repo, "rev-parse", "HEAD")
    git(repo, "switch", "-q", "main")  # the job checks out the base
    return head


@pytest.mark.parametrize(
    ("config_name", "base_config", "edits"),
    [
        (
            "campaign-gitops.toml",
            POLICY,
            {"campaign-gitops.toml": "\n[approval]\napprovers = []\n"},
        ),
        (
            "campaign-gitops.toml",
            POLICY,
            {"campaign-gitops.toml": POLICY + "required_for = []\n"},
        ),
        (
            "campaign-gitops.toml",
            POLICY,
            {"campaign-gitops.toml": '\n[approval]\napprovers = ["carol", "dana"]\n'},
        ),
        (
            "pyproject.toml",
            '[tool.campaign-gitops]\nbackend = "local"\n\n[tool.campaign-gitops.approval]\n'
            'approvers = ["carol"]\n',
            {"campaign-gitops.toml": "\n[approval]\napprovers = []\n"},
        ),
    ],
    ids=["approvers-emptied", "required-for-emptied", "author-adds-self", "config-file-added"],
)
def test_a_pull_request_cannot_change_its_own_approval_policy(
    repo: Path,
    hub: FakeGitHub,
    tmp_path: Path,
    config_name: str,
    base_config: str,
    edits: dict[str, str],
) -> None:
    (repo / "campaign-gitops.toml").unlink()
    _init(repo, config_name, base_config)
    assert run("--at", T0, "apply", "--auto-approve", cwd=repo).returncode == 0
    base = git(repo, "rev-parse", "HEAD")
    head = _pull_request(repo, edits)
    hub.repo.add_pull(21, "dana", head)
    hub.repo.pulls[21].base_sha = base
    hub.repo.review(21, "dana", "APPROVED", head)  # the author, now in their own approvers
    env = env_for(hub, tmp_path)
    checked = run("--at", T0, "approval", "check", "--pr", "21", "--ref", head, cwd=repo, env=env)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "needs an approval from carol" in checked.stdout
    assert "create campaign spring-sale: publishes a new campaign" in checked.stdout
    assert "policy change: takes effect after merge" in checked.stdout
    # the plan comment says so too, and judges by the base's policy
    planned = run(
        "--at", T0, "plan", "--ref", head, "--changed-since", base, "--format", "json",
        cwd=repo,
    )  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    data = json.loads(planned.stdout)
    assert data["approvers"] == ["carol"]
    assert any(n.startswith("policy change: takes effect after merge") for n in data["notices"])
    [create] = [c for c in data["changes"] if c["key"] == "spring-sale"]
    assert create["review"] == ["publishes a new campaign"]


def test_the_check_follows_a_pull_request_that_changes_nothing_of_the_policy(
    repo: Path, hub: FakeGitHub, tmp_path: Path
) -> None:
    (repo / "campaign-gitops.toml").unlink()
    _init(repo, "campaign-gitops.toml", POLICY)
    assert run("--at", T0, "apply", "--auto-approve", cwd=repo).returncode == 0
    base = git(repo, "rev-parse", "HEAD")
    head = _pull_request(repo, {})
    hub.repo.add_pull(22, "dana", head)
    hub.repo.pulls[22].base_sha = base
    hub.repo.review(22, "carol", "APPROVED", head)
    env = env_for(hub, tmp_path)
    checked = run("--at", T0, "approval", "check", "--pr", "22", "--ref", head, cwd=repo, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "approved at" in checked.stdout and "policy change" not in checked.stdout
    wrong = run("approval", "check", "--pr", "22", "--ref", base, cwd=repo, env=env)
    assert wrong.returncode == 1 and "is not the head of pull request #22" in wrong.stderr


def _clevertap_config(url: str) -> str:
    return (
        f'backend = "clevertap"\n\n[clevertap]\naccount_id = "{ACCOUNT}"\n'
        f'base_url = "{url}"\ntimeout = 2.0\n'
    )


def test_a_pull_request_cannot_send_the_passcode_to_its_own_server(repo: Path) -> None:
    """Its config points base_url at the attacker; the plan reads the base's config, and by
    default does not contact the platform at all (no passcode in the job)."""
    with FakeClevertap() as platform, FakeClevertap() as attacker:
        (repo / "campaign-gitops.toml").unlink()
        for path in (repo / "campaigns").rglob("*.yaml"):
            path.unlink()
        _init(repo, "campaign-gitops.toml", _clevertap_config(platform.url))
        base = git(repo, "rev-parse", "HEAD")
        head = _pull_request(repo, {"campaign-gitops.toml": _clevertap_config(attacker.url)})
        offline = run("--at", T0, "plan", "--ref", head, "--changed-since", base, "--no-refresh",
                      "--format", "json", cwd=repo)  # fmt: skip
        assert offline.returncode == 0, offline.stderr
        data = json.loads(offline.stdout)
        assert data["refreshed"] is False and data["endpoint"] == platform.url
        assert [c["key"] for c in data["changes"]] == ["spring-sale"]
        assert platform.state.times == []  # not even the platform: nothing left the machine
        refreshed = run("--at", T0, "plan", "--ref", head, "--changed-since", base, cwd=repo,
                        env={"CLEVERTAP_PASSCODE": PASSCODE})  # fmt: skip
        assert refreshed.returncode == 0, refreshed.stderr
        assert platform.state.times and attacker.state.times == []
        assert "policy change: takes effect after merge" in refreshed.stdout
        assert attacker.url in refreshed.stdout  # the reviewer sees where it would point


def test_a_base_url_must_be_https_unless_loopback(repo: Path) -> None:
    (repo / "campaign-gitops.toml").write_text(_clevertap_config("http://203.0.113.9"))
    done = run("plan", cwd=repo, env={"CLEVERTAP_PASSCODE": PASSCODE})
    assert done.returncode == 1
    assert "campaign-gitops.toml:5:1: clevertap.base_url:" in done.stderr
    assert "use https (plain http is allowed only to a loopback address" in done.stderr
    assert PASSCODE not in done.stdout + done.stderr


def test_the_sticky_comment_is_only_ever_the_bots_own(
    repo: Path, hub: FakeGitHub, tmp_path: Path
) -> None:
    """Another user's comment that carries the hidden marker is left as it is: the plan is
    posted as the bot's own comment, which later runs update."""
    (repo / "campaign-gitops.toml").unlink()
    _init(repo, "campaign-gitops.toml", POLICY)
    base = git(repo, "rev-parse", "HEAD")
    head = _pull_request(repo, {})
    hub.repo.add_pull(23, "dana", head)
    planted = hub.repo.add_comment(23, "carol", "<!-- campaign-gitops plan -->\nmy notes")
    env = env_for(hub, tmp_path)
    for expected in ("created", "updated"):
        done = run("--at", T0, "plan", "--ref", head, "--changed-since", base, "--no-refresh",
                   "--comment", "--pr", "23", cwd=repo, env=env)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert f"{expected} the plan comment on pull request #23" in done.stderr
    comments = hub.repo.comments[23]
    assert [c["user"]["login"] for c in comments] == ["carol", "github-actions[bot]"]
    assert comments[0]["body"] == planted["body"] == "<!-- campaign-gitops plan -->\nmy notes"
    assert "create campaign spring-sale" in comments[1]["body"]
    assert "not refreshed from the platform" in comments[1]["body"]
    assert "Twenty percent off" in comments[1]["body"]  # a new campaign is shown whole
