"""Saved plans (`plan --out FILE`): reading one back, and whether it may still be applied. A
saved plan applies only where it was made and while it still holds, exactly (plan.stale_items
says what moved since); otherwise it is refused (refusals.PlanRefused) and nothing is applied."""

from __future__ import annotations

import json
from pathlib import Path

from campaign_gitops.errors import FatalError
from campaign_gitops.plan import FORMAT_VERSION, Plan, file_hash, stale_items
from campaign_gitops.refusals import PlanRefused, Refusal


def load_saved(path: Path) -> Plan:
    """The plan in `path`, or a FatalError: not a plan file, of another format version, or
    edited since it was made (its hash)."""
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
    """`saved` may be applied as `fresh` (the plan made now, under the apply's locks), or a
    PlanRefused says why not."""
    if not saved.refreshed:
        raise PlanRefused(
            Refusal.NOT_REFRESHED,
            "the saved plan was made with --no-refresh (live values from the state store); "
            "it cannot be applied. Plan again with a refresh.",
        )
    if saved.env != fresh.env:
        raise PlanRefused(
            Refusal.WRONG_ENVIRONMENT,
            f"the plan is for environment {saved.env!r}, not {fresh.env!r}",
            [f"environment {saved.env!r}, not {fresh.env!r}"],
        )
    if (saved.backend, saved.account, saved.endpoint) != (
        fresh.backend, fresh.account, fresh.endpoint,
    ):  # fmt: skip
        made, here = (f"{p.backend} account {p.account or '-'} at {p.endpoint}"
                      for p in (saved, fresh))  # fmt: skip
        raise PlanRefused(
            Refusal.WRONG_ENVIRONMENT,
            f"the plan was made for {made}, not {here}; nothing was applied",
            [f"{made}, not {here}"],
        )
    stale = stale_items(saved, fresh)
    if not stale and saved.content_hash() != fresh.content_hash():
        stale = ["the changes differ from the saved plan's (see the new plan)"]
    if stale:
        items = "\n".join(f"  - {item}" for item in stale)
        raise PlanRefused(
            Refusal.STALE,
            f"the saved plan is stale; nothing was applied:\n{items}\nPlan again.",
            stale,
        )
