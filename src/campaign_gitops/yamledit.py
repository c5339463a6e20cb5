"""Edits of YAML files people wrote: the file keeps its comments, key order, quoting and flow
or block style, and only the edit changes. ruamel.yaml's round-trip mode (YAML 1.2, as the
reader) does it; it is slower than the reader and imported only by the commands that write."""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, merge_attrib
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)
from ruamel.yaml.tokens import CommentToken
from ruamel.yaml.util import load_yaml_guess_indent

from campaign_gitops import files, yamlio, yamllimits
from campaign_gitops.errors import FatalError, Problem
from campaign_gitops.models import Label

# YAML 1.1 line breaks, which YAML 1.2 reads as text: written escaped, as yamlio.dump does
_BREAKS_11 = re.compile("[\x85\u2028\u2029]")
NEW_LABELS_FILE = "# yaml-language-server: $schema=schemas/labels.schema.json\nlabels: []\n"


# PyYAML's analysis of a scalar: where `yamlio.dump`, and so the tool's reader, allows it plain
# or as a block. ruamel writes `?x`, `:x` or `a ? b` plain inside `{name: ...}`, which PyYAML
# cannot parse, and a literal block holding a carriage return, which reads back changed.
_ANALYSIS = yaml.emitter.Emitter(io.StringIO(), allow_unicode=True)


def _text(value: str) -> str:
    """A new scalar, quoted where `yamlio.dump` would quote it, even in a flow collection: read
    back as text by any reader."""
    plain = not yamlio.ambiguous(value) and _ANALYSIS.analyze_scalar(value).allow_flow_plain
    # ruamel writes a single-quoted string double-quoted when it must (a tab, a control character)
    return value if plain else SingleQuotedScalarString(value)


def _read(path: Path) -> str:
    """The file's text, read with the limits every input gets (a link is not followed)."""
    data = files.read(path.parent, path, yamllimits.DEFAULT.max_file_bytes, file=str(path))
    if isinstance(data, Problem):
        raise FatalError(data.render())
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FatalError(f"{path}: cannot edit it: the file is not UTF-8 text") from None


def _mapping_indent(text: str) -> int | None:
    """How much deeper than its key a nested mapping starts in this file. ruamel's guess gives
    the sequence indent instead when the file has a block list (4 for `labels:\n  - name:`),
    which would re-indent the file's other mappings and block scalars."""
    key_col = None
    for line in text.splitlines():
        body = line.lstrip(" ")
        if not body or body.startswith("#"):
            continue
        col = len(line) - len(body)
        if key_col is not None and col > key_col and not body.startswith("- "):
            return col - key_col
        key_col = None
        while body.startswith("- "):  # a key in a list item starts after its dash
            rest = body[2:].lstrip(" ")
            col, body = col + len(body) - len(rest), rest
        if body.split(" #")[0].rstrip().endswith(":"):
            key_col = col
    return None


def _round_trip(text: str, where: Path) -> tuple[YAML, Any]:
    try:
        yamlio.load(text)  # the dialect's checks and limits come before ruamel reads a byte
        _, indent, block_seq_indent = load_yaml_guess_indent(text)  # the file's own indents
        rt = YAML(typ="rt")
        rt.preserve_quotes = True
        rt.width = 1 << 30  # no line is re-wrapped (ruamel folds `a  b` in flow wrongly)
        rt.brace_single_entry_mapping_in_flow_sequence = True  # `[{name: A}]` stays so
        mapping = _mapping_indent(text) or 2
        offset = 2 if block_seq_indent is None else block_seq_indent
        sequence = indent if block_seq_indent is not None and indent else max(mapping, offset + 2)
        rt.indent(mapping=mapping, sequence=sequence, offset=offset)
        return rt, rt.load(text)
    except (yamlio.YamlSyntaxError, YAMLError) as exc:
        raise FatalError(f"{where}: cannot edit it: {getattr(exc, 'message', exc)}") from None


def _description(value: str, flow: bool) -> Any:
    """A label's description as `yamlio.dump` writes text: several lines as a literal block
    (inside a flow mapping, which holds no block, in double quotes), else `_text`."""
    if "\n" not in value and not _BREAKS_11.search(value):
        return _text(value)
    # a block starting with a space or a blank line needs an indentation indicator, which ruamel
    # writes wrong when the file's mapping indent is not 2 (`|2` over 4 spaces)
    indicator = value[:1] in (" ", "\n")
    if (
        flow
        or indicator
        or _BREAKS_11.search(value)
        or not _ANALYSIS.analyze_scalar(value).allow_block
    ):
        return DoubleQuotedScalarString(value)
    return LiteralScalarString(value)


