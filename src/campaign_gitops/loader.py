"""Files -> desired state: YAML, JSON Schema, models, cross-file checks; all problems at once."""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import islice
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, get_args

from pydantic import ValidationError
from pydantic_core.core_schema import ErrorType

from campaign_gitops import files, schema, yamlio
from campaign_gitops.config import config_problems
from campaign_gitops.errors import PathPart, Problem, ValidationFailed, dotted
from campaign_gitops.models import CAMPAIGN_ADAPTER, MAX_LABELS, CampaignBase, Label, LabelsFile
from campaign_gitops.models.common import (
    DURATION_RE,
    LABEL_PATTERN,
    TEXT_ALLOWS,
    TEXT_PATTERN,
    control_character,
    printable,
)
from campaign_gitops.yamllimits import MIB

if TYPE_CHECKING:
    from campaign_gitops.config import Settings

BUILTIN_ERRORS = frozenset(get_args(ErrorType))
LABEL_RE = re.compile(LABEL_PATTERN)
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
YAML_SUFFIXES = (".yaml", ".yml")
MAX_PROBLEMS = 100  # a file


@dataclass(frozen=True)
class Source:
    file: str
    text: str

    def problem(
        self, path: Sequence[PathPart], message: str, code: str, at_key: bool = False
    ) -> Problem:
        line, col = yamlio.locate(self.text, path, at_key)
        return Problem(self.file, line, col, dotted(path), message, code)


@dataclass(frozen=True)
class CampaignDoc:
    id: str
    source: Source
    spec: CampaignBase


@dataclass
class Desired:
    campaigns: dict[str, CampaignDoc] = field(default_factory=dict)
    labels: list[Label] = field(default_factory=list)
    labels_source: Source | None = None


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


def _schema_problem(source: Source, error: Any) -> Problem:
    path: list[PathPart] = list(error.instance_path)
    kind = type(error.kind).__name__
    control = _control_problem(source, path, error, kind)
    if control is not None:
        return control
    message, code = error.message, kind.lower()
    if kind == "AdditionalProperties":
        unexpected = list(getattr(error.kind, "unexpected", []))
        if unexpected:
            path.append(str(unexpected[0]))
            message = f"unknown field {unexpected[0]!r}"
        code = "unknown-field"
    elif kind == "Required":
        code = "required"
    elif kind == "Enum":
        options = ", ".join(map(str, getattr(error.kind, "options", [])))
        message = f"{error.instance!r} is not one of: {options}"
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
    errors = [_schema_problem(source, e) for e in found]
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
class _Parsed:
    """What the cross-file checks need, taken from the raw document so they run even when
    the file has other errors."""

    source: Source
    id: str | None
    labels: list[str]
    doc: CampaignDoc | None = None


def load_campaign(source: Source, problems: list[Problem]) -> _Parsed:
    stem = PurePosixPath(source.file).stem
    char = control_character(source.file)
    if char is not None:
        message = f"the file name holds the control character U+{ord(char):04X}; rename the file"
        problems.append(Problem(source.file, 0, 0, "", message, "control-character"))
    data = _parse(source, problems)
    if data is None:
        return _Parsed(source, None, [])
    raw_id = data.get("id") if isinstance(data.get("id"), str) else stem
    parsed = _Parsed(source, raw_id if ID_RE.fullmatch(raw_id) else None, _strings(data, "labels"))
    schema_ok = _check(source, data, "campaign", problems)
    spec = _build_model(source, data, CAMPAIGN_ADAPTER.validate_python, 1, schema_ok, problems)
    if "id" not in data and not ID_RE.fullmatch(stem):
        problems.append(
            source.problem(
                [],
                f"the file name {stem!r} is not a valid id; rename the file or set `id:`",
                "invalid-id",
            )
        )
    elif spec is not None and schema_ok and parsed.id is not None:
        parsed.doc = CampaignDoc(parsed.id, source, spec)
    return parsed


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


