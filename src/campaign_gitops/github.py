"""GitHub over its REST API: pull requests and their commits, reviews, users, repository
permissions, team membership, the plan comment. httpx and the token stay inside this module; the
token never appears in a message."""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from campaign_gitops import redact
from campaign_gitops.closing import Closing
from campaign_gitops.errors import FatalError
from campaign_gitops.timeutil import http_date, retry_after

log = logging.getLogger(__name__)
API_VERSION = "2022-11-28"
RETRIES = 3
LONGEST_WAIT = 5.0  # seconds slept before a retry: a longer wait is better reported
PULL_COMMITS_LISTED = 250  # "Lists a maximum of 250 commits for a pull request."
# The identity the Actions GITHUB_TOKEN acts as. A GitHub App's installation token acts as
# "<app slug>[bot]": set CAMPAIGN_GITOPS_BOT_LOGIN to it.
BOT_LOGIN = "github-actions[bot]"
BOT_LOGIN_ENV = "CAMPAIGN_GITOPS_BOT_LOGIN"
TEAM_TOKEN_HINT = (
    "team approvers need a token that can read team membership (a GitHub App's installation "
    "token with Members: read); the Actions GITHUB_TOKEN cannot, so the check fails closed"
)


class GitHubError(FatalError):
    pass


@dataclass(frozen=True)
class GitHubContext:
    api_url: str
    token: str
    repository: str  # owner/name
    pr: int | None

    def __repr__(self) -> str:  # never the token
        return f"GitHubContext({self.api_url!r}, {self.repository!r}, pr={self.pr})"


def in_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def context(pr: int | None = None) -> GitHubContext:
    """From the Actions environment: GITHUB_API_URL, GITHUB_TOKEN, GITHUB_REPOSITORY, and the
    pull request from the event at GITHUB_EVENT_PATH unless `pr` is given."""
    token = os.environ.get("GITHUB_TOKEN", "")
    repository = os.environ.get("GITHUB_REPOSITORY", "")
    missing = [
        name for name, v in (("GITHUB_TOKEN", token), ("GITHUB_REPOSITORY", repository)) if not v
    ]
    if missing:
        raise GitHubError(f"set {' and '.join(missing)} to talk to GitHub")
    if pr is None:
        pr = _event_pr(os.environ.get("GITHUB_EVENT_PATH"))
    api = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    return GitHubContext(api, token, repository, pr)


def _event_pr(path: str | None) -> int | None:
    if not path or not Path(path).is_file():
        return None
    try:
        event = json.loads(Path(path).read_text())
    except ValueError:
        return None
    number = (event.get("pull_request") or {}).get("number") or event.get("number")
    return int(number) if isinstance(number, int) else None