def add_labels(labels_file: Path, wanted: Sequence[Label | str]) -> list[str]:
    """Append the labels labels.yaml lacks, each with what the platform has for it (its name,
    and its description when it has one; a bare name has none), keeping the rest of the file
    as it is; the names of the ones added, in order."""
    text = _read(labels_file) if labels_file.exists() else NEW_LABELS_FILE
    rt, data = _round_trip(text, labels_file)
    if data is None:
        data = CommentedMap()
    if not isinstance(data, CommentedMap):
        raise FatalError(f"{labels_file}: cannot add labels: the file is not a mapping")
    labels = data.get("labels")
    if labels is None:
        labels = data["labels"] = CommentedSeq()
    if not isinstance(labels, CommentedSeq):
        raise FatalError(f"{labels_file}: cannot add labels: `labels` is not a list")
    read = yamlio.load(text)  # the names as the tool reads them: ruamel takes `1_000` for 1000
    items = read.get("labels") if isinstance(read, dict) else None
    known = {item.get("name") for item in items or [] if isinstance(item, dict)}
    first: dict[str, Label] = {}
    for item in wanted:
        label = Label.model_construct(name=item) if isinstance(item, str) else item
        first.setdefault(label.name, label)
    missing = [label for name, label in first.items() if name not in known]
    if not missing:
        return []
    if not labels:
        labels.fa.set_block_style()  # `labels: []` grows into the file's block shape
    flow = labels.fa.flow_style()
    for label in missing:
        entry = CommentedMap()
        entry["name"] = _text(label.name)
        if label.description is not None:
            entry["description"] = _description(label.description, flow)
        if flow:
            entry.fa.set_flow_style()
        labels.append(entry)
    out = io.StringIO()
    rt.dump(data, out)
    written = out.getvalue()
    if not _reads_back(written, missing):  # pragma: no cover - a ruamel bug, never a file's
        raise FatalError(f"{labels_file}: the edit did not read back; nothing was written")
    files.write_atomic(labels_file, written)
    return [label.name for label in missing]


def _reads_back(written: str, added: list[Label]) -> bool:
    """Whether the edited text reads, in the tool's dialect, with each added label as given."""
    data = yamlio.load(written)
    items = data.get("labels") if isinstance(data, dict) else None
    found = {
        item.get("name"): item.get("description") for item in items or [] if isinstance(item, dict)
    }
    return all(found.get(label.name, ...) == label.description for label in added)


# --- fmt: a whole file into the canonical style, its comments kept ------------------------------


class NotCanonical(Exception):
    """A file `canonical` cannot rewrite without changing its data: it is left as it is."""


class SchemaOrder:
    """Keys in a JSON Schema's order (the models' fields' order, which `yamlio.dump` writes),
    those the schema does not name after them in the file's order; `first` at the top level.
    A campaign's channel picks its branch of the schema (`allOf` of `if`/`then`)."""

    def __init__(self, schema: dict[str, Any], first: Sequence[str] = ()) -> None:
        self.schema, self.first = schema, tuple(first)

    def _resolve(self, node: Any, channel: Any = None) -> list[dict[str, Any]]:
        if not isinstance(node, dict):
            return []
        if "$ref" in node:
            name = str(node["$ref"]).rpartition("/")[2]
            return self._resolve(self.schema.get("$defs", {}).get(name), channel)
        found = [node]
        for key in ("anyOf", "oneOf", "allOf"):
            for part in node.get(key, []):
                if key == "allOf" and isinstance(part, dict) and "then" in part:
                    const = part.get("if", {}).get("properties", {}).get("channel", {})
                    if channel is None or const.get("const") in (None, channel):
                        found += self._resolve(part["then"])
                else:
                    found += self._resolve(part, channel)
        return found

    def root(self, data: Any) -> list[dict[str, Any]]:
        channel = data.get("channel") if isinstance(data, dict) else None
        return self._resolve(self.schema, channel if isinstance(channel, str) else None)

    def child(self, nodes: list[dict[str, Any]], key: Any) -> list[dict[str, Any]]:
        """The schema of a mapping's `key` (of a list's items with key None)."""
        found: list[dict[str, Any]] = []
        for node in nodes:
            sub = node.get("items") if key is None else node.get("properties", {}).get(key)
            found += self._resolve(sub)
        return found

    def keys(self, nodes: list[dict[str, Any]], keys: Sequence[Any], top: bool) -> list[Any]:
        named: dict[str, None] = dict.fromkeys(self.first if top else ())
        for node in nodes:
            named |= dict.fromkeys(node.get("properties", {}))
        rank = {name: i for i, name in enumerate(named)}
        return sorted(keys, key=lambda k: rank.get(k, len(rank)))  # stable: unknowns in order


