"""A stateful GitHub REST server on 127.0.0.1 implementing the endpoints campaign-gitops uses,
with GitHub's payload shapes, Link-header pagination and bearer-token auth.

Every behaviour is taken from GitHub's REST documentation; the page is named beside it. What the
documentation leaves open is marked "not documented" and kept as narrow as the real service.
The state lives in `FakeGitHub.repo` (one repository, and the users, tokens and teams around
it); tests seed it with the helpers of `Repo` and drive the server over HTTP."""

from __future__ import annotations

import json
import math
import re
import subprocess
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

# The Actions GITHUB_TOKEN: an installation access token of the github-actions app, acting as
# the bot `github-actions[bot]`, with repository permissions only (no organization permission
# such as Members exists for it).
# https://docs.github.com/en/actions/security-for-github-actions/security-guides/automatic-token-authentication
# https://docs.github.com/en/actions/writing-workflows/choosing-what-your-workflow-does/controlling-permissions-for-github_token
TOKEN = "ghs_test_token_do_not_print_0123456789"
# A GitHub App's installation access token, acting as "<app slug>[bot]", installed with
# "Members" organization permission (read) so it can read team membership.
APP_TOKEN = "ghs_app_token_do_not_print_9876543210"
ACTIONS_BOT = "github-actions[bot]"
APP_BOT = "acme-campaigns[bot]"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