class GitHub(Closing):
    def __init__(self, ctx: GitHubContext, timeout: float = 30.0):
        self.ctx = ctx
        redact.secret(ctx.token)
        self.client = httpx.Client(
            base_url=ctx.api_url,
            timeout=timeout,
            headers={
                "Authorization": f"Bearer {ctx.token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "campaign-gitops",
            },
        )

    def close(self) -> None:
        self.client.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        safe = method == "GET"
        shown = _path_only(path)  # logged: never the headers (the token) nor a query string
        for attempt in range(RETRIES):
            began = time.monotonic()
            try:
                response = self.client.request(method, path, **kwargs)
                received = datetime.now(UTC)
            except httpx.TransportError as exc:
                failure = type(exc).__name__
                if safe and attempt + 1 < RETRIES:
                    log.debug("GitHub %s %s: %s on attempt %d; retrying in %.3f s", method,
                              shown, failure, attempt + 1, 0.2 * 2**attempt)  # fmt: skip
                    time.sleep(0.2 * 2**attempt)
                    continue
                log.debug("GitHub %s %s: %s on attempt %d; giving up", method, shown, failure,
                          attempt + 1)  # fmt: skip
                raise GitHubError(f"GitHub {method} {path}: {type(exc).__name__}") from None
            log.debug("GitHub %s %s -> %d in %.3f s (attempt %d)", method, shown,
                      response.status_code, time.monotonic() - began, attempt + 1)  # fmt: skip
            limited = _rate_limited(response)
            retry = limited or (safe and response.status_code >= 500)
            if retry and attempt + 1 < RETRIES:
                wait = _retry_after(response, 0.2 * 2**attempt, received)
                log.debug("GitHub %s %s: %d%s on attempt %d; retrying in %.3f s", method, shown,
                          response.status_code, " (rate limited)" if limited else "",
                          attempt + 1, wait)  # fmt: skip
                time.sleep(wait)
                continue
            return response
        raise AssertionError("unreachable")

    def _fail(self, method: str, path: str, response: httpx.Response) -> GitHubError:
        message = response.json().get("message", "") if _is_json(response) else ""
        if _rate_limited(response):
            message = f"rate limited ({message})" if message else "rate limited"
        return GitHubError(
            f"GitHub {method} {path}: HTTP {response.status_code} {message}".rstrip()
        )

    def _json(self, method: str, path: str, ok: tuple[int, ...] = (200,), **kw: Any) -> Any:
        response = self._request(method, path, **kw)
        if response.status_code not in ok:
            raise self._fail(method, path, response)
        return response.json()

    def _pages(
        self, path: str, params: dict[str, Any] | None = None, most: int | None = None
    ) -> list[Any]:
        """Every page of a list (or the first `most`), following the Link header's next URL
        (only ever on the API's own host: the token goes with it)."""
        items: list[Any] = []
        url: str | None = path
        query: dict[str, Any] | None = {**(params or {}), "per_page": 100}
        pages = 0
        while url and (most is None or pages < most):
            pages += 1
            response = self._request("GET", url, params=query)
            if response.status_code != 200:
                raise self._fail("GET", path, response)
            items.extend(response.json())
            url = response.links.get("next", {}).get("url")
            if url and _origin(httpx.URL(url)) != _origin(self.client.base_url):
                raise GitHubError(f"GitHub GET {path}: the next page is on another host")
            query = None  # the next link carries them
        return items

    @property
    def _repo(self) -> str:
        return f"/repos/{self.ctx.repository}"

    def pull(self, number: int) -> dict[str, Any]:
        data: dict[str, Any] = self._json("GET", f"{self._repo}/pulls/{number}")
        return data

    def pulls_closed(self, base: str, pages: int = 3) -> list[dict[str, Any]]:
        """The most recently updated closed pull requests into `base` (`pages` pages of 100),
        merged or not (`merged_at` tells). List items carry no merged_by and no commit count:
        use pull()."""
        query = {"state": "closed", "base": base, "sort": "updated", "direction": "desc"}
        return self._pages(f"{self._repo}/pulls", query, most=pages)

    def pulls_open(self, head: str) -> list[dict[str, Any]]:
        """The open pull requests from `head` ("owner:branch", forks included)."""
        return self._pages(f"{self._repo}/pulls", {"state": "open", "head": head})

    def pull_commits(self, number: int) -> list[dict[str, Any]]:
        """The pull request's commits, oldest first. Each has `sha`, `commit.author` and
        `commit.committer` ({name, email, date}, as git recorded them) and `author` and
        `committer`: the GitHub accounts of those emails, or None when GitHub cannot map one."""
        commits = self._pages(f"{self._repo}/pulls/{number}/commits")
        if len(commits) >= PULL_COMMITS_LISTED:  # GitHub lists at most 250 of them
            total = int(self.pull(number).get("commits") or 0)
            if total > len(commits):
                raise GitHubError(
                    f"pull request #{number} has {total} commits; GitHub lists only "
                    f"{len(commits)} of them"
                )
        return commits

    def reviews(self, number: int) -> list[dict[str, Any]]:
        return self._pages(f"{self._repo}/pulls/{number}/reviews")

    def pulls_for_commit(
        self, sha: str, retries: int = 3, backoff: float = 1.0
    ) -> list[dict[str, Any]]:
        """The pull requests of a commit: the merged one that brought it to the default
        branch, else open (and merged) ones whose commits include it. Right after a merge
        GitHub may not know the association yet and answer []: an empty answer is asked again
        `retries` times, after backoff, 2 x backoff, ... seconds."""
        for attempt in range(retries + 1):
            pulls = self._pages(f"{self._repo}/commits/{_seg(sha)}/pulls")
            if pulls or attempt == retries:
                return pulls
            log.debug("GitHub knows no pull request of %s yet (attempt %d); asking again in "
                      "%.3f s", sha[:12], attempt + 1, backoff * 2**attempt)  # fmt: skip
            time.sleep(backoff * 2**attempt)
        raise AssertionError("unreachable")

    def user(self, login: str) -> dict[str, Any]:
        """A GitHub account: {login, id, type ("User", "Bot", "Organization"), ...}."""
        path = f"/users/{_seg(login)}"
        response = self._request("GET", path)
        if response.status_code == 404:
            raise GitHubError(f"GitHub has no user {login!r}")
        if response.status_code != 200:
            raise self._fail("GET", path, response)
        data: dict[str, Any] = response.json()
        return data

    def permission(self, login: str) -> str:
        """`login`'s permission on the repository: "admin", "write", "read" or "none"
        (GitHub reports the maintain role as write and triage as read)."""
        path = f"{self._repo}/collaborators/{_seg(login)}/permission"
        response = self._request("GET", path)
        if response.status_code == 404:
            raise GitHubError(f"GitHub has no user {login!r}")
        if response.status_code != 200:
            raise self._fail("GET", path, response)
        return str(response.json().get("permission") or "none")

    def is_team_member(self, org: str, team: str, login: str) -> bool:
        path = f"/orgs/{_seg(org)}/teams/{_seg(team)}/memberships/{_seg(login)}"
        response = self._request("GET", path)
        if response.status_code == 404:
            return False
        if response.status_code == 403 and not _rate_limited(response):
            raise GitHubError(f"GitHub team {org}/{team}: HTTP 403: {TEAM_TOKEN_HINT}")
        if response.status_code != 200:
            raise self._fail("GET", path, response)
        return bool(response.json().get("state") == "active")

    def set_status(self, sha: str, state: str, context: str, description: str) -> None:
        """A commit status on `sha` (success, failure, pending or error): what branch
        protection can require. GitHub keeps descriptions to 140 characters."""
        self._json(
            "POST",
            f"{self._repo}/statuses/{_seg(sha)}",
            ok=(201,),
            json={"state": state, "context": context, "description": description[:140]},
        )

    def upsert_comment(
        self, number: int, body: str, marker: str, bot_login: str | None = None
    ) -> tuple[str, int]:
        """One comment per pull request, found by its hidden marker: created once, then updated.
        Only a comment the bot wrote counts (anyone can paste the marker into theirs, and a
        token with write access could edit it): marker, user.login == `bot_login` (default
        $CAMPAIGN_GITOPS_BOT_LOGIN, else github-actions[bot]) and user.type == "Bot"."""
        bot = (bot_login or os.environ.get(BOT_LOGIN_ENV) or BOT_LOGIN).lower()
        for comment in self._pages(f"{self._repo}/issues/{number}/comments"):
            user = comment.get("user") or {}
            mine = str(user.get("login") or "").lower() == bot and user.get("type") == "Bot"
            if mine and marker in (comment.get("body") or ""):
                self._json(
                    "PATCH", f"{self._repo}/issues/comments/{comment['id']}", json={"body": body}
                )
                return "updated", int(comment["id"])
        made = self._json(
            "POST", f"{self._repo}/issues/{number}/comments", ok=(201,), json={"body": body}
        )
        return "created", int(made["id"])