def _canonical_text(value: str, flow: bool, key: bool = False) -> Any:
    """A string as `yamlio.dump` writes it: escaped in double quotes when it holds a YAML 1.1
    line break, a literal block when it holds a line break, single quotes when a reader
    could take it for something else (or the syntax needs them), else plain."""
    analysis = _ANALYSIS.analyze_scalar(value)
    if _BREAKS_11.search(value) or ("\n" in value and (flow or key or not analysis.allow_block)):
        return DoubleQuotedScalarString(value)
    if "\n" in value:
        return LiteralScalarString(value)
    plain = analysis.allow_flow_plain if flow else analysis.allow_block_plain
    if yamlio.ambiguous(value) or not plain or (key and analysis.empty):
        return SingleQuotedScalarString(value)
    return str(value)  # a plain str: no style kept from the file


def _scalar(value: Any, flow: bool) -> Any:
    return _canonical_text(value, flow) if isinstance(value, str) else value


def _flow_list(seq: CommentedSeq, read: list[Any]) -> bool:
    """A list of one-line scalars, on no line of its own with a comment, is written on one
    line (`labels: [A, B]`); yamlio.dump's rule."""
    return not seq.ca.items and all(
        isinstance(x, str | int | float | bool) and not (isinstance(x, str) and "\n" in x)
        for x in read
    )


def _is_block(value: Any) -> bool:
    return (
        isinstance(value, CommentedMap | CommentedSeq) and bool(value) and not value.fa.flow_style()
    )


def _slot(node: Any, key: Any) -> tuple[Any, Any, int]:
    """Where the comment lines after `node[key]` (and all below it) are kept: with the last
    entry of the deepest block collection that ends there."""
    value = node[key]
    if _is_block(value):
        return _slot(value, list(value)[-1] if isinstance(value, CommentedMap) else len(value) - 1)
    return node, key, 2 if isinstance(node, CommentedMap) else 0


def _block_scalar(container: Any, at: Any) -> bool:
    return isinstance(container[at], LiteralScalarString | FoldedScalarString)


def _pop_tail(node: Any, key: Any) -> str:
    """The comment lines on their own lines after `node[key]`, taken away (the comment at the
    end of its line stays)."""
    container, at, pos = _slot(node, key)
    entry: Any = container.ca.items.get(at)
    token: Any = entry[pos] if entry and len(entry) > pos else None
    text = getattr(token, "value", None)
    if not isinstance(text, str) or "\n" not in text:
        return ""
    line, rest = text.split("\n", 1)
    if _block_scalar(container, at):  # nothing follows a block scalar on its last line
        entry[pos] = None
        column = getattr(token, "column", None) or 0  # ruamel keeps the first line's indent so
        return " " * column + text.lstrip(" ")
    if "#" in line:
        token.value = line + "\n"
    else:
        entry[pos] = None
    return rest


def _push_tail(node: Any, key: Any, text: str) -> None:
    """`text` (comment lines) after `node[key]` and all below it."""
    container, at, pos = _slot(node, key)
    entry = container.ca.items.setdefault(at, [None, None, None, None])
    token = entry[pos]
    if token is None:
        start = "" if _block_scalar(container, at) else "\n"
        entry[pos] = CommentToken(start + text, CommentMark(0), None)
    else:
        token.value = (token.value if token.value.endswith("\n") else token.value + "\n") + text


Lead = Callable[[str], None]


def _top_lead(data: CommentedMap) -> Lead:
    """Comment lines before the file's first key."""

    def lead(text: str) -> None:
        if data.ca.comment is None:
            data.ca.comment = [None, []]
        if data.ca.comment[1] is None:
            data.ca.comment[1] = []
        data.ca.comment[1].append(CommentToken(text, CommentMark(0), None))

    return lead


