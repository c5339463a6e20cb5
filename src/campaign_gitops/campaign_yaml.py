"""Campaign files written by the tool (import, clone): the normative shape, defaults left out,
with the schema modeline editors use."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from campaign_gitops import yamlio
from campaign_gitops.models import CAMPAIGN_ADAPTER, Label


def state_for(status: str) -> str:
    if status in ("draft", "rejected"):
        return "draft"
    if status == "stopped":
        return "stopped"
    return "active"


# the design's normative shape; keys it does not name follow, in the schema's order
KEY_ORDER = ("id", "name", "channel", "type", "labels", "state", "archived", "goal", "who", "what",
             "when")  # fmt: skip


def to_yaml(spec: dict[str, Any], path: Path, root: Path) -> str:
    """The YAML text of a campaign file at `path` (inside the repository `root`), in the
    canonical style."""
    model = CAMPAIGN_ADAPTER.validate_python({k: v for k, v in spec.items() if k != "id"})
    data = model.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
    data["channel"] = model.channel  # a discriminator is never left out
    ordered = _whole({k: data.pop(k) for k in KEY_ORDER if k in data} | data)
    depth = len(path.resolve().relative_to(root.resolve()).parts) - 1
    modeline = f"# yaml-language-server: $schema={'../' * depth}schemas/campaign.schema.json\n"
    return modeline + yamlio.dump(ordered)


def _whole(value: Any) -> Any:
    """`percent: 10`, not `10.0`: the models read numbers as floats, and both read back equal."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _whole(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole(v) for v in value]
    return value


def add_labels(labels_file: Path, labels: Sequence[Label | str]) -> list[str]:
    """Append the labels labels.yaml lacks, with their descriptions, keeping its comments and
    layout; the names of the ones added."""
    from campaign_gitops import yamledit  # ruamel.yaml: only the commands that write load it

    return yamledit.add_labels(labels_file, labels)