def _path_only(path: str) -> str:
    """A request's path for the logs: a next-page link's host and query string left out."""
    try:
        return httpx.URL(path).path
    except httpx.InvalidURL:
        return "(a path that is not a URL)"


def _origin(url: httpx.URL) -> tuple[str, bytes]:
    return url.scheme, url.netloc


def _seg(value: str) -> str:
    """One path segment: a login, a team slug or a SHA can never reach another endpoint."""
    return quote(value, safe="")


def _rate_limited(response: httpx.Response) -> bool:
    """Over a rate limit: 429, or 403 with x-ratelimit-remaining 0 or a retry-after."""
    # https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit
    if response.status_code == 429:
        return True
    headers = response.headers
    return response.status_code == 403 and (
        headers.get("x-ratelimit-remaining") == "0" or "retry-after" in headers
    )


def _retry_after(response: httpx.Response, default: float, received: datetime) -> float:
    """How long to wait before a retry: `retry-after` (RFC 9110: delay-seconds or an HTTP-date,
    counted from the response's `date`, else from `received`, when it came), else until
    x-ratelimit-reset, else `default`; at most LONGEST_WAIT seconds (a longer wait is better
    reported than slept through)."""
    headers = response.headers
    wait: float | None = None
    if "retry-after" in headers:
        came = http_date(headers.get("date")) or received
        wait = retry_after(headers["retry-after"], came)
    elif headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
        try:
            reset = float(headers["x-ratelimit-reset"])
        except ValueError:
            reset = math.nan
        wait = reset - time.time() if math.isfinite(reset) else None
    return min(max(default if wait is None else wait, 0.0), LONGEST_WAIT)


def _is_json(response: httpx.Response) -> bool:
    return str(response.headers.get("content-type", "")).startswith("application/json")
