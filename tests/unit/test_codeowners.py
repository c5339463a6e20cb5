"""Issue #12, CODEOWNERS approvals: who owns a campaign file (GitHub's rules: the last matching
pattern wins, `@user` and `@org/team`, a pattern without owners leaves its files unowned), where
the file is read from (the commit the policy comes from, never the pull request's head), which
changes need whose approval, and the approval check against the GitHub stand-in."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from campaign_gitops.approval import owners
from campaign_gitops.approval.owners import CodeOwners, at_commit, in_work_tree
from campaign_gitops.approval.policy import annotate
from campaign_gitops.approval.reviews import check
from campaign_gitops.config import ApprovalPolicy, RawConfig, Settings
from campaign_gitops.desired.loader import Desired
from campaign_gitops.github import GitHub, GitHubContext
from campaign_gitops.gitrepo import Repo
from campaign_gitops.plan import Create, Plan
from tests.fake_github import APP_TOKEN, FakeGitHub

T0 = datetime(2026, 11, 23, 10, tzinfo=UTC)
TABLE = """\
# everything: the CRM leads
*                         @acme/crm-leads
campaigns/                @acme/marketing
campaigns/promotions/     @acme/promotions   # a comment after the owners
campaigns/promotions/*.yml @erin
/campaigns/retention/     @frank dana@example.com
campaigns/shared/
"""


def test_the_last_matching_pattern_wins() -> None:
    table = CodeOwners(TABLE, "test")
    assert table.of("campaigns/promotions/sale.yaml") == ("acme/promotions",)
    assert table.of("campaigns/promotions/deeper/sale.yaml") == ("acme/promotions",)
    assert table.of("campaigns/promotions/sale.yml") == ("erin",)
    assert table.of("campaigns/onboarding/welcome.yaml") == ("acme/marketing",)
    assert table.of("campaigns/retention/cart.yaml") == ("frank", "dana@example.com")
    assert table.of("labels.yaml") == ("acme/crm-leads",)
    assert table.problems == []


def test_a_pattern_without_owners_leaves_its_files_unowned() -> None:
    """GitHub: a later pattern with no owners takes the files from the earlier ones."""
    table = CodeOwners(TABLE, "test")
    assert table.of("campaigns/shared/x.yaml") == ()
    assert CodeOwners("", "test").of("campaigns/x.yaml") == ()


def test_paths_are_case_sensitive_and_anchored_patterns_start_at_the_top() -> None:
    table = CodeOwners("/campaigns/a/ @ann\nb/ @bob\n", "test")
    assert table.of("campaigns/a/x.yaml") == ("ann",)
    assert table.of("Campaigns/a/x.yaml") == ()
    assert table.of("sub/campaigns/a/x.yaml") == ()  # anchored
    assert table.of("campaigns/b/x.yaml") == ("bob",)  # unanchored: at any depth


def test_lines_github_does_not_accept_are_skipped_and_said() -> None:
    """Negation, character ranges and a word that is no owner: GitHub skips the line, so a
    typo never turns into "no owners" (which would take the files from the earlier line)."""
    table = CodeOwners(
        "campaigns/ @acme/marketing\n!campaigns/a/ @ann\ncampaigns/[ab]/ @bob\n"
        "campaigns/c/ acme/typo\n",
        ".github/CODEOWNERS",
    )
    assert table.of("campaigns/a/x.yaml") == ("acme/marketing",)
    assert table.of("campaigns/b/x.yaml") == ("acme/marketing",)
    assert table.of("campaigns/c/x.yaml") == ("acme/marketing",)
    assert [p.split(":")[0] for p in table.problems] == [
        ".github/CODEOWNERS line 2",
        ".github/CODEOWNERS line 3",
        ".github/CODEOWNERS line 4",
    ]
    assert "'acme/typo' is not an owner" in table.problems[2]


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _commit(repo: Path, files: dict[str, str]) -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", "c")
    return _git(repo, "rev-parse", "HEAD")


def test_the_file_is_read_at_the_commit_in_githubs_order(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q", "-b", "main")
    first = _commit(tmp_path, {"docs/CODEOWNERS": "* @docs\n", "CODEOWNERS": "* @root\n"})
    second = _commit(tmp_path, {".github/CODEOWNERS": "* @github\n"})
    (tmp_path / ".github" / "CODEOWNERS").write_text("* @worktree\n")  # not committed
    repo = Repo(tmp_path)
    assert at_commit(repo, first).of("x") == ("root",)
    assert at_commit(repo, second).of("x") == ("github",)
    assert at_commit(repo, second).where == f".github/CODEOWNERS at {second[:12]}"
    assert in_work_tree(tmp_path).of("x") == ("worktree",)


def test_a_config_in_a_subfolder_matches_from_the_top_of_the_repository(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q", "-b", "main")
    head = _commit(tmp_path, {
        ".github/CODEOWNERS": "/team/campaigns/a/ @ann\n", "team/campaign-gitops.toml": "",
    })  # fmt: skip
    table = at_commit(Repo(tmp_path / "team"), head)
    assert table.prefix == "team/"
    assert table.of(table.prefix + "campaigns/a/x.yaml") == ("ann",)


def test_a_moved_campaign_needs_the_owners_of_its_old_file_too(tmp_path: Path) -> None:
    """Moving a campaign into another team's folder is a change to the first team's file."""
    _git(tmp_path, "init", "-q", "-b", "main")
    base = _commit(tmp_path, {
        ".github/CODEOWNERS": "campaigns/a/ @acme/a\ncampaigns/b/ @acme/b\n",
        "campaigns/a/x.yaml": "name: X\n",
    })  # fmt: skip
    _git(tmp_path, "mv", "campaigns/a", "campaigns/b")
    head = _commit(tmp_path, {})
    table = at_commit(Repo(tmp_path), base, since=base)
    moved = SimpleNamespace(file="campaigns/b/x.yaml")
    desired = Desired(campaigns={"x": moved})  # type: ignore[dict-item]
    settings = Settings(tmp_path, None, RawConfig())
    owned = table.owned(desired, lambda: Repo(tmp_path), head, settings)
    assert owned("x") == {"campaigns/a/x.yaml": ("acme/a",), "campaigns/b/x.yaml": ("acme/b",)}


def _owned(files: dict[str, dict[str, tuple[str, ...]]]) -> owners.Owned:
    return lambda key: files.get(key, {})


def _plan() -> Plan:
    changes = [Create("owned", publish=True), Create("unowned", publish=True)]
    return Plan(at=T0, changes=list(changes))


def test_an_owned_change_needs_its_owners_and_an_unowned_one_falls_back_to_approvers() -> None:
    owned = _owned({
        "owned": {"campaigns/a/owned.yaml": ("acme/a",)},
        "unowned": {"campaigns/shared/unowned.yaml": ()},
    })  # fmt: skip
    with_approvers = _plan()
    annotate(with_approvers, ApprovalPolicy(approvers=["carol"], codeowners=True), {}, None, owned)
    assert [c.review for c in with_approvers.changes] == [("publishes a new campaign",)] * 2
    assert with_approvers.owners == {"owned": {"campaigns/a/owned.yaml": ["acme/a"]}}
    # without approvers, a file nobody owns has nobody to ask: it needs no approval
    only_owners = _plan()
    annotate(only_owners, ApprovalPolicy(codeowners=True), {}, None, owned)
    assert [c.key for c in only_owners.reviews] == ["owned"]
    assert owners.required(only_owners) == {"campaigns/a/owned.yaml": ("acme/a",)}
    assert Plan.from_data(only_owners.data()).owners == only_owners.owners  # saved plans


@pytest.fixture
def hub() -> Iterator[FakeGitHub]:
    with FakeGitHub() as server:
        for login in ("dana", "ann", "bob", "carol"):
            server.repo.add_collaborator(login, "write")
        server.repo.teams[("acme", "team-a")] = {"ann"}
        server.repo.teams[("acme", "team-b")] = {"bob"}
        yield server


def _pull(hub: FakeGitHub, approvals: list[str]) -> tuple[GitHub, Create]:
    hub.repo.add_pull(5, "dana", "a" * 40)
    for login in approvals:
        hub.repo.review(5, login, "APPROVED", "a" * 40)
    github = GitHub(GitHubContext(hub.url, APP_TOKEN, hub.repository, 5), timeout=10)
    return github, Create("sale", publish=True, review=("publishes a new campaign",))


FILES = {"campaigns/a/sale.yaml": ["acme/team-a"]}


def test_another_teams_approval_does_not_count(hub: FakeGitHub) -> None:
    github, change = _pull(hub, ["bob"])
    try:
        result = check(github, 5, [], [change], owners=FILES)
    finally:
        github.close()
    assert not result.ok
    text = result.explain()
    assert "needs an approval from the code owners of each file below" in text
    assert "campaigns/a/sale.yaml: no approval from its owners acme/team-a" in text
    assert "bob is not an approver nor an owner of a changed file" in text


def test_the_owning_teams_approval_counts(hub: FakeGitHub) -> None:
    github, change = _pull(hub, ["bob", "ann"])
    try:
        result = check(github, 5, [], [change], owners=FILES)
    finally:
        github.close()
    assert result.ok, result.explain()
    assert result.approved_by == ["ann"] and result.owned_by == {"campaigns/a/sale.yaml": ["ann"]}
    assert "campaigns/a/sale.yaml: approved by its owner ann" in result.explain()


def test_approvers_and_owners_are_both_needed_when_the_policy_names_approvers(
    hub: FakeGitHub,
) -> None:
    github, change = _pull(hub, ["ann"])
    try:
        owner_only = check(github, 5, ["carol"], [change], owners=FILES)
        hub.repo.review(5, "carol", "APPROVED", "a" * 40)
        both = check(github, 5, ["carol"], [change], owners=FILES)
        approver_only = check(github, 5, ["carol"], [change], owners={
            "campaigns/a/sale.yaml": ["acme/team-b"]})  # fmt: skip
    finally:
        github.close()
    assert not owner_only.ok
    assert "needs an approval from carol (id " in owner_only.explain()
    assert both.ok and both.approved_by == ["ann", "carol"]
    assert not approver_only.ok  # carol is no owner of team b's file


def test_an_email_owner_never_counts(hub: FakeGitHub) -> None:
    github, change = _pull(hub, ["ann"])
    try:
        result = check(github, 5, [], [change], owners={"x.yaml": ["ann@example.com"]})
    finally:
        github.close()
    assert not result.ok
    assert "ann@example.com (an email: never counts; name the @login)" in result.explain()
