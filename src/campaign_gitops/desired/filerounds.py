"""The rounds after the first, for a campaign file that already has a problem, so one run reports
all of them: a problem in one field must not hide a problem in another.

The JSON Schema has a branch per channel, so an unknown channel leaves the rest unchecked: the
rest is checked as the closest channel (`emial` as email). The model's cross-field checks run
only on valid fields, so one wrong value would hide them all: they run again on a copy of the
document whose wrong values are replaced by valid stand-ins, unknown fields removed, missing ones
added. A check that reads a replaced value cannot be trusted: it is named as not checked instead
("end-before-start not checked: when.start is invalid"). A valid file never comes here."""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from campaign_gitops import schema
from campaign_gitops.errors import PathPart, dotted
from campaign_gitops.models import CHANNELS

_MISSING = object()
# Stand-ins tried in order, after the field's default and enum values: each fits some pattern
# or format of the schema (a date-time, a time of day, a duration, an id, a language...).
_STAND_INS: tuple[Any, ...] = (
    "2000-01-01T00:00:00Z",
    "09:00",
    "1d",
    "x",
    "en",
    "000-000-0000",
    1,
    50,
    0,
    False,
    [],
    {},
)
_DELIVERY_CHECKS = (
    "start-with-now",
    "start-required",
    "dates-required",
    "dates-unexpected",
    "recurring-cadence",
    "recurring-unexpected",
    "trigger-required",
    "trigger-unexpected",
    "inaction-required",
    "date-property-required",
    "scheduled-preference",
)
_SHAPE_CHECKS = ("what-shape", "ab-variants", "ab-split-sum", "ab-variant-names")
# The cross-field checks that compare values: the value each reads (a path; * is any key or
# index), and the fields it needs besides (any one of them): without them it compares nothing,
# and nothing is named. A check that only asks whether a field is there reads no value.
READS: tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...] = (
    (("end-before-start",), "when.start", ("when.end",)),
    (("end-before-start",), "when.end", ("when.start", "when.dates")),
    (("end-before-start",), "when.dates.*", ("when.end",)),
    (_DELIVERY_CHECKS, "when.delivery", ()),
    (("targeting-cap-per",), "when.delivery", ("who.targeting_cap.limit",)),
    (("timezone-and-best-time", "scheduled-preference"), "when.preferences.user_timezone", ()),
    (("timezone-and-best-time", "scheduled-preference"), "when.preferences.best_time", ()),
    (("targeting-cap-per",), "when.preferences.user_timezone", ("who.targeting_cap.limit",)),
    (("targeting-cap-per",), "when.preferences.best_time", ("who.targeting_cap.limit",)),
    (("recurring-cadence",), "when.recurring.unit", ()),
    (("recurring-cadence",), "when.recurring.on.*", ()),
    (("date-property-offset",), "when.date_property.relation", ()),
    (_SHAPE_CHECKS, "type", ("what",)),
    (_SHAPE_CHECKS, "what.content", ()),
    (_SHAPE_CHECKS, "what.variants", ()),
    (_SHAPE_CHECKS, "what.by_property", ()),
    (("ab-split-sum",), "what.variants.*.split", ()),
    (("targeting-cap-per",), "who.targeting_cap.per", ("who.targeting_cap.limit",)),
    (("targeting-cap-per",), "who.targeting_cap.limit", ()),
)


def _node(name: str, schema_path: Sequence[PathPart]) -> dict[str, Any]:
    """The schema object at `schema_path`; {} where there is none."""
    node: Any = schema.committed(name)
    for part in schema_path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return {}
    return node if isinstance(node, dict) else {}


def allowed_fields(name: str, schema_path: Sequence[PathPart], present: object) -> list[str]:
    """The fields the object at an `additionalProperties` error may hold and does not."""
    node = _node(name, schema_path[:-1])
    names = list(node.get("properties", {})) if isinstance(node, dict) else []
    return [n for n in names if not (isinstance(present, dict) and n in present)]


def in_content(path: Sequence[PathPart]) -> bool:
    """Whether `path` is inside a message's content, whose fields are the channel's."""
    parts = [p for p in path if isinstance(p, str)]
    return parts[:1] == ["what"] and ("content" in parts or "fallback" in parts)


