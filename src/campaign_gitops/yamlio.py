"""Safe YAML with YAML 1.2 scalars, duplicate keys rejected, and source positions on demand.

Positions are not recorded while loading (that would slow the hot path for every valid file);
`locate()` re-composes a file's text only when an error in it must be reported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

import yaml

from campaign_gitops.errors import PathPart

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DuplicateKeyError(yaml.MarkedYAMLError):
    pass


class Loader(_Base):  # type: ignore[misc]
    """YAML 1.2 core schema: `on`/`yes` stay strings, `09:00` is not sexagesimal, and
    timestamps stay strings so JSON Schema sees exactly what an editor sees."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {}

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [k.value if isinstance(k, yaml.ScalarNode) else id(k) for k, _ in node.value]
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
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


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


class YamlSyntaxError(Exception):
    def __init__(self, message: str, line: int, col: int):
        super().__init__(message)
        self.message, self.line, self.col = message, line, col


def load(text: str) -> Any:
    try:
        return yaml.load(text, Loader=Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(p for p in (exc.context, exc.problem) if p) or str(exc)
        if mark is None:
            raise YamlSyntaxError(message, 0, 0) from exc
        raise YamlSyntaxError(message, mark.line + 1, mark.column + 1) from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(str(exc), 0, 0) from exc


def locate(text: str, path: Sequence[PathPart], at_key: bool = False) -> tuple[int, int]:
    """1-based (line, col) of the node at `path` (of its key with `at_key`), or of its deepest
    existing ancestor."""
    try:
        node = yaml.compose(text, Loader=Loader)
    except yaml.YAMLError:
        return (0, 0)
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


class _Dumper(yaml.SafeDumper):
    pass


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_representer)


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
