"""The approval policy: which planned changes need a reviewer's approval, and why."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from campaign_gitops.approval.owners import Owned
from campaign_gitops.backends.base import LiveCampaign
from campaign_gitops.config import ApprovalPolicy
from campaign_gitops.plan import Archive, Change, Create, Plan, Publish, Replace, Stop, Update
from campaign_gitops.rules import LIVE

Estimate = Callable[[dict[str, Any]], int | None]


def _safety_limit(spec: dict[str, Any] | None) -> Any:
    cap = ((spec or {}).get("who") or {}).get("targeting_cap") or {}
    return cap.get("safety_limit")


def new_audience(change: Change) -> bool:
    """A create, a replace or an update of `who`: the changes whose reach is estimated."""
    return isinstance(change, Create | Replace) or (
        isinstance(change, Update) and "who" in change.sections
    )


def reasons(
    change: Change,
    policy: ApprovalPolicy,
    live: LiveCampaign | None,
    spec: dict[str, Any] | None,
    estimate: Estimate | None,
) -> list[str]:
    wanted = set(policy.required_for)
    out: list[str] = []
    publishes = (isinstance(change, Create | Replace) and change.publish) or isinstance(
        change, Publish
    )
    if "new_campaign" in wanted and publishes:
        out.append("publishes a new campaign")
    touches_live = isinstance(change, Update | Replace | Stop | Archive | Publish)
    if "live_change" in wanted and touches_live and live is not None and live.status in LIVE:
        status = live.status.replace("_", " ")
        out.append(f"changes {'an' if status[:1] in 'aeiou' else 'a'} {status} campaign")
    channel = (spec or {}).get("channel") or (live.channel if live else None)
    sends = isinstance(change, Create | Replace | Update | Publish)
    if "channels" in wanted and sends and channel in policy.channels:
        out.append(f"sends on {channel}")
    if "reach" in wanted and new_audience(change) and spec is not None and estimate is not None:
        reach = estimate(spec)
        if reach is None:
            out.append("its reach could not be estimated")
        elif reach > policy.reach_above:
            out.append(f"reaches an estimated {reach:,} users (above {policy.reach_above:,})")
    if (
        "safety_limit_removed" in wanted
        and isinstance(change, Update | Replace)
        and live is not None
        and _safety_limit(live.spec) is not None
        and _safety_limit(spec) is None
    ):
        out.append("removes the targeting safety limit")
    return out


def annotate(
    plan: Plan,
    policy: ApprovalPolicy,
    live: dict[str, LiveCampaign],
    estimate: Estimate | None = None,
    owned: Owned | None = None,
) -> None:
    """Set each change's `review` reasons; blocked changes need none (they never apply).
    With `owned` (approval.codeowners), the owners of each such change's files must approve
    it too (`plan.owners`); a change whose files have no owner needs only `approvers`. With
    neither approvers nor owners there is nobody to ask: the change needs no approval."""
    plan.approvers = list(policy.approvers)
    if not policy.approvers and owned is None:
        return
    changes: list[Change] = []
    for c in plan.changes:
        why = (
            reasons(c, policy, live.get(c.key), plan.specs.get(c.key), estimate)
            if c.applicable and c.TARGET == "campaign"
            else []
        )
        files = {p: o for p, o in owned(c.key).items() if o} if why and owned else {}
        if why and (policy.approvers or files):
            c = replace(c, review=tuple(why))
            if files:
                plan.owners[c.key] = {p: list(o) for p, o in files.items()}
        changes.append(c)
    plan.changes = changes


def with_reach(change: Change, spec: dict[str, Any] | None, estimate: Estimate) -> Change:
    """`plan --estimate`: the estimated reach of each new audience (a create, a replace, an
    update of `who`); other changes spend no estimate."""
    if not change.applicable or not new_audience(change) or spec is None:
        return change
    return replace(change, reach=estimate(spec))
