from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from campaign_gitops import audit
from campaign_gitops.apply import Applier, Interrupted, Result, interrupted
from campaign_gitops.apply_locks import ApplyLocks, covered, finish_interrupted, renames_pending
from campaign_gitops.approval.gate import Run, apply_merged
from campaign_gitops.commands.plan import show
from campaign_gitops.config import Settings
from campaign_gitops.errors import FatalError
from campaign_gitops.github import in_actions
from campaign_gitops.plan import FORMAT_VERSION, Change, Plan, file_hash, stale_items
from campaign_gitops.state.base import LockInfo
from campaign_gitops.workspace import PlanRequest, Workspace


def load_saved(path: Path) -> Plan:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as exc:
        raise FatalError(f"{path}: not a plan file ({exc})") from exc
    version = data.get("format_version") if isinstance(data, dict) else None
    if version == 1:
        raise FatalError(
            f"{path}: a plan of format_version 1 (an older campaign-gitops) cannot be applied: "
            "it names no account and nothing protects its checksums. Plan again."
        )
    if version != FORMAT_VERSION:
        raise FatalError(
            f"{path}: plan format_version {version!r}; this version reads {FORMAT_VERSION}"
        )
    try:
        plan = Plan.from_data(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise FatalError(f"{path}: a damaged plan file ({exc})") from exc
    if data.get("hash") != file_hash(data):
        raise FatalError(
            f"{path}: the plan's content does not match its hash: the file was edited after "
            "it was made. Plan again."
        )
    return plan


def check_saved(saved: Plan, fresh: Plan) -> None:
    """A saved plan applies only where it was made and while it still holds, exactly."""
    if not saved.refreshed:
        raise FatalError(
            "the saved plan was made with --no-refresh (live values from the state store); "
            "it cannot be applied. Plan again with a refresh."
        )
    if saved.env != fresh.env:
        raise FatalError(f"the plan is for environment {saved.env!r}, not {fresh.env!r}")
    if (saved.backend, saved.account, saved.endpoint) != (
        fresh.backend, fresh.account, fresh.endpoint,
    ):  # fmt: skip
        raise FatalError(
            f"the plan was made for {saved.backend} account {saved.account or '-'} at "
            f"{saved.endpoint}, not {fresh.backend} account {fresh.account or '-'} at "
            f"{fresh.endpoint}; nothing was applied"
        )
    stale = stale_items(saved, fresh)
    if not stale and saved.content_hash() != fresh.content_hash():
        stale = ["the changes differ from the saved plan's (see the new plan)"]
    if stale:
        items = "\n".join(f"  - {item}" for item in stale)
        raise FatalError(f"the saved plan is stale; nothing was applied:\n{items}\nPlan again.")


def _confirm(plan: Plan) -> None:
    if not sys.stdin.isatty():
        raise FatalError("apply asks for confirmation on a terminal; pass --auto-approve in CI")
    count = len(plan.applicable)
    if not click.confirm(f"Apply these {count} change(s)?", default=False):
        raise FatalError("apply cancelled; nothing was changed")


def _progress(total: int) -> tuple[AbstractContextManager[Any], Any]:
    if sys.stderr.isatty():
        bar = click.progressbar(length=total, label="applying", file=sys.stderr)
        return bar, lambda change, status: bar.update(1)

    def line(change: Change, status: str) -> None:
        click.echo(f"  {change.SYMBOL:>3} {change.title}: {status}")

    return nullcontext(), line


def _report(result: Result, resumed: bool, plan: Plan) -> int:
    from campaign_gitops import ci
    from campaign_gitops.views import render

    errors = [f"error: {change.title} failed: {error}" for change, error in result.failed]
    if result.not_applied:
        errors += ["Not applied:", *(f"  {change.title}" for change in result.not_applied)]
    for line in errors:
        click.echo(line, err=True)
    done = f"{len(result.applied)} applied"
    rest = f"{len(result.failed)} failed, {len(result.not_applied)} not applied"
    head = "Apply complete" if result.ok else "Apply incomplete"
    tail = " (resumed an interrupted apply)" if resumed else ""
    outcome = f"{head}: {done}, {rest} (apply {result.apply_id}){tail}."
    click.echo(outcome)
    # The run's summary page: the plan and the outcome as one code block that no line of
    # campaign data can close (the workflow no longer wraps the log itself).
    report = [render.text(plan, colour=False), "", *errors, outcome]
    ci.step_summary("campaign-gitops apply", "\n".join(report))
    return 0 if result.ok else 1


def apply(
    settings: Settings,
    request: PlanRequest,
    plan_file: Path | None,
    *,
    auto_approve: bool,
    continue_on_error: bool,
    lock_timeout: float,
    merged: bool = False,
    targets: Sequence[str] = (),
) -> int:
    """`merged` (the default in GitHub Actions): main's merged pull requests since the apply
    cursor, each under its own approval (gate.py); otherwise the work tree, as an operator at
    a terminal is trusted like the dashboard."""
    merged = merged or in_actions()
    saved = load_saved(plan_file) if plan_file is not None else None
    if merged and saved is not None:
        raise FatalError("a saved plan cannot be applied where merged pull requests are")
    if saved is not None and saved.targets:
        targets = saved.targets  # the fresh plan that checks it is as partial as it was
    if targets and merged:
        raise FatalError("--target (or a partial saved plan) cannot apply merged pull requests")
    trail = audit.take(settings, merged)  # in CI, files not as committed are refused here
    workspace = Workspace(settings)
    try:
        if targets:
            request = replace(request, only=workspace.target(targets))
        workspace.desired  # noqa: B018 - invalid files fail before the lock is taken
        lock = LockInfo.mine(workspace.holder)
        with ApplyLocks(workspace.state, lock, lock_timeout) as locks:
            return _apply_locked(
                workspace, locks, request, saved, auto_approve, continue_on_error, merged, trail
            )
    finally:
        workspace.close()


def _resuming(prior: Interrupted | None) -> None:
    if prior is not None:
        doing = f"; in progress: {', '.join(prior.in_progress)}" if prior.in_progress else ""
        click.echo(
            f"Resuming after apply {prior.apply_id} was interrupted "
            f"({len(prior.done)} step(s) done{doing}). The plan below starts from what it did."
        )


def _apply_locked(
    workspace: Workspace,
    locks: ApplyLocks,
    request: PlanRequest,
    saved: Plan | None,
    auto_approve: bool,
    continue_on_error: bool,
    merged: bool,
    trail: audit.Audit,
) -> int:
    """Under the locks of what the plan changes (apply_locks.py); main's merged pull requests
    under the whole store's."""
    if merged:
        locks.whole()
        prior = interrupted(workspace.state)
        _resuming(prior)
        code = apply_merged(
            Run(
                workspace.settings,
                request,
                workspace.state,
                workspace.holder,
                continue_on_error,
                lambda plan: show(plan, "text"),
                _execute,
                trail,
            )
        )
        finish_interrupted(workspace.state, None)
        return code
    # a rename the platform made but a killed apply did not record is finished in the state
    renamed = {label.name: label.renamed_from for label in workspace.desired.labels
               if label.renamed_from}  # fmt: skip
    fresh = locks.plan(
        lambda: workspace.plan(request),
        saved,
        lambda: renames_pending(renamed.values(), workspace.state.managed()),
    )
    within = covered(fresh, partial=request.only is not None or workspace.selection is not None)
    prior = interrupted(workspace.state, within)
    _resuming(prior)
    if saved is not None:
        check_saved(saved, fresh)
    if fresh.blocked:
        show(fresh, "text")
        raise FatalError(
            f"{len(fresh.blocked)} change(s) are blocked by the platform's rules; nothing was "
            "applied. Fix them (see each remedy) and plan again."
        )
    if not fresh.has_changes:
        # a label the platform made but the killed apply never recorded becomes managed
        Applier(
            workspace.backend, workspace.state, workspace.actor, request.at, renamed=renamed
        ).settle_labels(fresh.labels)
        finish_interrupted(workspace.state, within)
        click.echo("No changes. The platform matches the files.")
        return 0
    if saved is None:
        show(fresh, "text")
        if not auto_approve:
            _confirm(fresh)
    head = workspace.head
    applier = Applier(
        workspace.backend,
        workspace.state,
        workspace.actor,
        request.at,
        commit=fresh.commit,
        author=head.author if head else None,
        applied_by=trail.applied_by,
        dirty=trail.dirty,
        continue_on_error=continue_on_error,
        renamed=renamed,
    )
    bar, on_step = _progress(len(fresh.applicable))
    with bar:
        result = applier.run(fresh, on_step)
    finish_interrupted(workspace.state, within)
    return _report(result, prior is not None, fresh)


def _execute(applier: Applier, plan: Plan) -> Result:
    bar, on_step = _progress(len(plan.applicable))
    with bar:
        result = applier.run(plan, on_step)
    _report(result, False, plan)
    return result
