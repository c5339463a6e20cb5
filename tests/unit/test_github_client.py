"""The GitHub client against the local GitHub stand-in (tests/fake_github.py): users, closed pull
requests, a pull request's commits, repository permissions, team membership with the two kinds
of token, the sticky comment's ownership, and the lag of commits/{sha}/pulls after a merge. The
pull requests' commits come from real git repositories."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from campaign_gitops.github import GitHub, GitHubContext, GitHubError
from tests.fake_github import (
    ACTIONS_BOT,
    APP_BOT,
    APP_TOKEN,
    TOKEN,
    Commit,
    FakeGitHub,
    commits_from_git,
)

MARKER = "<!-- campaign-gitops plan -->"


OPEN: list[GitHub] = []


@pytest.fixture
def hub() -> Iterator[FakeGitHub]:
    with FakeGitHub() as server:
        yield server
        while OPEN:
            OPEN.pop().close()


def client(hub: FakeGitHub, token: str = TOKEN) -> GitHub:
    github = GitHub(GitHubContext(hub.url, token, hub.repository, None), timeout=10)
    OPEN.append(github)
    return github


def raw(hub: FakeGitHub, token: str, method: str, path: str, **kw: Any) -> httpx.Response:
    """A request as any HTTP client sends it: for what the stand-in itself answers."""
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.request(method, hub.url + path, headers=headers, timeout=10, **kw)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit(repo: Path, name: str, text: str, author: str = "Dana Author <dana@example.com>") -> str:
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "--author", author, "-m", f"{name}: {text}")
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A git repository with one commit on main, committed as the GitHub web-flow would not
    be: by a local identity."""
    repo = tmp_path / "work"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "ci@example.com")
    git(repo, "config", "user.name", "CI")
    commit(repo, "README", "campaigns")
    return repo


def branch(repo: Path, name: str, count: int) -> list[Commit]:
    """A branch off main with `count` commits; back on main afterwards."""
    git(repo, "switch", "-q", "-c", name, "main")
    for i in range(count):
        commit(repo, f"{name}-{i}.txt", str(i))
    commits = commits_from_git(repo, f"main..{name}")
    git(repo, "switch", "-q", "main")
    return commits


# --- users ----------------------------------------------------------------------------------


def test_user_by_login_with_id_and_type(hub: FakeGitHub) -> None:
    dana = hub.repo.add_user("dana")
    github = client(hub)
    assert {"login": "dana", "id": dana.id, "type": "User"}.items() <= github.user("dana").items()
    assert github.user("DANA")["login"] == "dana"  # logins are case-insensitive
    bot = github.user(ACTIONS_BOT)  # brackets in the path are escaped, and decoded by GitHub
    assert (bot["login"], bot["id"], bot["type"]) == (ACTIONS_BOT, 41898282, "Bot")
    with pytest.raises(GitHubError, match="GitHub has no user 'nobody'"):
        github.user("nobody")


# --- pull requests --------------------------------------------------------------------------


def test_closed_pull_requests_into_a_branch_newest_first_across_pages(hub: FakeGitHub) -> None:
    r = hub.repo
    r.add_pull(1, "dana", "a" * 40)  # stays open
    r.add_pull(2, "dana", "b" * 40)
    r.close(2)  # closed without merging
    r.add_pull(3, "erin", "c" * 40, base="release")
    r.merge(3, "d" * 40)  # into another branch
    for number in range(10, 115):  # more than one page of 100
        r.add_pull(number, "erin", f"{number:040x}")
        r.merge(number, f"{number + 1000:040x}", merged_by="carol")
    github = client(hub)
    closed = github.pulls_closed("main")
    assert [p["number"] for p in closed] == [*range(114, 9, -1), 2]  # by created, desc
    merged, unmerged = closed[0], closed[-1]
    assert merged["merged_at"] and merged["merge_commit_sha"] == f"{1114:040x}"
    assert unmerged["state"] == "closed" and unmerged["merged_at"] is None
    # the list's items are "pull request simple": no merged_by, no commit count
    assert "merged_by" not in merged and "commits" not in merged
    full = github.pull(114)
    carol = r.users["carol"]
    assert full["merged"] is True and full["commits"] == 1
    assert full["merged_by"]["login"] == "carol" and full["merged_by"]["id"] == carol.id
    assert full["user"]["login"] == "erin" and full["user"]["id"] == r.users["erin"].id
    assert (full["base"]["ref"], full["head"]["sha"]) == ("main", f"{114:040x}")
    pages = [p for m, p in r.requests if p.endswith("/pulls")]
    assert len(pages) == 2


