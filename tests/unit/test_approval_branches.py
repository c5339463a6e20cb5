"""The approval package's decisions, branch by branch (issue #20): whether a pull request's
approval counts (reviews.py: the Approval record, the latest review of each reviewer, whose
commits a change is, and `check` against the GitHub stand-in), who owns a campaign file
(owners.py), what apply on main decides from an approval (at_apply.py: refusals, the
creator-approver fallback, the growth of an approved audience's reach) and the small pure parts
of gate.py, mainline.py and pullrequest.py. The parts that walk git history, open workspaces or
run the applier (gate.apply_merged and _apply_step, at_apply.moved_since_review, mainline.Mainline,
pullrequest.config_at/notices, owners.at_commit) are covered end to end: tests/e2e/
test_apply_merged.py, test_github_flow.py, test_pull_request_trust.py, test_codeowners.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from campaign_gitops.approval import at_apply, gate, owners
from campaign_gitops.approval.mainline import Step
from campaign_gitops.approval.owners import CodeOwners, in_work_tree, is_email
from campaign_gitops.approval.pullrequest import _differences
from campaign_gitops.approval.reviews import Approval, _latest, check, contributors
from campaign_gitops.backends.base import Capabilities
from campaign_gitops.backends.local import LocalBackend
from campaign_gitops.config import RawConfig, Settings
from campaign_gitops.desired.loader import Desired
from campaign_gitops.embedded.synthetic import generate
from campaign_gitops.github import GitHub, GitHubContext
from campaign_gitops.plan import BLOCKED, Create, Plan, Publish, Stop, Update
from campaign_gitops.refusals import PlanRefused, Refusal
from tests.fake_github import APP_TOKEN, Commit, FakeGitHub
from tests.fake_github import Repo as FakeRepo

T0 = datetime(2026, 11, 23, 10, tzinfo=UTC)
HEAD = "a" * 40
PUBLISH = Create("sale", publish=True, review=("publishes a new campaign",))


# --- reviews.Approval: ok, missing_owners, explain ------------------------------------------


def _approval(**fields: Any) -> Approval:
    return Approval(7, "ann", HEAD, **({"needed": [PUBLISH]} | fields))


def test_nothing_needed_is_approved() -> None:
    approval = _approval(needed=[], unmapped=["author X <x@example.com> of bbbbbbbbbbbb"])
    assert approval.ok
    assert approval.explain() == "pull request #7: no change needs approval"


@pytest.mark.parametrize(
    ("fields", "ok"),
    [
        ({}, False),  # nobody approved
        ({"by_approver": True}, True),
        ({"wants_approver": False}, True),  # owners only, and no file needs one
        ({"by_approver": True, "owners": {"a.yaml": ["erin (id 9)"]}}, False),
        ({"by_approver": True, "owners": {"a.yaml": ["erin"]}, "owned_by": {"a.yaml": ["erin"]}},
         True),
        ({"wants_approver": False, "owners": {"a.yaml": ["erin"]},
          "owned_by": {"a.yaml": ["erin"]}}, True),
        ({"by_approver": True, "unmapped": ["author X <x@example.com> of bbbbbbbbbbbb"]}, False),
    ],
    ids=["none", "approver", "no-approver-wanted", "owner-missing", "owner-and-approver",
         "owner-only", "unmapped"],
)  # fmt: skip
def test_approval_ok(fields: dict[str, Any], ok: bool) -> None:
    assert _approval(**fields).ok is ok


def test_missing_owners() -> None:
    approval = _approval(
        owners={"a.yaml": ["erin"], "b.yaml": ["frank"], "c.yaml": ["gus"]},
        owned_by={"b.yaml": ["frank"], "c.yaml": []},
    )
    assert approval.missing_owners == ["a.yaml", "c.yaml"]


def test_explain_approved() -> None:
    approval = _approval(
        approved_by=["bob", "erin"],
        by_approver=True,
        owners={"campaigns/a/sale.yaml": ["erin (id 9)"]},
        owned_by={"campaigns/a/sale.yaml": ["erin"]},
    )
    assert approval.explain() == (
        "pull request #7 is approved at aaaaaaaaaaaa by bob, erin\n"
        "  campaigns/a/sale.yaml: approved by its owner erin"
    )


def test_explain_not_approved_by_anyone() -> None:
    approval = _approval(approvers=["bob (id 5)", "acme/leads"])
    assert approval.explain() == (
        "pull request #7 needs an approval from bob (id 5), acme/leads (not the author, ann, "
        "nor anyone who authored or committed its commits) on its head commit aaaaaaaaaaaa "
        "for:\n"
        "  - create campaign sale: publishes a new campaign\n"
        "  no review approves it"
    )


def test_explain_when_the_policy_names_no_approver() -> None:
    text = _approval().explain()
    assert text.startswith("pull request #7 needs an approval from an approver (the policy "
                           "names none) (not the author")  # fmt: skip


def test_explain_owners_missing_and_reviews_that_did_not_count() -> None:
    approval = _approval(
        wants_approver=False,
        owners={"campaigns/a/sale.yaml": ["acme/team-a"]},
        approved_by=["bob"],
        refused=["carl's latest review is changes_requested"],
    )
    assert approval.explain() == (
        "pull request #7 needs an approval from the code owners of each file below (not the "
        "author, ann, nor anyone who authored or committed its commits) on its head commit "
        "aaaaaaaaaaaa for:\n"
        "  - create campaign sale: publishes a new campaign\n"
        "  campaigns/a/sale.yaml: no approval from its owners acme/team-a\n"
        "  counted: bob's approval\n"
        "  not counted: carl's latest review is changes_requested"
    )


def test_explain_approver_and_owners_both_missing() -> None:
    approval = _approval(approvers=["bob (id 5)"], owners={"a.yaml": ["erin (id 9)"]})
    assert approval.explain().startswith(
        "pull request #7 needs an approval from bob (id 5) and from the code owners of each "
        "file below (not the author"
    )


def test_explain_approved_but_a_commit_identity_is_unknown() -> None:
    unknown = "committer X <x@example.com> of bbbbbbbbbbbb"
    approval = _approval(approved_by=["bob"], by_approver=True, unmapped=[unknown])
    assert approval.explain() == (
        "pull request #7 needs an approval from an approver (not the author, ann, nor anyone "
        "who authored or committed its commits) on its head commit aaaaaaaaaaaa for:\n"
        "  - create campaign sale: publishes a new campaign\n"
        "  counted: bob's approval\n"
        f"  commit identity GitHub cannot map to a user: {unknown}\n"
        "  not approved while a commit identity is unknown (it could be an approver's): add its "
        "email to a GitHub account, or re-author the commit"
    )


def test_explain_unknown_identity_without_an_approval_says_no_more() -> None:
    unknown = "author X <x@example.com> of bbbbbbbbbbbb"
    text = _approval(unmapped=[unknown]).explain()
    assert text.endswith(f"  no review approves it\n  commit identity GitHub cannot map to a "
                         f"user: {unknown}")  # fmt: skip
    assert "not approved while" not in text


# --- reviews: the latest word of each reviewer, and whose commits they are -----------------------


def _review(user_id: int | None, state: str, login: str = "bob", **extra: Any) -> dict[str, Any]:
    user = {"login": login} | ({"id": user_id} if user_id is not None else {})
    return {"user": user, "state": state} | extra


def test_the_latest_final_review_of_each_reviewer_counts() -> None:
    reviews = [
        _review(5, "APPROVED", n=1),
        _review(5, "COMMENTED", n=2),  # a comment keeps the last word
        _review(6, "APPROVED", "carl", n=3),
        _review(6, "CHANGES_REQUESTED", "carl", n=4),
        _review(7, "APPROVED", "dana", n=5),
        _review(7, "DISMISSED", "dana", n=6),
        _review(8, "PENDING", "erin", n=7),  # never final
        _review(None, "APPROVED", "ghost", n=8),  # a deleted account: no id
        {"user": None, "state": "APPROVED", "n": 9},
        {"state": "APPROVED", "n": 10},
        _review("9", "APPROVED", "str", n=11),  # type: ignore[arg-type]  # not an int id
    ]
    latest = _latest(reviews)
    assert {user_id: review["n"] for user_id, review in latest.items()} == {5: 1, 6: 4, 7: 6}


def _commit(sha: str, author: Any, committer: Any, parents: int = 1, verified: bool = False,
            web_flow_committer: bool = False) -> dict[str, Any]:  # fmt: skip
    raw = {"name": "Someone", "email": "someone@example.com"}
    if web_flow_committer:
        committer = {"login": "web-flow", "id": 19864447}
    return {"sha": sha, "author": author, "committer": committer,
            "parents": [{"sha": str(i) * 40} for i in range(parents)],
            "commit": {"author": raw, "committer": raw,
                       "verification": {"verified": verified}}}  # fmt: skip


def test_contributors_branch_by_branch() -> None:
    bob, carl = {"login": "bob", "id": 5}, {"login": "carl", "id": 6}
    flow = {"login": "web-flow", "id": 19864447}
    ids, unmapped = contributors([
        _commit("1" * 40, bob, carl),  # author and committer both count
        _commit("2" * 40, bob, None),  # an unmapped committer
        _commit("3" * 40, flow, flow),  # GitHub's own commit: nobody's
        _commit("4" * 40, carl, None, parents=2, verified=True, web_flow_committer=True),
        _commit("5" * 40, None, None),
    ])  # fmt: skip
    assert ids == {5, 6}
    assert unmapped == [
        "committer Someone <someone@example.com> of 222222222222",
        "author Someone <someone@example.com> of 555555555555",
        "committer Someone <someone@example.com> of 555555555555",
    ]


def test_update_branch_needs_two_parents_web_flow_and_githubs_signature() -> None:
    dana = {"login": "dana", "id": 7}
    # each near miss of GitHub's "Update branch" merge is dana's work
    near_misses = [
        _commit("1" * 40, dana, None, parents=1, verified=True, web_flow_committer=True),
        _commit("2" * 40, dana, dana, parents=2, verified=True),
        _commit("3" * 40, dana, None, parents=2, verified=False, web_flow_committer=True),
    ]
    for commit in near_misses:
        assert contributors([commit]) == ({7}, [])
    raw = {"sha": "4" * 40, "author": dana, "committer": {"login": "web-flow", "id": 1},
           "parents": [{}, {}]}  # no `commit` at all: not signed  # fmt: skip
    assert contributors([raw]) == ({7}, [])


# --- reviews.check against the GitHub stand-in ------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[FakeGitHub]:
    with FakeGitHub() as running:
        yield running


@pytest.fixture(scope="module")
def client(server: FakeGitHub) -> Iterator[GitHub]:
    github = GitHub(GitHubContext(server.url, APP_TOKEN, server.repository, 5), timeout=10)
    try:
        yield github
    finally:
        github.close()


@pytest.fixture
def hub(server: FakeGitHub) -> FakeGitHub:
    """One server for the module, its repository seeded anew for each test."""
    server.repo = FakeRepo(server.repository)
    for login in ("dana", "bob", "carl", "erin"):
        server.repo.add_collaborator(login, "write")
    server.repo.add_collaborator("rita", "read")
    server.repo.add_collaborator("adam", "admin")
    server.repo.add_user("walt", emails=["walt@example.com"])
    server.repo.add_collaborator("walt", "write")
    server.repo.teams[("acme", "leads")] = {"erin", "rita"}
    return server


@pytest.fixture
def github(hub: FakeGitHub, client: GitHub) -> GitHub:
    return client


def _pull(hub: FakeGitHub, reviews: list[tuple[str, str]], commits: Any = None) -> None:
    hub.repo.add_pull(5, "dana", HEAD, commits=commits)
    for login, state in reviews:
        hub.repo.review(5, login, state, HEAD)


def test_check_nothing_needed_asks_for_no_review(hub: FakeGitHub, github: GitHub) -> None:
    _pull(hub, [])
    requests = len(hub.repo.requests)
    result = check(github, 5, ["bob"], [], owners={"a.yaml": ["acme/leads"]})
    assert result.ok and result.owners == {} and result.explain().endswith("no change needs "
                                                                           "approval")  # fmt: skip
    asked = [path for _, path in hub.repo.requests[requests:]]
    assert not any(path.endswith(("/reviews", "/commits")) for path in asked)


def test_check_an_approvers_approval_on_the_head_counts(hub: FakeGitHub, github: GitHub) -> None:
    _pull(hub, [("bob", "APPROVED")])
    pull = github.pull(5)
    result = check(github, 5, ["bob"], [PUBLISH], pull)
    assert result.ok and result.approved_by == ["bob"] and result.by_approver
    assert result.reviewed_at == hub.repo.reviews[5][0]["submitted_at"]
    assert result.author == "dana" and result.head == HEAD


@pytest.mark.parametrize(
    ("reviews", "approvers", "refused"),
    [
        ([("bob", "CHANGES_REQUESTED")], ["bob"], "bob's latest review is changes_requested"),
        ([("bob", "APPROVED"), ("bob", "DISMISSED")], ["bob"],
         "bob's latest review is dismissed"),
        ([("dana", "APPROVED")], ["dana"], "dana is the author and cannot approve their own "
                                           "changes"),
        ([("carl", "APPROVED")], ["bob"], "carl is not an approver"),
        ([("rita", "APPROVED")], ["rita"], "rita has no write permission on the repository"),
        ([("rita", "APPROVED")], ["acme/leads"], "rita has no write permission on the "
                                                 "repository"),
    ],
    ids=["changes-requested", "dismissed", "author", "not-an-approver", "no-write",
         "team-member-no-write"],
)  # fmt: skip
def test_check_reviews_that_do_not_count(
    hub: FakeGitHub,
    github: GitHub,
    reviews: list[tuple[str, str]],
    approvers: list[str],
    refused: str,
) -> None:
    _pull(hub, reviews)
    result = check(github, 5, approvers, [PUBLISH])
    assert not result.ok
    assert result.refused == [refused] and result.approved_by == []
    assert result.reviewed_at is None


def test_check_a_commenter_keeps_their_approval(hub: FakeGitHub, github: GitHub) -> None:
    _pull(hub, [("bob", "APPROVED"), ("bob", "COMMENTED")])
    assert check(github, 5, ["bob"], [PUBLISH]).ok


def test_check_an_approval_of_an_older_commit(hub: FakeGitHub, github: GitHub) -> None:
    _pull(hub, [])
    hub.repo.review(5, "bob", "APPROVED", "b" * 40)
    result = check(github, 5, ["bob"], [PUBLISH])
    assert not result.ok
    assert result.refused == ["bob approved an older commit (bbbbbbbbbbbb); approve the head"]


def test_check_a_reviewer_who_committed_cannot_approve(hub: FakeGitHub, github: GitHub) -> None:
    commits = [Commit("c" * 40, "Dana", "dana@users.noreply.github.com"),
               Commit(HEAD, "Walt", "walt@example.com")]  # fmt: skip
    _pull(hub, [("walt", "APPROVED")], commits)
    result = check(github, 5, ["walt"], [PUBLISH])
    assert not result.ok
    assert result.refused == ["walt authored or committed commits of the pull request"]


def test_check_an_unmapped_commit_identity_fails_closed(hub: FakeGitHub, github: GitHub) -> None:
    commits = [Commit(HEAD, "Stranger", "stranger@example.com")]
    _pull(hub, [("bob", "APPROVED")], commits)
    result = check(github, 5, ["bob"], [PUBLISH])
    assert result.approved_by == ["bob"] and result.by_approver
    assert result.unmapped == [
        f"author Stranger <stranger@example.com> of {HEAD[:12]}",
        f"committer Stranger <stranger@example.com> of {HEAD[:12]}",
    ]
    assert not result.ok


def test_check_approvers_as_described(hub: FakeGitHub, github: GitHub) -> None:
    _pull(hub, [])
    entries = ["bob", "acme/leads", "x@example.com", "nobody-here", "bob"]
    result = check(github, 5, entries, [PUBLISH])
    bob_id = hub.repo.user("bob").id
    assert result.approvers == [
        f"bob (id {bob_id})",
        "acme/leads",
        "x@example.com (an email: never counts; name the @login)",
        "nobody-here (no such GitHub user)",
        f"bob (id {bob_id})",
    ]
    assert result.wants_approver


def test_check_a_team_members_approval_counts(hub: FakeGitHub, github: GitHub) -> None:
    _pull(hub, [("erin", "APPROVED")])
    result = check(github, 5, ["x@example.com", "acme/leads"], [PUBLISH])
    assert result.ok and result.approved_by == ["erin"]


def test_check_an_admins_approval_counts(hub: FakeGitHub, github: GitHub) -> None:
    _pull(hub, [("adam", "APPROVED")])
    assert check(github, 5, ["adam"], [PUBLISH]).approved_by == ["adam"]


def test_check_owners_alone(hub: FakeGitHub, github: GitHub) -> None:
    """No approvers: the owners of each file decide; a file without owners is left out."""
    _pull(hub, [("carl", "APPROVED"), ("erin", "APPROVED")])
    files = {"campaigns/a.yaml": ["acme/leads"], "campaigns/free.yaml": []}
    result = check(github, 5, [], [PUBLISH], owners=files)
    assert not result.wants_approver
    assert result.owners == {"campaigns/a.yaml": ["acme/leads"]}
    assert result.refused == ["carl is not an approver nor an owner of a changed file"]
    assert result.approved_by == ["erin"] and not result.by_approver
    assert result.owned_by == {"campaigns/a.yaml": ["erin"]}
    assert result.ok


def test_check_owners_with_no_owned_file_wants_an_approver(hub: FakeGitHub, github: GitHub) -> None:
    _pull(hub, [("carl", "APPROVED")])
    result = check(github, 5, [], [PUBLISH], owners={"campaigns/free.yaml": []})
    assert result.wants_approver and not result.ok
    assert result.refused == ["carl is not an approver"]


def test_check_an_approver_who_also_owns(hub: FakeGitHub, github: GitHub) -> None:
    """The team is asked about erin once (approver and owner alike); her approval counts for
    both."""
    _pull(hub, [("erin", "APPROVED")])
    before = len(hub.repo.requests)
    result = check(github, 5, ["acme/leads"], [PUBLISH], owners={"a.yaml": ["acme/leads"]})
    assert result.ok and result.by_approver and result.owned_by == {"a.yaml": ["erin"]}
    memberships = [p for _, p in hub.repo.requests[before:] if "/memberships/" in p]
    assert memberships == ["/orgs/acme/teams/leads/memberships/erin"]


def test_check_the_last_counted_approval_is_when_it_was_approved(
    hub: FakeGitHub, github: GitHub
) -> None:
    _pull(hub, [("bob", "APPROVED"), ("carl", "APPROVED")])
    result = check(github, 5, ["bob", "carl"], [PUBLISH])
    times = [r["submitted_at"] for r in hub.repo.reviews[5]]
    assert result.approved_by == ["bob", "carl"] and result.reviewed_at == max(times)


# --- owners.py: CODEOWNERS lines, who owns a campaign's files --------------------------------


@pytest.mark.parametrize(
    ("line", "kept", "problem"),
    [
        ("", "", None),
        ("   ", "", None),
        ("# a comment", "", None),
        ("  # an indented comment", "", None),
        ("campaigns/ @acme/marketing", "campaigns/ @acme/marketing", None),
        ("campaigns/  @ann   @bob  # a comment @carl", "campaigns/ @ann @bob", None),
        ("campaigns/ #all of them", "campaigns/", None),
        ("my\\ campaigns/ @ann", "my\\ campaigns/ @ann", None),
        ("campaigns/\\[draft\\]/ @ann", "campaigns/\\[draft\\]/ @ann", None),
        ("campaigns/ ann@example.com", "campaigns/ ann@example.com", None),
        ("campaigns/", "campaigns/", None),
        ("!campaigns/ @ann", "", "GitHub does not support `!` negation in CODEOWNERS"),
        ("campaigns/[ab]/ @ann", "",
         "GitHub does not support `[ ]` character ranges (nor sections) in CODEOWNERS"),
        ("[Section] @ann", "",
         "GitHub does not support `[ ]` character ranges (nor sections) in CODEOWNERS"),
        ("campaigns/ @ann acme/typo", "",
         "'acme/typo' is not an owner (@username, @org/team-name or an email)"),
        ("campaigns/ @-bad", "", "'@-bad' is not an owner (@username, @org/team-name or an email)"),
    ],
)  # fmt: skip
def test_codeowners_lines(line: str, kept: str, problem: str | None) -> None:
    table = CodeOwners(f"* @root\n{line}\n", "CODEOWNERS")
    assert table.text == f"* @root\n{kept}"
    expected = [] if problem is None else [
        f"CODEOWNERS line 2: {problem}; the line is skipped, as GitHub skips it"]  # fmt: skip
    assert table.problems == expected


def test_is_email() -> None:
    assert is_email("dana@example.com") and not is_email("acme/team") and not is_email("dana")


def _doc(file: str) -> Any:
    return SimpleNamespace(file=file)


def test_owned_without_history_is_the_campaigns_file_now() -> None:
    table = CodeOwners("/campaigns/ @acme/marketing\n", "test", prefix="team/")
    assert table.since is None
    desired = Desired(campaigns={"sale": _doc("campaigns/sale.yaml")})  # type: ignore[dict-item]

    def no_repo() -> Any:
        raise AssertionError("no history is read without `since`")

    owned = table.owned(desired, no_repo, None, Settings(Path("."), None, RawConfig()))
    assert owned("sale") == {"team/campaigns/sale.yaml": ()}  # anchored at the top: not ours
    table = CodeOwners("team/campaigns/ @acme/marketing\n", "test", prefix="team/")
    owned = table.owned(desired, no_repo, None, Settings(Path("."), None, RawConfig()))
    assert owned("sale") == {"team/campaigns/sale.yaml": ("acme/marketing",)}
    assert owned("gone") == {}  # no file now and no history: nothing to own


def test_required_files_of_the_changes_that_need_approval() -> None:
    plan = Plan(
        at=T0,
        changes=[PUBLISH, Create("draft"), Update("gen-z", review=("changes a running campaign",))],
        owners={
            "sale": {"campaigns/sale.yaml": ["acme/a"], "campaigns/old.yaml": ["erin", "acme/b"]},
            "draft": {"campaigns/draft.yaml": ["acme/a"]},
        },
    )
    assert owners.required(plan) == {
        "campaigns/sale.yaml": ("acme/a",),
        "campaigns/old.yaml": ("erin", "acme/b"),
    }
    assert owners.required(plan, ["draft", "nope"]) == {"campaigns/draft.yaml": ("acme/a",)}
    assert owners.required(plan, []) == {}


def test_load_without_codeowners_in_the_policy(tmp_path: Path) -> None:
    (tmp_path / "CODEOWNERS").write_text("* @ann\n")
    assert owners.load(Settings(tmp_path, None, RawConfig()), "HEAD") is None
    assert owners.load(Settings(tmp_path, None, RawConfig())) is None


def test_the_work_trees_file_outside_git(tmp_path: Path) -> None:
    """Not in a git repository: the folder's own file, and no history (`since` dropped)."""
    settings = Settings(tmp_path, None, RawConfig.model_validate({"approval": {
        "codeowners": True}}))  # fmt: skip
    empty = owners.load(settings, since="HEAD")
    assert empty is not None and empty.where == "no CODEOWNERS file (in the work tree)"
    assert empty.since is None and empty.prefix == "" and empty.of("x") == ()
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "CODEOWNERS").write_text("* @docs\n")
    (tmp_path / "CODEOWNERS").write_text("* @root\n")
    table = in_work_tree(tmp_path)
    assert table.where == "CODEOWNERS in the work tree" and table.of("x") == ("root",)


