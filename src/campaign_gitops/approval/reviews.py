"""Is a pull request approved for the changes that need it? An APPROVED review counts only when
it is the reviewer's latest word, on the pull request's head commit, from an approver (a login
of the policy, resolved to its GitHub user id, or a member of an approving team) who has write
permission and who neither opened the pull request nor authored or committed any of its
commits. Identities are compared by user id: a login can be renamed and reused."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from campaign_gitops.github import GitHub, GitHubError
from campaign_gitops.plan import Change

FINAL_STATES = frozenset({"APPROVED", "CHANGES_REQUESTED", "DISMISSED"})  # COMMENTED keeps the last
WRITERS = frozenset({"admin", "maintain", "write"})
WEB_FLOW = "web-flow"  # the committer of commits GitHub makes itself (web edits, merges)


@dataclass
class Approval:
    pr: int
    author: str
    head: str
    approved_by: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # each review that did not count, and why
    needed: list[Change] = field(default_factory=list)
    approvers: list[str] = field(default_factory=list)  # the policy's, with their user ids
    unmapped: list[str] = field(default_factory=list)  # commit identities GitHub cannot map
    reviewed_at: str | None = None  # when the last counted approval was given

    @property
    def ok(self) -> bool:
        """Unmapped commit identities fail closed: one of them could be an approver's."""
        return not self.needed or (bool(self.approved_by) and not self.unmapped)

    def explain(self) -> str:
        if not self.needed:
            return f"pull request #{self.pr}: no change needs approval"
        if self.ok:
            lines = [
                f"pull request #{self.pr} is approved at {self.head[:12]} by "
                f"{', '.join(self.approved_by)}"
            ]
        else:
            lines = [
                f"pull request #{self.pr} needs an approval from {', '.join(self.approvers)} "
                f"(not the author, {self.author}, nor anyone who authored or committed its "
                f"commits) on its head commit {self.head[:12]} for:"
            ]
            lines += [f"  - {c.title}: {'; '.join(c.review)}" for c in self.needed]
            lines += [f"  not counted: {why}" for why in self.refused] or [
                "  no review approves it"
            ]
        lines += [f"  commit identity GitHub cannot map to a user: {u}" for u in self.unmapped]
        if self.needed and self.approved_by and self.unmapped:
            lines.append(
                "  not approved while a commit identity is unknown (it could be an approver's): "
                "add its email to a GitHub account, or re-author the commit"
            )
        return "\n".join(lines)


def _latest(reviews: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    latest: dict[int, dict[str, Any]] = {}
    for review in reviews:  # the API lists them oldest first
        user = review.get("user") or {}
        if isinstance(user.get("id"), int) and review.get("state") in FINAL_STATES:
            latest[user["id"]] = review
    return latest


class Approvers:
    def __init__(self, github: GitHub, approvers: list[str]):
        self.github = github
        self.ids: dict[int, str] = {}
        self.described: list[str] = []
        for entry in approvers:
            if "/" in entry:
                self.described.append(entry)
                continue
            try:
                user_id = int(github.user(entry)["id"])
                self.ids[user_id] = entry
                self.described.append(f"{entry} (id {user_id})")
            except GitHubError:
                self.described.append(f"{entry} (no such GitHub user)")
        self.teams = [tuple(a.split("/", 1)) for a in approvers if "/" in a]

    def includes(self, user_id: int, login: str) -> bool:
        if user_id in self.ids:
            return True
        return any(self.github.is_team_member(org, team, login) for org, team in self.teams)


def _update_branch(commit: dict[str, Any]) -> bool:
    """A merge of the base branch that GitHub's "Update branch" made: two parents, committed
    by web-flow, and signed by GitHub (anyone can write web-flow's email into a commit; only
    GitHub can sign it)."""
    raw = commit.get("commit") or {}
    return (
        len(commit.get("parents") or ()) == 2
        and (commit.get("committer") or {}).get("login") == WEB_FLOW
        and bool((raw.get("verification") or {}).get("verified"))
    )


def contributors(commits: list[dict[str, Any]]) -> tuple[set[int], list[str]]:
    """User ids of everyone who authored or committed the pull request's commits, and the
    identities GitHub could not map to a user. GitHub's own commits (web-flow) and the merges
    of the base branch that "Update branch" makes are not anyone's work on the change."""
    ids: set[int] = set()
    unmapped: list[str] = []
    for commit in commits:
        if _update_branch(commit):
            continue
        for role in ("author", "committer"):
            account = commit.get(role)
            raw = (commit.get("commit") or {}).get(role) or {}
            if account is None:
                unmapped.append(
                    f"{role} {raw.get('name')} <{raw.get('email')}> of {str(commit['sha'])[:12]}"
                )
            elif account.get("login") != WEB_FLOW:
                ids.add(int(account["id"]))
    return ids, unmapped


def check(
    github: GitHub,
    number: int,
    approvers: list[str],
    needed: list[Change],
    pull: dict[str, Any] | None = None,
) -> Approval:
    pull = pull or github.pull(number)
    author = pull["user"]
    result = Approval(number, str(author["login"]), str(pull["head"]["sha"]), needed=needed)
    who = Approvers(github, approvers)
    result.approvers = who.described
    if not needed:
        return result
    worked_on, result.unmapped = contributors(github.pull_commits(number))
    for user_id, review in sorted(_latest(github.reviews(number)).items()):
        name = str(review["user"]["login"])
        if review.get("state") != "APPROVED":
            result.refused.append(f"{name}'s latest review is {str(review['state']).lower()}")
        elif user_id == author.get("id"):
            result.refused.append(f"{name} is the author and cannot approve their own changes")
        elif user_id in worked_on:
            result.refused.append(f"{name} authored or committed commits of the pull request")
        elif review.get("commit_id") != result.head:
            commit = str(review.get("commit_id"))[:12]
            result.refused.append(f"{name} approved an older commit ({commit}); approve the head")
        elif not who.includes(user_id, name):
            result.refused.append(f"{name} is not an approver")
        elif github.permission(name) not in WRITERS:
            result.refused.append(f"{name} has no write permission on the repository")
        else:
            result.approved_by.append(name)
            at = str(review.get("submitted_at") or "")
            result.reviewed_at = max(result.reviewed_at or at, at)
    return result