def _unshare(value: Any, read: Any, entry: Any) -> None:
    """A flow collection's comment at the end of its line is also its key's: once the
    collection is a block, ruamel would write it a second time, after the first dash."""
    if not isinstance(value, CommentedMap | CommentedSeq) or not value.fa.flow_style():
        return
    if isinstance(value, CommentedSeq) and _flow_list(value, read):
        return  # stays on one line
    comment = value.ca.comment
    if comment and entry and len(entry) > 2 and comment[0] is not None and comment[0] is entry[2]:
        comment[0] = None


def _item_comment(seq: CommentedSeq, index: int, value: Any) -> str:
    """The comments after a list item `{...}` that becomes a block, taken from the item: ruamel
    would write them after the dash, and the mapping's first key on a line of its own."""
    entry = seq.ca.items.get(index)
    if not isinstance(value, CommentedMap) or not value.fa.flow_style() or not entry:
        return ""
    token, entry[0] = entry[0], None
    return str(getattr(token, "value", "") or "")


def _put_item_comment(mapping: Any, text: str) -> None:
    """The comment at the end of the item's line after its first key; the lines below after
    its last."""
    if not text or not isinstance(mapping, CommentedMap) or not mapping:
        return
    line, _, rest = text.partition("\n")
    keys = list(mapping)
    if line.strip():
        entry = mapping.ca.items.setdefault(keys[0], [None, None, None, None])
        if entry[2] is None:
            entry[2] = CommentToken("  " + line.strip() + "\n", CommentMark(0), None)
        else:
            rest = line.strip() + "\n" + rest
    if rest.strip():
        _push_tail(mapping, keys[-1], rest)


def _restyle(
    node: Any,
    read: Any,
    order: SchemaOrder,
    at: list[dict[str, Any]],
    top: bool,
    lead: Lead | None = None,
) -> Any:
    """`node` (ruamel's, with its comments) restyled; every scalar becomes the one the tool's
    reader read (`read`), so the data cannot change; keys reordered. `lead`: puts comment lines
    before the mapping's first key (after its parent's key)."""
    if isinstance(node, CommentedMap) and isinstance(read, dict):
        if len(node) != len(read):
            raise NotCanonical("a mapping reads differently to ruamel.yaml (a merge key `<<`?)")
        pairs = list(zip(node.items(), read.items(), strict=True))
        if any(str(k) != r_key for (k, _), (r_key, _) in pairs):
            raise NotCanonical("a key reads differently to ruamel.yaml")
        by_key = {r_key: (value, r_value) for (_, value), (r_key, r_value) in pairs}
        was = list(by_key)
        keys = order.keys(at, was, top)
        # a comment on its own line belongs to the key below it: it moves with that key
        # (taken out and put back after restyling: a flow mapping that becomes a block ends
        # lines later)
        tails = [_pop_tail(node, k) for (k, _), _ in pairs]
        before = {key: tail for key, tail in zip(was[1:], tails, strict=False) if tail}
        after = tails[-1] if tails else ""
        comments = dict(node.ca.items)
        for key in list(node):
            del node[key]
        for key in keys:
            value, r_value = by_key[key]

            def lead_here(text: str, key: str = key) -> None:
                entry = comments.setdefault(key, [None, None, None, None])
                token = entry[2]
                if token is None:
                    entry[2] = CommentToken("\n" + text, CommentMark(0), None)
                else:
                    token.value += text

            _unshare(value, r_value, comments.get(key))
            child = order.child(at, key)
            new = _restyle(value, r_value, order, child, False, lead_here)
            styled = _canonical_text(key, flow=False, key=True)
            node[styled] = new
            if key in comments:
                node.ca.items[styled] = comments[key]
        node.fa.set_block_style()
        for i, key in enumerate(keys):
            text = before.get(key)
            if text and i:
                _push_tail(node, keys[i - 1], text)
            elif text and lead is not None:
                lead(text)
            elif text:  # no line above the mapping's first key: after it
                _push_tail(node, key, text)
        if after:
            _push_tail(node, keys[-1], after)
        return node
    if isinstance(node, CommentedSeq) and isinstance(read, list):
        if len(node) != len(read):
            raise NotCanonical("a list reads differently to ruamel.yaml")
        flow = _flow_list(node, read)
        items = order.child(at, None)
        for i, (value, r_value) in enumerate(zip(list(node), read, strict=True)):
            new = _scalar(r_value, flow) if not isinstance(r_value, dict | list) else None
            if new is None:
                moved = _item_comment(node, i, value)
                new = _restyle(value, r_value, order, items, False)
                _put_item_comment(new, moved)
            list.__setitem__(node, i, new)
        if flow:
            node.fa.set_flow_style()
        else:
            node.fa.set_block_style()
        return node
    if isinstance(read, dict | list):
        raise NotCanonical("a collection reads differently to ruamel.yaml (an alias?)")
    return _scalar(read, flow=False)