def test_the_work_trees_file_skips_a_symlink_and_a_folder(tmp_path: Path) -> None:
    (tmp_path / ".github").mkdir()
    (tmp_path / "real").write_text("* @linked\n")
    (tmp_path / ".github" / "CODEOWNERS").symlink_to(tmp_path / "real")
    (tmp_path / "CODEOWNERS").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "CODEOWNERS").write_text("* @docs\n")
    table = in_work_tree(tmp_path)
    assert table.where == "docs/CODEOWNERS in the work tree" and table.of("x") == ("docs",)


def test_a_work_tree_file_of_3_mb_is_not_loaded(tmp_path: Path) -> None:
    big = tmp_path / "CODEOWNERS"
    with big.open("wb") as out:
        out.truncate(owners.MAX_BYTES)  # sparse: nothing written
    table = in_work_tree(tmp_path)
    assert table.where == "no CODEOWNERS file (CODEOWNERS)" and table.of("x") == ()
    assert table.problems == ["CODEOWNERS is 3 MB or more: GitHub does not load it"]
    big.write_text("* @big #" + "x" * (owners.MAX_BYTES - 10) + "\n")  # just under: loaded
    assert big.stat().st_size == owners.MAX_BYTES - 1
    table = in_work_tree(tmp_path)
    assert table.problems == [] and table.of("x") == ("big",)


