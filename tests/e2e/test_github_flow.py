"""The pull-request flow end to end: real git repositories, the CLI in subprocesses, and a local
GitHub server: plan at a ref, changed-since, the sticky comment, approval check, apply on merge."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cli import run
from tests.fake_github import APP_TOKEN, TOKEN, FakeGitHub

T0 = "2026-11-23T10:00:00Z"
CONFIG = """backend = "local"
creator_approver = {workflow}

[approval]
approvers = ["carol", "acme/crm-leads"]
"""
NEW = """# yaml-language-server: $schema=../../schemas/campaign.schema.json
name: Spring sale
channel: push
labels: [Promotions]
what:
  content: {title: Spring, body: Twenty percent off}
when:
  delivery: on_date_time
  start: 2027-03-20T09:00:00Z
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def make_repo(repo: Path, workflow: bool = False) -> None:
    (repo / "campaign-gitops.toml").write_text(CONFIG.format(workflow=str(workflow).lower()))
    (repo / ".gitignore").write_text(".campaign-gitops/\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "dana@example.com")
    git(repo, "config", "user.name", "Dana Author")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "campaigns")


@pytest.fixture
def hub() -> Iterator[FakeGitHub]:
    with FakeGitHub() as server:
        for login in ("carol", "erin", "frank", "dana"):  # approvals need write permission
            server.repo.add_collaborator(login, "write")
        yield server


def env_for(
    hub: FakeGitHub, tmp: Path, pr: int | None = None, actions: bool = False, token: str = TOKEN
) -> dict[str, str]:
    """TOKEN is the Actions GITHUB_TOKEN; APP_TOKEN a GitHub App's, which can read teams."""
    env = {"GITHUB_API_URL": hub.url, "GITHUB_TOKEN": token, "GITHUB_REPOSITORY": "acme/campaigns"}
    if pr is not None:
        event = tmp / f"event-{pr}.json"
        event.write_text(json.dumps({"pull_request": {"number": pr}}))
        env["GITHUB_EVENT_PATH"] = str(event)
    if actions:
        env["GITHUB_ACTIONS"] = "true"
    return env