def build(
    campaign_sources: Iterable[Source],
    labels_source: Source | None,
    unread: Sequence[Problem] = (),
    labels_unread: bool = False,
) -> Desired:
    """Everything wrong in every file, or the desired state. `unread`: the files refused before
    parsing (too large, a link, unreadable); `labels_unread`: the labels file is one of them,
    so the labels campaigns use cannot be checked."""
    problems: list[Problem] = list(unread)
    known: set[str] = set()
    labels: list[Label] = []
    if labels_source is not None:
        names, labels = load_labels(labels_source, problems)
        _at_most(problems, len(unread), labels_source.file)
        known = set(names)
    where = labels_source.file if labels_source else "labels.yaml"
    desired = Desired(labels_source=labels_source)
    owners: dict[str, str] = {}
    for source in campaign_sources:
        before = len(problems)
        parsed = load_campaign(source, problems)
        _at_most(problems, before, source.file)
        if parsed.id is not None:
            if parsed.id in owners:
                has_id = "id:" in source.text
                problems.append(
                    source.problem(
                        ["id"] if has_id else [],
                        f"id {parsed.id!r} is already used by {owners[parsed.id]}",
                        "duplicate-id",
                    )
                )
                continue
            owners[parsed.id] = source.file
        for index, name in enumerate(parsed.labels):
            if name not in known and LABEL_RE.fullmatch(name) and not labels_unread:
                problems.append(
                    source.problem(
                        ["labels", index],
                        f"label {name!r} is not defined in {where}",
                        "unknown-label",
                    )
                )
        if parsed.doc is not None:
            desired.campaigns[parsed.id or ""] = parsed.doc
    if problems:
        raise ValidationFailed(map(_printable, problems))
    desired.labels = labels
    return desired


def _at_most(problems: list[Problem], start: int, file: str) -> None:
    """A file's first MAX_PROBLEMS problems: a generated file can hold hundreds of thousands,
    and the first ones say what is wrong."""
    more = len(problems) - start - MAX_PROBLEMS
    if more > 0:
        del problems[start + MAX_PROBLEMS :]
        message = f"more problems in this file are not shown (at most {MAX_PROBLEMS} a file)"
        problems.append(Problem(file, 1, 1, "", message, "too-many-problems"))


def _printable(problem: Problem) -> Problem:
    """Problems quote file names, keys and values: escaped, none can start a line of output."""
    return replace(
        problem,
        file=printable(problem.file),
        path=printable(problem.path),
        message=printable(problem.message),
    )


def campaign_files(root: Path, campaigns_dir: Path) -> list[Path]:
    """Campaign files, and links named like one (refused when read); rglob does not descend
    into linked folders."""
    if not campaigns_dir.is_dir():
        return []
    found = [
        p
        for p in campaigns_dir.rglob("*")
        if p.suffix in YAML_SUFFIXES and (p.is_file() or p.is_symlink())
    ]
    return sorted(found)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Loading builds many long-lived objects and no cycles; the collector's full passes over
    the growing heap cost a third of the load time at 10,000 files."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def decode(file: str, data: bytes) -> Source:
    try:
        return Source(file, data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        problem = Problem(
            file,
            line,
            col,
            "",
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x})",
            "encoding",
        )
        raise ValidationFailed([_printable(problem)]) from exc


def read_worktree(
    root: Path, campaigns_dir: Path, labels_file: Path, max_file_bytes: int = MIB
) -> Desired:
    unread: list[Problem] = []

    def source(path: Path) -> Source | None:
        file = files.relative(root, path)
        data = files.read(root, path, max_file_bytes, file)
        if isinstance(data, Problem):
            unread.append(_printable(data))
            return None
        try:
            return decode(file, data)
        except ValidationFailed as exc:
            unread.extend(exc.problems)
            return None

    with gc_paused():
        found = campaign_files(root, campaigns_dir)
        if found and not files.inside(root, campaigns_dir):  # a folder that links out
            where = files.relative(root, campaigns_dir)
            unread.append(_printable(files.link_problem(where, str(campaigns_dir.resolve()), True)))
            found = []
        sources = [s for p in found if (s := source(p)) is not None]
        has_labels = labels_file.is_file() or labels_file.is_symlink()
        labels = None
        if has_labels and not files.inside(root, labels_file.parent):
            where = files.relative(root, labels_file)
            unread.append(_printable(files.link_problem(where, str(labels_file.resolve()), True)))
        elif has_labels:
            labels = source(labels_file)
        return build(sources, labels, unread, labels_unread=has_labels and labels is None)


def read_configured(settings: Settings) -> Desired:
    """The desired state in the work tree. A folder or file the config names must exist: a
    misspelt campaigns_dir would otherwise read as a repository without campaigns."""
    named = settings.raw.model_fields_set
    missing = [
        (key, f"{getattr(settings.raw, key)!r} does not exist (in {settings.root})")
        for key in ("campaigns_dir", "labels_file")
        if key in named and not (settings.root / getattr(settings.raw, key)).exists()
    ]
    if missing:
        raise ValidationFailed(
            config_problems(settings.config_file, missing, "config-missing-path")
        )
    return read_worktree(
        settings.root, settings.campaigns_dir, settings.labels_file, settings.raw.max_file_bytes
    )
