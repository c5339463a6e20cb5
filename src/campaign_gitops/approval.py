"""Is a pull request approved for the changes that need it? An APPROVED review counts only when
it is the reviewer's latest word, on the current head commit, from an approver (a login or a
member of an approving team) who is not the pull request's author."""

from __future__ import annotations

from dataclasses import dataclass, field

from campaign_gitops.github import GitHub
from campaign_gitops.plan import Change

FINAL_STATES = frozenset({"APPROVED", "CHANGES_REQUESTED", "DISMISSED"})  # COMMENTED keeps the last


@dataclass
class Approval:
    pr: int
    author: str
    head: str
    approved_by: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # each review that did not count, and why
    needed: list[Change] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.needed or bool(self.approved_by)

    def explain(self, approvers: list[str]) -> str:
        if not self.needed:
            return f"pull request #{self.pr}: no change needs approval"
        if self.ok:
            return (
                f"pull request #{self.pr} is approved at {self.head[:12]} by "
                f"{', '.join(self.approved_by)}"
            )
        lines = [
            f"pull request #{self.pr} needs an approval from {', '.join(approvers)} "
            f"(not the author, {self.author}) on its head commit {self.head[:12]} for:"
        ]
        lines += [f"  - {c.title}: {'; '.join(c.review)}" for c in self.needed]
        lines += [f"  not counted: {why}" for why in self.refused] or ["  no review approves it"]
        return "\n".join(lines)


def _latest(reviews: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    latest: dict[str, dict[str, object]] = {}
    for review in reviews:  # the API lists them oldest first
        user = review.get("user")
        login = user.get("login") if isinstance(user, dict) else None
        if isinstance(login, str) and review.get("state") in FINAL_STATES:
            latest[login.lower()] = review
    return latest


class Approvers:
    def __init__(self, github: GitHub, approvers: list[str]):
        self.github = github
        self.logins = {a.lower() for a in approvers if "/" not in a}
        self.teams = [tuple(a.split("/", 1)) for a in approvers if "/" in a]

    def includes(self, login: str) -> bool:
        if login.lower() in self.logins:
            return True
        return any(self.github.is_team_member(org, team, login) for org, team in self.teams)


def check(github: GitHub, number: int, approvers: list[str], needed: list[Change]) -> Approval:
    pull = github.pull(number)
    author = str(pull["user"]["login"])
    result = Approval(number, author, str(pull["head"]["sha"]), needed=needed)
    if not needed:
        return result
    who = Approvers(github, approvers)
    for login, review in sorted(_latest(github.reviews(number)).items()):
        name = str(review["user"]["login"])  # type: ignore[index]
        if review.get("state") != "APPROVED":
            result.refused.append(f"{name}'s latest review is {str(review['state']).lower()}")
        elif login == author.lower():
            result.refused.append(f"{name} is the author and cannot approve their own changes")
        elif review.get("commit_id") != result.head:
            commit = str(review.get("commit_id"))[:12]
            result.refused.append(f"{name} approved an older commit ({commit}); approve the head")
        elif not who.includes(name):
            result.refused.append(f"{name} is not an approver")
        else:
            result.approved_by.append(name)
    return result
