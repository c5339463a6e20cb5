from __future__ import annotations

import click

from campaign_gitops.approval import Approval
from campaign_gitops.approval import check as check_pr
from campaign_gitops.config import Settings
from campaign_gitops.github import GitHub, GitHubError, context
from campaign_gitops.plan import Plan
from campaign_gitops.workspace import PlanRequest, Workspace


def approval_of(plan: Plan, settings: Settings, pr: int | None) -> Approval:
    ctx = context(pr)
    if ctx.pr is None:
        raise GitHubError("no pull request: run on a pull_request event or pass --pr")
    github = GitHub(ctx)
    try:
        return check_pr(github, ctx.pr, settings.raw.approval.approvers, plan.reviews)
    finally:
        github.close()


def check(settings: Settings, request: PlanRequest, pr: int | None, ref: str | None) -> int:
    workspace = Workspace(settings, ref)
    try:
        plan = workspace.plan(request)
    finally:
        workspace.close()
    result = approval_of(plan, settings, pr)
    click.echo(result.explain(settings.raw.approval.approvers))
    return 0 if result.ok else 1