# --- at_apply.py: what apply on main decides --------------------------------------------------


def _settings(tmp_path: Path, **raw: Any) -> Settings:
    return Settings(tmp_path, None, RawConfig.model_validate(raw))


def test_refuse_blocked_lets_an_unblocked_plan_through() -> None:
    assert at_apply.refuse_blocked(Plan(at=T0, changes=[PUBLISH])) is None
    assert at_apply.refuse_blocked(Plan(at=T0)) is None


def test_refuse_blocked_names_each_blocked_change() -> None:
    plan = Plan(at=T0, changes=[
        Update("a", verdict=BLOCKED, reason="who is locked"), Stop("b", verdict=BLOCKED,
                                                                 reason="a draft")])  # fmt: skip
    with pytest.raises(PlanRefused) as info:
        at_apply.refuse_blocked(plan)
    assert info.value.kind == Refusal.BLOCKED
    assert str(info.value) == "2 change(s) are blocked by the rules"
    assert info.value.items == ("stop campaign b: a draft", "update campaign a: who is locked")


def test_review_asks_the_pull_request_for_the_changes_that_need_it(
    tmp_path: Path, hub: FakeGitHub, github: GitHub
) -> None:
    _pull(hub, [("bob", "APPROVED")])
    settings = _settings(tmp_path, approval={"approvers": ["bob"]})
    step = Step(("c" * 40,), "d" * 40, github.pull(5))
    plan = Plan(at=T0, changes=[PUBLISH, Create("draft")])
    approval = at_apply.review(github, settings, step, plan)
    assert approval is not None and approval.pr == 5 and approval.needed == [PUBLISH]
    assert approval.ok and approval.approved_by == ["bob"] and approval.owners == {}
    # with CODEOWNERS, the owners of the change's files must approve too (bob owns none)
    plan.owners = {"sale": {"a.yaml": ["acme/leads"]}, "draft": {"b.yaml": ["carl"]}}
    approval = at_apply.review(github, settings, step, plan)
    assert approval is not None and not approval.ok
    assert approval.owners == {"a.yaml": ["acme/leads"]} and approval.missing_owners == ["a.yaml"]