def _branch_with_changes(repo: Path) -> str:
    git(repo, "switch", "-q", "-c", "spring")
    (repo / "campaigns" / "promotions" / "spring-sale.yaml").write_text(NEW)
    path = repo / "campaigns" / "retention" / "cart-abandonment.yaml"
    path.write_text(path.read_text().replace("name: Cart abandonment", "name: Cart reminder"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Spring sale; cart reminder")
    return git(repo, "rev-parse", "HEAD")


def test_the_whole_flow_from_branch_to_merged_apply(
    repo: Path, hub: FakeGitHub, tmp_path: Path
) -> None:
    make_repo(repo)
    assert run("--at", T0, "apply", "--auto-approve", cwd=repo).returncode == 0
    head = _branch_with_changes(repo)
    hub.repo.add_pull(7, "dana", head)
    env = env_for(hub, tmp_path, pr=7)
    # the pull request's plan: only what changed, posted as one sticky comment
    planned = run("--at", T0, "plan", "--changed-since", "main", "--comment", cwd=repo, env=env)
    assert planned.returncode == 0, planned.stderr
    assert "+ create campaign spring-sale" in planned.stdout
    assert "~ update campaign cart-abandonment [name]" in planned.stdout
    assert "needs approval from carol, acme/crm-leads: publishes a new campaign" in planned.stdout
    assert "welcome-push" not in planned.stdout
    [comment] = hub.repo.comments[7]
    assert comment["body"].startswith("<!-- campaign-gitops plan -->")
    # the next 14 days of the changed campaigns: the cart reminder runs; the sale is in March
    assert "#### Next 14 days\n\n```mermaid\ngantt\n" in comment["body"]
    assert "[cart-abandonment] Cart reminder, 10 minutes" in comment["body"]
    assert "[spring-sale]" not in comment["body"].split("#### Next 14 days")[1].split("```\n")[1]
    url = "https://github.com/acme/campaigns/actions/runs/9/artifacts/12"
    again = run("--at", T0, "plan", "--changed-since", "main", "--comment",
                "--calendar-url", url, cwd=repo, env=env)  # fmt: skip
    assert again.returncode == 0 and "updated the plan comment" in again.stderr
    assert len(hub.repo.comments[7]) == 1
    assert f"The whole calendar: [calendar page]({url})." in hub.repo.comments[7][0]["body"]
    assert [m for m, p in hub.repo.requests if p.endswith("/issues/7/comments")].count("POST") == 1
    # approval: the author's own approval does not count
    hub.repo.review(7, "dana", "APPROVED", head)
    check = run("--at", T0, "approval", "check", cwd=repo, env=env)
    assert check.returncode == 1
    assert "dana is the author and cannot approve their own changes" in check.stdout
    assert "create campaign spring-sale: publishes a new campaign" in check.stdout
    hub.repo.teams[("acme", "crm-leads")] = {"erin"}
    hub.repo.review(7, "erin", "APPROVED", head)
    # the Actions GITHUB_TOKEN cannot read team membership: the check fails closed
    closed = run("--at", T0, "approval", "check", cwd=repo, env=env)
    assert closed.returncode == 1 and "the check fails closed" in closed.stderr
    app = env_for(hub, tmp_path, pr=7, token=APP_TOKEN)
    assert run("--at", T0, "approval", "check", cwd=repo, env=app).returncode == 0
    # merge, then apply on main as the workflow does
    git(repo, "switch", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "spring", "-m", "Merge pull request #7")
    merge = git(repo, "rev-parse", "HEAD")
    hub.repo.merge(7, merge)
    actions = env_for(hub, tmp_path, actions=True, token=APP_TOKEN)
    applied = run("--at", T0, "apply", "--auto-approve", cwd=repo, env=actions)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "pull request #7 is approved" in applied.stdout and "by erin" in applied.stdout
    shown = json.loads(run("state", "show", "spring-sale", cwd=repo).stdout)
    assert (shown["commit"], shown["pull_request"]) == (merge, 7)
    assert shown["author"] == "Dana Author <dana@example.com>"
    assert run("--at", T0, "plan", "--detailed-exitcode", cwd=repo).returncode == 0


@pytest.mark.parametrize("state", ["CHANGES_REQUESTED", "COMMENTED"])
def test_approval_edge_cases(repo: Path, hub: FakeGitHub, tmp_path: Path, state: str) -> None:
    make_repo(repo)
    assert run("--at", T0, "apply", "--auto-approve", cwd=repo).returncode == 0
    old = git(repo, "rev-parse", "HEAD")
    head = _branch_with_changes(repo)
    hub.repo.add_pull(8, "dana", head)
    env = env_for(hub, tmp_path, pr=8, token=APP_TOKEN)  # frank is looked up in acme/crm-leads
    for _ in range(120):  # two pages of reviews before the ones that matter
        hub.repo.review(8, "bystander", "COMMENTED", head)
    hub.repo.review(8, "carol", "APPROVED", old)  # an approval of an older commit
    hub.repo.review(8, "frank", "APPROVED", head)  # not an approver
    failed = run("--at", T0, "approval", "check", cwd=repo, env=env)
    assert failed.returncode == 1
    assert "carol approved an older commit" in failed.stdout
    assert "frank is not an approver" in failed.stdout
    hub.repo.review(8, "carol", "APPROVED", head)
    hub.repo.review(8, "carol", state, head)  # a later word from the same reviewer
    later = run("--at", T0, "approval", "check", cwd=repo, env=env)
    if state == "COMMENTED":  # a comment does not withdraw an approval
        assert later.returncode == 0 and "approved at" in later.stdout
    else:
        assert (
            later.returncode == 1 and "carol's latest review is changes_requested" in later.stdout
        )


@pytest.mark.parametrize("workflow", [False, True])
def test_apply_of_an_unapproved_merge(
    repo: Path, hub: FakeGitHub, tmp_path: Path, workflow: bool
) -> None:
    make_repo(repo, workflow=workflow)
    run("--at", T0, "apply", "--auto-approve", cwd=repo, env={}).check_returncode()
    head = _branch_with_changes(repo)
    hub.repo.add_pull(9, "dana", head)
    git(repo, "switch", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "spring", "-m", "Merge pull request #9")
    hub.repo.merge(9, git(repo, "rev-parse", "HEAD"))
    actions = env_for(hub, tmp_path, actions=True)
    applied = run("--at", T0, "apply", "--auto-approve", cwd=repo, env=actions)
    listed = json.loads(run("--at", T0, "list", "--format", "json", cwd=repo).stdout)
    statuses = {c["id"]: c["status"] for c in listed}
    if workflow:  # the seed's creator row: the campaign waits for the approver
        assert applied.returncode == 0, applied.stderr
        assert statuses["spring-sale"] == "pending_approval"
    else:
        assert applied.returncode == 1 and "pull request #9" in applied.stderr
        assert "not approved\nNothing from this commit on was applied" in applied.stderr
        assert "spring-sale" not in statuses
    for out in (applied.stdout, applied.stderr):
        assert TOKEN not in out


def test_plan_at_a_ref_leaves_the_work_tree_alone(repo: Path) -> None:
    make_repo(repo)
    committed = git(repo, "rev-parse", "HEAD")
    (repo / "campaigns" / "promotions" / "spring-sale.yaml").write_text(NEW)  # not committed
    (repo / "campaigns" / "onboarding" / "welcome-push.yaml").unlink()
    at_ref = run("--at", T0, "plan", "--ref", "main", "--format", "json", cwd=repo)
    data = json.loads(at_ref.stdout)
    keys = {c["key"] for c in data["changes"] if c["target"] == "campaign"}
    assert data["commit"] == committed and "welcome-push" in keys and "spring-sale" not in keys
    assert (repo / "campaigns" / "promotions" / "spring-sale.yaml").exists()
    assert git(repo, "status", "--porcelain") != ""  # untouched
    bad = run("plan", "--ref", "no-such-branch", cwd=repo)
    assert bad.returncode == 1 and "unknown git revision 'no-such-branch'" in bad.stderr


def test_changed_since_equals_the_full_plan_restricted(repo: Path) -> None:
    make_repo(repo)
    assert run("--at", T0, "apply", "--auto-approve", cwd=repo).returncode == 0
    git(repo, "switch", "-q", "-c", "work")
    (repo / "campaigns" / "promotions" / "spring-sale.yaml").write_text(NEW)
    git(repo, "mv", "campaigns/retention/winback-whatsapp.yaml", "campaigns/retention/winback.yaml")
    (repo / "campaigns" / "onboarding" / "welcome-push.yaml").unlink()
    labels = (repo / "labels.yaml").read_text()
    (repo / "labels.yaml").write_text(
        labels.replace("description: Order, travel and account messages users expect",
                       "description: Receipts and reminders")
    )  # fmt: skip
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "work")
    full = json.loads(run("--at", T0, "plan", "--format", "json", cwd=repo).stdout)
    part = json.loads(
        run("--at", T0, "plan", "--changed-since", "main", "--format", "json", cwd=repo).stdout
    )
    touched = {c["key"] for c in part["changes"] if c["target"] == "campaign"}
    assert touched == {"spring-sale", "winback", "winback-whatsapp", "welcome-push"}
    # campaigns using the edited label are in the set, though their files did not change
    transactional = {"flight-reminder-email", "login-otp-sms", "order-shipped-whatsapp"}
    assert transactional <= set(part["desired_checksums"])
    restricted = [
        c for c in full["changes"]
        if c["target"] == "label" or c["key"] in set(part["desired_checksums"]) | touched
    ]  # fmt: skip
    assert part["changes"] == restricted
