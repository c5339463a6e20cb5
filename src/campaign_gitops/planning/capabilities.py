"""What a backend's API cannot do (a channel, drafts, archive, labels, a field it cannot
express) is planned as a manual change with a remedy: said in the plan, never a late failure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from campaign_gitops.backends.base import Capabilities
from campaign_gitops.plan import MANUAL, Archive, Change, Create, Move, Publish, Replace, Withdraw
from campaign_gitops.planning.moves import without_rename


def within_api(
    change: Change,
    caps: Capabilities,
    unsupported: Callable[[dict[str, Any]], list[str]] | None,
    spec: dict[str, Any] | None,
) -> Change:
    """A change the backend cannot make becomes manual: said in the plan, never a late failure.
    `unsupported` names what the backend's API cannot express of a spec."""
    why: list[str] = []
    remedy = "make it in the dashboard"
    if change.TARGET == "label" and not caps.labels:
        why.append("the platform's API cannot manage labels")
    elif isinstance(change, Create | Replace) and spec is not None:
        if spec.get("channel") not in caps.channels:
            why.append(f"the platform's API cannot create {spec.get('channel')} campaigns")
        if not change.publish and not caps.drafts:
            why.append("the platform's API cannot create drafts")
        why += unsupported(spec) if unsupported else []
        remedy = (
            f'create it in the dashboard named "{spec.get("name")} [{change.key}]", then '
            "acknowledge it with the id the dashboard gives it"
        )
        if not why and spec.get("labels") and not caps.labels:
            labels = ", ".join(spec["labels"])
            note = f"labels ({labels}) are not sent: the API has none; set them in the dashboard"
            return replace(change, reason="; ".join(filter(None, (change.reason, note))))
    elif isinstance(change, Publish) and not caps.drafts:
        why.append("the platform's API cannot publish a draft")
    elif isinstance(change, Withdraw) and not caps.drafts:
        why.append("the platform's API has no drafts to withdraw a campaign to")
    elif isinstance(change, Archive) and not caps.archive:
        why.append("the platform's API cannot archive a campaign")
    if isinstance(change, Move) and not caps.update:
        return without_rename(change)
    if not why:
        return change
    return replace(change, verdict=MANUAL, reason="; ".join(why), remedy=remedy, rule="api")


NO_LABELS_API = (
    "the platform's API has no labels: labels.yaml is not compared with the dashboard's labels "
    "(no label is created, renamed, updated or deleted, and their descriptions are not checked)"
)
