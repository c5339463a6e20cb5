from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext, redirect_stdout
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, TextIO

import click

from campaign_gitops import redact
from campaign_gitops.applying import audit
from campaign_gitops.applying.applier import Applier, Interrupted, Result, interrupted
from campaign_gitops.applying.locks import ApplyLocks, covered, finish_interrupted, renames_pending
from campaign_gitops.approval.gate import Run, apply_merged
from campaign_gitops.commands.plan import show
from campaign_gitops.config import Settings
from campaign_gitops.errors import FatalError
from campaign_gitops.github import in_actions
from campaign_gitops.models.common import printable
from campaign_gitops.plan import BLOCKED, MANUAL, Change, Plan
from campaign_gitops.refusals import PlanRefused, refuse_blocked
from campaign_gitops.saved_plans import check_saved, load_saved
from campaign_gitops.state.base import LockInfo
from campaign_gitops.workspace import PlanRequest, Workspace

RESULTS_FORMAT_VERSION = 1  # of `apply --format json`'s document


@dataclass
class Output:
    """How apply reports. text: the plan, each step, the outcome; quiet: the outcome and the
    failures only; json: one document on stdout, `{format_version, ok, results}` with one
    result per change and, when the plan was refused, `refused` ({kind, message, items});
    everything else on stderr."""

    fmt: str = "text"
    quiet: bool = False
    results: list[dict[str, Any]] = field(default_factory=list)
    ok: bool = True
    refused: dict[str, Any] | None = None  # why the plan was not applied (a PlanRefused)

    def show(self, plan: Plan) -> None:
        """The plan before it is applied (quiet: not shown)."""
        if not self.quiet:
            show(plan, "text")

    def record(self, plan: Plan, result: Result | None) -> None:
        """One result per change of `plan`: applied, failed (with the error), not_applied
        (after a failure), manual (the dashboard's to do) or blocked."""
        status: dict[int, str] = {}  # by id(change): the result holds the plan's own changes
        errors: dict[int, str] = {}
        if result is not None:
            status = {id(c): "applied" for c in result.applied}
            errors = {id(c): error for c, error in result.failed}
            status |= {key: "failed" for key in errors}
        self.ok = self.ok and result is not None and result.ok
        for change in [] if plan.refresh_only else plan.changes:
            verdict = {BLOCKED: "blocked", MANUAL: "manual"}.get(change.verdict)
            self.results.append(
                {
                    "apply_id": result.apply_id if result is not None else None,
                    "target": change.TARGET,
                    "kind": change.KIND,
                    "key": change.key,
                    "title": change.title,
                    "status": verdict or status.get(id(change), "not_applied"),
                    "error": errors.get(id(change)),
                    "reason": change.reason or None,
                }
            )

    def document(self) -> str:
        data = {
            "format_version": RESULTS_FORMAT_VERSION,
            "ok": self.ok,
            "results": self.results,
            "refused": self.refused,
        }
        return json.dumps(data, indent=2, ensure_ascii=False, default=str)


def _confirm(plan: Plan) -> None:
    if not sys.stdin.isatty():
        raise FatalError("apply asks for confirmation on a terminal; pass --auto-approve in CI")
    count = len(plan.applicable)
    if not click.confirm(f"Apply these {count} change(s)?", default=False):
        raise FatalError("apply cancelled; nothing was changed")


def _progress(total: int, out: Output) -> tuple[AbstractContextManager[Any], Any]:
    if out.quiet:
        return nullcontext(), None
    if sys.stderr.isatty():
        bar = click.progressbar(length=total, label="applying", file=sys.stderr)
        return bar, lambda change, status: bar.update(1)

    def line(change: Change, status: str) -> None:
        click.echo(printable(f"  {change.SYMBOL:>3} {change.title}: {status}"))

    return nullcontext(), line