def test_decide_the_creator_approver_fallback_records_who_approved(tmp_path: Path) -> None:
    """Not approved (an unknown commit identity), under the creator-approver workflow: the
    changes that need an approval go to the platform's approval; the approvals given are
    recorded."""
    settings = _settings(tmp_path, approval={"approvers": ["bob"]}, creator_approver=True)
    gen_z = Update("gen-z", review=("changes a running campaign",))
    plan = Plan(at=T0, changes=[PUBLISH, gen_z, Create("draft")])
    approval = _approval(approved_by=["bob"], by_approver=True, unmapped=["author X"])

    def moved(approval: Approval) -> PlanRefused:
        raise AssertionError("an unapproved plan is not compared with an approved one")

    assert at_apply.decide(settings, plan, approval, moved) == at_apply.Approved(
        ("bob",), frozenset({"sale", "gen-z"})
    )


def test_decide_approved_by_default_nothing_moved(tmp_path: Path) -> None:
    approval = _approval(approved_by=["bob", "erin"], by_approver=True)
    approved = at_apply.decide(_settings(tmp_path), Plan(at=T0, changes=[PUBLISH]), approval)
    assert approved == at_apply.Approved(("bob", "erin"), frozenset())


@pytest.mark.parametrize(
    ("row", "text"),
    [
        (["campaign", "create", "sale", "ok", [], [], False, None], "create campaign sale: ok"),
        (["campaign", "create", "sale", "ok", ["publishes a new campaign"], [], True, "abcd"],
         "create campaign sale (published): ok; approval: publishes a new campaign (spec abcd)"),
        (["campaign", "update", "gen-z", "approval", ["changes a running campaign", "reach"],
          ["what", "who"], None, "ef01"],
         "update campaign gen-z [what, who]: approval; approval: changes a running campaign; "
         "reach (spec ef01)"),
        (["label", "create", "Sale", "ok", [], [], None, None], "create label Sale: ok"),
    ],
    ids=["plain", "published", "sections", "label"],
)  # fmt: skip
def test_a_reviewed_row_in_words(row: list[Any], text: str) -> None:
    assert at_apply._row(row) == text