def channel_stand_in(data: dict[str, Any]) -> tuple[str, bool]:
    """The channel the rest of a file with an unknown channel is checked as: the closest name,
    or else the one its document fits best; and whether it was a close name."""
    near = difflib.get_close_matches(str(data.get("channel", "")), CHANNELS, n=1)
    if near:
        return near[0], True
    validator = schema.validator("campaign")

    def misfits(channel: str) -> int:
        return sum(1 for _ in validator.iter_errors({**data, "channel": channel}))

    return min(CHANNELS, key=misfits), False


@cache
def _validator(name: str, schema_path: tuple[PathPart, ...]) -> Any:
    import jsonschema_rs

    node = _node(name, schema_path)
    body = node if isinstance(node, dict) else {}
    root = {"$defs": schema.committed(name).get("$defs", {}), **body}
    return jsonschema_rs.validator_for(root, validate_formats=True)


def _stand_in(name: str, schema_path: Sequence[PathPart], wrong: object, depth: int = 3) -> Any:
    """A value valid at `schema_path`: its default, the enum value closest to `wrong`, an
    object of stand-ins..., of the same kind as `wrong` first."""
    node = _node(name, schema_path)
    if not isinstance(node, dict):
        return _MISSING
    options: list[Any] = []
    if "default" in node:
        options.append(node["default"])
    if "const" in node:
        options.append(node["const"])
    enum = node.get("enum") or []
    if isinstance(wrong, str):
        options += difflib.get_close_matches(wrong, [str(e) for e in enum], n=1)
    options += [*enum, *_STAND_INS]
    filled = _filled(name, schema_path, depth)
    if filled is not _MISSING:
        options.append(filled)
    validator = _validator(name, tuple(schema_path))
    if isinstance(wrong, list):  # its valid items, when they fit
        options.insert(0, [item for item in wrong if validator.is_valid([item])])
    # of the same kind as the wrong value first: a list stays a list, a word a word
    options.sort(key=lambda o: type(o) is not type(wrong))
    return next((o for o in options if validator.is_valid(o)), _MISSING)


def _resolve(name: str, schema_path: Sequence[PathPart]) -> list[PathPart]:
    """The schema path a `$ref` chain at `schema_path` ends at."""
    at = list(schema_path)
    for _ in range(10):
        node = _node(name, at)
        ref = node.get("$ref") if isinstance(node, dict) else None
        if not isinstance(ref, str) or not ref.startswith("#/"):
            break
        at = list(ref[2:].split("/"))
    return at


def _filled(name: str, schema_path: Sequence[PathPart], depth: int) -> Any:
    """An object with a stand-in for each field it requires."""
    at = _resolve(name, schema_path)
    node = _node(name, at)
    if depth <= 0 or not isinstance(node, dict) or node.get("type") != "object":
        return _MISSING
    out = {}
    for key in node.get("required", []):
        value = _stand_in(name, [*at, "properties", key], None, depth - 1)
        if value is _MISSING:
            return _MISSING
        out[key] = value
    return out


def schema_path_of(name: str, doc: Any, path: Sequence[PathPart]) -> list[PathPart] | None:
    """The schema path of the value at `path` in `doc`, when a plain walk finds it."""
    at: list[PathPart] = []
    if name == "campaign":
        branches = schema.committed(name).get("allOf", [])
        channel = doc.get("channel") if isinstance(doc, dict) else None
        for index, branch in enumerate(branches):
            if (
                branch.get("if", {}).get("properties", {}).get("channel", {}).get("const")
                == channel
            ):
                at = ["allOf", index, "then"]
        if not at:
            return None
    for part in path:
        at = _resolve(name, at)
        node = _node(name, at)
        if isinstance(part, str) and part in node.get("properties", {}):
            at = [*at, "properties", part]
        elif isinstance(part, int) and isinstance(node.get("items"), dict):
            at = [*at, "items"]
        else:
            return None
    return _resolve(name, at)


def _get(doc: Any, path: Sequence[PathPart]) -> Any:
    for part in path:
        in_dict = isinstance(doc, dict) and isinstance(part, str) and part in doc
        in_list = isinstance(doc, list) and isinstance(part, int) and 0 <= part < len(doc)
        if not (in_dict or in_list):
            return _MISSING
        doc = doc[part]
    return doc


