"""What a plan's changes do to the account's users, beyond each campaign: the global-limits
forecast of each change that adds sends, and the blast radius of the whole plan against
`[safety]`. Both land in `plan.limits` (data: JSON, saved plans, renderings read it); a
forecast over a limit with `on_exceed = "block"` blocks its change."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from campaign_gitops.errors import FatalError
from campaign_gitops.limits.config import GlobalLimits, Safety
from campaign_gitops.plan import BLOCKED, Change, Create, Plan, Publish, Replace, Update

if TYPE_CHECKING:
    from campaign_gitops.backends.base import Backend
    from campaign_gitops.desired.loader import Desired
    from campaign_gitops.limits.forecast import Sender
    from campaign_gitops.limits.world import Profiles
    from campaign_gitops.models import CampaignBase

log = logging.getLogger(__name__)
NOT_REFRESHED = "the plan is not refreshed: the platform's profiles were not read"
REMEDY = (
    "narrow its audience or move its schedule away from the campaigns it collides with; set "
    "`when.preferences.ignore_global_limits: true` if it must reach them anyway; or raise the "
    'limit in [global_limits] (on_exceed = "warn" only warns)'
)


@dataclass(frozen=True)
class Context:
    limits: GlobalLimits
    safety: Safety
    backend: Backend
    desired: Desired
    managed: frozenset[str]  # the plan's ids the state store manages
    managed_count: int | None  # how many it manages in all (for max_changed_percent)
    at: datetime
    force: bool = False
    estimate: Callable[[dict[str, Any]], int | None] | None = None  # another backend's reach


def _spec(ctx: Context, key: str) -> CampaignBase | None:
    doc = ctx.desired.campaigns.get(key)
    return doc.spec if doc is not None else None


def reaches(change: Change, spec: CampaignBase | None) -> bool:
    """The change sends a campaign to its audience: a publish, or an edit of one that runs."""
    if not change.applicable or spec is None:
        return False
    if isinstance(change, Create | Replace):
        return change.publish
    if isinstance(change, Update):
        return spec.state == "active" and not spec.archived
    return isinstance(change, Publish)


def adds_sends(change: Change, spec: CampaignBase | None) -> bool:
    """A publish, or an edit of a running campaign's audience or schedule."""
    if isinstance(change, Update):
        return reaches(change, spec) and bool({"who", "when"} & change.sections)
    return reaches(change, spec)


def review(plan: Plan, ctx: Context) -> None:
    from campaign_gitops.backends.local import LocalBackend

    if plan.refresh_only:
        return
    profiles = None
    sending = any(reaches(c, _spec(ctx, c.key)) for c in plan.changes)
    if sending and isinstance(ctx.backend, LocalBackend):  # numpy only for a plan that sends
        from campaign_gitops.limits.world import Profiles

        try:
            profiles = Profiles.of(ctx.backend, ctx.at)
        except FatalError as exc:  # advice, like an estimate: the plan goes on and says why
            log.warning("global limits and blast radius not known: %s", exc)
            plan.notices.append(f"the forecast and the blast radius are not known: {exc}")
    if ctx.limits.active:
        _forecast(plan, ctx, profiles)
    blast = _blast(plan, ctx, profiles)
    if blast:
        plan.limits["blast"] = blast


