"""Is a pull request approved for the changes that need it? An APPROVED review counts only when
it is the reviewer's latest word, on the pull request's head commit, from an approver (a login
of the policy, resolved to its GitHub user id, or a member of an approving team) who has write
permission and who neither opened the pull request nor authored or committed any of its
commits. Identities are compared by user id: a login can be renamed and reused. With
`approval.codeowners`, one of the owners (CODEOWNERS) of each file of those changes must approve
too, under the same rules; the approvers as well when the policy names any."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from campaign_gitops.approval.owners import is_email
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
    approved_by: list[str] = field(default_factory=list)  # approvers and owners who approved
    refused: list[str] = field(default_factory=list)  # each review that did not count, and why
    needed: list[Change] = field(default_factory=list)
    approvers: list[str] = field(default_factory=list)  # the policy's, with their user ids
    unmapped: list[str] = field(default_factory=list)  # commit identities GitHub cannot map
    reviewed_at: str | None = None  # when the last counted approval was given
    # approval.codeowners: each file whose owners must approve -> its owners (described), and
    # the owners who did
    owners: dict[str, list[str]] = field(default_factory=dict)
    owned_by: dict[str, list[str]] = field(default_factory=dict)
    by_approver: bool = False  # an approver of the policy approved
    wants_approver: bool = True  # the policy's approvers must approve (always, without owners)

    @property
    def missing_owners(self) -> list[str]:
        return [path for path in self.owners if not self.owned_by.get(path)]

    @property
    def ok(self) -> bool:
        """Unmapped commit identities fail closed: one of them could be an approver's."""
        if not self.needed:
            return True
        approved = self.by_approver or not self.wants_approver
        return approved and not self.missing_owners and not self.unmapped

    def explain(self) -> str:
        if not self.needed:
            return f"pull request #{self.pr}: no change needs approval"
        if self.ok:
            lines = [
                f"pull request #{self.pr} is approved at {self.head[:12]} by "
                f"{', '.join(self.approved_by)}"
            ]
            lines += [
                f"  {path}: approved by its owner {', '.join(self.owned_by[path])}"
                for path in self.owners
            ]
        else:
            lines = [self._needs()]
            lines += [f"  - {c.title}: {'; '.join(c.review)}" for c in self.needed]
            lines += [
                f"  {path}: no approval from its owners {', '.join(self.owners[path])}"
                for path in self.missing_owners
            ]
            lines += [f"  counted: {name}'s approval" for name in self.approved_by]
            lines += [f"  not counted: {why}" for why in self.refused]
            if not self.approved_by and not self.refused:
                lines.append("  no review approves it")
        lines += [f"  commit identity GitHub cannot map to a user: {u}" for u in self.unmapped]
        if self.needed and self.approved_by and self.unmapped:
            lines.append(
                "  not approved while a commit identity is unknown (it could be an approver's): "
                "add its email to a GitHub account, or re-author the commit"
            )
        return "\n".join(lines)

    def _needs(self) -> str:
        who = []
        if self.wants_approver and not self.by_approver:
            who.append(", ".join(self.approvers) or "an approver (the policy names none)")
        if self.missing_owners:
            who.append("the code owners of each file below")
        if not who:
            who.append("an approver")
        return (
            f"pull request #{self.pr} needs an approval from {' and from '.join(who)} (not the "
            f"author, {self.author}, nor anyone who authored or committed its commits) on its "
            f"head commit {self.head[:12]} for:"
        )


def _latest(reviews: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    latest: dict[int, dict[str, Any]] = {}
    for review in reviews:  # the API lists them oldest first
        user = review.get("user") or {}
        if isinstance(user.get("id"), int) and review.get("state") in FINAL_STATES:
            latest[user["id"]] = review
    return latest


class Approvers:
    """Logins (resolved to user ids), org/team slugs (membership asked per reviewer) and, from
    CODEOWNERS, emails, which never count: a review names no email to compare."""

    def __init__(self, github: GitHub, entries: Iterable[str]):
        self.github = github
        self.ids: dict[str, int] = {}
        self.descriptions: dict[str, str] = {}
        self._members: dict[tuple[str, str], bool] = {}
        for entry in dict.fromkeys(entries):
            if "/" in entry:
                self.descriptions[entry] = entry
            elif is_email(entry):
                self.descriptions[entry] = f"{entry} (an email: never counts; name the @login)"
            else:
                try:
                    self.ids[entry] = int(github.user(entry)["id"])
                    self.descriptions[entry] = f"{entry} (id {self.ids[entry]})"
                except GitHubError:
                    self.descriptions[entry] = f"{entry} (no such GitHub user)"

    def described(self, entries: Iterable[str]) -> list[str]:
        return [self.descriptions[e] for e in entries]

    def includes(self, user_id: int, login: str, entries: Iterable[str]) -> bool:
        for entry in entries:
            if "/" in entry:
                if self._member(entry, login):
                    return True
            elif self.ids.get(entry) == user_id:
                return True
        return False

    def _member(self, team: str, login: str) -> bool:
        key = (team, login.lower())
        if key not in self._members:
            org, slug = team.split("/", 1)
            self._members[key] = self.github.is_team_member(org, slug, login)
        return self._members[key]


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
    owners: Mapping[str, Sequence[str]] | None = None,
) -> Approval:
    """`owners`: each file whose owners must approve too (approval.codeowners), and its
    owners. Without owners, the policy's approvers must approve; with them, the approvers
    too when the policy names any."""
    pull = pull or github.pull(number)
    author = pull["user"]
    result = Approval(number, str(author["login"]), str(pull["head"]["sha"]), needed=needed)
    files = {path: list(o) for path, o in (owners or {}).items() if o} if needed else {}
    who = Approvers(github, [*approvers, *(o for listed in files.values() for o in listed)])
    result.approvers = who.described(approvers)
    result.owners = {path: who.described(o) for path, o in files.items()}
    result.wants_approver = bool(approvers) or not files
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
        else:
            _count(result, github, who, user_id, review, approvers, files)
    return result


def _count(
    result: Approval,
    github: GitHub,
    who: Approvers,
    user_id: int,
    review: dict[str, Any],
    approvers: list[str],
    files: dict[str, list[str]],
) -> None:
    """An approval on the head by someone who did not work on the pull request: it counts
    for what its reviewer is (an approver, an owner of some files) when they may write."""
    name = str(review["user"]["login"])
    approver = who.includes(user_id, name, approvers)
    owns = [path for path, listed in files.items() if who.includes(user_id, name, listed)]
    if not approver and not owns:
        nor = " nor an owner of a changed file" if files else ""
        result.refused.append(f"{name} is not an approver{nor}")
    elif github.permission(name) not in WRITERS:
        result.refused.append(f"{name} has no write permission on the repository")
    else:
        result.approved_by.append(name)
        result.by_approver = result.by_approver or approver
        for path in owns:
            result.owned_by.setdefault(path, []).append(name)
        at = str(review.get("submitted_at") or "")
        result.reviewed_at = max(result.reviewed_at or at, at)
