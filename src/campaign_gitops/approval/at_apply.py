"""Apply exactly what was approved: the judgement of one step of main (a merged pull request,
or a commit pushed without one) before it is applied, under the policy of the commit before it.
Whether the changes the policy names are approved on the pull request, the creator-approver
fallback when they are not, and whether the plan about to be applied is still the one the
approver saw. A step that may not be applied is a refusals.PlanRefused; gate.py walks the steps,
records each outcome and applies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from campaign_gitops.approval import owners
from campaign_gitops.approval.mainline import Step
from campaign_gitops.approval.policy import new_audience
from campaign_gitops.approval.reviews import Approval, check
from campaign_gitops.backends.base import Backend
from campaign_gitops.config import Settings
from campaign_gitops.errors import FatalError
from campaign_gitops.github import GitHub
from campaign_gitops.models import CAMPAIGN_ADAPTER
from campaign_gitops.plan import Plan
from campaign_gitops.refusals import PlanRefused, Refusal, refuse_unsafe
from campaign_gitops.state.base import StateStore
from campaign_gitops.workspace import PlanRequest, Workspace


@dataclass(frozen=True)
class Approved:
    """How a step's changes are applied: with these approvers recorded, and (the
    creator-approver fallback) these campaigns sent to the platform's approval as a creator
    instead of being published."""

    approvers: tuple[str, ...] = ()
    as_creator: frozenset[str] = frozenset()


def refuse_blocked(plan: Plan) -> None:
    if plan.blocked:
        raise PlanRefused(
            Refusal.BLOCKED,
            f"{len(plan.blocked)} change(s) are blocked by the rules",
            [f"{change.title}: {change.reason}" for change in plan.blocked],
        )
    refuse_unsafe(plan)  # a merged pull request's plan too is over [safety] only with --force


def review(github: GitHub, judged: Settings, step: Step, plan: Plan) -> Approval | None:
    """The pull request's approval of the changes the policy names (None: no change needs
    one). A step with such changes and no merged pull request is refused."""
    if not plan.reviews:
        return None
    if step.pull is None:
        titles = [change.title for change in plan.reviews]
        raise PlanRefused(
            Refusal.NO_PULL_REQUEST,
            f"no approved, merged pull request covers it, and it changes: {', '.join(titles)}",
            titles,
        )
    return check(
        github,
        int(step.pull["number"]),
        judged.raw.approval.approvers,
        plan.reviews,
        step.pull,
        owners=owners.required(plan),
    )


def decide(
    judged: Settings,
    plan: Plan,
    approval: Approval | None,
    moved: Callable[[Approval], PlanRefused | None] = lambda approval: None,
) -> Approved:
    """`moved(approval)`: why the plan is no longer the approved one (a PlanRefused), or None;
    asked only of an approved pull request. Not approved: refused, unless the platform's
    creator-approver workflow takes the changes to its own approval."""
    if approval is None:
        return Approved()
    if not approval.ok and not judged.raw.creator_approver:
        raise PlanRefused(Refusal.APPROVAL_MISSING, "not approved", approval.refused)
    approvers = tuple(approval.approved_by)
    if not approval.ok:
        return Approved(approvers, frozenset(c.key for c in plan.reviews))
    refused = moved(approval)
    if refused is not None:
        raise refused
    return Approved(approvers)


def _row(row: list[Any]) -> str:
    target, kind, key, verdict, reasons, sections, publish, spec = row
    what = f" [{', '.join(sections)}]" if sections else ""
    what += " (published)" if publish else ""
    why = f"; approval: {'; '.join(reasons)}" if reasons else ""
    sends = f" (spec {spec})" if spec else ""
    return f"{kind} {target} {key}{what}: {verdict}{why}{sends}"


def _reach(backend: Backend, spec: dict[str, Any] | None, at: datetime) -> int | None:
    if spec is None:
        return None
    try:
        return backend.estimate_reach(CAMPAIGN_ADAPTER.validate_python(spec), at)
    except (FatalError, ValueError):
        return None


def reach_grew(
    backend: Backend, judged: Settings, then: Plan, now: Plan, then_at: datetime, now_at: datetime
) -> PlanRefused | None:
    """An approved audience that reaches many more people at apply time than when it was
    approved (a month of sign-ups, a widened saved segment) needs a new approval; so does one
    whose reach was known when approved and cannot be estimated now (fail closed: the platform
    answers again, or someone approves again). A reach unknown when approved was approved as
    unknown (the `reach` trigger asks for an approval then)."""
    if not backend.capabilities.estimate:
        return None
    factor = judged.raw.approval.max_reach_growth
    grown = []
    for change in now.reviews:
        if not new_audience(change):
            continue
        before = _reach(backend, then.specs.get(change.key), then_at)
        after = _reach(backend, now.specs.get(change.key), now_at)
        if before is None:
            continue
        if after is None:
            grown.append(f"{change.title}: reach ≈ {before:,} when approved, unknown now")
        elif after > before * factor:
            grown.append(f"{change.title}: reach ≈ {before:,} when approved, {after:,} now")
    if not grown:
        return None
    return PlanRefused(
        Refusal.REACH_GREW,
        f"the estimated reach grew beyond {factor}x since the approval, or cannot be estimated "
        "now; ask for a new approval (or apply again once the platform estimates it):\n"
        + "\n".join(f"  {line}" for line in grown),
        grown,
    )


def moved_since_review(
    state: StateStore,
    request: PlanRequest,
    judged: Settings,
    step: Step,
    approval: Approval,
    plan: Plan,
    backend: Backend,
) -> PlanRefused | None:
    """The plan the approver saw, made again: the reviewed head against the state store (which
    holds main as it was before this pull request, since steps apply in order), as of the
    approval. Why it no longer matches the plan about to be applied, if it does not."""
    if not approval.reviewed_at:
        return None
    at = datetime.fromisoformat(approval.reviewed_at.replace("Z", "+00:00"))
    with Workspace(
        judged,
        approval.head,
        refresh=False,
        shared_state=state,
        codeowners=owners.load(judged, step.before),
    ) as workspace:
        only = workspace.changed_since(step.before)
        then = workspace.plan(replace(request, at=at, only=only))
    if then.review_digest() == plan.review_digest():
        return reach_grew(backend, judged, then, plan, at, request.at)
    before = {_row(r) for r in then.reviewed()}
    after = {_row(r) for r in plan.reviewed()}
    lines = [f"approved: {r}" for r in sorted(before - after)]
    lines += [f"now:      {r}" for r in sorted(after - before)]
    return PlanRefused(
        Refusal.CHANGED_SINCE_APPROVAL,
        f"the plan differs from the one approved at {approval.reviewed_at} (digest "
        f"{then.review_digest()}, now {plan.review_digest()}); ask for a new approval:\n"
        + "\n".join(f"  {line}" for line in lines),
        lines,
    )