def test_reviewed_rows_of_a_plan_read_back() -> None:
    plan = Plan(at=T0, changes=[PUBLISH], specs={"sale": {"name": "Sale"}})
    [row] = plan.reviewed()
    assert at_apply._row(row).startswith("create campaign sale (published): ok; approval: "
                                         "publishes a new campaign (spec ")  # fmt: skip


SPEC: dict[str, Any] = {
    "name": "Sale", "channel": "push",
    "who": {"segment": {"user_properties": [
        {"name": "Customer Type", "op": "in", "value": ["Platinum"]}]}},
    "what": {"content": {"title": "Sale", "body": "Today"}},
    "when": {"delivery": "on_date_time", "start": "2027-03-01T09:00:00Z"},
}  # fmt: skip
WIDE = SPEC | {"who": {"segment": {"user_properties": [
    {"name": "Customer Type", "op": "in", "value": ["Platinum", "Gold", "Silver"]}]}}}  # fmt: skip


@pytest.fixture(scope="module")
def profiles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("platform") / "profiles.npz"
    generate(path, 5000, 1, T0)
    return path


@pytest.fixture
def backend(tmp_path: Path, profiles: Path) -> Iterator[LocalBackend]:
    platform = LocalBackend(tmp_path / "platform.db")
    platform.profiles_path().symlink_to(profiles)
    try:
        yield platform
    finally:
        platform.close()