# repository role -> the legacy base permission the permission endpoint reports: "maintain" is
# mapped to "write" and "triage" to "read".
# https://docs.github.com/en/rest/collaborators/collaborators#get-repository-permissions-for-a-user
BASE_PERMISSION = {
    "admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read",
}  # fmt: skip
ROLE_RANK = {"read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}
MERGE_METHODS = ("merge", "squash", "rebase")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class User:
    login: str
    id: int
    type: str = "User"  # "User", "Bot" or "Organization"
    emails: list[str] = field(default_factory=list)  # verified emails commits are mapped by

    def simple(self) -> dict[str, Any]:
        # the "simple-user" object every payload embeds; GitHub's has more URLs, which
        # campaign-gitops does not read. https://docs.github.com/en/rest/users/users#get-a-user
        return {
            "login": self.login, "id": self.id, "type": self.type, "site_admin": False,
            "url": f"https://api.github.com/users/{quote(self.login)}",
            "html_url": f"https://github.com/{quote(self.login)}",
        }  # fmt: skip


@dataclass
class Token:
    """What a token may do. `login` is the identity it acts as. An installation token (the
    Actions GITHUB_TOKEN, a GitHub App's) is limited to its fine-grained `permissions`, e.g.
    {"issues": "write", "members": "read"}; a user's token has the user's own access."""

    login: str
    installation: bool = False
    permissions: dict[str, str] = field(default_factory=dict)

    def grants(self, permission: str, level: str = "read") -> bool:
        have = self.permissions.get(permission)
        return have == "write" or (have == "read" and level == "read")


@dataclass(frozen=True)
class Commit:
    """A git commit as GitHub shows it. Build them from a real repository with
    `commits_from_git`."""

    sha: str
    author_name: str
    author_email: str
    date: str = _iso(T0)
    committer_name: str = ""  # "" = the author
    committer_email: str = ""
    committer_date: str = ""
    message: str = ""
    parents: tuple[str, ...] = ()
    verified: bool = False  # GitHub verified its signature (it signs the commits it makes)


def commits_from_git(repo: Path, revisions: str) -> list[Commit]:
    """The commits of `git log revisions` (e.g. "main..spring"), oldest first, as GitHub
    lists a pull request's commits."""
    fmt = "%H%x1f%an%x1f%ae%x1f%aI%x1f%cn%x1f%ce%x1f%cI%x1f%s%x1f%P%x1e"
    out = subprocess.run(
        ["git", "log", "--reverse", f"--format={fmt}", revisions],
        cwd=repo, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    commits = []
    for record in filter(None, (r.strip("\n") for r in out.split("\x1e"))):
        sha, an, ae, ad, cn, ce, cd, subject, parents = record.split("\x1f")
        utc = [_iso(datetime.fromisoformat(d).astimezone(UTC)) for d in (ad, cd)]
        commits.append(Commit(sha, an, ae, utc[0], cn, ce, utc[1], subject, tuple(parents.split())))
    return commits


@dataclass
class Pull:
    number: int
    user: User
    head_ref: str
    base_ref: str
    commits: list[Commit]
    title: str
    created_at: str
    updated_at: str
    state: str = "open"
    closed_at: str | None = None
    merged_at: str | None = None
    merged_by: User | None = None
    merge_commit_sha: str | None = None
    merge_method: str | None = None
    introduced: list[str] = field(default_factory=list)  # base-branch commits of its merge
    lag: int = 0  # calls of commits/{sha}/pulls that still miss it after the merge
    base_sha: str = "0" * 40  # where the base branch was when the pull request last moved

    @property
    def head_sha(self) -> str:
        return self.commits[-1].sha


Answer = tuple[int, Any, str]  # status, JSON body, Link header


def _validation_failed(message: str = "Validation Failed") -> Answer:
    # https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api
    return 422, {"message": message, "documentation_url": "https://docs.github.com/rest"}, ""


NOT_FOUND: Answer = (
    404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, "",
)  # fmt: skip


@dataclass
class Repo:
    """The repository `owner/name` and the GitHub around it: users, tokens, teams."""

    full_name: str = "acme/campaigns"
    default_branch: str = "main"
    private: bool = True
    users: dict[str, User] = field(default_factory=dict)  # by lower-case login
    tokens: dict[str, Token] = field(default_factory=dict)
    collaborators: dict[str, str] = field(default_factory=dict)  # login -> repository role
    pulls: dict[int, Pull] = field(default_factory=dict)
    reviews: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    teams: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (org, slug) -> logins
    statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # sha -> statuses
    default_commits: set[str] = field(default_factory=set)  # shas on the default branch
    requests: list[tuple[str, str]] = field(default_factory=list)
    fail_next: int = 0  # answer this many requests with 502 first
    rate_limit_next: int = 0  # answer this many requests as over the primary rate limit
    pulls_lag: int = 0  # see lag_pulls_for_commit
    next_id: int = 1000
    clock: datetime = T0

    def __post_init__(self) -> None:
        self.add_user(ACTIONS_BOT, type="Bot", id=41898282)
        self.add_user(APP_BOT, type="Bot")
        # the committer of the commits GitHub itself makes when it merges a pull request
        self.add_user("web-flow", id=19864447, emails=["noreply@github.com"])
        actions = {"metadata": "read", "contents": "write", "issues": "write",
                   "pull_requests": "write", "statuses": "write", "checks": "write"}  # fmt: skip
        self.tokens[TOKEN] = Token(ACTIONS_BOT, installation=True, permissions=actions)
        app = {"metadata": "read", "contents": "read", "issues": "write",
               "pull_requests": "write", "members": "read"}  # fmt: skip
        self.tokens[APP_TOKEN] = Token(APP_BOT, installation=True, permissions=app)

    @property
    def owner(self) -> str:
        return self.full_name.split("/")[0]

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def tick(self) -> str:
        """The stand-in's clock: one minute per event, so every timestamp differs."""
        self.clock += timedelta(minutes=1)
        return _iso(self.clock)

    # --- seeding -----------------------------------------------------------------------------

    def add_user(
        self, login: str, type: str = "User", emails: Iterable[str] = (), id: int | None = None
    ) -> User:
        user = User(login, id if id is not None else self.new_id(), type, list(emails))
        self.users[login.lower()] = user
        return user

    def user(self, login: str) -> User:
        """The user `login`, registered on first mention (a seeding convenience for tests: the
        server itself answers only for users that exist)."""
        return self.users.get(login.lower()) or self.add_user(login)

    def add_token(self, token: str, login: str) -> Token:
        """A user's own token (a personal access token): it acts as `login` with their access."""
        self.user(login)
        self.tokens[token] = Token(login)
        return self.tokens[token]

    def add_collaborator(self, login: str, role: str = "write") -> None:
        assert role in ROLE_RANK, f"repository roles are {sorted(ROLE_RANK)}"
        self.collaborators[self.user(login).login] = role

    def add_pull(
        self,
        number: int,
        author: str,
        head: str,
        base: str = "main",
        commits: Sequence[Commit] | None = None,
        title: str | None = None,
    ) -> Pull:
        """An open pull request from branch feature-<number>. Without `commits` it has one,
        `head`, by the author; with them, the last one must be `head`."""
        user = self.user(author)
        if commits is None:
            commits = [Commit(head, user.login, self._noreply(user), _iso(self.clock))]
        assert commits and commits[-1].sha == head, "the head is the last commit"
        now = self.tick()
        pull = Pull(number, user, f"feature-{number}", base, list(commits),
                    title or f"PR {number}", now, now)  # fmt: skip
        self.pulls[number] = pull
        return pull

    def push(self, number: int, commit: Commit | str) -> None:
        """A new commit on the pull request's branch: it becomes the head."""
        pull = self._open(number)
        if isinstance(commit, str):
            commit = Commit(commit, pull.user.login, self._noreply(pull.user), _iso(self.clock))
        pull.commits.append(commit)
        pull.updated_at = self.tick()

    def close(self, number: int) -> None:
        """Closed without merging."""
        pull = self._open(number)
        pull.state, pull.closed_at = "closed", self.tick()
        pull.updated_at = pull.closed_at

    def merge(
        self,
        number: int,
        merge_sha: str,
        method: str = "merge",
        merged_by: str = "carol",
        rebased: Sequence[str] | None = None,
    ) -> None:
        """Merge as GitHub's merge button does; the test made the commits in a real repository
        and passes their shas. `merge_sha` is what the base branch now points at: the merge
        commit, the squashed commit, or (rebase) the last of the `rebased` commits, which are
        the pull request's commits recreated on the base branch, oldest first."""
        # merge_commit_sha after a merge: "If merged as a merge commit, merge_commit_sha
        # represents the SHA of the merge commit. If merged via a squash, merge_commit_sha
        # represents the SHA of the squashed commit on the base branch. If rebased,
        # merge_commit_sha represents the commit that the base branch was updated to."
        # https://docs.github.com/en/rest/pulls/pulls#get-a-pull-request
        # which commits land on the base branch for each method:
        # https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/configuring-pull-request-merges/about-merge-methods-on-github
        assert method in MERGE_METHODS, f"merge methods are {MERGE_METHODS}"
        pull = self._open(number)
        if method == "merge":  # the branch's commits and a merge commit
            introduced = [c.sha for c in pull.commits] + [merge_sha]
        elif method == "squash":  # one new commit; the branch's commits stay off the base
            introduced = [merge_sha]
        else:  # one new commit for each of the branch's commits
            if rebased is None:
                assert len(pull.commits) == 1, "pass the rebased commits, one per commit"
                rebased = [merge_sha]
            assert len(rebased) == len(pull.commits) and rebased[-1] == merge_sha
            introduced = list(rebased)
        now = self.tick()
        pull.state, pull.closed_at, pull.merged_at, pull.updated_at = "closed", now, now, now
        pull.merged_by, pull.merge_commit_sha = self.user(merged_by), merge_sha
        pull.merge_method, pull.introduced, pull.lag = method, introduced, self.pulls_lag
        if pull.base_ref == self.default_branch:
            self.default_commits.update(introduced)

    def push_to_default(self, *shas: str) -> None:
        """Commits pushed straight to the default branch, by no pull request."""
        self.default_commits.update(shas)

    def lag_pulls_for_commit(self, calls: int) -> None:
        """Each pull request merged from now on is missing from GET commits/{sha}/pulls for
        the base-branch commits of its merge during its first `calls` calls that would list it
        (the association is computed after the merge). Not documented: GitHub does not say how
        soon the endpoint knows a fresh merge."""
        self.pulls_lag = calls

    def review(self, number: int, login: str, state: str, commit: str) -> dict[str, Any]:
        # https://docs.github.com/en/rest/pulls/reviews#list-reviews-for-a-pull-request
        review = {
            "id": self.new_id(), "user": self.user(login).simple(), "state": state,
            "commit_id": commit, "submitted_at": self.tick(), "body": "",
        }  # fmt: skip
        self.reviews.setdefault(number, []).append(review)
        return review

    def add_comment(self, number: int, login: str, body: str) -> dict[str, Any]:
        """A comment by `login` (e.g. someone pasting the bot's hidden marker)."""
        assert number in self.pulls, f"no pull request #{number}"
        return self._comment(number, self.user(login), body)

    # --- the server's view -------------------------------------------------------------------

    def _open(self, number: int) -> Pull:
        pull = self.pulls[number]
        assert pull.state == "open", f"pull request #{number} is {pull.state}"
        return pull

    @staticmethod
    def _noreply(user: User) -> str:
        # https://docs.github.com/en/account-and-profile/setting-up-and-managing-your-personal-account-on-github/managing-email-preferences/setting-your-commit-email-address
        return f"{user.id}+{user.login}@users.noreply.github.com"

    def _comment(self, number: int, user: User, body: str) -> dict[str, Any]:
        # https://docs.github.com/en/rest/issues/comments#create-an-issue-comment
        now = self.tick()
        comment_id = self.new_id()
        comment = {
            "id": comment_id, "body": body, "user": user.simple(),
            "created_at": now, "updated_at": now,
            "html_url": f"https://github.com/{self.full_name}/pull/{number}"
                        f"#issuecomment-{comment_id}",
            "issue_url": f"https://api.github.com/repos/{self.full_name}/issues/{number}",
        }  # fmt: skip
        self.comments.setdefault(number, []).append(comment)
        return comment

    def user_for_email(self, email: str) -> User | None:
        """The account a commit email belongs to: a verified email of the account, or its
        noreply address; None when GitHub cannot map it (the API then shows null)."""
        email = email.lower()
        for user in self.users.values():
            if email in (e.lower() for e in user.emails) or email in (
                self._noreply(user).lower(),
                f"{user.login}@users.noreply.github.com".lower(),
            ):
                return user
        return None

    def role(self, login: str) -> str | None:
        return self.collaborators.get(self.user(login).login)

    def can_write(self, token: Token) -> bool:
        """Write access to issues and pull requests: an installation token by its permissions
        ("Issues" or "Pull requests" (write)), a user by a write, maintain or admin role."""
        # https://docs.github.com/en/rest/issues/comments#update-an-issue-comment
        if token.installation:
            return token.grants("issues", "write") or token.grants("pull_requests", "write")
        return ROLE_RANK.get(self.role(token.login) or "", 0) >= ROLE_RANK["write"]

    def can_read(self, token: Token) -> bool:
        if token.installation:
            return token.grants("metadata")
        return not self.private or self.role(token.login) is not None

    def pull_json(self, pull: Pull, full: bool) -> dict[str, Any]:
        """A pull request: `full` as GET /pulls/{n} answers; otherwise the "pull request
        simple" of the lists, which has no merged, merged_by or commits."""
        # https://docs.github.com/en/rest/pulls/pulls#get-a-pull-request
        # https://docs.github.com/en/rest/pulls/pulls#list-pull-requests
        data: dict[str, Any] = {
            "url": f"https://api.github.com/repos/{self.full_name}/pulls/{pull.number}",
            "number": pull.number, "state": pull.state, "locked": False, "title": pull.title,
            "user": pull.user.simple(), "body": None, "draft": False,
            "created_at": pull.created_at, "updated_at": pull.updated_at,
            "closed_at": pull.closed_at, "merged_at": pull.merged_at,
            "merge_commit_sha": pull.merge_commit_sha,
            "head": {"label": f"{self.owner}:{pull.head_ref}", "ref": pull.head_ref,
                     "sha": pull.head_sha},
            "base": {"label": f"{self.owner}:{pull.base_ref}", "ref": pull.base_ref,
                     "sha": pull.base_sha},
        }  # fmt: skip
        if full:
            data |= {
                "merged": pull.merged_at is not None,
                "merged_by": pull.merged_by.simple() if pull.merged_by else None,
                "commits": len(pull.commits),
            }
        return data

    def commit_json(self, commit: Commit) -> dict[str, Any]:
        # https://docs.github.com/en/rest/pulls/pulls#list-commits-on-a-pull-request
        # top-level author/committer: the GitHub accounts of the emails, or null.
        committer = (
            commit.committer_name or commit.author_name,
            commit.committer_email or commit.author_email,
            commit.committer_date or commit.date,
        )
        author = self.user_for_email(commit.author_email)
        by = self.user_for_email(committer[1])
        return {
            "sha": commit.sha,
            "commit": {
                "author": {"name": commit.author_name, "email": commit.author_email,
                           "date": commit.date},
                "committer": {"name": committer[0], "email": committer[1],
                              "date": committer[2]},
                "message": commit.message,
                "verification": {"verified": commit.verified,
                                 "reason": "valid" if commit.verified else "unsigned"},
            },
            "author": author.simple() if author else None,
            "committer": by.simple() if by else None,
            "parents": [{"sha": p} for p in commit.parents],
        }  # fmt: skip

    def pulls_for_commit(self, sha: str) -> list[Pull] | None:
        """GET commits/{sha}/pulls: "Lists the merged pull request that introduced the commit
        to the repository. If the commit is not present in the default branch, it will return
        merged and open pull requests associated with the commit." None: no such commit."""
        # https://docs.github.com/en/rest/commits/commits#list-pull-requests-associated-with-a-commit
        if sha in self.default_commits:
            found = []
            for pull in sorted(self.pulls.values(), key=lambda p: p.number):
                if pull.merged_at and sha in pull.introduced:
                    if pull.lag > 0:
                        pull.lag -= 1
                        continue
                    found.append(pull)
            return found
        associated = [p for p in self.pulls.values() if sha in (c.sha for c in p.commits)]
        if not associated:
            return None
        return sorted(
            (p for p in associated if p.state == "open" or p.merged_at), key=lambda p: p.number
        )


def _int(query: dict[str, list[str]], name: str, default: int) -> int:
    try:
        return int(query[name][-1])
    except (KeyError, ValueError):
        return default


def _page(items: list[Any], query: dict[str, list[str]], url: str) -> tuple[list[Any], str]:
    """One page and its Link header. per_page: default 30, max 100; the links keep the other
    query parameters and come as prev, next, last, first."""
    # https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api
    per = max(1, min(_int(query, "per_page", 30), 100))
    page = max(1, _int(query, "page", 1))
    last = max(1, math.ceil(len(items) / per))

    def link(number: int, rel: str) -> str:
        params = {k: v[-1] for k, v in query.items()} | {"per_page": per, "page": number}
        return f'<{url}?{urlencode(params)}>; rel="{rel}"'

    links = []
    if page > 1:
        links.append(link(page - 1, "prev"))
    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    if page > 1:
        links.append(link(1, "first"))
    return items[(page - 1) * per : page * per], ", ".join(links)


class FakeGitHub:
    def __init__(self, repository: str = "acme/campaigns"):
        self.repository = repository
        self.repo = Repo(repository)
        server = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _send(
                self, status: int, body: Any, link: str = "", headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                if link:
                    self.send_header("Link", link)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    payload = json.loads(self.rfile.read(length)) if length else None
                except ValueError:
                    return self._send(400, {"message": "Problems parsing JSON"})
                with server.lock:
                    r = server.repo
                    r.requests.append((method, url.path))
                    # "Authorization: Bearer <token>" or "Authorization: token <token>"
                    # https://docs.github.com/en/rest/authentication/authenticating-to-the-rest-api
                    scheme, _, secret = (self.headers.get("Authorization") or "").partition(" ")
                    if not secret:
                        return self._send(401, {"message": "Requires authentication"})
                    token = r.tokens.get(secret) if scheme.lower() in ("bearer", "token") else None
                    if token is None:
                        return self._send(401, {"message": "Bad credentials"})
                    if r.fail_next > 0:
                        r.fail_next -= 1
                        return self._send(502, {"message": "Server Error"})
                    if r.rate_limit_next > 0:
                        # "If you exceed your primary rate limit, you will receive a 403 or 429
                        # response, and the x-ratelimit-remaining header will be 0."
                        # https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit
                        r.rate_limit_next -= 1
                        reset = str(int(datetime.now(UTC).timestamp()))
                        return self._send(
                            403,
                            {"message": "API rate limit exceeded"},
                            headers={"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0",
                                     "x-ratelimit-reset": reset},
                        )  # fmt: skip
                    status, body, link = server.route(
                        method, url.path, parse_qs(url.query), payload, token
                    )
                self._send(status, body, link)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PATCH(self) -> None:
                self._handle("PATCH")

        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeGitHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        payload: Any,
        token: Token,
    ) -> Answer:
        r = self.repo
        url = self.url + path
        if m := re.fullmatch(r"/users/([^/]+)", path):
            # https://docs.github.com/en/rest/users/users#get-a-user
            user = r.users.get(unquote(m[1]).lower())
            if user is None or method != "GET":
                return NOT_FOUND
            return 200, user.simple() | {"name": None}, ""
        if m := re.fullmatch(r"/orgs/([^/]+)/teams/([^/]+)/memberships/([^/]+)", path):
            return self._team_membership(unquote(m[1]), unquote(m[2]), unquote(m[3]), token)
        prefix = f"/repos/{self.repository}"
        if not path.startswith(prefix + "/") or not r.can_read(token):
            return NOT_FOUND  # a private repository the token cannot see does not exist for it
        rest = path[len(prefix) :]
        if rest == "/pulls" and method == "GET":
            return self._list_pulls(query, url)
        if (m := re.fullmatch(r"/pulls/(\d+)", rest)) and method == "GET":
            pull = r.pulls.get(int(m[1]))
            return (200, r.pull_json(pull, full=True), "") if pull else NOT_FOUND
        if (m := re.fullmatch(r"/pulls/(\d+)/commits", rest)) and method == "GET":
            # "Lists a maximum of 250 commits for a pull request."
            # https://docs.github.com/en/rest/pulls/pulls#list-commits-on-a-pull-request
            pull = r.pulls.get(int(m[1]))
            if pull is None:
                return NOT_FOUND
            listed = [r.commit_json(c) for c in pull.commits[:250]]
            return (200, *_page(listed, query, url))
        if (m := re.fullmatch(r"/pulls/(\d+)/reviews", rest)) and method == "GET":
            # "The list of reviews returns in chronological order."
            # https://docs.github.com/en/rest/pulls/reviews#list-reviews-for-a-pull-request
            if int(m[1]) not in r.pulls:
                return NOT_FOUND
            return (200, *_page(r.reviews.get(int(m[1]), []), query, url))
        if m := re.fullmatch(r"/issues/(\d+)/comments", rest):
            return self._issue_comments(method, int(m[1]), query, payload, token, url)
        if (m := re.fullmatch(r"/issues/comments/(\d+)", rest)) and method == "PATCH":
            return self._update_comment(int(m[1]), payload, token)
        if (m := re.fullmatch(r"/commits/([^/]+)/pulls", rest)) and method == "GET":
            sha = unquote(m[1])
            found = r.pulls_for_commit(sha)
            if found is None:
                # not documented for this endpoint (its documented statuses are 200 and 409);
                # GitHub's commits endpoints answer an unknown SHA with 422.
                return _validation_failed(f"No commit found for SHA: {sha}")
            return (200, *_page([r.pull_json(p, full=False) for p in found], query, url))
        if (m := re.fullmatch(r"/collaborators/([^/]+)/permission", rest)) and method == "GET":
            return self._permission(unquote(m[1]))
        if (m := re.fullmatch(r"/statuses/([0-9a-f]{40})", rest)) and method == "POST":
            # https://docs.github.com/en/rest/commits/statuses#create-a-commit-status
            # state: error, failure, pending or success; needs "Commit statuses" write
            if not token.grants("statuses", "write"):
                return 403, {"message": "Resource not accessible by integration"}, ""
            if payload.get("state") not in ("error", "failure", "pending", "success"):
                return _validation_failed()
            status = {"id": r.new_id(), "state": payload["state"],
                      "context": payload.get("context", "default"),
                      "description": payload.get("description"), "created_at": r.tick(),
                      "creator": r.user(token.login).simple()}  # fmt: skip
            r.statuses.setdefault(m[1], []).append(status)
            return 201, status, ""
        return NOT_FOUND

    def _team_membership(self, org: str, team: str, login: str, token: Token) -> Answer:
        # https://docs.github.com/en/rest/teams/members#get-team-membership-for-a-user
        # Fine-grained tokens (installation tokens included) need "Members" organization
        # permissions (read); the Actions GITHUB_TOKEN has no organization permissions, and an
        # installation token without the permission gets 403 "Resource not accessible by
        # integration". 200 with state and role for a member, 404 "if user has no team
        # membership". "To get a user's membership with a team, the team must be visible to
        # the authenticated user": a user outside the organization gets 404.
        r = self.repo
        if token.installation and not token.grants("members"):
            return 403, {
                "message": "Resource not accessible by integration",
                "documentation_url": "https://docs.github.com/rest/teams/members"
                "#get-team-membership-for-a-user",
            }, ""  # fmt: skip
        in_org = {m.lower() for (o, _), members in r.teams.items() if o == org for m in members}
        if not token.installation and token.login.lower() not in in_org:
            return NOT_FOUND
        members = {m.lower() for m in r.teams.get((org, team), set())}
        if login.lower() not in members:
            return NOT_FOUND
        url = f"https://api.github.com/organizations/1/team/1/memberships/{login}"
        return 200, {"url": url, "role": "member", "state": "active"}, ""

    def _list_pulls(self, query: dict[str, list[str]], url: str) -> Answer:
        # https://docs.github.com/en/rest/pulls/pulls#list-pull-requests
        # state: open (default), closed or all; head: "user:ref-name"; base: branch name;
        # sort: created (default), updated, popularity (comment count) or long-running;
        # direction: "desc when sort is created or sort is not specified, otherwise asc".
        r = self.repo
        state = query.get("state", ["open"])[-1]
        sort = query.get("sort", ["created"])[-1]
        direction = query.get("direction", ["desc" if sort == "created" else "asc"])[-1]
        if state not in ("open", "closed", "all"):
            return _validation_failed()
        if sort not in ("created", "updated", "popularity", "long-running"):
            return _validation_failed()
        if direction not in ("asc", "desc"):
            return _validation_failed()
        pulls = [p for p in r.pulls.values() if state in ("all", p.state)]
        if "base" in query:
            pulls = [p for p in pulls if p.base_ref == query["base"][-1]]
        if "head" in query:
            pulls = [p for p in pulls if f"{r.owner}:{p.head_ref}" == query["head"][-1]]
        if sort == "long-running":
            # "sort by date created and will limit the results to pull requests that have been
            # open for more than a month and have had activity within the past month"
            month = _iso(r.clock - timedelta(days=30))
            pulls = [
                p for p in pulls
                if p.state == "open" and p.created_at < month <= p.updated_at
            ]  # fmt: skip

        def key(p: Pull) -> tuple[Any, int]:
            if sort == "updated":
                return p.updated_at, p.number
            if sort == "popularity":
                return len(r.comments.get(p.number, [])), p.number
            return p.created_at, p.number

        pulls.sort(key=key, reverse=direction == "desc")
        return (200, *_page([r.pull_json(p, full=False) for p in pulls], query, url))

    def _issue_comments(
        self,
        method: str,
        number: int,
        query: dict[str, list[str]],
        payload: Any,
        token: Token,
        url: str,
    ) -> Answer:
        # https://docs.github.com/en/rest/issues/comments#list-issue-comments
        # https://docs.github.com/en/rest/issues/comments#create-an-issue-comment
        r = self.repo
        if number not in r.pulls:  # every pull request is an issue; this repo has no others
            return NOT_FOUND
        if method == "GET":  # "Issue comments are ordered by ascending ID."
            comments = sorted(r.comments.get(number, []), key=lambda c: c["id"])
            return (200, *_page(comments, query, url))
        if method != "POST":
            return NOT_FOUND
        if not isinstance(payload, dict) or not isinstance(payload.get("body"), str):
            return _validation_failed()
        if token.installation and not r.can_write(token):
            return 403, {"message": "Resource not accessible by integration"}, ""
        # the comment is authored by the identity the token acts as
        return 201, r._comment(number, r.user(token.login), payload["body"]), ""

    def _update_comment(self, comment_id: int, payload: Any, token: Token) -> Answer:
        # https://docs.github.com/en/rest/issues/comments#update-an-issue-comment
        # Who may edit: the comment's author, or anyone with write access to the repository:
        # "If you have write permissions to a repository, you can hide, edit, or delete
        # comments." So GitHub does NOT stop a bot with write access from editing a human's
        # comment; only the client's own check does.
        # https://docs.github.com/en/communities/moderating-comments-and-conversations/managing-disruptive-comments
        r = self.repo
        comment = next((c for cs in r.comments.values() for c in cs if c["id"] == comment_id), None)
        if comment is None:
            return NOT_FOUND
        if not isinstance(payload, dict) or not isinstance(payload.get("body"), str):
            return _validation_failed()
        if comment["user"]["login"].lower() != token.login.lower() and not r.can_write(token):
            # not documented: the status and message a non-author without write access gets
            message = "Resource not accessible by integration" if token.installation else (
                "Forbidden"
            )  # fmt: skip
            return 403, {"message": message}, ""
        comment["body"], comment["updated_at"] = payload["body"], r.tick()
        return 200, comment, ""

    def _permission(self, login: str) -> Answer:
        # https://docs.github.com/en/rest/collaborators/collaborators#get-repository-permissions-for-a-user
        # {permission, role_name, user}: permission is the legacy base role (admin, write,
        # read, none; maintain -> write, triage -> read), role_name the assigned role.
        # Not documented: a user without a role gets read on a public repository (every
        # user can read it) and none on a private one; an unknown login gets 404.
        r = self.repo
        user = r.users.get(login.lower())
        if user is None:
            return 404, {"message": f"{login} is not a user"}, ""
        role = r.role(user.login) or ("none" if r.private else "read")
        permission = BASE_PERMISSION.get(role, "none")
        rank = ROLE_RANK.get(role, 0)
        permissions = {
            "admin": rank >= 5, "maintain": rank >= 4, "push": rank >= 3,
            "triage": rank >= 2, "pull": rank >= 1,
        }  # fmt: skip
        collaborator = user.simple() | {"permissions": permissions, "role_name": role}
        return 200, {"permission": permission, "role_name": role, "user": collaborator}, ""
