"""Apply on main: main's first-parent history from the apply cursor to the pushed commit, one
merged pull request at a time, in order, each under its own approval and under the policy of
the commit just before it. At the first commit that no approved, merged pull request covers,
the apply stops; nothing after it is applied."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import click

from campaign_gitops.applying.applier import Applier, Result
from campaign_gitops.applying.audit import Audit
from campaign_gitops.approval import at_apply, owners
from campaign_gitops.approval.mainline import Mainline, Step
from campaign_gitops.approval.pullrequest import base_settings, config_at
from campaign_gitops.config import Settings
from campaign_gitops.errors import FatalError
from campaign_gitops.github import GitHub, context
from campaign_gitops.gitrepo import Repo
from campaign_gitops.models.common import printable
from campaign_gitops.plan import Plan
from campaign_gitops.refusals import PlanRefused, Refusal
from campaign_gitops.state.base import StateStore
from campaign_gitops.workspace import PlanRequest, Workspace


@dataclass(frozen=True)
class Run:
    settings: Settings
    request: PlanRequest
    state: StateStore
    by: str  # who runs it, for the state store
    continue_on_error: bool
    show: Callable[[Plan], None]
    run_applier: Callable[[Applier, Plan], Result]
    audit: Audit | None = None  # who runs it, and the files it read that were not committed


def branch_name() -> str:
    ref = os.environ.get("GITHUB_REF", "")
    return ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else "main"


def policy_at(settings: Settings, repo: Repo, commit: str) -> Settings:
    """The approval policy as committed at `commit`; endpoints and state stay main's own. A
    commit with no config at all is judged by main's current policy, never by none."""
    if config_at(repo, commit) is None:
        return settings
    at = base_settings(settings, repo, commit).raw
    fields = {"approval": at.approval, "creator_approver": at.creator_approver, "role": at.role}
    return replace(settings, raw=settings.raw.model_copy(update=fields))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _start(run: Run, repo: Repo, pushed: str) -> str | None:
    """Where the walk starts, or None when there is nothing to do."""
    cursor = run.state.cursor()
    if cursor is None:
        parents = repo.parents(pushed)
        click.echo(
            f"No apply cursor yet: starting at the pushed commit {pushed[:12]} (what it changed "
            "is applied; to take an earlier commit as applied, `state set-applied COMMIT`)."
        )
        if not parents:
            run.state.set_cursor(pushed, run.by, "the first commit")
            return None
        return parents[0]
    if cursor.commit == pushed or repo.is_ancestor(pushed, cursor.commit):
        click.echo(
            f"Commit {pushed[:12]} is already applied (the cursor is at {cursor.commit[:12]}): "
            "nothing to do. Re-running an older apply never rolls campaigns back."
        )
        return None
    if not repo.is_ancestor(cursor.commit, pushed):
        raise PlanRefused(
            Refusal.HISTORY_REWRITTEN,
            f"the apply cursor {cursor.commit[:12]} is not an ancestor of {pushed[:12]}: the "
            "branch was rewritten (a force-push?). Nothing was applied. Check what the rewrite "
            "changed, then record the commit to take as applied with "
            "`campaign-gitops state set-applied COMMIT`.",
        )
    return cursor.commit


def apply_merged(run: Run) -> int:
    repo = Repo(run.settings.root)
    pushed = repo.resolve("HEAD").sha
    since = _start(run, repo, pushed)
    if since is None:
        return 0
    with GitHub(context()) as github:
        steps = Mainline(repo, github, branch_name()).steps(since, pushed)
        for step in steps:
            if not _apply_step(run, repo, github, step):
                return 1
    return 0


def _advance(run: Run, step: Step, outcome: str, detail: str = "") -> None:
    number = int(step.pull["number"]) if step.pull else None
    for sha in step.commits:
        run.state.record_commit(sha, number, outcome, _now(), run.by, detail)
    run.state.set_cursor(step.end, run.by, step.title)


def _refuse(run: Run, step: Step, why: str) -> bool:
    for sha in step.commits:
        number = int(step.pull["number"]) if step.pull else None
        run.state.record_commit(sha, number, "refused", _now(), run.by, why)
    click.echo(
        f"error: {step.title}: {why}\nNothing from this commit on was applied. Revert it in a "
        f"pull request, or record it as applied: `campaign-gitops state set-applied {step.end}`.",
        err=True,
    )
    return False


def _apply_step(run: Run, repo: Repo, github: GitHub, step: Step) -> bool:
    judged = policy_at(run.settings, repo, step.before)
    # CODEOWNERS too is the commit's before the pull request: its own edit never counts
    codeowners = owners.load(judged, step.before)
    for problem in codeowners.problems if codeowners else []:
        click.echo(f"warning: {problem}", err=True)
    with Workspace(judged, step.end, shared_state=run.state, codeowners=codeowners) as workspace:
        only = workspace.changed_since(step.before)
        plan = workspace.plan(replace(run.request, only=only))
        if not plan.has_changes and not plan.blocked:
            click.echo(printable(f"{step.title}: no changes to apply."))
            _advance(run, step, "no-op")
            return True
        click.echo("\n" + printable(f"== {step.title}"))
        run.show(plan)
        try:
            at_apply.refuse_blocked(plan)
            approval = at_apply.review(github, judged, step, plan)
            if approval is not None:
                click.echo(approval.explain())
            approved = at_apply.decide(
                judged,
                plan,
                approval,
                lambda approved: at_apply.moved_since_review(
                    run.state, run.request, judged, step, approved, plan, workspace.backend
                ),
            )
        except PlanRefused as refused:
            return _refuse(run, step, str(refused))
        if approved.as_creator:
            click.echo(
                "Not approved: the platform's creator-approver workflow sends these "
                "changes for approval (pending approval) instead of publishing them."
            )
        commit = repo.resolve(step.end)
        applier = Applier(
            workspace.backend,
            run.state,
            workspace.actor,
            run.request.at,
            commit=step.end,
            author=commit.author,
            pull_request=int(step.pull["number"]) if step.pull else None,
            merged_by=str((step.pull or {}).get("merged_by", {}).get("login") or "") or None,
            approvers=approved.approvers,
            applied_by=run.audit.applied_by if run.audit else None,
            dirty=run.audit.dirty if run.audit else None,
            continue_on_error=run.continue_on_error,
            as_creator=approved.as_creator,
        )
        result = run.run_applier(applier, plan)
        if not result.ok:
            return _refuse(run, step, "the apply did not complete (see the errors above)")
        _advance(run, step, "applied")
        return True


def set_applied(settings: Settings, commit: str, by: str | None, note: str) -> int:
    """An operator's word that `commit` of main is applied (or is to be skipped): recorded
    with who said it, and the apply cursor moves there."""
    repo = Repo(settings.root)
    sha = repo.resolve(commit).sha
    if not repo.on_first_parent(sha, "HEAD"):
        raise FatalError(
            f"{commit} ({sha[:12]}) is not a commit of the checked-out branch's own history "
            "(its first-parent line): the apply cursor only moves along main"
        )
    who = by or repo.user() or "unknown"
    with Workspace(settings) as workspace:
        state = workspace.state
        state.record_commit(sha, None, "set-applied", _now(), who, note)
        state.set_cursor(sha, who, note or "state set-applied")
    click.echo(f"Recorded {sha[:12]} as applied, by {who}; the next apply on main starts after it.")
    return 0