def _reach_plan(spec: dict[str, Any] | None, change: Any = PUBLISH) -> Plan:
    return Plan(at=T0, changes=[change], specs={} if spec is None else {change.key: spec})


def test_reach_grew_beyond_the_factor(tmp_path: Path, backend: LocalBackend) -> None:
    narrow = at_apply._reach(backend, SPEC, T0)
    wide = at_apply._reach(backend, WIDE, T0)
    assert narrow is not None and wide is not None and wide > narrow * 1.2
    refused = at_apply.reach_grew(
        backend, _settings(tmp_path), _reach_plan(SPEC), _reach_plan(WIDE), T0, T0
    )
    assert refused is not None and refused.kind == Refusal.REACH_GREW
    line = f"create campaign sale: reach ≈ {narrow:,} when approved, {wide:,} now"
    assert refused.items == (line,)
    assert str(refused) == (
        "the estimated reach grew beyond 1.2x since the approval, or cannot be estimated now; "
        "ask for a new approval (or apply again once the platform estimates it):\n"
        f"  {line}"
    )


def test_reach_that_grew_within_the_factor_or_shrank(tmp_path: Path, backend: LocalBackend) -> None:
    wide = at_apply._reach(backend, WIDE, T0)
    assert wide is not None
    loose = _settings(tmp_path, approval={"max_reach_growth": 100.0})
    assert at_apply.reach_grew(backend, loose, _reach_plan(SPEC), _reach_plan(WIDE), T0, T0) is None
    same = _settings(tmp_path)
    assert at_apply.reach_grew(backend, same, _reach_plan(WIDE), _reach_plan(SPEC), T0, T0) is None
    assert at_apply.reach_grew(backend, same, _reach_plan(WIDE), _reach_plan(WIDE), T0, T0) is None


