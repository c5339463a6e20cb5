"""main's first-parent history since the apply cursor, cut into the merged pull requests that
brought it: one commit for a merge commit or a squash, `commits` commits for a rebase merge,
each of which GitHub must name as that pull request's. A commit no merged pull request covers
is a step of its own, without a pull request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from campaign_gitops.github import GitHub
from campaign_gitops.gitrepo import Repo

LAG_RETRIES, LAG_BACKOFF = 2, 0.5  # commits/{sha}/pulls can lag right after a push


@dataclass(frozen=True)
class Step:
    commits: tuple[str, ...]  # first-parent commits, oldest first
    before: str  # the commit just before them: the policy comes from there
    pull: dict[str, Any] | None  # the merged pull request (GET /pulls/{n}); None: a direct push

    @property
    def end(self) -> str:
        return self.commits[-1]

    @property
    def title(self) -> str:
        if self.pull is None:
            return f"commit {self.end[:12]} (pushed to the branch, no pull request)"
        return f"pull request #{self.pull['number']} ({self.end[:12]})"


class Mainline:
    def __init__(self, repo: Repo, github: GitHub, branch: str):
        self.repo = repo
        self.github = github
        self.branch = branch
        self._closed: list[dict[str, Any]] | None = None

    def _merged(self, pulls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        base = self.branch
        return [p for p in pulls if p.get("merged_at") and (p.get("base") or {}).get("ref") == base]

    def _pull_of(self, sha: str) -> dict[str, Any] | None:
        """The merged pull request into the branch that brought `sha`, in full."""
        found = self._merged(self.github.pulls_for_commit(sha, LAG_RETRIES, LAG_BACKOFF))
        if not found:  # still lagging: the closed pull requests know their merge commit
            if self._closed is None:
                self._closed = self._merged(self.github.pulls_closed(self.branch))
            found = [p for p in self._closed if p.get("merge_commit_sha") == sha]
        return self.github.pull(int(found[0]["number"])) if found else None

    def _names(self, sha: str, number: int) -> bool:
        pulls = self.github.pulls_for_commit(sha, LAG_RETRIES, LAG_BACKOFF)
        return any(p.get("number") == number for p in self._merged(pulls))

    def _group(self, commits: list[str], i: int, pull: dict[str, Any]) -> tuple[str, ...] | None:
        """The commits from `i` that `pull` brought, or None when they are not its."""
        end = pull.get("merge_commit_sha")
        if end not in commits[i:]:
            return None
        group = commits[i : commits.index(end, i) + 1]
        merge_commit = len(self.repo.parents(end)) > 1
        allowed = 1 if merge_commit else max(1, int(pull.get("commits") or 1))
        if len(group) > allowed:
            return None
        if not all(self._names(sha, int(pull["number"])) for sha in group[1:]):
            return None
        return tuple(group)

    def steps(self, since: str, until: str) -> list[Step]:
        commits = self.repo.first_parent(since, until)
        out: list[Step] = []
        before, i = since, 0
        while i < len(commits):
            pull = self._pull_of(commits[i])
            group = self._group(commits, i, pull) if pull is not None else None
            if group is None:
                out.append(Step((commits[i],), before, None))
            else:
                out.append(Step(group, before, pull))
            before = out[-1].end
            i += len(out[-1].commits)
        return out
