"""Edits of YAML files people wrote: the file keeps its comments, key order, quoting and flow
or block style, and only the edit changes. ruamel.yaml's round-trip mode (YAML 1.2, as the
reader) does it; it is slower than the reader and imported only by the commands that write."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)
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