def _merges(node: Any, seen: set[int] | None = None) -> bool:
    seen = set() if seen is None else seen
    if id(node) in seen or not isinstance(node, CommentedMap | CommentedSeq):
        return False
    seen.add(id(node))
    if isinstance(node, CommentedMap):
        return bool(getattr(node, merge_attrib, None)) or any(
            _merges(v, seen) for v in node.values()
        )
    return any(_merges(v, seen) for v in node)


def _identical(a: Any, b: Any) -> bool:
    """Equal data, type for type (`1`, `1.0` and `true` are three values)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_identical(a[k], b[k]) for k in a)  # any order
    if isinstance(a, list):
        return len(a) == len(b) and all(_identical(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b) or (a != a and b != b)  # nan


def _comments(text: str) -> list[str]:
    """Every comment of `text`, sorted: the `#...` in the gaps between PyYAML's tokens (a `#`
    inside a scalar is in a token)."""
    found: list[str] = []
    end = 0
    for token in [*yaml.scan(text, Loader=yaml.SafeLoader), None]:
        start = len(text) if token is None else token.start_mark.index
        gap = text[end:start]
        at = 0
        while (at := gap.find("#", at)) >= 0:
            if at == 0 and end > 0 and not text[end - 1].isspace():
                at += 1
                continue
            if at > 0 and not gap[at - 1].isspace():
                at += 1
                continue
            line_end = gap.find("\n", at)
            stop = len(gap) if line_end < 0 else line_end
            found.append(gap[at:stop].rstrip())
            at = stop
        if token is not None:
            end = max(end, token.end_mark.index)
    return sorted(found)


def canonical(text: str, order: SchemaOrder) -> str:
    """`text` in the canonical style (README, "The canonical style"): keys in `order`, a
    two-space indent, indented lists, blocks for mappings and lists of mappings, one-line lists
    of one-line scalars, strings quoted by `yamlio`'s rule; comments kept. Raises
    yamlio.YamlSyntaxError for a file the tool cannot read, NotCanonical when the rewrite would
    not read back as the same data."""
    read = yamlio.load(text)  # the dialect's checks and limits come before ruamel reads a byte
    rt = YAML(typ="rt")
    rt.width = 1 << 30  # no line is re-wrapped (ruamel folds `a  b` in flow wrongly)
    rt.indent(mapping=2, sequence=4, offset=2)
    try:
        data = rt.load(text)
    except YAMLError as exc:
        raise NotCanonical(f"ruamel.yaml cannot read it: {exc}") from None
    if not isinstance(read, dict) or not isinstance(data, CommentedMap):
        return text  # empty, or not a mapping (`validate` says so): nothing to put in order
    if _merges(data):
        raise NotCanonical("it has a merge key (`<<`), which the tool reads as a key")
    out = io.StringIO()
    try:
        rt.dump(_restyle(data, read, order, order.root(read), True, _top_lead(data)), out)
    except (YAMLError, LookupError, TypeError, ValueError) as exc:  # pragma: no cover - ruamel's
        raise NotCanonical(f"ruamel.yaml cannot rewrite it ({type(exc).__name__}: {exc})") from None
    written = out.getvalue()
    try:
        again = yamlio.load(written)
    except yamlio.YamlSyntaxError as exc:  # pragma: no cover - a ruamel bug, never a file's
        raise NotCanonical(f"the rewrite does not read back: {exc.message}") from None
    if not _identical(read, again):
        raise NotCanonical("the rewrite would change the data")
    lost = sorted((Counter(_comments(text)) - Counter(_comments(written))).elements())
    if lost:
        raise NotCanonical(f"ruamel.yaml would lose the comment {lost[0]!r}")
    return written