def _forecast(plan: Plan, ctx: Context, profiles: Profiles | None) -> None:
    keys = [c.key for c in plan.changes if adds_sends(c, _spec(ctx, c.key))]
    if not keys:
        return
    days = ctx.limits.forecast_days
    if profiles is None:
        plan.limits["forecast"] = {"available": False, "why": _why_not(ctx), "changes": {}}
        return
    from campaign_gitops.limits.forecast import Forecast

    sample = profiles.sample()
    senders = _world(plan, ctx, sample)
    today = datetime.fromtimestamp((int(ctx.at.timestamp()) // 86_400) * 86_400, UTC)
    rules, dwell = ctx.limits.rules(), ctx.limits.dwell_time
    ahead = Forecast(list(senders.values()), rules, dwell, today, days)
    found: dict[str, list[dict[str, Any]]] = {}
    for key in keys:
        pushed = ahead.of(key) if key in senders else []
        if pushed:
            found[key] = [p.scaled(sample.every).data() for p in pushed]
    plan.limits["forecast"] = {"available": True, "days": days, "changes": found}
    if sample.every > 1:
        plan.limits["forecast"]["sample"] = sample.every
    if ctx.limits.on_exceed == "block":
        plan.changes = [_blocked(c, found[c.key], ctx) if c.key in found and c.applicable
                        and adds_sends(c, _spec(ctx, c.key)) else c
                        for c in plan.changes]  # fmt: skip


def _why_not(ctx: Context) -> str:
    from campaign_gitops.backends.snapshot import StateSnapshot

    if isinstance(ctx.backend, StateSnapshot):
        return NOT_REFRESHED
    return (
        f"the {ctx.backend.name} backend cannot tell: its API gives no user's messages to "
        "forecast global limits from"
    )


def _unknown_reach(ctx: Context) -> str:
    from campaign_gitops.backends.snapshot import StateSnapshot

    if isinstance(ctx.backend, StateSnapshot):
        return NOT_REFRESHED
    return f"the {ctx.backend.name} backend cannot tell without estimates: plan --estimate"


def _blocked(change: Change, pushed: list[dict[str, Any]], ctx: Context) -> Change:
    spec = _spec(ctx, change.key)
    if spec is not None and spec.when.preferences.ignore_global_limits:
        return change  # exempt by its own choice; the forecast still shows whom it pushes
    first = pushed[0]
    users = sum(p["users"] for p in pushed)
    reason = (
        f"the forecast pushes {users:,} user(s) past the global limits (first on "
        f"{first['day']}: {first['users']:,} past {first['limit']}); "
        'global_limits.on_exceed = "block"'
    )
    return replace(change, verdict=BLOCKED, reason=reason, remedy=REMEDY, rule="global-limits")


def _world(plan: Plan, ctx: Context, profiles: Profiles) -> dict[str, Sender]:
    """Every campaign as it would send after the apply, over the forecast's days."""
    from campaign_gitops.backends.local import LocalBackend
    from campaign_gitops.lifecycle import Schedule
    from campaign_gitops.limits.forecast import Sender
    from campaign_gitops.limits.world import live_senders, published_at, runs_between

    assert isinstance(ctx.backend, LocalBackend)
    start = ctx.at
    end = ctx.at + timedelta(days=ctx.limits.forecast_days + 1)
    rules = ctx.limits.rules()
    every = ctx.limits.dwell is not None or any(r.scope == "all" for r in rules)
    senders = live_senders(ctx.backend, profiles, start, end, None if every else
                           {r.scope for r in rules})  # fmt: skip
    for change in plan.changes:
        if not change.applicable or change.TARGET != "campaign":
            continue
        spec = _spec(ctx, change.key)
        if isinstance(change, Update | Replace | Create | Publish) and reaches(change, spec):
            assert spec is not None
            since = published_at(ctx.backend, change.key) if isinstance(change, Update) else None
            runs = runs_between(Schedule.from_when(spec.when), since or ctx.at, start, end)
            senders[change.key] = Sender(change.key, spec.channel, runs, profiles.mask(spec))
        elif change.KIND in ("stop", "archive", "replace"):
            senders.pop(change.key, None)
    return senders


def _blast(plan: Plan, ctx: Context, profiles: Profiles | None) -> dict[str, Any]:
    """Users the plan's changes reach together and by the largest; the share of managed
    campaigns it changes; and which `[safety]` threshold it is over."""
    sending = [c for c in plan.changes if reaches(c, _spec(ctx, c.key))]
    changed = {c.key for c in plan.changes if c.applicable and c.TARGET == "campaign"
               and c.key in ctx.managed and c.KIND not in ("adopt", "create")}  # fmt: skip
    out: dict[str, Any] = {"reach": None, "exact": True, "largest": None}
    if profiles is not None:
        import numpy as np

        together = np.zeros(profiles.size, dtype=bool)
        sizes: dict[str, int] = {}
        for change in sending:
            spec = _spec(ctx, change.key)
            assert spec is not None
            if not profiles.size:  # no profiles: nobody to reach, and no mask to make
                sizes[change.key] = 0
                continue
            mask = profiles.mask(spec)
            if len(mask):
                together |= mask
            sizes[change.key] = int(mask.sum())
        out["reach"] = int(together.sum())
    else:
        sizes = {c.key: n for c in sending if (n := _estimate(c, plan, ctx)) is not None}
        if len(sizes) == len(sending):
            out["reach"], out["exact"] = sum(sizes.values()), len(sizes) <= 1
        else:
            out["why"] = _unknown_reach(ctx)
    if sizes:
        key = max(sorted(sizes), key=lambda k: sizes[k])
        out["largest"] = {"key": key, "reach": sizes[key]}
    managed = ctx.managed_count if ctx.managed_count is not None else len(ctx.managed)
    out |= {"changed": len(changed), "managed": managed}
    out["changed_percent"] = round(100 * len(changed) / managed, 1) if managed else 0.0
    out["over"] = _over(out, ctx.safety)
    out["forced"] = ctx.force and bool(out["over"])
    if not sending and not changed and not out["over"]:
        return {}
    return out


def _estimate(change: Change, plan: Plan, ctx: Context) -> int | None:
    if change.reach is not None:
        return change.reach
    spec = plan.specs.get(change.key)
    if ctx.safety.max_reach is None or ctx.estimate is None or spec is None:
        return None
    return ctx.estimate(spec)


def _over(blast: dict[str, Any], safety: Safety) -> list[str]:
    over = []
    reach = blast["reach"]
    if safety.max_reach is not None and reach is not None and reach > safety.max_reach:
        over.append(
            f"the changes reach {reach:,} users together, more than safety.max_reach "
            f"({safety.max_reach:,})"
        )
    limit = safety.max_changed_percent
    counted = limit is not None and blast["managed"] >= safety.min_managed
    if counted and blast["changed_percent"] > (limit or 0):
        over.append(
            f"the plan changes {blast['changed']} of {blast['managed']} managed campaigns "
            f"({blast['changed_percent']}%), more than safety.max_changed_percent ({limit}%)"
        )
    return over
