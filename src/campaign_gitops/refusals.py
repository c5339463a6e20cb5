"""Why an apply refuses a plan, as data: a `PlanRefused` names its kind and its items (the stale
items of a saved plan, the blocked changes...), so a command only shows, confirms and reports,
and a caller (a test, `--format json`) can tell one refusal from another without reading the
message. The saved plan's refusals are decided in saved_plans.py, the approval's in
approval/at_apply.py and approval/gate.py; each is exit code 1 (cli/exits.py)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import TYPE_CHECKING

from campaign_gitops.errors import FatalError

if TYPE_CHECKING:
    from campaign_gitops.plan import Plan


class Refusal(StrEnum):
    # a plan: a saved one that no longer holds, or one with changes the platform forbids
    STALE = "stale"  # the saved plan no longer holds (items: what moved since)
    BLOCKED = "blocked"  # the platform's rules forbid a change (items: each, with its reason)
    WRONG_ENVIRONMENT = "wrong-environment"  # a saved plan of another env, account or endpoint
    NOT_REFRESHED = "not-refreshed"  # a saved plan made with --no-refresh
    UNSAFE = "unsafe"  # over a [safety] threshold (items: each), without --force
    # the approval (apply on main: apply exactly what was approved)
    APPROVAL_MISSING = "approval-missing"  # the pull request is not approved
    NO_PULL_REQUEST = "no-pull-request"  # no approved, merged pull request covers the commit
    CHANGED_SINCE_APPROVAL = "changed-since-approval"  # the plan is not the approved one
    REACH_GREW = "reach-grew"  # an approved audience grew beyond max_reach_growth
    HISTORY_REWRITTEN = "history-rewritten"  # the apply cursor is not an ancestor (force-push)


class PlanRefused(FatalError):
    """A plan that may not be applied: nothing was applied. `str()` is the whole message (with
    the items when the message lists them); `kind` and `items` are the same, as data."""

    def __init__(self, kind: Refusal, message: str, items: Iterable[str] = ()):
        self.kind = kind
        self.items = tuple(items)
        super().__init__(message)


def refuse_blocked(plan: Plan) -> None:
    """A plan with a blocked change applies nothing: none is half-applied; nor does one
    over a `[safety]` threshold without --force."""
    if not plan.blocked:
        refuse_unsafe(plan)
        return
    raise PlanRefused(
        Refusal.BLOCKED,
        f"{len(plan.blocked)} change(s) are blocked by the platform's rules; nothing was "
        "applied. Fix them (see each remedy) and plan again.",
        [f"{change.title}: {change.reason}" for change in plan.blocked],
    )


def refuse_unsafe(plan: Plan) -> None:
    """A plan over a `[safety]` threshold applies nothing without --force (octodns's
    UnsafePlan)."""
    if plan.unsafe:
        raise PlanRefused(
            Refusal.UNSAFE,
            f"the plan is over the [safety] thresholds ({'; '.join(plan.unsafe)}); nothing was "
            "applied. Review it, then apply with --force to go ahead anyway.",
            plan.unsafe,
        )
