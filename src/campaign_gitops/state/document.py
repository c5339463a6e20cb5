"""The state store as one JSON document, for `state export` / `state import` and for the copy
written before a migration. `version` is the document's own shape; `schema` is the schema of
the store it came from (an export made before a migration says the old one). A reader checks
`format` and `version` and refuses others. The lock is never part of it: it belongs to a
running apply, not to the state."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from campaign_gitops.errors import FatalError, dotted
from campaign_gitops.state.base import Ack, Managed
from campaign_gitops.state.schema import LATEST

FORMAT = "campaign-gitops-state"
VERSION = 1


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ManagedItem(_Item):
    id: str
    platform_id: str
    spec: dict[str, Any]
    applied_at: str
    applied_by: str
    commit: str | None = None
    pull_request: int | None = None
    author: str | None = None
    merged_by: str | None = None
    approvers: list[str] = []
    dirty: list[str] | None = None  # schema 5: files not as committed; None: not known
    history: list[dict[str, Any]] = []

    def managed(self) -> Managed:
        """The record, without its history (written apart, as its rows)."""
        return Managed(
            self.id,
            self.platform_id,
            self.spec,
            self.applied_at,
            self.applied_by,
            self.commit,
            self.pull_request,
            (),
            self.author,
            self.merged_by,
            tuple(self.approvers),
            None if self.dirty is None else tuple(self.dirty),
        )


class LabelItem(_Item):
    name: str
    description: str | None = None


class CursorItem(_Item):
    commit: str
    set_at: str
    set_by: str
    note: str = ""


class AppliedItem(_Item):
    commit: str
    pull_request: int | None = None
    outcome: Literal["applied", "no-op", "set-applied", "refused"]
    at: str
    by: str
    detail: str = ""


class ApplyItem(_Item):
    apply_id: str
    started: int  # nanoseconds since the epoch
    finished: bool


class JournalItem(_Item):
    apply_id: str
    step: int
    change: str
    status: str
    detail: str = ""
    platform_id: str | None = None


class AckItem(_Item):
    campaign_id: str
    changes: list[str]
    platform_id: str
    spec: dict[str, Any]
    checksum: str
    file_checksum: str | None = None
    at: str
    by: str
    note: str = ""


def _unique(kind: str, keys: list[str]) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise ValueError(f"{kind} {key!r} appears twice")
        seen.add(key)


class Document(_Item):
    model_config = ConfigDict(populate_by_name=True)

    format: str
    version: int
    schema_: int = Field(alias="schema", ge=0)
    exported_at: str | None = None
    managed: list[ManagedItem] = []
    labels: list[LabelItem] = []
    cursor: CursorItem | None = None
    applied: list[AppliedItem] = []  # oldest first
    applies: list[ApplyItem] = []
    journal: list[JournalItem] = []  # in the order the steps were written
    acks: list[AckItem] = []  # oldest first (schema 3)

    @model_validator(mode="after")
    def _keys_unique(self) -> Document:
        _unique("managed campaign", [m.id for m in self.managed])
        _unique("label", [label.name for label in self.labels])
        _unique("applied commit", [a.commit for a in self.applied])
        _unique("apply", [a.apply_id for a in self.applies])
        return self


def managed_item(m: Managed) -> dict[str, Any]:
    return {
        "id": m.id,
        "platform_id": m.platform_id,
        "spec": m.spec,
        "applied_at": m.applied_at,
        "applied_by": m.applied_by,
        "commit": m.commit,
        "pull_request": m.pull_request,
        "author": m.author,
        "merged_by": m.merged_by,
        "approvers": list(m.approvers),
        "dirty": None if m.dirty is None else list(m.dirty),
        "history": list(m.history),
    }


def ack_item(a: Ack) -> dict[str, Any]:
    return {
        "campaign_id": a.campaign_id,
        "changes": list(a.changes),
        "platform_id": a.platform_id,
        "spec": a.spec,
        "checksum": a.checksum,
        "file_checksum": a.file_checksum,
        "at": a.at,
        "by": a.by,
        "note": a.note,
    }


def header(schema: int) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "schema": schema,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def parse(doc: object, source: str = "the document") -> Document:
    """A document this code can import, or a FatalError saying why not."""
    if not isinstance(doc, Mapping):
        raise FatalError(f"{source} is not a campaign-gitops state export (not a JSON object)")
    if doc.get("format") != FORMAT:
        raise FatalError(
            f"{source} is not a campaign-gitops state export (format {doc.get('format')!r}, "
            f"expected {FORMAT!r})"
        )
    if doc.get("version") != VERSION:
        raise FatalError(
            f"{source} is a state export of version {doc.get('version')!r}; this "
            f"campaign-gitops reads version {VERSION} only"
        )
    schema = doc.get("schema")
    if isinstance(schema, int) and schema > LATEST:
        raise FatalError(
            f"{source} was exported by a newer campaign-gitops (schema {schema}); upgrade "
            f"campaign-gitops to import it (this one knows schemas up to {LATEST})"
        )
    try:
        return Document.model_validate(doc)
    except ValidationError as exc:
        errors = exc.errors()
        lines = [f"  {dotted(e['loc']) or '(top)'}: {e['msg']}" for e in errors[:10]]
        if len(errors) > 10:
            lines.append(f"  ... and {len(errors) - 10} more")
        raise FatalError(
            f"{source} is not a valid campaign-gitops state export:\n" + "\n".join(lines)
        ) from None


def write(doc: Mapping[str, Any], path: Path) -> None:
    """Written whole or not at all: a half-written backup is worse than none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8") as out:
            json.dump(doc, out, indent=2, ensure_ascii=False)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)  # a full disk leaves no half backup behind
        raise


def stamped(folder: Path, stem: str, version: int) -> Path:
    """`<stem>.v<version>-<UTC time>.export.json` in `folder`, never an existing file's name."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for n in range(1, 1000):
        suffix = "" if n == 1 else f"-{n}"
        path = folder / f"{stem}.v{version}-{stamp}{suffix}.export.json"
        if not path.exists():
            return path
    raise FatalError(f"too many exports named {stem}.v{version}-{stamp}* in {folder}")