def _report(result: Result, resumed: bool, plan: Plan, out: Output) -> int:
    from campaign_gitops import ci
    from campaign_gitops.views import render

    out.record(plan, result)
    errors = [
        printable(f"error: {change.title} failed: {error}") for change, error in result.failed
    ]
    if result.not_applied:
        errors += ["Not applied:", *(printable(f"  {c.title}") for c in result.not_applied)]
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
    quiet: bool = False,
    fmt: str = "text",
) -> int:
    """`merged` (the default in GitHub Actions): main's merged pull requests since the apply
    cursor, each under its own approval (gate.py); otherwise the work tree, as an operator at
    a terminal is trusted like the dashboard. `quiet`, `fmt`: see Output."""
    out = Output(fmt, quiet)
    if fmt != "json":
        return _apply(settings, request, plan_file, auto_approve, continue_on_error,
                      lock_timeout, merged, targets, out)  # fmt: skip
    stdout: TextIO = sys.stdout
    try:
        with redirect_stdout(sys.stderr):  # stdout holds the document alone
            code = _apply(settings, request, plan_file, auto_approve, continue_on_error,
                          lock_timeout, merged, targets, out)  # fmt: skip
    except FatalError as exc:
        out.ok = False
        if isinstance(exc, PlanRefused):  # redacted as the error line on stderr is
            out.refused = {
                "kind": exc.kind.value,
                "message": redact.text(str(exc)),
                "items": [redact.text(item) for item in exc.items],
            }
        if out.results or out.refused:  # what was decided before the error, and why
            click.echo(out.document(), file=stdout)
        raise
    out.ok = out.ok and code == 0
    click.echo(out.document(), file=stdout)
    return code


def _apply(
    settings: Settings,
    request: PlanRequest,
    plan_file: Path | None,
    auto_approve: bool,
    continue_on_error: bool,
    lock_timeout: float,
    merged: bool,
    targets: Sequence[str],
    out: Output,
) -> int:
    merged = merged or in_actions()
    saved = load_saved(plan_file) if plan_file is not None else None
    if merged and saved is not None:
        raise FatalError("a saved plan cannot be applied where merged pull requests are")
    if saved is not None and saved.targets:
        targets = saved.targets  # the fresh plan that checks it is as partial as it was
    if targets and merged:
        raise FatalError("--target (or a partial saved plan) cannot apply merged pull requests")
    trail = audit.take(settings, merged)  # in CI, files not as committed are refused here
    with Workspace(settings) as workspace:
        if targets:
            request = replace(request, only=workspace.target(targets))
        workspace.desired  # noqa: B018 - invalid files fail before the lock is taken
        lock = LockInfo.mine(workspace.holder)
        with ApplyLocks(workspace.state, lock, lock_timeout) as locks:
            return _apply_locked(
                workspace, locks, request, saved, auto_approve, continue_on_error, merged, trail,
                out,
            )  # fmt: skip


def _resuming(prior: Interrupted | None, out: Output) -> None:
    if prior is not None and not out.quiet:  # (quiet: the outcome line says "resumed")
        doing = f"; in progress: {', '.join(prior.in_progress)}" if prior.in_progress else ""
        click.echo(
            printable(
                f"Resuming after apply {prior.apply_id} was interrupted ({len(prior.done)} "
                f"step(s) done{doing}). The plan below starts from what it did."
            )
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
    out: Output,
) -> int:
    """Under the locks of what the plan changes (apply_locks.py); main's merged pull requests
    under the whole store's."""
    if merged:
        locks.whole()
        prior = interrupted(workspace.state)
        _resuming(prior, out)
        code = apply_merged(
            Run(
                workspace.settings,
                request,
                workspace.state,
                workspace.holder,
                continue_on_error,
                out.show,
                partial(_execute, out=out),
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
    _resuming(prior, out)
    if saved is not None:
        check_saved(saved, fresh)
    try:
        refuse_blocked(fresh)
    except PlanRefused as refused:
        out.show(fresh)
        out.record(fresh, None)
        for item in refused.items if out.quiet else ():
            click.echo(printable(f"  ! {item}"), err=True)
        raise
    if not fresh.has_changes:
        # a label the platform made but the killed apply never recorded becomes managed
        Applier(
            workspace.backend, workspace.state, workspace.actor, request.at, renamed=renamed
        ).settle_labels(fresh.labels)
        finish_interrupted(workspace.state, within)
        click.echo("No changes. The platform matches the files.")
        return 0
    if saved is None:
        out.show(fresh)
        if not auto_approve:
            if out.quiet:  # what the question is about, at least
                from campaign_gitops.views.render import summary_line

                click.echo(summary_line(fresh))
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
    bar, on_step = _progress(len(fresh.applicable), out)
    with bar:
        result = applier.run(fresh, on_step)
    finish_interrupted(workspace.state, within)
    return _report(result, prior is not None, fresh, out)


def _execute(applier: Applier, plan: Plan, out: Output) -> Result:
    bar, on_step = _progress(len(plan.applicable), out)
    with bar:
        result = applier.run(plan, on_step)
    _report(result, False, plan, out)
    return result
