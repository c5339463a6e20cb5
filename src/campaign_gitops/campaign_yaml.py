"""Campaign files written by the tool (import, clone): the normative shape, defaults left out,
with the schema modeline editors use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from campaign_gitops.files import write_atomic
from campaign_gitops.models import CAMPAIGN_ADAPTER


def state_for(status: str) -> str:
    if status in ("draft", "rejected"):
        return "draft"
    if status == "stopped":
        return "stopped"
    return "active"


def to_yaml(spec: dict[str, Any], path: Path, root: Path) -> str:
    """The YAML text of a campaign file at `path` (inside the repository `root`)."""
    model = CAMPAIGN_ADAPTER.validate_python({k: v for k, v in spec.items() if k != "id"})
    data = model.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
    data["channel"] = model.channel  # a discriminator is never left out
    ordered = {"name": data.pop("name"), "channel": data.pop("channel"), **data}
    depth = len(path.resolve().relative_to(root.resolve()).parts) - 1
    modeline = f"# yaml-language-server: $schema={'../' * depth}schemas/campaign.schema.json\n"
    body = yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True, width=100)
    return modeline + body


def add_labels(labels_file: Path, names: list[str]) -> list[str]:
    """Append labels that labels.yaml lacks (keeping its text and comments); the ones added."""
    text = labels_file.read_text() if labels_file.exists() else "labels:\n"
    known = {
        str(item.get("name"))
        for item in (yaml.safe_load(text) or {}).get("labels") or []
        if isinstance(item, dict)
    }
    missing = [name for name in dict.fromkeys(names) if name not in known]
    if missing:
        if not text.endswith("\n"):
            text += "\n"
        text += "".join(f"  - name: {yaml.safe_dump(name).splitlines()[0]}\n" for name in missing)
        write_atomic(labels_file, text)
    return missing