@dataclass
class Repaired:
    """A copy of a document with its wrong values replaced; `wrong`: their paths, and whether
    each was wrong ("invalid") or left out ("missing")."""

    doc: Any
    wrong: dict[tuple[PathPart, ...], str] = field(default_factory=dict)
    removed: set[tuple[PathPart, ...]] = field(default_factory=set)
    replaced: set[tuple[PathPart, ...]] = field(default_factory=set)  # objects checks refused
    checked: set[tuple[PathPart, ...]] = field(default_factory=set)  # objects that reported
    dropped: list[tuple[list[Any], int]] = field(default_factory=list)

    def drop_items(self) -> None:
        """Removes the list items `replace` left out, the last first: the indices hold until
        then."""
        for parent, index in sorted(self.dropped, key=lambda d: -d[1]):
            if index < len(parent):
                del parent[index]
        self.dropped.clear()

    def replace(self, path: Sequence[PathPart], value: Any, why: str = "invalid") -> None:
        parent = _get(self.doc, path[:-1])
        key = path[-1]
        if isinstance(parent, dict) and isinstance(key, str):
            if value is _MISSING:
                parent.pop(key, None)
                self.removed.add(tuple(path))
            else:
                parent[key] = value
        elif isinstance(parent, list) and isinstance(key, int) and key < len(parent):
            if value is _MISSING or not isinstance(parent[key], (dict, list)):
                # a wrong word or date in a list is left out: a stand-in could repeat another
                self.dropped.append((parent, key))
            else:
                parent[key] = value
        else:
            return
        self.wrong.setdefault(tuple(path), why)


_CAMPAIGN_CHECKS = frozenset({"duplicate-label", "targeting-cap-per", *_SHAPE_CHECKS})


def replace_refused(
    name: str,
    data: dict[str, Any],
    repaired: Repaired,
    refused: Iterable[tuple[tuple[PathPart, ...], tuple[PathPart, ...]]],
) -> tuple[list[Skipped], set[str]]:
    """Mends what each cross-field check refused, so the checks of the objects holding it run:
    the field it points at is left out (or added, as a stand-in, when it is missing), and when
    that was tried, the whole object is replaced by a stand-in. What the mended object's own
    checks find next is not the file's (they have reported). The campaign's checks that read
    a value inside what was mended are named as not checked, when the file holds that value.
    `refused`: each check's object and the field it points at."""
    notes: list[Skipped] = []
    codes: set[str] = set()
    for owner, loc in refused:
        repaired.checked.add(owner)
        target = loc if loc != owner and loc not in repaired.wrong else owner
        at = schema_path_of(name, repaired.doc, target)
        left_out = False
        if target != owner and _get(repaired.doc, target) is not _MISSING:
            holder = schema_path_of(name, repaired.doc, owner) or []
            if target[-1] not in _node(name, holder).get("required", []):
                repaired.replace(list(target), _MISSING)
                repaired.removed.discard(target)  # left out by the tool, not by the file
                left_out = True
            else:
                target = owner
                at = schema_path_of(name, repaired.doc, owner)
        if not left_out:
            value = _stand_in(name, at, None) if at is not None and target else _MISSING
            if value is _MISSING:
                continue
            repaired.replace(list(target), value)
            if target == owner:
                repaired.replaced.add(owner)
        for checks, pattern, needs in READS:
            parts = pattern.split(".")
            inside = len(parts) > len(target) and _matches(".".join(parts[: len(target)]), target)
            found = _CAMPAIGN_CHECKS.intersection(checks)
            if not inside or not found or not _present(data, pattern):
                continue  # a value the file does not hold is no value the check missed
            if needs and not any(_present(data, n) for n in needs):
                continue
            named = tuple(c for c in checks if c in found)
            codes.update(named)
            message = f"{', '.join(named)} not checked: {dotted(target)} is invalid"
            notes.append(Skipped(target, message))
    return notes, codes


