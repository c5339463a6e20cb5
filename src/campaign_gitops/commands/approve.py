from __future__ import annotations

from dataclasses import replace

import click

from campaign_gitops.approval import owners
from campaign_gitops.approval.pullrequest import for_pull_request
from campaign_gitops.approval.reviews import check as check_pr
from campaign_gitops.config import Settings
from campaign_gitops.github import GitHub, GitHubError, context
from campaign_gitops.gitrepo import Repo
from campaign_gitops.workspace import PlanRequest, Workspace

STATUS_CONTEXT = "campaign-gitops/approval"  # the commit status branch protection can require


def _pull_of(github: GitHub, pr: int | None, sha: str | None, head: str | None) -> int:
    """The pull request: given, or the open one whose head is `sha` (found by the commit, or,
    for a fork's commit that the base repository's commit API does not know, by its branch)."""
    if pr is not None:
        return pr
    if sha is not None:
        found = github.pulls_open(head) if head else github.pulls_for_commit(sha, retries=0)
        for pull in found:
            if pull.get("state") == "open" and pull["head"]["sha"] == sha:
                return int(pull["number"])
    raise GitHubError("no pull request: run on a pull_request event or pass --pr")


def check(
    settings: Settings,
    request: PlanRequest,
    pr: int | None,
    ref: str | None,
    base: str | None = None,
    refresh: bool = True,
    status: bool = False,
    head: str | None = None,
) -> int:
    """With `ref`, the pull request's files are data at `ref` and everything trusted (the
    policy, the endpoints) comes from its base commit: `base`, or the pull request's own."""
    with GitHub(context(pr)) as github:
        sha = Repo(settings.root).resolve(ref).sha if ref is not None else None
        number = _pull_of(github, github.ctx.pr, sha, head)
        notices: list[str] = []
        if sha is not None:
            pull = github.pull(number)
            if pull["head"]["sha"] != sha:
                raise GitHubError(
                    f"{ref} ({sha[:12]}) is not the head of pull request #{number} "
                    f"({str(pull['head']['sha'])[:12]}); check the head"
                )
            base = base or str(pull["base"]["sha"])
            settings, notices = for_pull_request(settings, sha, base)
        # CODEOWNERS comes from where the policy does: the base, for a pull request's head
        codeowners = owners.load(settings, base if sha is not None else None)
        notices += codeowners.problems if codeowners else []
        with Workspace(settings, sha, refresh=refresh, codeowners=codeowners) as workspace:
            if sha is not None and base is not None:
                request = replace(request, only=workspace.changed_since(base))
            plan = workspace.plan(request)
        result = check_pr(
            github,
            number,
            settings.raw.approval.approvers,
            plan.reviews,
            owners=owners.required(plan),
        )
        if status:
            github.set_status(
                result.head,
                "success" if result.ok else "failure",
                STATUS_CONTEXT,
                result.explain().splitlines()[0],
            )
    for notice in notices:
        click.echo(notice)
    click.echo(result.explain())
    return 0 if result.ok else 1
