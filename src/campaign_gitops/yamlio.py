"""The one YAML dialect of the tool: YAML 1.2's core schema, read and written here.

Reading: safe, duplicate keys rejected, and no scalar whose meaning depends on the reader's
YAML version (`012` is 12 to YAML 1.2 and 10 to YAML 1.1: refused, `ambiguous-number`).
Positions are not recorded while loading (that would slow the hot path for every valid file);
`locate()` re-composes a file's text only when an error in it must be reported.

Writing (`dump`): the canonical style (README, "The canonical style"); a string is quoted when a
YAML 1.1 or 1.2 reader would take it for anything else, so every tool reads back what was written.
Edits of existing files, which must keep their comments, are `yamledit`'s.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any, ClassVar

import yaml

from campaign_gitops import yamllimits
from campaign_gitops.errors import PathPart

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DuplicateKeyError(yaml.MarkedYAMLError):
    pass


_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"


def _key_not_text(node: yaml.MappingNode) -> None:
    """JSON, and so the schemas, know text keys only: `0:`, `true:` or `[a]:` is refused at the
    key instead of failing inside a validator."""
    for key, _ in node.value:
        if key.tag == _STR and isinstance(key, yaml.ScalarNode):
            continue
        if isinstance(key, yaml.ScalarNode):
            shown = key.value if len(key.value) <= 40 else key.value[:40] + "..."
            kind = key.tag.rpartition(":")[2]
            problem = f"the key {shown!r} is not text ({kind}): write it in quotes"
        else:
            kind = "a list" if isinstance(key, yaml.SequenceNode) else "a mapping"
            problem = f"a key is {kind}, which is not text: keys are text"
        raise yaml.constructor.ConstructorError(None, None, problem, key.start_mark)


class Loader(_Base):  # type: ignore[misc]
    """YAML 1.2 core schema: `on`/`yes` stay strings, `09:00` is not sexagesimal, and
    timestamps stay strings so JSON Schema sees exactly what an editor sees."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {}

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [k.value for k, _ in node.value if k.tag == _STR and type(k) is yaml.ScalarNode]
        if len(keys) != len(node.value):
            _key_not_text(node)
        if len(set(keys)) != len(keys):
            seen: dict[Any, yaml.Node] = {}
            for key, (key_node, _) in zip(keys, node.value, strict=True):
                if key in seen:
                    raise DuplicateKeyError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"found duplicate key {key!r} (first defined on line "
                        f"{seen[key].start_mark.line + 1})",
                        key_node.start_mark,
                    )
                seen[key] = key_node
        # Every key is text and unique: the mapping is built here, as the base classes would
        # build it (no merge key can be text), without their construction of each key and
        # their checks: a fifth of the load time of a campaign file.
        construct = self.construct_object
        pairs = zip(keys, node.value, strict=True)
        return {key: construct(value, deep) for key, (_, value) in pairs}


_RESOLVERS = [
    ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"),
    (
        "tag:yaml.org,2002:int",
        re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
        "-+0123456789",
    ),
    (
        "tag:yaml.org,2002:float",
        re.compile(
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        "-+0123456789.",
    ),
    ("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), "~nN\0"),
]
for _tag, _regexp, _first in _RESOLVERS:
    Loader.add_implicit_resolver(_tag, _regexp, list(_first))
Loader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^$"), [""])


def _guarded(construct: Any) -> Any:
    """A scalar constructor whose bad input (`!!int x`, an int of 5,000 digits, `!!bool maybe`)
    is a YAML error at the node, not a ValueError from inside the constructor."""

    def guarded(loader: Any, node: yaml.Node) -> Any:
        try:
            return construct(loader, node)
        except (ValueError, KeyError, OverflowError, TypeError) as exc:
            value = str(node.value)
            shown = value if len(value) <= 40 else value[:40] + "..."
            problem = f"cannot read {shown!r} as {node.tag.rpartition(':')[2]}"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from exc

    return guarded


_LEADING_ZERO = re.compile(r"[-+]?0[0-9]+")
_OCTAL_11 = re.compile(r"[-+]?0[0-7]+")
# YAML 1.1's sexagesimal numbers start with 1-9 (`21:00` is 1260); `09:00` is text to both
# dialects, but is quoted as well, so that every time of day reads alike
_CLOCK = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-9_]+)+(?:\.[0-9_]*)?")


def _int(construct: Any) -> Any:
    """YAML 1.2 integers; one with a leading zero means another number (or text) to a YAML 1.1
    reader, such as PyYAML or a reviewer's editor, so it is refused at its node."""

    def read(loader: Any, node: yaml.Node) -> Any:
        value = str(node.value)
        if _LEADING_ZERO.fullmatch(value):
            number = int(value, 10)
            in_11 = (
                f"octal {int(value, 8)}" if _OCTAL_11.fullmatch(value) else f'the text "{value}"'
            )
            problem = (
                f"ambiguous number {value}: YAML 1.2 reads {number}, YAML 1.1 {in_11}; "
                f'write {number} or "{value}"'
            )
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark)
        return construct(loader, node)

    return read


def _refused(loader: Any, node: yaml.Node) -> Any:
    """Campaign files are JSON-like data; a timestamp, bytes or a set would reach the validators
    as a type they cannot check."""
    problem = f"the tag !!{node.tag.rpartition(':')[2]} is not allowed: write a string"
    raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark)


for _tag in ("int", "float", "bool"):
    _full = f"tag:yaml.org,2002:{_tag}"
    Loader.add_constructor(_full, _guarded(Loader.yaml_constructors[_full]))