def test_reach_is_compared_only_for_new_audiences(tmp_path: Path, backend: LocalBackend) -> None:
    settings = _settings(tmp_path)
    what = Update("sale", sections=frozenset({"what"}), review=("changes a running campaign",))
    publish = Publish("sale", review=("publishes a new campaign",))
    for change in (what, publish):
        grew = at_apply.reach_grew(
            backend, settings, _reach_plan(SPEC, change), _reach_plan(WIDE, change), T0, T0
        )
        assert grew is None
    who = Update("sale", sections=frozenset({"who"}), review=("changes a running campaign",))
    grew = at_apply.reach_grew(
        backend, settings, _reach_plan(SPEC, who), _reach_plan(WIDE, who), T0, T0
    )
    assert grew is not None and grew.items[0].startswith("update campaign sale: reach ≈ ")
    # a change that needs no approval is not the approval's to judge
    quiet = Create("sale")
    assert (
        at_apply.reach_grew(
            backend, settings, _reach_plan(SPEC, quiet), _reach_plan(WIDE, quiet), T0, T0
        )
        is None
    )


def test_reach_unknown_when_approved_stands_and_unknown_now_is_refused(
    tmp_path: Path, backend: LocalBackend
) -> None:
    """No spec, or one the models refuse (a ValueError): unknown when approved, the approval
    (of an unknown reach) stands; known when approved and unknown now, it fails closed."""
    settings = _settings(tmp_path)
    assert at_apply._reach(backend, None, T0) is None
    broken = SPEC | {"channel": "carrier-pigeon"}
    assert at_apply._reach(backend, broken, T0) is None
    for then, now in ((None, WIDE), (broken, WIDE), (None, None)):
        assert (
            at_apply.reach_grew(backend, settings, _reach_plan(then), _reach_plan(now), T0, T0)
            is None
        )
    narrow = at_apply._reach(backend, SPEC, T0)
    for now in (None, broken):
        refused = at_apply.reach_grew(
            backend, settings, _reach_plan(SPEC), _reach_plan(now), T0, T0
        )
        assert refused is not None and refused.kind == Refusal.REACH_GREW
        assert refused.items == (
            f"create campaign sale: reach ≈ {narrow:,} when approved, unknown now",
        )


