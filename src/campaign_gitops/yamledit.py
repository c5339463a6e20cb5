"""Edits of YAML files people wrote: the file keeps its comments, key order, quoting and flow
or block style, and only the edit changes. ruamel.yaml's round-trip mode (YAML 1.2, as the
reader) does it; it is slower than the reader and imported only by the commands that write."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import SingleQuotedScalarString
from ruamel.yaml.util import load_yaml_guess_indent

from campaign_gitops import files, yamlio, yamllimits
from campaign_gitops.errors import FatalError, Problem

NEW_LABELS_FILE = "# yaml-language-server: $schema=schemas/labels.schema.json\nlabels: []\n"


def _text(value: str) -> str:
    """A new scalar, quoted as `yamlio.dump` would quote it: read back as text by any reader."""
    return SingleQuotedScalarString(value) if yamlio.ambiguous(value) else value


def _read(path: Path) -> str:
    """The file's text, read with the limits every input gets (a link is not followed)."""
    data = files.read(path.parent, path, yamllimits.DEFAULT.max_file_bytes, file=str(path))
    if isinstance(data, Problem):
        raise FatalError(data.render())
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FatalError(f"{path}: cannot edit it: the file is not UTF-8 text") from None


def _round_trip(text: str, where: Path) -> tuple[YAML, Any]:
    try:
        yamlio.load(text)  # the dialect's checks and limits come before ruamel reads a byte
        _, indent, block_seq_indent = load_yaml_guess_indent(text)  # the file's own indents
        rt = YAML(typ="rt")
        rt.preserve_quotes = True
        rt.width = 100
        indent = indent or 2
        offset = 2 if block_seq_indent is None else block_seq_indent
        rt.indent(mapping=indent, sequence=max(indent, offset + 2), offset=offset)
        return rt, rt.load(text)
    except (yamlio.YamlSyntaxError, YAMLError) as exc:
        raise FatalError(f"{where}: cannot edit it: {getattr(exc, 'message', exc)}") from None


def add_labels(labels_file: Path, names: list[str]) -> list[str]:
    """Append the labels labels.yaml lacks, keeping the rest of the file as it is; the ones
    added, in order."""
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
    known = {str(item.get("name")) for item in labels if isinstance(item, dict)}
    missing = [name for name in dict.fromkeys(names) if name not in known]
    if not missing:
        return []
    if not labels:
        labels.fa.set_block_style()  # `labels: []` grows into the file's block shape
    for name in missing:
        entry = CommentedMap()
        entry["name"] = _text(name)
        if labels.fa.flow_style():
            entry.fa.set_flow_style()
        labels.append(entry)
    out = io.StringIO()
    rt.dump(data, out)
    written = out.getvalue()
    if yamlio.load(written) is None:  # pragma: no cover - a ruamel bug, never a user's file
        raise FatalError(f"{labels_file}: the edit did not read back; nothing was written")
    files.write_atomic(labels_file, written)
    return missing
