"""Limits a YAML text must keep before it is composed: a few hostile lines can otherwise make
the loader or the validators behind it allocate without bound ("billion laughs": nested
aliases) or recurse past their stack.

Aliases are cheap while loading (PyYAML shares the aliased object) and explode in whatever walks
the data afterwards, so they are counted, and their expansion measured, on the parser's event
stream, with the nodes, the depth and the documents. That stream costs a third of a load, so it
is scanned only when the text could break a limit: it has an `&` or a `*`, it is long enough to
hold `max_nodes` nodes (a node takes at least about two characters), or its flow brackets and
line indentation allow deeper nesting than `max_depth` (a block collection nested in another
starts at a larger column at least every second level, so a text whose lines all start with
fewer than `_INDENT` spaces and indicators nests at most 2 * `_INDENT` + 2 block levels deep)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = MIB
    max_aliases: int = 100
    max_expansion: int = 10  # nodes after expanding aliases, per node written ...
    expansion_floor: int = 1_000  # ... once the document has more nodes than this
    max_nodes: int = 20_000  # after expanding aliases: what the validators walk
    max_depth: int = 64
    max_documents: int = 1


DEFAULT = Limits()
TOO_MANY_DOCUMENTS = "a second YAML document (`---`): a file holds one document"
_INDENT = 16
_DEEP_LINE = re.compile(r"\n[ \t?:-]{%d}" % _INDENT)  # noqa: UP031  (a literal \n: fast)
_OTHER_BREAKS = ("\x85", "\u2028", "\u2029")  # line breaks to libyaml, rare in files


class LimitExceeded(Exception):
    def __init__(self, code: str, message: str, mark: Any):
        super().__init__(message)
        self.code, self.message = code, message
        self.line: int = mark.line + 1 if mark is not None else 1
        self.col: int = mark.column + 1 if mark is not None else 1


def might_exceed(text: str, limits: Limits) -> bool:
    """Whether the text could break an alias or depth limit (cheap: no parsing)."""
    if "&" in text or "*" in text or len(text) > limits.max_nodes // 2:
        return True
    if text.count("[") + text.count("{") + 2 * _INDENT + 2 > limits.max_depth:
        return True
    if text.count("\r") != text.count("\r\n") or any(b in text for b in _OTHER_BREAKS):
        return True  # lines the regex below would not see
    return (
        _DEEP_LINE.search(text) is not None or _DEEP_LINE.match("\n" + text[:_INDENT]) is not None
    )


def check(text: str, loader: Any, limits: Limits = DEFAULT) -> None:
    """Raise LimitExceeded at the first place the text breaks a limit; syntax errors are left
    to the loader (a YAMLError from here is the one it would raise)."""
    if not might_exceed(text, limits):
        return
    _scan(yaml.parse(text, Loader=loader), limits)


def _scan(events: Any, limits: Limits) -> None:
    open_nodes: list[list[Any]] = []  # [anchor, nodes after expansion] of each open collection
    sizes: dict[str, int] = {}  # an anchor's node, expanded
    written = expanded = aliases = documents = 0
    for event in events:
        kind = type(event)
        if kind is yaml.ScalarEvent or kind is yaml.AliasEvent:
            written += 1
            if kind is yaml.AliasEvent:
                aliases += 1
                if aliases > limits.max_aliases:
                    raise LimitExceeded(
                        "too-many-aliases",
                        f"more than {limits.max_aliases} aliases (*name) in one file",
                        event.start_mark,
                    )
                if any(node[0] == event.anchor for node in open_nodes):
                    raise LimitExceeded(
                        "recursive-alias",
                        f"the alias *{event.anchor} is inside its own anchor: it nests without end",
                        event.start_mark,
                    )
                size = sizes.get(event.anchor, 1)
            else:
                size = 1
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            expanded += size
            if open_nodes:
                open_nodes[-1][1] += size
            if kind is yaml.AliasEvent and expanded > max(
                limits.expansion_floor, limits.max_expansion * written
            ):
                raise LimitExceeded(
                    "alias-expansion",
                    f"aliases expand the file to {expanded:,} nodes from the {written:,} written "
                    f"(at most {limits.max_expansion}x, or {limits.expansion_floor:,} nodes): "
                    "refused before expanding it",
                    event.start_mark,
                )
            if expanded > limits.max_nodes:
                raise _too_many(expanded, limits, event.start_mark)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            written += 1
            expanded += 1
            if expanded > limits.max_nodes:
                raise _too_many(expanded, limits, event.start_mark)
            open_nodes.append([event.anchor, 1])
            if len(open_nodes) > limits.max_depth:
                raise LimitExceeded(
                    "too-deep",
                    f"nested more than {limits.max_depth} levels deep",
                    event.start_mark,
                )
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            anchor, size = open_nodes.pop()
            if anchor is not None:
                sizes[anchor] = size
            if open_nodes:
                open_nodes[-1][1] += size
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > limits.max_documents:
                raise LimitExceeded("too-many-documents", TOO_MANY_DOCUMENTS, event.start_mark)


def _too_many(expanded: int, limits: Limits, mark: Any) -> LimitExceeded:
    return LimitExceeded(
        "too-many-nodes",
        f"more than {limits.max_nodes:,} values in one file (aliases expanded)",
        mark,
    )