def test_the_link_header_keeps_the_query_and_names_every_page(hub: FakeGitHub) -> None:
    for number in range(1, 8):
        hub.repo.add_pull(number, "dana", f"{number:040x}")
        hub.repo.close(number)
    answer = raw(hub, TOKEN, "GET", "/repos/acme/campaigns/pulls",
                 params={"state": "closed", "base": "main", "per_page": 3, "page": 2})  # fmt: skip
    assert [p["number"] for p in answer.json()] == [4, 3, 2]
    links = {rel: str(link["url"]) for rel, link in answer.links.items()}
    assert set(links) == {"prev", "next", "last", "first"}
    assert "state=closed" in links["next"] and "base=main" in links["next"]
    assert "page=3" in links["next"] and "page=3" in links["last"]
    bad = raw(hub, TOKEN, "GET", "/repos/acme/campaigns/pulls", params={"state": "merged"})
    assert bad.status_code == 422


def test_pull_commits_map_emails_to_accounts_or_null(hub: FakeGitHub, work: Path) -> None:
    dana = hub.repo.add_user("dana", emails=["dana@example.com"])
    git(work, "switch", "-q", "-c", "spring")
    first = commit(work, "a.txt", "1")  # dana's verified email
    second = commit(work, "b.txt", "2", author="Someone <someone@elsewhere.test>")
    commits = commits_from_git(work, "main..spring")
    hub.repo.add_pull(7, "dana", second, commits=commits)
    listed = client(hub).pull_commits(7)
    assert [c["sha"] for c in listed] == [first, second]  # oldest first
    assert listed[0]["commit"]["author"]["email"] == "dana@example.com"
    assert listed[0]["commit"]["author"]["date"].endswith("Z")
    assert (listed[0]["author"]["login"], listed[0]["author"]["id"]) == ("dana", dana.id)
    assert listed[1]["author"] is None  # GitHub cannot map the email to a user
    assert listed[1]["commit"]["committer"]["email"] == "ci@example.com"
    assert listed[1]["committer"] is None


def test_pull_commits_refuses_a_truncated_list(hub: FakeGitHub) -> None:
    def commits(n: int) -> list[Commit]:
        return [Commit(f"{n:08x}{i:032x}", "Dana", "dana@example.com") for i in range(n)]

    hub.repo.add_pull(1, "dana", commits(250)[-1].sha, commits=commits(250))
    hub.repo.add_pull(2, "dana", commits(260)[-1].sha, commits=commits(260))
    github = client(hub)
    assert len(github.pull_commits(1)) == 250  # three pages, all of them
    with pytest.raises(GitHubError, match="has 260 commits; GitHub lists only 250"):
        github.pull_commits(2)


def test_reviews_carry_the_commit_and_the_reviewer_id(hub: FakeGitHub) -> None:
    hub.repo.add_pull(7, "dana", "a" * 40)
    hub.repo.review(7, "carol", "APPROVED", "a" * 40)
    [review] = client(hub).reviews(7)
    assert review["commit_id"] == "a" * 40
    assert review["user"]["login"] == "carol" and review["user"]["id"] == hub.repo.users["carol"].id


# --- repository permission ------------------------------------------------------------------


def test_permission_reports_the_legacy_base_role(hub: FakeGitHub) -> None:
    for login, role in [("ann", "admin"), ("max", "maintain"), ("wes", "write"),
                        ("tia", "triage"), ("rae", "read")]:  # fmt: skip
        hub.repo.add_collaborator(login, role)
    hub.repo.add_user("stranger")
    github = client(hub)
    got = {login: github.permission(login) for login in ("ann", "max", "wes", "tia", "rae")}
    assert got == {"ann": "admin", "max": "write", "wes": "write", "tia": "read", "rae": "read"}
    assert github.permission("stranger") == "none"  # a private repository
    answer = raw(hub, TOKEN, "GET", "/repos/acme/campaigns/collaborators/max/permission").json()
    assert answer["role_name"] == "maintain" and answer["user"]["login"] == "max"
    with pytest.raises(GitHubError, match="GitHub has no user 'ghost'"):
        github.permission("ghost")


# --- team membership ------------------------------------------------------------------------


def test_team_membership_needs_a_token_that_can_read_it(hub: FakeGitHub) -> None:
    hub.repo.teams[("acme", "crm-leads")] = {"erin"}
    with pytest.raises(GitHubError) as refused:
        client(hub, TOKEN).is_team_member("acme", "crm-leads", "erin")
    assert "HTTP 403" in str(refused.value)
    assert "a GitHub App's installation token with Members: read" in str(refused.value)
    assert "the Actions GITHUB_TOKEN cannot, so the check fails closed" in str(refused.value)
    app = client(hub, APP_TOKEN)
    assert app.is_team_member("acme", "crm-leads", "erin") is True
    assert app.is_team_member("acme", "crm-leads", "frank") is False
    assert app.is_team_member("acme", "other-team", "erin") is False