def repair(name: str, data: dict[str, Any], errors: Iterable[Any]) -> Repaired:
    """`data` with what each schema error found replaced by a valid stand-in (or removed, when
    none fits and the field may be left out)."""
    out = Repaired(copy.deepcopy(data))
    for error in errors:
        path = list(error.instance_path)
        kind = type(error.kind).__name__
        schema_path = list(error.schema_path)
        if kind == "AdditionalProperties":
            for key in getattr(error.kind, "unexpected", []):
                out.replace([*path, str(key)], _MISSING)
        elif kind == "PropertyNames":
            out.replace([*path, str(error.kind.error.instance)], _MISSING)
        elif kind == "Required":
            key = str(getattr(error.kind, "property", ""))
            where = [*schema_path[:-1], "properties", key]
            value = _stand_in(name, where, None)
            if value is not _MISSING:
                out.replace([*path, key], value, "missing")
        elif path and tuple(path) not in out.wrong:
            value = _stand_in(name, schema_path[:-1], error.instance)
            if value is _MISSING and _optional(name, schema_path, path[-1]):
                out.replace(path, _MISSING)
            elif value is not _MISSING:
                out.replace(path, value)
    out.drop_items()
    return out


def _optional(name: str, schema_path: Sequence[PathPart], key: PathPart) -> bool:
    """Whether the object holding `key` may leave it out (the error's schema path runs through
    ...Object/properties/key/keyword)."""
    parts = list(schema_path)
    for at in range(len(parts) - 2, -1, -1):
        if parts[at] == "properties" and at + 1 < len(parts) and parts[at + 1] == key:
            required = _node(name, parts[:at]).get("required", [])
            return key not in required
    return False


def _matches(pattern: str, path: Sequence[PathPart]) -> bool:
    parts = pattern.split(".")
    return len(parts) == len(path) and all(
        p == "*" or p == str(q) for p, q in zip(parts, path, strict=True)
    )


def _present(doc: Any, pattern: str) -> bool:
    """Whether `doc` holds the path (up to its first *, which is any item)."""
    parts = pattern.split(".")
    parts = parts[: parts.index("*")] if "*" in parts else parts
    return _get(doc, [int(p) if p.isdigit() else p for p in parts]) is not _MISSING


@dataclass
class Skipped:
    """A check not run: `path` (where the wrong value is) and the message naming it."""

    path: tuple[PathPart, ...]
    message: str


def skipped_checks(data: dict[str, Any], repaired: Repaired) -> tuple[list[Skipped], set[str]]:
    """The checks that read a wrong value, named (one note a wrong value); and their codes (a
    problem one of them finds on a stand-in is not the file's)."""
    named: dict[tuple[PathPart, ...], list[str]] = {}
    for path in repaired.wrong:
        for checks, pattern, needs in READS:
            if not _matches(pattern, path):
                continue
            if needs and not any(_present(data, n) for n in needs):
                continue
            codes = named.setdefault(path, [])
            codes += [c for c in checks if c not in codes]
    notes = [
        Skipped(path, f"{', '.join(codes)} not checked: {dotted(path)} is {repaired.wrong[path]}")
        for path, codes in named.items()
    ]
    return notes, {code for codes in named.values() for code in codes}


# The checks of the campaign and of its `when`, whose reads READS lists (or which ask only
# whether a field is there); any other check is not trusted once a value inside its object
# was replaced.
_KNOWN = frozenset(
    {
        *(code for checks, _, _ in READS for code in checks),
        *_CAMPAIGN_CHECKS,
        "end-before-start",
        "dates-duplicate",
        "timezone-and-best-time",
    }
)


def blocked_by(
    owner: Sequence[PathPart], loc: Sequence[PathPart], code: str, repaired: Repaired
) -> tuple[PathPart, ...] | None:
    """The wrong field that makes a cross-field problem found on the repaired copy not the
    file's, if one does: a field it is about was removed, or (a check READS does not list) a
    value inside the object it checks was replaced. `owner`: the object the check belongs to; `loc`:
    the field it points at."""
    for path in repaired.removed:
        if tuple(loc[: len(path)]) == path:
            return path
    if code in _KNOWN:
        return None
    owner = tuple(owner)
    inside = (p for p in repaired.wrong if len(p) > len(owner) and p[: len(owner)] == owner)
    return next(inside, None)


def stand_in_found(owner: Sequence[PathPart], repaired: Repaired) -> bool:
    """Whether a check's object has reported already or is (inside) a stand-in: what it finds
    now is not the file's."""
    if tuple(owner) in repaired.checked:
        return True
    return any(tuple(owner[: len(path)]) == path for path in repaired.replaced)
