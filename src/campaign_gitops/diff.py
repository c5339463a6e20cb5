"""Desired vs live (and vs last applied) per campaign, by section, field by field.

deepdiff stays inside this module: the rest of the tool sees `FieldChange`s."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from deepdiff import DeepDiff

from campaign_gitops.models import SECTIONS

_MISSING = "<absent>"


@dataclass(frozen=True)
class FieldChange:
    path: str  # who.segment.geography.country
    before: Any
    after: Any

    @property
    def section(self) -> str:
        return self.path.split(".", 1)[0].split("[", 1)[0]

    def data(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before, "after": self.after}


def _dotted(deepdiff_path: str) -> str:
    # root['who']['segment']['geo_radius'][0]['city'] -> who.segment.geo_radius[0].city
    parts = re.findall(r"\[('(?:[^'\\]|\\.)*'|\d+)\]", deepdiff_path)
    out = ""
    for part in parts:
        if part.startswith("'"):
            out += ("." if out else "") + part[1:-1]
        else:
            out += f"[{part}]"
    return out


def sections_of(spec: dict[str, Any]) -> dict[str, Any]:
    return {name: spec.get(name) for name in SECTIONS}


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> list[FieldChange]:
    """Every changed leaf between two specs' sections, sorted by path."""
    diff = DeepDiff(
        sections_of(before), sections_of(after), verbose_level=2, ignore_order=False, view="tree"
    )
    changes: list[FieldChange] = []
    for report in diff.values():
        for level in report:
            old = level.t1 if not _absent(level.t1) else _MISSING
            new = level.t2 if not _absent(level.t2) else _MISSING
            changes.append(FieldChange(_dotted(level.path()), old, new))
    return sorted(changes, key=lambda c: c.path)


def _absent(value: Any) -> bool:
    return type(value).__name__ == "NotPresent"


def changed_sections(before: dict[str, Any], after: dict[str, Any]) -> frozenset[str]:
    a, b = sections_of(before), sections_of(after)
    return frozenset(name for name in SECTIONS if a[name] != b[name])


def ignored(change: FieldChange, patterns: list[str]) -> bool:
    """`ignore_changes: [who.segment, what.content.title]`: a path or any of its parents."""
    return any(change.path == p or change.path.startswith((p + ".", p + "[")) for p in patterns)