def test_a_rate_limited_403_is_waited_for_not_taken_for_a_missing_permission(
    hub: FakeGitHub,
) -> None:
    hub.repo.teams[("acme", "crm-leads")] = {"erin"}
    hub.repo.rate_limit_next = 1
    assert client(hub, APP_TOKEN).is_team_member("acme", "crm-leads", "erin") is True
    hub.repo.rate_limit_next = 10
    with pytest.raises(GitHubError, match="HTTP 403 rate limited") as limited:
        client(hub, APP_TOKEN).is_team_member("acme", "crm-leads", "erin")
    assert "fails closed" not in str(limited.value)


# --- the sticky comment ---------------------------------------------------------------------


def test_only_the_bots_own_comment_is_updated(hub: FakeGitHub) -> None:
    hub.repo.add_pull(7, "dana", "a" * 40)
    planted = hub.repo.add_comment(7, "carol", f"{MARKER}\nnot the plan")
    impostor = hub.repo.add_comment(7, "github-actions", f"{MARKER}\na user, not the bot")
    github = client(hub)
    action, made = github.upsert_comment(7, f"{MARKER}\nplan 1", MARKER)
    assert action == "created" and made not in (planted["id"], impostor["id"])
    assert github.upsert_comment(7, f"{MARKER}\nplan 2", MARKER) == ("updated", made)
    comments = {c["id"]: c for c in hub.repo.comments[7]}
    assert comments[planted["id"]]["body"] == f"{MARKER}\nnot the plan"  # untouched
    assert comments[impostor["id"]]["body"] == f"{MARKER}\na user, not the bot"
    mine = comments[made]
    assert mine["body"] == f"{MARKER}\nplan 2"
    assert (mine["user"]["login"], mine["user"]["type"]) == (ACTIONS_BOT, "Bot")
    assert len(comments) == 3


