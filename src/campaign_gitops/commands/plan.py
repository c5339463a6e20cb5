from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import click

from campaign_gitops import ci
from campaign_gitops.approval import owners
from campaign_gitops.approval.pullrequest import for_pull_request
from campaign_gitops.config import Settings
from campaign_gitops.files import write_atomic
from campaign_gitops.plan import Plan
from campaign_gitops.views import render
from campaign_gitops.workspace import PlanRequest, Workspace


def exit_code(plan: Plan, detailed: bool) -> int:
    """Terraform's: 1 for anything blocked (or over a [safety] threshold without --force), 2
    for changes (with --detailed-exitcode), else 0."""
    if plan.blocked or plan.unsafe:
        return 1
    changed = bool(plan.drift) if plan.refresh_only else plan.has_changes
    return 2 if detailed and changed else 0


def show(plan: Plan, fmt: str) -> None:
    if fmt == "json":
        click.echo(render.as_json(plan))
    elif fmt == "markdown":
        click.echo(render.markdown(plan))
    else:
        colour = render.use_colour(sys.stdout.isatty())
        click.echo(render.text(plan, colour), color=colour)


def comment(plan: Plan, pr: int | None, calendar_url: str | None = None) -> None:
    from campaign_gitops.github import GitHub, GitHubError, context
    from campaign_gitops.views import gantt

    ctx = context(pr)
    if ctx.pr is None:
        raise GitHubError(
            "--comment needs a pull request: run on a pull_request event or pass --pr"
        )
    with GitHub(ctx) as github:
        body = render.markdown(plan, extra=gantt.section(plan, calendar_url))
        action, number = github.upsert_comment(ctx.pr, body, render.MARKER)
    click.echo(f"{action} the plan comment on pull request #{ctx.pr} (comment {number})", err=True)


def plan(
    settings: Settings,
    request: PlanRequest,
    fmt: str,
    out: Path | None,
    detailed: bool,
    *,
    ref: str | None = None,
    changed_since: str | None = None,
    post_comment: bool = False,
    pr: int | None = None,
    refresh: bool = True,
    targets: Sequence[str] = (),
    calendar_url: str | None = None,
) -> int:
    notices: list[str] = []
    trusted: str | None = None  # the commit the policy comes from; None: the work tree
    if ref is not None and changed_since is not None:  # a pull request's plan
        settings, notices = for_pull_request(settings, ref, changed_since)
        trusted = changed_since
    codeowners = owners.load(settings, trusted, changed_since)
    notices += codeowners.problems if codeowners else []
    with Workspace(settings, ref, refresh=refresh, codeowners=codeowners) as workspace:
        if changed_since is not None:
            request = replace(request, only=workspace.changed_since(changed_since))
        elif targets:
            request = replace(request, only=workspace.target(targets))
        result = workspace.plan(request)
    result.notices = [*notices, *result.notices]  # the pull request's, then the plan's own
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(out, render.as_json(result) + "\n")
    show(result, fmt)
    # the run's own page: unlike the comment, no one with write access can edit it afterwards
    ci.step_summary("campaign-gitops plan", render.text(result, colour=False))
    if post_comment:
        comment(result, pr, calendar_url)
    if out is not None and fmt == "text":
        click.echo(f"\nSaved the plan to {out}; `campaign-gitops apply {out}` applies exactly it.")
    return exit_code(result, detailed)