def test_reach_of_a_damaged_profile_store_is_unknown(tmp_path: Path) -> None:
    platform = LocalBackend(tmp_path / "platform.db")
    try:
        platform.profiles_path().write_bytes(b"not a profile store")
        assert at_apply._reach(platform, SPEC, T0) is None  # a FatalError, caught
    finally:
        platform.close()


def test_reach_from_nobody_to_somebody_grew(tmp_path: Path, backend: LocalBackend) -> None:
    nobody = SPEC | {"who": {"segment": {"user_properties": [
        {"name": "Customer Type", "op": "in", "value": ["No Such Tier"]}]}}}  # fmt: skip
    assert at_apply._reach(backend, nobody, T0) == 0
    grew = at_apply.reach_grew(
        backend, _settings(tmp_path), _reach_plan(nobody), _reach_plan(SPEC), T0, T0
    )
    assert grew is not None and "reach ≈ 0 when approved" in grew.items[0]


class _NoEstimates(LocalBackend):
    capabilities = Capabilities(estimate=False)


def test_reach_on_a_platform_without_estimates_is_not_judged(tmp_path: Path) -> None:
    platform = _NoEstimates(tmp_path / "platform.db")
    try:
        assert (
            at_apply.reach_grew(
                platform, _settings(tmp_path), _reach_plan(SPEC), _reach_plan(WIDE), T0, T0
            )
            is None
        )
    finally:
        platform.close()


# --- gate.py, mainline.py, pullrequest.py: the pure parts ------------------------------------


@pytest.mark.parametrize(
    ("ref", "branch"),
    [
        ("refs/heads/main", "main"),
        ("refs/heads/release/2027", "release/2027"),
        ("refs/tags/v1", "main"),
        ("refs/pull/5/merge", "main"),
        ("", "main"),
        (None, "main"),
    ],
)
def test_branch_name(monkeypatch: pytest.MonkeyPatch, ref: str | None, branch: str) -> None:
    if ref is None:
        monkeypatch.delenv("GITHUB_REF", raising=False)
    else:
        monkeypatch.setenv("GITHUB_REF", ref)
    assert gate.branch_name() == branch


def test_a_step_is_named_by_its_pull_request_or_its_commit() -> None:
    pushed = Step(("1" * 40, "2" * 40), "0" * 40, None)
    assert pushed.end == "2" * 40
    assert pushed.title == "commit 222222222222 (pushed to the branch, no pull request)"
    merged = Step(("3" * 40,), "2" * 40, {"number": 12})
    assert merged.end == "3" * 40 and merged.title == "pull request #12 (333333333333)"


def test_config_differences() -> None:
    before = {"backend": "local", "approval": {"approvers": ["bob"], "reach_above": 10},
              "same": {"a": 1}, "gone": 1}  # fmt: skip
    after = {"backend": "clevertap", "approval": {"approvers": ["bob", "carl"], "reach_above": 10},
             "same": {"a": 1}, "new": {"x": 1}}  # fmt: skip
    assert _differences(before, after) == [
        "approval.approvers: ['bob'] -> ['bob', 'carl']",
        "backend: 'local' -> 'clevertap'",
        "gone: 1 -> None",
        "new: None -> {'x': 1}",
    ]
    assert _differences(before, before) == []
    assert _differences({"a": {"b": 1}}, {"a": 2}) == ["a: {'b': 1} -> 2"]


def test_the_times_recorded_are_utc_to_the_second() -> None:
    now = gate._now()
    parsed = datetime.fromisoformat(now)
    assert now.endswith("+00:00") and parsed.microsecond == 0
    assert abs((datetime.now(UTC) - parsed).total_seconds()) < 60
