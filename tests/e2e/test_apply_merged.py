"""Issue #16: apply on main applies exactly what was approved: every merged pull request since
the apply cursor, in order, under its own approval and the policy of the commit before it.
Real git repositories, the CLI in subprocesses as the apply workflow runs it, and the GitHub
stand-in with merge, squash and rebase merges, reviews, permissions and commit identities."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cli import run
from tests.e2e.test_github_flow import NEW
from tests.fake_github import TOKEN, FakeGitHub, commits_from_git

T0 = "2026-11-23T10:00:00Z"
CONFIG = 'backend = "local"\n\n[approval]\napprovers = ["carol"]\n'
DANA = ("Dana Author", "dana@example.com")
CAROL = ("Carol Approver", "carol@example.com")


def git(repo: Path, *args: str, who: tuple[str, str] = DANA) -> str:
    env = {"GIT_AUTHOR_NAME": who[0], "GIT_AUTHOR_EMAIL": who[1],
           "GIT_COMMITTER_NAME": who[0], "GIT_COMMITTER_EMAIL": who[1],
           "PATH": "/usr/bin:/bin", "HOME": str(repo)}  # fmt: skip
    done = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True, env=env
    )
    return done.stdout.strip()


def campaign(name: str) -> str:
    return NEW.replace("Spring sale", name)


@pytest.fixture
def hub() -> Iterator[FakeGitHub]:
    with FakeGitHub() as server:
        server.repo.add_user("dana", emails=[DANA[1]])
        server.repo.add_user("carol", emails=[CAROL[1]])
        server.repo.add_user("erin")
        server.repo.add_collaborator("dana", "write")
        server.repo.add_collaborator("carol", "write")
        server.repo.add_collaborator("erin", "write")
        yield server


@pytest.fixture
def main(repo: Path, hub: FakeGitHub) -> Path:
    """A repository whose main is applied, and the cursor set at its commit."""
    (repo / "campaign-gitops.toml").write_text(CONFIG)
    (repo / ".gitignore").write_text(".campaign-gitops/\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "campaigns")
    assert run("--at", T0, "apply", "--auto-approve", cwd=repo).returncode == 0
    head = git(repo, "rev-parse", "HEAD")
    hub.repo.push_to_default(head)
    done = run("state", "set-applied", head, "--by", "ops", cwd=repo)
    assert done.returncode == 0, done.stderr
    return repo


def branch(repo: Path, hub: FakeGitHub, number: int, author: str, files: dict[str, str],
           who: tuple[str, str] = DANA) -> str:  # fmt: skip
    git(repo, "switch", "-q", "-c", f"b{number}", "main")
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
        git(repo, "add", name)
        git(repo, "commit", "-q", "-m", f"{name}", who=who)
    head = git(repo, "rev-parse", "HEAD")
    hub.repo.add_pull(number, author, head, commits=commits_from_git(repo, f"main..b{number}"))
    git(repo, "switch", "-q", "main")
    return head


def merge(repo: Path, hub: FakeGitHub, number: int, method: str = "merge") -> str:
    if method == "merge":
        git(repo, "merge", "-q", "--no-ff", f"b{number}", "-m", f"Merge pull request #{number}",
            who=CAROL)  # fmt: skip
        sha = git(repo, "rev-parse", "HEAD")
        hub.repo.merge(number, sha, "merge")
    elif method == "squash":
        git(repo, "merge", "-q", "--squash", f"b{number}")
        git(repo, "commit", "-q", "-m", f"Squashed #{number}", who=CAROL)
        sha = git(repo, "rev-parse", "HEAD")
        hub.repo.merge(number, sha, "squash")
    else:
        rebased = []
        for commit in git(repo, "rev-list", "--reverse", f"main..b{number}").split():
            git(repo, "cherry-pick", commit, who=CAROL)
            rebased.append(git(repo, "rev-parse", "HEAD"))
        sha = rebased[-1]
        hub.repo.merge(number, sha, "rebase", rebased=rebased)
    return sha


def ci_apply(repo: Path, hub: FakeGitHub, at: str = T0) -> subprocess.CompletedProcess[str]:
    env = {"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/heads/main", "GITHUB_API_URL": hub.url,
           "GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "acme/campaigns"}  # fmt: skip
    return run("--at", at, "apply", "--auto-approve", cwd=repo, env=env)


def shown(repo: Path, campaign_id: str) -> dict[str, object]:
    done = run("state", "show", campaign_id, cwd=repo)
    return json.loads(done.stdout) if done.returncode == 0 else {}


def live(repo: Path) -> set[str]:
    listed = json.loads(run("--at", T0, "list", "--all", "--format", "json", cwd=repo).stdout)
    return {c["id"] for c in listed}


def test_a_direct_push_is_never_applied_by_the_next_approved_merge(
    main: Path, hub: FakeGitHub
) -> None:
    (main / "campaigns" / "sneaky.yaml").write_text(campaign("Sneaky"))
    git(main, "add", "-A")
    git(main, "commit", "-q", "-m", "straight to main")
    direct = git(main, "rev-parse", "HEAD")
    hub.repo.push_to_default(direct)
    refused = ci_apply(main, hub)
    assert refused.returncode == 1
    assert f"commit {direct[:12]} (pushed to the branch, no pull request)" in refused.stderr
    assert "create campaign sneaky" in refused.stderr
    # an approved pull request merged after it does not carry it
    branch(main, hub, 31, "dana", {"campaigns/promotions/spring-sale.yaml": campaign("Spring")})
    head = hub.repo.pulls[31].head_sha
    hub.repo.review(31, "carol", "APPROVED", head)
    merge(main, hub, 31)
    again = ci_apply(main, hub)
    assert again.returncode == 1 and direct[:12] in again.stderr
    assert {"sneaky", "spring-sale"}.isdisjoint(live(main))
    # the operator's word lets the walk go on; the direct push is still not applied
    assert run("state", "set-applied", direct, "--by", "ops", cwd=main).returncode == 0
    applied = ci_apply(main, hub)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "spring-sale" in live(main) and "sneaky" not in live(main)
    record = shown(main, "spring-sale")
    assert record["pull_request"] == 31 and record["merged_by"] == "carol"
    assert record["approvers"] == ["carol"]
    # re-running the apply of an older commit rolls nothing back
    git(main, "switch", "-q", "--detach", direct)
    older = ci_apply(main, hub)
    assert older.returncode == 0 and "is already applied" in older.stdout


@pytest.mark.parametrize("method", ["merge", "squash", "rebase"])
def test_queued_merges_apply_in_order_each_under_its_own_approval(
    main: Path, hub: FakeGitHub, method: str
) -> None:
    hub.repo.lag_pulls_for_commit(1)  # GitHub does not know the fresh merge at once
    for number, name in ((32, "first"), (33, "second")):
        path = f"campaigns/promotions/{name}.yaml"
        files = {path: campaign(name.title())}
        if method == "rebase":
            files[f"campaigns/promotions/{name}-extra.yaml"] = campaign(name.title() + " extra")
        head = branch(main, hub, number, "dana", files)
        hub.repo.review(number, "carol", "APPROVED", head)
        merge(main, hub, number, method)
    applied = ci_apply(main, hub)  # one run for both: the first run was cancelled
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert applied.stdout.index("pull request #32") < applied.stdout.index("pull request #33")
    assert shown(main, "first")["pull_request"] == 32
    assert shown(main, "second")["pull_request"] == 33
    plan = run("--at", T0, "plan", "--detailed-exitcode", cwd=main)
    assert plan.returncode == 0, plan.stdout  # after an apply, the next plan is empty


def test_the_policy_comes_from_the_commit_before_the_pull_request(
    main: Path, hub: FakeGitHub
) -> None:
    head = branch(main, hub, 34, "dana", {
        "campaigns/promotions/spring-sale.yaml": campaign("Spring"),
        "campaign-gitops.toml": 'backend = "local"\n\n[approval]\napprovers = []\n',
    })  # fmt: skip
    assert head
    merge(main, hub, 34)
    refused = ci_apply(main, hub)
    assert refused.returncode == 1
    assert "needs an approval from carol" in refused.stdout
    assert "spring-sale" not in live(main)


@pytest.mark.parametrize("case", ["closed-not-merged", "approver-wrote-commits", "no-write"])
def test_approvals_that_do_not_count(main: Path, hub: FakeGitHub, case: str) -> None:
    files = {"campaigns/promotions/spring-sale.yaml": campaign("Spring")}
    if case == "closed-not-merged":
        head = branch(main, hub, 35, "dana", files)
        hub.repo.review(35, "carol", "APPROVED", head)
        hub.repo.close(35)
        git(main, "merge", "-q", "--ff-only", "b35")  # its head pushed to main by hand
        hub.repo.push_to_default(head)
    elif case == "approver-wrote-commits":  # erin opened it; carol wrote the commit
        head = branch(main, hub, 36, "erin", files, who=CAROL)
        hub.repo.review(36, "carol", "APPROVED", head)
        merge(main, hub, 36)
    else:
        (main / "campaign-gitops.toml").write_text(CONFIG.replace('"carol"', '"carol", "frank"'))
        git(main, "commit", "-q", "-am", "frank approves")
        hub.repo.push_to_default(git(main, "rev-parse", "HEAD"))
        assert run("state", "set-applied", "HEAD", cwd=main).returncode == 0
        hub.repo.add_collaborator("frank", "read")
        head = branch(main, hub, 37, "dana", files)
        hub.repo.review(37, "frank", "APPROVED", head)
        merge(main, hub, 37)
    refused = ci_apply(main, hub)
    assert refused.returncode == 1, refused.stdout
    assert "spring-sale" not in live(main)
    expected = {
        "closed-not-merged": "no approved, merged pull request covers it",
        "approver-wrote-commits": "carol authored or committed commits of the pull request",
        "no-write": "frank has no write permission on the repository",
    }[case]
    assert expected in refused.stdout + refused.stderr


def test_a_rewritten_branch_is_refused(main: Path, hub: FakeGitHub) -> None:
    head = branch(main, hub, 38, "dana", {"campaigns/promotions/a.yaml": campaign("A")})
    hub.repo.review(38, "carol", "APPROVED", head)
    merge(main, hub, 38)
    assert ci_apply(main, hub).returncode == 0
    git(main, "reset", "-q", "--hard", "HEAD~1")
    (main / "campaigns" / "promotions" / "b.yaml").write_text(campaign("B"))
    git(main, "add", "-A")
    git(main, "commit", "-q", "-m", "rewritten")
    hub.repo.push_to_default(git(main, "rev-parse", "HEAD"))
    refused = ci_apply(main, hub)
    assert refused.returncode == 1 and "is not an ancestor" in refused.stderr
    assert "state set-applied COMMIT" in refused.stderr and "b" not in live(main)


FLASH = """name: Flash
channel: push
on_locked_change: replace
who:
  segment:
    user_properties: [{name: Customer Type, op: equals, value: Gold}]
