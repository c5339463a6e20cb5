"""Issue #12, CODEOWNERS approvals end to end: with `approval.codeowners = true`, a team's
campaign needs an approval from its team (another team's does not count), CODEOWNERS comes from
the base (a pull request that edits it does not change who approves its own changes), the plan
comment names the owners, and the apply of a merged pull request enforces the same. Real git
repositories, the CLI in subprocesses, the GitHub stand-in with teams."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cli import run
from tests.e2e.test_apply_merged import DANA, branch, campaign, git, live, merge, shown
from tests.fake_github import APP_TOKEN, FakeGitHub

T0 = "2026-11-23T10:00:00Z"
CONFIG = 'backend = "local"\n\n[approval]\ncodeowners = true\n'
CODEOWNERS = """\
campaigns/               @acme/crm-leads
campaigns/promotions/    @acme/promotions
campaigns/retention/     @acme/retention
"""
# the pull request's own edit: promotions to the retention team
TAKEOVER = CODEOWNERS.replace("campaigns/promotions/    @acme/promotions",
                              "campaigns/promotions/    @acme/retention")  # fmt: skip
SPRING = "campaigns/promotions/spring-sale.yaml"
WINBACK = "campaigns/retention/winback.yaml"


@pytest.fixture
def hub() -> Iterator[FakeGitHub]:
    with FakeGitHub() as server:
        server.repo.add_user("dana", emails=[DANA[1]])
        for login in ("dana", "ann", "bob"):
            server.repo.add_collaborator(login, "write")
        server.repo.teams[("acme", "promotions")] = {"ann"}
        server.repo.teams[("acme", "retention")] = {"bob"}
        yield server


@pytest.fixture
def main(repo: Path, hub: FakeGitHub) -> Path:
    """Applied main, with the cursor at its commit and the teams' CODEOWNERS."""
    (repo / "campaign-gitops.toml").write_text(CONFIG)
    (repo / ".gitignore").write_text(".campaign-gitops/\n")
    (repo / ".github").mkdir()
    (repo / ".github" / "CODEOWNERS").write_text(CODEOWNERS)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "campaigns")
    assert run("--at", T0, "apply", "--auto-approve", cwd=repo).returncode == 0
    head = git(repo, "rev-parse", "HEAD")
    hub.repo.push_to_default(head)
    assert run("state", "set-applied", head, "--by", "ops", cwd=repo).returncode == 0
    return repo


def github_env(hub: FakeGitHub, actions: bool = False) -> dict[str, str]:
    """A GitHub App's token: team membership needs Members: read."""
    env = {"GITHUB_API_URL": hub.url, "GITHUB_TOKEN": APP_TOKEN,
           "GITHUB_REPOSITORY": "acme/campaigns"}  # fmt: skip
    if actions:
        env |= {"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/heads/main"}
    return env


def ci_apply(repo: Path, hub: FakeGitHub) -> subprocess.CompletedProcess[str]:
    return run("--at", T0, "apply", "--auto-approve", cwd=repo, env=github_env(hub, True))


def test_a_teams_campaign_needs_its_teams_approval(main: Path, hub: FakeGitHub) -> None:
    base = git(main, "rev-parse", "HEAD")
    head = branch(
        main, hub, 51, "dana", {SPRING: campaign("Spring"), ".github/CODEOWNERS": TAKEOVER}
    )
    hub.repo.pulls[51].base_sha = base
    hub.repo.review(51, "bob", "APPROVED", head)  # the retention team, owner by the PR's edit
    env = github_env(hub)
    check = ["--at", T0, "approval", "check", "--pr", "51", "--ref", head, "--no-refresh"]
    refused = run(*check, cwd=main, env=env)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    out = refused.stdout
    assert "needs an approval from the code owners of each file below" in out
    assert f"{SPRING}: no approval from its owners acme/promotions" in out
    assert "bob is not an approver nor an owner of a changed file" in out
    assert "code-owner files changed: .github/CODEOWNERS" in out
    # the plan and its comment name the owners of each change, from the base's CODEOWNERS
    planned = run("--at", T0, "plan", "--ref", head, "--changed-since", base, "--no-refresh",
                  "--comment", "--pr", "51", cwd=main, env=env)  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    note = f"needs approval from an owner of {SPRING} (acme/promotions): publishes a new campaign"
    assert note in planned.stdout
    [comment] = hub.repo.comments[51]
    assert note in comment["body"]
    as_json = run("--at", T0, "plan", "--ref", head, "--changed-since", base, "--no-refresh",
                  "--format", "json", cwd=main)  # fmt: skip
    assert json.loads(as_json.stdout)["owners"] == {"spring-sale": {SPRING: ["acme/promotions"]}}
    # the owning team's approval counts
    hub.repo.review(51, "ann", "APPROVED", head)
    approved = run(*check, cwd=main, env=env)
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert f"{SPRING}: approved by its owner ann" in approved.stdout


def test_the_apply_of_a_merged_pull_request_enforces_the_owners(
    main: Path, hub: FakeGitHub
) -> None:
    head = branch(main, hub, 52, "dana", {
        SPRING: campaign("Spring"), WINBACK: campaign("Winback"), ".github/CODEOWNERS": TAKEOVER,
    })  # fmt: skip
    hub.repo.review(52, "bob", "APPROVED", head)  # owns winback; not spring-sale, at the base
    merge(main, hub, 52)
    refused = ci_apply(main, hub)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"{SPRING}: no approval from its owners acme/promotions" in refused.stdout
    assert "counted: bob's approval" in refused.stdout
    assert f"{WINBACK}: no approval" not in refused.stdout
    assert {"spring-sale", "winback"}.isdisjoint(live(main))
    hub.repo.review(52, "ann", "APPROVED", head)
    applied = ci_apply(main, hub)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert {"spring-sale", "winback"} <= live(main)
    approvers = shown(main, "spring-sale")["approvers"]
    assert isinstance(approvers, list) and sorted(approvers) == ["ann", "bob"]
    # merged, the edit of CODEOWNERS holds for the next pull request
    later = branch(main, hub, 53, "dana", {"campaigns/promotions/autumn.yaml": campaign("Autumn")})
    hub.repo.review(53, "bob", "APPROVED", later)
    merge(main, hub, 53)
    again = ci_apply(main, hub)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "autumn" in live(main)