def test_a_github_app_bot_finds_its_comment_by_its_own_login(
    hub: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.repo.add_pull(7, "dana", "a" * 40)
    _, actions_comment = client(hub, TOKEN).upsert_comment(7, f"{MARKER}\nby actions", MARKER)
    # the app's comments are by APP_BOT, not github-actions[bot]
    monkeypatch.setenv("CAMPAIGN_GITOPS_BOT_LOGIN", APP_BOT)
    app = client(hub, APP_TOKEN)
    action, app_comment = app.upsert_comment(7, f"{MARKER}\nby the app", MARKER)
    assert action == "created" and app_comment != actions_comment
    assert app.upsert_comment(7, f"{MARKER}\nagain", MARKER) == ("updated", app_comment)
    # an explicit bot_login wins over the environment
    assert app.upsert_comment(7, f"{MARKER}\nx", MARKER, bot_login=ACTIONS_BOT) == (
        "updated",
        actions_comment,
    )
    by_id = {c["id"]: c for c in hub.repo.comments[7]}
    assert by_id[app_comment]["user"]["login"] == APP_BOT


def test_who_may_edit_a_comment(hub: FakeGitHub) -> None:
    """GitHub lets the author and anyone with write access edit a comment, and refuses the
    others: which is why the client, not GitHub, keeps the bot off other people's comments."""
    hub.repo.add_pull(7, "dana", "a" * 40)
    hub.repo.add_collaborator("rae", "read")
    hub.repo.add_token("ghp_rae_token", "rae")
    carols = hub.repo.add_comment(7, "carol", "carol's words")
    bots = raw(hub, TOKEN, "POST", "/repos/acme/campaigns/issues/7/comments",
               json={"body": "bot's words"}).json()  # fmt: skip
    assert bots["user"]["login"] == ACTIONS_BOT and bots["user"]["id"] == 41898282
    path = "/repos/acme/campaigns/issues/comments/{}"
    refused = raw(hub, "ghp_rae_token", "PATCH", path.format(bots["id"]), json={"body": "x"})
    assert refused.status_code == 403
    own = raw(hub, "ghp_rae_token", "POST", "/repos/acme/campaigns/issues/7/comments",
              json={"body": "rae's words"}).json()  # fmt: skip
    edited = raw(hub, "ghp_rae_token", "PATCH", path.format(own["id"]), json={"body": "fixed"})
    assert edited.status_code == 200 and edited.json()["body"] == "fixed"
    # the Actions token has write access: GitHub would let it overwrite carol's comment
    assert raw(hub, TOKEN, "PATCH", path.format(carols["id"]), json={"body": "y"}).is_success
    hub.repo.tokens[TOKEN].permissions |= {"issues": "read", "pull_requests": "read"}  # a fork
    assert (
        raw(hub, TOKEN, "PATCH", path.format(carols["id"]), json={"body": "z"}).status_code == 403
    )
    assert raw(hub, "ghp_bad", "GET", "/repos/acme/campaigns/pulls").status_code == 401


# --- the pull request of a commit -----------------------------------------------------------


def test_pulls_for_commit_per_merge_method(hub: FakeGitHub, work: Path) -> None:
    r = hub.repo
    github = client(hub)

    def numbers(sha: str) -> list[int]:
        return [p["number"] for p in github.pulls_for_commit(sha, retries=0)]

    # a merge commit: the merge commit and the branch's commits are on main
    merged = branch(work, "merged", 2)
    r.add_pull(1, "dana", merged[-1].sha, commits=merged)
    assert numbers(merged[0].sha) == [1]  # open: its commits are associated with it
    git(work, "merge", "-q", "--no-ff", "merged", "-m", "Merge pull request #1")
    r.merge(1, git(work, "rev-parse", "HEAD"))
    assert numbers(git(work, "rev-parse", "HEAD")) == [1]
    assert numbers(merged[0].sha) == [1]
    # a squash: one new commit on main; the branch's commits stay off it, still associated
    squashed = branch(work, "squashed", 2)
    r.add_pull(2, "dana", squashed[-1].sha, commits=squashed)
    git(work, "merge", "-q", "--squash", "squashed")
    git(work, "commit", "-q", "-m", "Squashed (#2)")
    r.merge(2, git(work, "rev-parse", "HEAD"), method="squash")
    assert numbers(git(work, "rev-parse", "HEAD")) == [2]
    assert numbers(squashed[0].sha) == [2]  # merged and open ones, when off the default branch
    # a rebase: the branch's commits recreated on main
    rebased = branch(work, "rebased", 2)
    r.add_pull(3, "dana", rebased[-1].sha, commits=rebased)
    direct = commit(work, "main.txt", "moves main on")
    r.push_to_default(direct)
    git(work, "rebase", "-q", "main", "rebased")
    new = [c.sha for c in commits_from_git(work, "main..rebased")]
    git(work, "switch", "-q", "main")
    git(work, "merge", "-q", "--ff-only", "rebased")
    r.merge(3, new[-1], method="rebase", rebased=new)
    assert set(new).isdisjoint(c.sha for c in rebased)
    assert numbers(new[0]) == [3] and numbers(new[1]) == [3]
    assert github.pull(3)["merge_commit_sha"] == new[-1] == git(work, "rev-parse", "main")
    # closed without merging, pushed straight to main, unknown
    closed = branch(work, "closed", 1)
    r.add_pull(4, "dana", closed[-1].sha, commits=closed)
    r.close(4)
    assert numbers(closed[0].sha) == []
    assert numbers(direct) == []  # pushed to main by no pull request
    with pytest.raises(GitHubError, match="HTTP 422 No commit found for SHA"):
        github.pulls_for_commit("f" * 40, retries=0)


def test_pulls_for_commit_waits_out_the_lag_after_a_merge(hub: FakeGitHub) -> None:
    hub.repo.add_pull(7, "dana", "a" * 40)
    hub.repo.lag_pulls_for_commit(2)
    hub.repo.merge(7, "b" * 40)
    github = client(hub)
    [pull] = github.pulls_for_commit("b" * 40, retries=3, backoff=0.01)
    assert pull["number"] == 7 and pull["merged_at"]
    asked = [p for _, p in hub.repo.requests if p.endswith(f"/commits/{'b' * 40}/pulls")]
    assert len(asked) == 3  # two empty answers, then the pull request
    hub.repo.add_pull(8, "dana", "c" * 40)
    hub.repo.merge(8, "d" * 40)
    assert github.pulls_for_commit("d" * 40, retries=1, backoff=0.01) == []  # gave up


def test_a_server_error_on_a_read_is_retried(hub: FakeGitHub) -> None:
    hub.repo.add_pull(7, "dana", "a" * 40)
    hub.repo.fail_next = 2
    assert client(hub).pull(7)["number"] == 7


def test_the_token_is_a_secret_of_every_output() -> None:
    from campaign_gitops import redact
    from campaign_gitops.github import GitHub, GitHubContext

    token = "ghs_never_printed_" + "7" * 20
    client = GitHub(GitHubContext("http://127.0.0.1:9", token, "acme/campaigns", None))
    client.close()
    assert token not in redact.text(f"Authorization: Bearer {token}")
