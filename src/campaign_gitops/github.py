"""GitHub over its REST API: pull requests, reviews, team membership, the plan comment.
httpx and the token stay inside this module; the token never appears in a message."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from campaign_gitops.errors import FatalError

API_VERSION = "2022-11-28"
RETRIES = 3


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


class GitHub:
    def __init__(self, ctx: GitHubContext, timeout: float = 30.0):
        self.ctx = ctx
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
        for attempt in range(RETRIES):
            try:
                response = self.client.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if safe and attempt + 1 < RETRIES:
                    time.sleep(0.2 * 2**attempt)
                    continue
                raise GitHubError(f"GitHub {method} {path}: {type(exc).__name__}") from None
            retry = response.status_code == 429 or (safe and response.status_code >= 500)
            if retry and attempt + 1 < RETRIES:
                time.sleep(min(float(response.headers.get("Retry-After", 0.2 * 2**attempt)), 5))
                continue
            return response
        raise AssertionError("unreachable")

    def _json(self, method: str, path: str, ok: tuple[int, ...] = (200,), **kw: Any) -> Any:
        response = self._request(method, path, **kw)
        if response.status_code not in ok:
            message = response.json().get("message", "") if _is_json(response) else ""
            raise GitHubError(
                f"GitHub {method} {path}: HTTP {response.status_code} {message}".rstrip()
            )
        return response.json()

    def _pages(self, path: str) -> list[Any]:
        items: list[Any] = []
        url: str | None = path
        params: dict[str, Any] | None = {"per_page": 100}
        while url:
            response = self._request("GET", url, params=params)
            if response.status_code != 200:
                raise GitHubError(f"GitHub GET {path}: HTTP {response.status_code}")
            items.extend(response.json())
            url = response.links.get("next", {}).get("url")
            params = None  # the next link carries them
        return items

    @property
    def _repo(self) -> str:
        return f"/repos/{self.ctx.repository}"

    def pull(self, number: int) -> dict[str, Any]:
        data: dict[str, Any] = self._json("GET", f"{self._repo}/pulls/{number}")
        return data

    def reviews(self, number: int) -> list[dict[str, Any]]:
        return self._pages(f"{self._repo}/pulls/{number}/reviews")

    def pulls_for_commit(self, sha: str) -> list[dict[str, Any]]:
        return self._pages(f"{self._repo}/commits/{sha}/pulls")

    def is_team_member(self, org: str, team: str, login: str) -> bool:
        response = self._request("GET", f"/orgs/{org}/teams/{team}/memberships/{login}")
        if response.status_code == 404:
            return False
        if response.status_code != 200:
            raise GitHubError(f"GitHub team {org}/{team}: HTTP {response.status_code}")
        return bool(response.json().get("state") == "active")

    def upsert_comment(self, number: int, body: str, marker: str) -> tuple[str, int]:
        """One comment per pull request, found by its hidden marker: created once, then updated."""
        for comment in self._pages(f"{self._repo}/issues/{number}/comments"):
            if marker in (comment.get("body") or ""):
                self._json(
                    "PATCH", f"{self._repo}/issues/comments/{comment['id']}", json={"body": body}
                )
                return "updated", int(comment["id"])
        made = self._json(
            "POST", f"{self._repo}/issues/{number}/comments", ok=(201,), json={"body": body}
        )
        return "created", int(made["id"])


def _is_json(response: httpx.Response) -> bool:
    return str(response.headers.get("content-type", "")).startswith("application/json")
