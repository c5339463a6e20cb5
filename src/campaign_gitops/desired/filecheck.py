"""One file's checks: YAML, JSON Schema and the model, every problem located. Pure functions of
the file's text, so they run in worker processes as well (parallel.py); the checks across files
are the loader's."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import islice
from pathlib import PurePosixPath
from typing import Any, get_args

from pydantic import ValidationError
from pydantic_core.core_schema import ErrorType

from campaign_gitops import schema, yamlio
from campaign_gitops.desired.filerounds import (
    Repaired,
    allowed_fields,
    blocked_by,
    channel_stand_in,
    in_content,
    repair,
    replace_refused,
    skipped_checks,
    stand_in_found,
)
from campaign_gitops.errors import PathPart, Problem, dotted
from campaign_gitops.models import (
    CAMPAIGN_ADAPTER,
    CHANNELS,
    MAX_LABELS,
    CampaignBase,
    Label,
    LabelsFile,
)
from campaign_gitops.models.common import (
    DURATION_RE,
    LABEL_PATTERN,
    TEXT_ALLOWS,
    TEXT_PATTERN,
    control_character,
    printable,
)
from campaign_gitops.suggest import did_you_mean

BUILTIN_ERRORS = frozenset(get_args(ErrorType))
LABEL_RE = re.compile(LABEL_PATTERN)
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MAX_PROBLEMS = 100  # a file
# What a command makes of each valid campaign (its id and model) where the model is built, in
# a worker process when there are many files: only the result crosses back, and no model is
# built twice (the calendar's). Called by reference: a module's function, or a partial of one.
Then = Callable[[str, CampaignBase], Any]


@dataclass(frozen=True)
class Source:
    file: str
    text: str

    def problem(
        self, path: Sequence[PathPart], message: str, code: str, at_key: bool = False
    ) -> Problem:
        line, col = yamlio.locate(self.text, path, at_key)
        return Problem(self.file, line, col, dotted(path), message, code)


_PATTERN_MESSAGES = {
    DURATION_RE: "is not a duration: a number and a unit m, h, d or w (10m, 1d)",
    r"^([01][0-9]|2[0-3]):[0-5][0-9]$": "is not a time of day HH:MM (24 h)",
    r"^[a-z0-9][a-z0-9-]*$": "is not an id: lowercase letters, digits and dashes",
}


def _control_message(value: str, char: str, rule: str) -> str:
    at = value.index(char)
    shown = value if len(value) <= 60 else value[max(0, at - 25) : at + 25]
    return f"{shown!r} holds the control character U+{ord(char):04X}; {rule}"


def _control_problem(source: Source, path: list[PathPart], error: Any, kind: str) -> Problem | None:
    """A control character gets its own code whichever rule caught it, and a message that
    names it: it is invisible in an editor."""
    keys: list[Any] = []
    if kind == "AdditionalProperties":
        keys = list(getattr(error.kind, "unexpected", []))
    elif kind == "PropertyNames":
        keys = [error.kind.error.instance]
    for key in keys:
        char = control_character(str(key))
        if char is not None:
            message = "key " + _control_message(str(key), char, "a key is one line of text")
            return source.problem([*path, str(key)], message, "control-character", at_key=True)
    if kind not in ("Pattern", "AnyOf"):
        return None
    text = getattr(error.kind, "pattern", "") == TEXT_PATTERN
    rule = "text may hold tabs and line breaks only" if text else "this field is one line of text"
    allowed = TEXT_ALLOWS if text else ""
    values = error.instance if isinstance(error.instance, list) else [error.instance]
    for index, value in enumerate(values):
        char = control_character(value, allowed) if isinstance(value, str) else None
        if char is not None:
            where = [*path, index] if values is error.instance else path
            return source.problem(where, _control_message(value, char, rule), "control-character")
    return None


def _schema_problems(source: Source, error: Any, name: str) -> list[Problem]:
    """Every unknown field of an object is a problem of its own."""
    unexpected = list(getattr(error.kind, "unexpected", None) or [])
    if type(error.kind).__name__ != "AdditionalProperties" or len(unexpected) < 2:
        return [_schema_problem(source, error, name)]
    if _control_problem(source, list(error.instance_path), error, "AdditionalProperties"):
        return [_schema_problem(source, error, name)]
    return [_schema_problem(source, error, name, str(key)) for key in unexpected]


def _schema_problem(source: Source, error: Any, name: str, key: str | None = None) -> Problem:
    path: list[PathPart] = list(error.instance_path)
    kind = type(error.kind).__name__
    control = _control_problem(source, path, error, kind)
    if control is not None:
        return control
    message, code = error.message, kind.lower()
    if kind == "AdditionalProperties":
        unexpected = [key] if key else list(getattr(error.kind, "unexpected", []))
        if unexpected:
            path.append(str(unexpected[0]))
            allowed = allowed_fields(name, error.schema_path, error.instance)
            message = f"unknown field {unexpected[0]!r}{did_you_mean(unexpected[0], allowed)}"
        code = "unknown-field"
    elif kind == "Required":
        code = "required"
    elif kind == "Enum":
        found = list(getattr(error.kind, "options", []))
        options = ", ".join(map(str, found))
        hint = did_you_mean(error.instance, found)
        message = f"{error.instance!r} is not one of: {options}{hint}"
    elif kind == "Format" and getattr(error.kind, "format", "") == "date-time":
        value = error.instance
        code = "datetime-format"
        message = f"{value!r} is not an ISO 8601 date-time"
        if isinstance(value, str) and _is_naive(value):
            code = "naive-datetime"
            message = f"{value!r} has no timezone; write it like 2026-12-01T09:00:00+05:30"
    elif kind == "Pattern":
        pattern = getattr(error.kind, "pattern", "")
        if pattern == LABEL_PATTERN:
            code = "forbidden-label-character"
            message = f'{error.instance!r}: a label may not contain " \\ % > < !'
        elif pattern in _PATTERN_MESSAGES:
            message = f"{error.instance!r} {_PATTERN_MESSAGES[pattern]}"
    elif kind == "MaxItems" and path == ["labels"] and len(error.instance) > MAX_LABELS:
        code = "too-many-labels"
        message = f"{len(error.instance)} labels; the platform allows at most {MAX_LABELS}"
    return source.problem(path, message, code, at_key=code == "unknown-field")


def _is_naive(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is None
    except ValueError:
        return False


def _model_problems(
    source: Source, exc: ValidationError, strip: int, cross_field_only: bool = False
) -> list[Problem]:
    problems = []
    for err in exc.errors()[: MAX_PROBLEMS + 1]:
        if cross_field_only and err["type"] in BUILTIN_ERRORS:
            continue  # the schema already reported it, in its own words
        loc: list[PathPart] = list(err["loc"][strip:])
        ctx = err.get("ctx") or {}
        if ctx.get("field"):
            loc.append(ctx["field"])
        message = err["msg"].removeprefix("Value error, ")
        problems.append(source.problem(loc, message, err["type"]))
    return problems


def _parse(source: Source, problems: list[Problem]) -> Any:
    try:
        data = yamlio.load(source.text)
    except yamlio.YamlSyntaxError as exc:
        message = exc.message.removeprefix("while constructing a mapping ")
        problems.append(Problem(source.file, exc.line, exc.col, "", message, exc.code))
        return None
    if not isinstance(data, dict):
        problems.append(
            Problem(source.file, 1, 1, "", "the document must be a mapping", "not-a-mapping")
        )
        return None
    return data


def _check(source: Source, data: dict[str, Any], name: str, problems: list[Problem]) -> bool:
    found = islice(schema.validator(name).iter_errors(data), MAX_PROBLEMS + 1)
    errors = [p for e in found for p in _schema_problems(source, e, name)]
    problems.extend(errors)
    return not errors


def _build_model(
    source: Source,
    data: dict[str, Any],
    build: Any,
    strip: int,
    schema_ok: bool,
    problems: list[Problem],
) -> Any:
    """The model adds the cross-field checks; they run even when the schema failed elsewhere
    in the file, so one run reports everything."""
    try:
        return build(data)
    except ValidationError as exc:
        problems.extend(_model_problems(source, exc, strip, cross_field_only=not schema_ok))
        return None


def _strings(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


@dataclass
class Checked:
    """One campaign file, checked: what the checks across files need, taken from the raw
    document so they run even when the file has other errors; its problems (at most
    MAX_PROBLEMS); and, when it is valid, its model (in this process) or the document the
    model is built from (from a worker process: models do not pickle)."""

    id: str | None
    labels: list[str]
    problems: list[Problem] = field(default_factory=list)
    valid: bool = False
    spec: CampaignBase | None = None
    data: dict[str, Any] | None = None
    moved_from: str | None = None  # a valid id only
    made: Any = None  # what `then` made of the model, in place of the model or the document


def check_campaign(source: Source, for_transfer: bool = False, then: Then | None = None) -> Checked:
    """`for_transfer`: the valid file's document instead of its model; with `then`, what it
    makes of the model instead of either."""
    problems: list[Problem] = []
    stem = PurePosixPath(source.file).stem
    char = control_character(source.file)
    if char is not None:
        message = f"the file name holds the control character U+{ord(char):04X}; rename the file"
        problems.append(Problem(source.file, 0, 0, "", message, "control-character"))
    data = _parse(source, problems)
    if data is None:
        return Checked(None, [], problems)
    raw_id = data.get("id") if isinstance(data.get("id"), str) else stem
    out = Checked(raw_id if ID_RE.fullmatch(raw_id) else None, _strings(data, "labels"), problems)
    moved = data.get("moved_from")
    out.moved_from = moved if isinstance(moved, str) and ID_RE.fullmatch(moved) else None
    schema_ok = _check(source, data, "campaign", problems)
    spec = _build_model(source, data, CAMPAIGN_ADAPTER.validate_python, 1, schema_ok, problems)
    if not schema_ok or spec is None:
        _campaign_rounds(source, data, problems)
    if "id" not in data and not ID_RE.fullmatch(stem):
        problems.append(
            source.problem(
                [],
                f"the file name {stem!r} is not a valid id; rename the file or set `id:`",
                "invalid-id",
            )
        )
    elif spec is not None and schema_ok and out.id is not None:
        out.valid = True
        if then is not None:
            out.made = then(out.id, spec)
        elif for_transfer:
            out.data = data
        else:
            out.spec = spec
    at_most(problems, 0, source.file)
    return out


def _campaign_rounds(source: Source, data: dict[str, Any], problems: list[Problem]) -> None:
    """The rounds for a file with a problem (filerounds.py): the rest of a file with an unknown
    channel checked as the closest one, then the cross-field checks on a copy with the wrong
    values replaced, round after round, and the checks that would read a wrong value named."""
    validator = schema.validator("campaign")
    doc = data
    if data.get("channel") not in CHANNELS:
        channel, close = channel_stand_in(data)
        doc = {**data, "channel": channel}
        errors = list(islice(validator.iter_errors(doc), MAX_PROBLEMS + 1))
        unchecked = [e for e in errors if in_content(e.instance_path)]
        if not close:
            errors = [e for e in errors if not in_content(e.instance_path)]
            if unchecked:
                wrong = data.get("channel")
                why = f"{wrong!r} is unknown" if "channel" in data else "is missing"
                message = f"the message content is not checked: channel {why}"
                problems.append(source.problem(["channel"], message, "not-checked"))
        problems.extend(p for e in errors for p in _schema_problems(source, e, "campaign"))
    else:
        errors = list(islice(validator.iter_errors(doc), MAX_PROBLEMS + 1))
    repaired = repair("campaign", doc, errors)
    for _ in range(2):  # a stand-in can reveal another branch's errors: at most twice more
        left = list(islice(validator.iter_errors(repaired.doc), MAX_PROBLEMS + 1))
        if not left:
            break
        again = repair("campaign", repaired.doc, left)
        repaired.doc = again.doc
        for path, why in again.wrong.items():
            repaired.wrong.setdefault(path, why)
        repaired.removed |= again.removed
    notes, untrusted = skipped_checks(data, repaired)
    for _ in range(4):  # each round reaches the checks of the objects holding the last ones
        refused = _model_round(source, repaired, untrusted, problems)
        if not refused:
            break
        more, codes = replace_refused("campaign", data, repaired, refused)
        notes += more
        untrusted |= codes
    problems.extend(source.problem(list(n.path), n.message, "not-checked") for n in notes)
    problems[:] = list(dict.fromkeys(problems))


def _model_round(
    source: Source, repaired: Repaired, untrusted: set[str], problems: list[Problem]
) -> list[tuple[tuple[PathPart, ...], tuple[PathPart, ...]]]:
    """The cross-field problems of the repaired copy that are the file's; the objects whose
    checks found them (whose holders' checks have not run), each with the field it points at."""
    refused: dict[tuple[tuple[PathPart, ...], tuple[PathPart, ...]], None] = {}
    try:
        CAMPAIGN_ADAPTER.validate_python(repaired.doc)
    except ValidationError as exc:
        for err in exc.errors()[: MAX_PROBLEMS + 1]:
            if err["type"] in BUILTIN_ERRORS or err["type"] in untrusted:
                continue
            owner: list[PathPart] = list(err["loc"][1:])
            if stand_in_found(owner, repaired):
                continue
            ctx = err.get("ctx") or {}
            loc = [*owner, ctx["field"]] if ctx.get("field") else owner
            wrong = blocked_by(owner, loc, err["type"], repaired)
            if wrong is None:
                message = err["msg"].removeprefix("Value error, ")
                problems.append(source.problem(loc, message, err["type"]))
                if owner:
                    refused[(tuple(owner), tuple(loc))] = None
            else:
                why = repaired.wrong.get(wrong, "invalid")
                text = f"{err['type']} not checked: {dotted(wrong)} is {why}"
                problems.append(source.problem(list(wrong), text, "not-checked"))
    return list(refused)


def load_labels(source: Source, problems: list[Problem]) -> tuple[list[str], list[Label]]:
    """Every label name the file defines (even when the file has errors), and the labels
    when the file is valid."""
    data = _parse(source, problems)
    if data is None:
        return [], []
    schema_ok = _check(source, data, "labels", problems)
    model = _build_model(source, data, LabelsFile.model_validate, 0, schema_ok, problems)
    labels: list[Label] = model.labels if model is not None and schema_ok else []
    items = data.get("labels") if isinstance(data.get("labels"), list) else []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        for key in ("name", "renamed_from"):
            name = item.get(key)
            if not isinstance(name, str):
                continue
            if name in seen:
                problems.append(
                    source.problem(
                        ["labels", index, key],
                        f"label {name!r} is defined twice (first at labels[{seen[name]}])",
                        "duplicate-label-name",
                    )
                )
            seen.setdefault(name, index)
    names = [
        item["name"]
        for item in items
        if isinstance(item, dict) and isinstance(item.get("name"), str)
    ]
    return names, labels


def at_most(problems: list[Problem], start: int, file: str) -> None:
    """A file's first MAX_PROBLEMS problems: a generated file can hold hundreds of thousands,
    and the first ones say what is wrong."""
    more = len(problems) - start - MAX_PROBLEMS
    if more > 0:
        del problems[start + MAX_PROBLEMS :]
        message = f"more problems in this file are not shown (at most {MAX_PROBLEMS} a file)"
        problems.append(Problem(file, 1, 1, "", message, "too-many-problems"))


def printable_problem(problem: Problem) -> Problem:
    """Problems quote file names, keys and values: escaped, none can start a line of output."""
    return replace(
        problem,
        file=printable(problem.file),
        path=printable(problem.path),
        message=printable(problem.message),
    )