Loader.add_constructor(_INT, _int(Loader.yaml_constructors[_INT]))
for _tag in ("timestamp", "binary", "set", "omap", "pairs"):
    Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refused)


class YamlSyntaxError(Exception):
    def __init__(self, message: str, line: int, col: int, code: str = "yaml-syntax"):
        super().__init__(message)
        self.message, self.line, self.col, self.code = message, line, col, code


def load(text: str, limits: yamllimits.Limits = yamllimits.DEFAULT) -> Any:
    """One document; its limits (aliases, depth, documents) are checked before it is composed."""
    try:
        yamllimits.check(text, Loader, limits)
        return yaml.load(text, Loader=Loader)
    except yamllimits.LimitExceeded as exc:
        raise YamlSyntaxError(exc.message, exc.line, exc.col, exc.code) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(p for p in (exc.context, exc.problem) if p) or str(exc)
        code = _code(message)
        if code == "too-many-documents":
            message = yamllimits.TOO_MANY_DOCUMENTS
        if mark is None:
            raise YamlSyntaxError(message, 1, 1, code) from exc
        raise YamlSyntaxError(message, mark.line + 1, mark.column + 1, code) from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(str(exc), 1, 1) from exc


def _code(message: str) -> str:
    if "ambiguous number" in message:
        return "ambiguous-number"
    if "duplicate key" in message:
        return "duplicate-key"
    if "maximum nesting depth" in message:  # libyaml's own limit, deeper than ours
        return "too-deep"
    if "expected a single document" in message:
        return "too-many-documents"
    if "is not allowed: write a string" in message or "constructor for the tag" in message:
        return "yaml-tag"
    if "is not text (" in message or "which is not text" in message:
        return "key-not-text"
    return "yaml-syntax"


@functools.lru_cache(maxsize=2)
def _composed(text: str) -> yaml.Node | None:
    """A file with many problems is composed once, not once per problem (the text's hash is
    computed once and kept by the string)."""
    return yaml.compose(text, Loader=Loader)


def locate(text: str, path: Sequence[PathPart], at_key: bool = False) -> tuple[int, int]:
    """1-based (line, col) of the node at `path` (of its key with `at_key`), or of its deepest
    existing ancestor."""
    try:
        node = _composed(text)
    except yaml.YAMLError:
        return (1, 1)
    if node is None:
        return (1, 1)
    mark = node.start_mark
    for part in path:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                    child = value_node
                    leaf = isinstance(value_node, yaml.ScalarNode) and not at_key
                    mark = value_node.start_mark if leaf else key_node.start_mark
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
            mark = child.start_mark
        if child is None:
            break
        node = child
    return (mark.line + 1, mark.column + 1)


def _reads_as(resolvers: Any, value: str) -> str:
    """The tag a plain scalar gets from these implicit resolvers (PyYAML's own lookup)."""
    for tag, regexp in (*resolvers.get(value[:1], ()), *resolvers.get(None, ())):
        if regexp.match(value):
            return str(tag)
    return _STR


def ambiguous(value: str) -> bool:
    """Whether `value`, written plain, would be read as anything but this text by a YAML 1.2
    reader (ours: `1e3`, `0o17`, `.inf`, `null`, `~`, `true`) or a YAML 1.1 one (`yes`, `on`,
    `2026-12-01`, `21:00`, `0b1`, `=`, `<<`), or is an integer with a leading zero or a time
    of day."""
    return (
        _reads_as(yaml.resolver.Resolver.yaml_implicit_resolvers, value) != _STR
        or _reads_as(Loader.yaml_implicit_resolvers, value) != _STR
        or _LEADING_ZERO.fullmatch(value) is not None
        or _CLOCK.fullmatch(value) is not None
        or _reads_as(_ruamel_12(), value) != _STR
    )


@functools.cache
def _ruamel_12() -> Any:
    """The YAML 1.2 resolvers of ruamel.yaml, which the commands that edit files read with: laxer
    than the core schema (`-0o17`, `1_0e3` and `1_000` are numbers to it). Imported by the
    writers only, on their first string."""
    from ruamel.yaml.resolver import VersionedResolver

    return VersionedResolver(version=(1, 2)).versioned_resolver


class _Dumper(yaml.SafeDumper):
    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        # YAML 1.1's reading, as SafeDumper's, then YAML 1.2's
        tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        if kind is yaml.ScalarNode and implicit[0] and tag == _STR and ambiguous(value):
            return _INT  # not a string's tag: the emitter quotes the string
        return tag

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # a list under a key is indented (`labels:\n  - name: ...`), as in the design's shape
        super().increase_indent(flow, False)


# line breaks to YAML 1.1, text to YAML 1.2: written raw, the readers disagree (and PyYAML's
# emitter folds U+0085 into a space), so a string holding one is written with escapes (\N \L \P)
_BREAKS_11 = re.compile("[\x85\u2028\u2029]")


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = '"' if _BREAKS_11.search(data) else "|" if "\n" in data else None
    return dumper.represent_scalar(_STR, data, style=style)


def _list_representer(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.SequenceNode:
    """A list of scalars on one line (`labels: [Onboarding, Sale]`); of mappings, in blocks."""
    flow = all(isinstance(x, str | int | float | bool) and not _multiline(x) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _multiline(value: object) -> bool:
    return isinstance(value, str) and "\n" in value


_Dumper.add_representer(str, _str_representer)
_Dumper.add_representer(list, _list_representer)


def dump(data: Any) -> str:
    """YAML text in the canonical style that any YAML 1.1 or 1.2 reader reads back as `data`."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100, indent=2)
