"""The config file's TOML read into the raw model, strictly typed, and every problem placed at
its key (tomllib keeps no positions) and said in the config's terms."""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from campaign_gitops.config.raw import (
    CONFIG_FILE,
    TABLE,
    ApprovalPolicy,
    ClevertapConfig,
    EnvironmentConfig,
    RawConfig,
    SavedFilter,
)
from campaign_gitops.errors import Problem, ValidationFailed, dotted
from campaign_gitops.limits.config import GlobalLimits, Safety
from campaign_gitops.models.common import Strict


def config_problems(
    config_file: Path | None, found: Sequence[tuple[str | tuple[str, ...], str]], code: str
) -> list[Problem]:
    """Problems at the config's keys (`found`: key path, message)."""
    name = config_file.name if config_file is not None else CONFIG_FILE
    try:
        text = config_file.read_text(encoding="utf-8") if config_file is not None else ""
    except (OSError, UnicodeDecodeError):
        text = ""
    table = TABLE if name == "pyproject.toml" else ""
    problems = []
    for key, message in found:
        loc = (key,) if isinstance(key, str) else key
        line, col = toml_position(text, table, loc)
        problems.append(Problem(name, line or 1, col or 1, dotted(loc), message, code))
    return problems


def toml_position(text: str, table: str, loc: tuple[str | int, ...]) -> tuple[int, int]:
    """Best effort (tomllib keeps no positions): the line of the longest key path that
    leads to `loc`, a table header or a `key =` line; else the first header of a table under
    it (`[a.b]` defines `a`); else the top of the file."""
    wanted = [*(table.split(".") if table else []), *map(str, loc)]
    best, best_len, under = (1, 1), 0, (0, 0)
    current: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("["):
            current = [p.strip().strip('"') for p in stripped.strip("[]").split(".")]
            full, col = current, 1
        elif "=" in stripped and not stripped.startswith("#"):
            key = stripped.split("=", 1)[0].strip()
            full = current + [p.strip().strip('"') for p in key.split(".")]
            col = line.index(key) + 1
        else:
            continue
        if full == wanted[: len(full)] and len(full) > best_len:
            best, best_len = (number, col), len(full)
        elif under == (0, 0) and full[: len(wanted)] == wanted:
            under = (number, col)
    return under if best_len < len(wanted) and under != (0, 0) else best


def parse_config(name: str, text: str) -> RawConfig:
    """The raw config from a file's text; `name` (campaign-gitops.toml or pyproject.toml) says
    where the table is, and like every problem path it is relative to the repository root.
    Types are strict (TOML has them): `"no"` is not a boolean, `"3"` not a number."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # 3.11: TOMLDecodeError has no lineno; its message ends "(at line L, column C)"
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        last = text.rsplit("\n", 1)[-1]
        end = (text.count("\n") + 1, len(last) + 1)  # "at end of document"
        line, col = (int(found[1]), int(found[2])) if found else end
        raise ValidationFailed([Problem(name, line, col, "", str(exc), "toml-syntax")]) from exc
    table = TABLE if Path(name).name == "pyproject.toml" else ""
    section: object = document
    if table:
        tool = document.get("tool", {})
        section = tool.get("campaign-gitops", {}) if isinstance(tool, dict) else {}
    if not isinstance(section, dict):
        line, col = toml_position(text, "", ("tool", "campaign-gitops"))
        message = f"[{table}] must be a table, not {_toml_type(section)}"
        raise ValidationFailed([Problem(name, line, col, table, message, "config-wrong-type")])
    try:
        return RawConfig.model_validate(section, strict=True)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            line, col = toml_position(text, table, err["loc"])
            message, code = _explain(err)
            problems.append(Problem(name, line, col, dotted(err["loc"]), message, code))
        raise ValidationFailed(problems) from exc


# pydantic's error types, in the tool's own codes (custom errors carry theirs: config-...)
_CODES = {
    "extra_forbidden": "config-unknown-key",
    "missing": "config-required",
    "literal_error": "config-not-one-of",
    "greater_than": "config-out-of-range",
    "greater_than_equal": "config-out-of-range",
    "less_than": "config-out-of-range",
    "less_than_equal": "config-out-of-range",
    "string_too_short": "config-too-short",
    "too_short": "config-too-short",
}
_EXPECTED = {
    "bool_type": (bool, "a boolean (true or false)"),
    "int_type": (int, "an integer"),
    "float_type": (float, "a number"),
    "string_type": (str, "a string"),
    "list_type": (list, "an array"),
    "dict_type": (dict, "a table"),
    "model_type": (dict, "a table"),
}


def _toml_type(value: object) -> str:
    kinds = [(bool, "a boolean"), (int, "an integer"), (float, "a float"), (str, "a string"),
             (list, "an array"), (dict, "a table")]  # fmt: skip
    return next((name for kind, name in kinds if isinstance(value, kind)), "a date or time")


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml_value, value)) + "]"
    return repr(value)


def _lax(kind: type, value: object) -> object | None:
    """What the value would have been read as before types were strict (the fix to suggest)."""
    if kind is list and isinstance(value, str | int | float | bool):
        return [value]
    if kind is str and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if kind in (bool, int, float):
        try:
            return TypeAdapter(kind).validate_python(value)
        except ValidationError:
            return None
    return None


def _known_keys(loc: tuple[str | int, ...]) -> list[str]:
    """The keys allowed where `loc` (a key's path) is."""
    model: type[Strict] = RawConfig
    parts = list(loc[:-1])
    while parts:
        part = parts.pop(0)
        if model is RawConfig and part in ("filters", "environments"):
            model = SavedFilter if part == "filters" else EnvironmentConfig
            parts = parts[1:]  # the filter's or environment's name
        elif part == "clevertap":
            model = ClevertapConfig
        elif part == "approval":
            model = ApprovalPolicy
        elif part in ("global_limits", "safety"):
            model = GlobalLimits if part == "global_limits" else Safety
        else:
            return []
    return list(model.model_fields)


def _explain(err: ErrorDetails) -> tuple[str, str]:
    """(message, code) for one of pydantic's errors, in the config's terms: a key, a TOML type,
    and how to write a value the model refuses but once read."""
    kind, loc, value = err["type"], err["loc"], err.get("input")
    key = str(loc[-1]) if loc else ""
    if kind in _EXPECTED:
        wanted, expected = _EXPECTED[kind]
        message = f"{_toml_value(value)} is {_toml_type(value)}; {key} must be {expected}"
        fixed = _lax(wanted, value)
        if fixed is not None and isinstance(loc[-1], str):
            message += f": write {key} = {_toml_value(fixed)}"
        return message, "config-wrong-type"
    if kind == "extra_forbidden":
        known = _known_keys(loc)
        near = difflib.get_close_matches(key, known, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        if known and not near:
            hint = f" (keys here: {', '.join(known)})"
        return f"unknown key {key!r}{hint}", _CODES[kind]
    if kind == "missing":
        return f"required key {key!r} is missing", _CODES[kind]
    if kind == "literal_error":
        expected = (err.get("ctx") or {}).get("expected", "")
        return f"{_toml_value(value)} is not one of {expected}", _CODES[kind]
    message = err["msg"].removeprefix("Value error, ")
    if message.startswith("Input should be"):
        message = message.replace("Input", _toml_value(value), 1)
    if kind in _CODES:
        return message, _CODES[kind]
    return message, kind if kind.startswith("config-") else "config-invalid"
