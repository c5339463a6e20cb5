"""Desired vs live (and vs last applied) per campaign, by section, field by field.

deepdiff stays inside this module: the rest of the tool sees `FieldChange`s."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from campaign_gitops.models import SECTIONS

ABSENT = _MISSING = "<absent>"  # a field one side does not have


@dataclass(frozen=True)
class FieldChange:
    path: str  # who.segment.geography.country
    before: Any
    after: Any

    @property
    def section(self) -> str:
        return self.path.split(".", 1)[0].split("[", 1)[0]

    @property
    def clears(self) -> bool:
        """A field the platform has and the desired spec omits: the change removes its value
        (an item leaving a list is not a field cleared)."""
        return (
            self.after in (_MISSING, None)
            and self.before not in (_MISSING, None)
            and not self.path.endswith("]")
        )

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
    a, b = sections_of(before), sections_of(after)
    if a == b:  # the common case by far: no deepdiff at all
        return []
    from deepdiff import DeepDiff  # 0.7 s to import: only when something differs

    diff = DeepDiff(a, b, verbose_level=2, ignore_order=False, view="tree")
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


_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _parts(path: str) -> list[str | int]:
    return [int(index) if index else name for name, index in _PART.findall(path)]


def _get(data: Any, parts: list[str | int]) -> Any:
    for part in parts:
        if isinstance(part, int):
            if not isinstance(data, list) or part >= len(data):
                return _MISSING
            data = data[part]
        else:
            if not isinstance(data, dict) or part not in data:
                return _MISSING
            data = data[part]
    return data


def keep_live(desired: dict[str, Any], live: dict[str, Any], patterns: list[str]) -> dict[str, Any]:
    """`ignore_changes`: the desired spec with each ignored path's live value kept."""
    if not patterns:
        return desired
    out = copy.deepcopy(desired)
    for pattern in patterns:
        parts = _parts(pattern)
        value = _get(live, parts)
        parent = _get(out, parts[:-1])
        if not parts or parent is _MISSING:
            continue
        last = parts[-1]
        if isinstance(parent, dict) and isinstance(last, str):
            if value is _MISSING:
                parent.pop(last, None)
            else:
                parent[last] = copy.deepcopy(value)
        elif isinstance(parent, list) and isinstance(last, int) and value is not _MISSING:
            parent[last : last + 1] = [copy.deepcopy(value)]
    return out
