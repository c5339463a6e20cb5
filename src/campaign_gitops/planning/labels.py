"""The labels part of a plan: labels.yaml against the platform's labels and the state store's
managed ones. Creates, renames and updates come first (campaigns use them); deletes are planned
once the campaigns are, since a label any campaign keeps cannot be deleted."""

from __future__ import annotations

from collections.abc import Iterable

from campaign_gitops.backends.base import LiveCampaign
from campaign_gitops.desired.loader import Desired
from campaign_gitops.models import Label
from campaign_gitops.plan import (
    BLOCKED,
    Change,
    LabelCreate,
    LabelDelete,
    LabelRename,
    LabelUpdate,
)


def plan_labels(desired: Desired, live: Iterable[Label]) -> tuple[list[Change], dict[str, str]]:
    """The creates, renames and updates, and the renames (old name -> new) that campaigns'
    labels follow."""
    on_platform = {label.name: label.description for label in live}
    changes: list[Change] = []
    renames: dict[str, str] = {}
    for label in desired.labels:
        if label.name in on_platform:
            if on_platform[label.name] != label.description:
                changes.append(
                    LabelUpdate(label.name, before=on_platform[label.name], after=label.description)
                )
        elif label.renamed_from and label.renamed_from in on_platform:
            renames[label.renamed_from] = label.name
            changes.append(LabelRename(label.name, old=label.renamed_from))
            if on_platform[label.renamed_from] != label.description:
                changes.append(
                    LabelUpdate(
                        label.name, before=on_platform[label.renamed_from], after=label.description
                    )
                )
        else:
            changes.append(LabelCreate(label.name, description=label.description))
    return changes, renames


def plan_label_deletes(
    desired: Desired,
    live: Iterable[Label],
    campaigns: Iterable[LiveCampaign],
    managed: dict[str, str | None],
    renames: dict[str, str],
    relabelled: dict[str, set[str]],
) -> list[Change]:
    """Managed labels gone from labels.yaml. The platform refuses to delete a label any campaign
    carries, so every campaign that keeps it counts: outside git, stopped or archived in git, a
    replaced original; only one whose planned update (`relabelled`: platform id -> its new
    labels) drops it does not."""
    on_platform = {label.name for label in live}
    wanted = {label.name for label in desired.labels}
    # a rename onto a label the platform has already merges the two: the old one is deleted
    merged_into = {lb.renamed_from: lb.name for lb in desired.labels if lb.renamed_from}
    campaigns = list(campaigns)
    changes: list[Change] = []
    for name in sorted(managed):
        if name in wanted or name in renames or name not in on_platform:
            continue
        users = {
            c.id
            for c in campaigns
            if name in c.labels and name in relabelled.get(c.platform_id, {name})
        }
        if not users:
            changes.append(LabelDelete(name))
            continue
        remedy = "remove it from them in the dashboard, or keep it in labels.yaml"
        if name in merged_into:
            remedy += f" and drop `renamed_from: {name}` from {merged_into[name]}"
        changes.append(
            LabelDelete(
                name,
                BLOCKED,
                reason=f"kept by {len(users)} campaign(s): " + ", ".join(sorted(users)[:5]),
                remedy=remedy,
                rule="label-in-use",
            )
        )
    return changes