what:
  content: {title: Flash, body: Today only}
when:
  delivery: on_date_time
  start: 2026-11-25T09:00:00Z
"""


def test_an_approval_covers_the_plan_that_was_reviewed(main: Path, hub: FakeGitHub) -> None:
    """Approved as `~ update [who]` while scheduled; applied after the campaign ran, the same
    change would be `-/+ replace`: a new campaign to the new audience. That needs a new
    approval."""
    path = "campaigns/promotions/flash.yaml"
    head = branch(main, hub, 40, "dana", {path: FLASH})
    hub.repo.review(40, "carol", "APPROVED", head)
    merge(main, hub, 40)
    assert ci_apply(main, hub).returncode == 0
    head = branch(main, hub, 41, "dana", {path: FLASH.replace("Gold", "Platinum")})
    hub.repo.review(41, "carol", "APPROVED", head)
    merge(main, hub, 41)
    reviewed = run("--at", T0, "plan", cwd=main)
    assert "~ update campaign flash [who]" in reviewed.stdout
    late = ci_apply(main, hub, at="2026-11-26T10:00:00Z")
    assert late.returncode == 1, late.stdout + late.stderr
    assert "the plan differs from the one approved at" in late.stderr
    assert "approved: update campaign flash [who]: ok" in late.stderr
    assert "now:      replace campaign flash" in late.stderr
    assert shown(main, "flash")["pull_request"] == 40


def test_moving_the_config_does_not_switch_the_policy_off(main: Path, hub: FakeGitHub) -> None:
    """A pull request moves the (unchanged) policy into pyproject.toml and adds a campaign:
    the commit before it is still judged by the policy it had, under its own file name."""
    (main / "campaign-gitops.toml").unlink()
    table = CONFIG.replace("[approval]", "[tool.campaign-gitops.approval]")
    branch(main, hub, 43, "dana", {
        "pyproject.toml": "[tool.campaign-gitops]\n" + table,
        "campaigns/promotions/spring-sale.yaml": campaign("Spring"),
    })  # fmt: skip
    git(main, "switch", "-q", "b43")
    git(main, "rm", "-q", "campaign-gitops.toml")
    git(main, "commit", "-q", "-m", "one config file")
    head = git(main, "rev-parse", "HEAD")
    hub.repo.push(43, head)
    git(main, "switch", "-q", "main")
    merge(main, hub, 43)
    refused = ci_apply(main, hub)
    assert refused.returncode == 1, refused.stdout
    assert "needs an approval from carol" in refused.stdout
    assert "spring-sale" not in live(main)


DRAFT = campaign("Draft").replace("labels: [Promotions]", "labels: [Promotions]\nstate: draft")


def test_an_approval_covers_the_content_it_saw(main: Path, hub: FakeGitHub) -> None:
    """Approved: publish a draft. Merged first, with no approval needed (a draft): its body
    becomes a phishing link. The approval of the publish does not cover that body."""
    path = "campaigns/promotions/d.yaml"
    head = branch(main, hub, 44, "dana", {path: DRAFT})
    merge(main, hub, 44)
    assert ci_apply(main, hub).returncode == 0  # a draft needs no approval
    publish = branch(main, hub, 45, "dana", {path: DRAFT.replace("state: draft", "state: active")})
    hub.repo.review(45, "carol", "APPROVED", publish)
    edit = branch(main, hub, 46, "dana", {path: DRAFT.replace("Twenty percent off", "evil.link")})
    assert head and edit
    merge(main, hub, 46)
    merge(main, hub, 45)
    refused = ci_apply(main, hub)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "pull request #45" in refused.stderr
    assert "the plan differs from the one approved at" in refused.stderr
    listed = json.loads(run("--at", T0, "list", "--all", "--format", "json", cwd=main).stdout)
    assert {c["id"]: c["status"] for c in listed}["d"] == "draft"


def test_set_applied_moves_only_along_main(main: Path, hub: FakeGitHub) -> None:
    side = branch(main, hub, 47, "dana", {"campaigns/promotions/a.yaml": campaign("A")})
    merge(main, hub, 47)
    refused = run("state", "set-applied", side, cwd=main)
    assert refused.returncode == 1 and "first-parent line" in refused.stderr
    assert run("state", "set-applied", "HEAD", cwd=main).returncode == 0
