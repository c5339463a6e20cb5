from __future__ import annotations

import getpass
import json
import socket
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from campaign_gitops.config import Settings
from campaign_gitops.errors import FatalError
from campaign_gitops.ids import check_id
from campaign_gitops.state import open_state
from campaign_gitops.state.base import LockInfo, StateStore
from campaign_gitops.state.document import parse, write
from campaign_gitops.suggest import did_you_mean
from campaign_gitops.views.tables import render

COLUMNS = ("id", "platform_id", "applied_at", "applied_by", "commit", "pull_request")
IMPORT_LOCK_TIMEOUT = 10.0  # seconds an import waits for a running apply


def list_managed(settings: Settings, fmt: str) -> int:
    with open_state(settings) as state:
        managed = state.managed()
    rows = [
        {c: getattr(m, c) for c in COLUMNS} for m in sorted(managed.values(), key=lambda m: m.id)
    ]
    click.echo(render(rows, COLUMNS, fmt))
    return 0


def show(settings: Settings, campaign_id: str) -> int:
    """The record, with the acknowledgements of manual changes done in the dashboard (kept
    after the campaign is forgotten: they say who did what)."""
    from campaign_gitops.acks import shown

    check_id(campaign_id)
    with open_state(settings) as state:
        managed = state.managed(history=True).get(campaign_id)
        acks = state.acks(campaign_id)
        known = state.managed_ids() if managed is None and not acks else ()
    if managed is None and not acks:
        raise _not_managed(campaign_id, known)
    record = asdict(managed) if managed is not None else {"id": campaign_id, "managed": False}
    if managed is not None:  # the audit trail: were the files applied the commit's?
        record["clean"] = None if managed.dirty is None else not managed.dirty
    record["acknowledgements"] = [shown(a) for a in acks]
    click.echo(json.dumps(record, indent=2, default=str))
    return 0


def unlock(settings: Settings, lock_id: str) -> int:
    with open_state(settings) as state:
        released = state.unlock(lock_id)
    if not released:
        raise FatalError(f"no lock with id {lock_id!r}")
    click.echo(f"released lock {lock_id}")
    return 0


def _summary(doc: dict[str, Any]) -> str:
    cursor = doc.get("cursor")
    at = f", cursor at {str(cursor['commit'])[:12]}" if cursor else ""
    return (
        f"{len(doc['managed'])} campaign(s), {len(doc['labels'])} label(s), "
        f"{len(doc['applied'])} commit(s) in the log{at} (schema {doc['schema']})"
    )


def export(settings: Settings, file: str) -> int:
    """The whole store (not the lock) to FILE, or standard output for '-'."""
    with open_state(settings) as state:
        doc = state.export()
    if file == "-":
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        click.echo(f"exported {_summary(doc)}", err=True)
    else:
        write(doc, Path(file))
        click.echo(f"exported {_summary(doc)} to {file}")
    return 0


def _read(file: str) -> object:
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise FatalError(f"cannot read {file}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise FatalError(f"{file} is not UTF-8 text: not a state export") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FatalError(
            f"{file}:{exc.lineno}:{exc.colno}: not JSON ({exc.msg}): not a state export"
        ) from None
    except RecursionError:
        raise FatalError(f"{file} nests too deeply: not a state export") from None


def _content(state: StateStore) -> str | None:
    """What the store holds that an import would replace; None when it holds nothing."""
    managed, labels = state.managed(), state.labels()
    parts = [
        f"{len(managed)} managed campaign(s)" if managed else "",
        f"{len(labels)} managed label(s)" if labels else "",
        "an apply cursor" if state.cursor() else "",
        "a commit log" if state.applied_commits(1) else "",
        "acknowledgements of manual changes" if state.acks() else "",
    ]
    return ", ".join(p for p in parts if p) or None


def _holder() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()} (state import)"


def import_(settings: Settings, file: str, replace: bool) -> int:
    """Replace the store's content with an export, under the apply lock, in one transaction."""
    source = "standard input" if file == "-" else file
    doc = parse(_read(file), source).model_dump(by_alias=True)  # checked before opening
    with open_state(settings) as state:
        lock = LockInfo.mine(_holder())
        state.acquire(lock, IMPORT_LOCK_TIMEOUT)
        try:
            held = _content(state)
            if held and not replace:
                raise FatalError(
                    f"the state store already holds {held}; pass --replace to replace all of "
                    "it with the import (`state export` first keeps a copy)"
                )
            state.import_(doc)
        finally:
            state.release(lock.lock_id)
    click.echo(f"imported {_summary(doc)} from {source}")
    return 0


def _locked_change(settings: Settings, change: Callable[[StateStore], bool]) -> bool:
    """One edit of the store under the apply lock (an apply in flight finishes first)."""
    with open_state(settings) as state:
        lock = LockInfo.mine(_holder())
        state.acquire(lock, IMPORT_LOCK_TIMEOUT)
        try:
            return change(state)
        finally:
            state.release(lock.lock_id)


def move(settings: Settings, old: str, new: str) -> int:
    """`state mv OLD NEW`: the record (and acknowledgements) of OLD under NEW, for what no file
    says (a file says `moved_from: OLD`, and the plan moves it)."""
    check_id(old)
    check_id(new)
    if not _locked_change(settings, lambda state: state.move(old, new)):
        raise _not_managed(old, _managed_ids(settings))
    click.echo(f"moved {old} -> {new} in the state store; the platform's campaign is unchanged")
    return 0


def remove(settings: Settings, campaign_id: str) -> int:
    """`state rm ID`: the campaign is no longer managed; the platform's campaign is untouched."""
    from campaign_gitops.desired.loader import read_configured
    from campaign_gitops.errors import ValidationFailed

    check_id(campaign_id)

    def forget(state: StateStore) -> bool:
        if campaign_id not in state.managed():
            return False
        state.forget(campaign_id)
        return True

    if not _locked_change(settings, forget):
        raise _not_managed(campaign_id, _managed_ids(settings))
    click.echo(f"removed {campaign_id} from the state store; the platform's campaign is unchanged")
    try:
        desired = read_configured(settings)
    except ValidationFailed:
        return 0
    if campaign_id in desired.campaigns:
        file = desired.campaigns[campaign_id].file
        click.echo(
            f"note: {file} still has the id {campaign_id}: the next plan adopts its live "
            "campaign again (remove or rename the file to stop managing it)"
        )
    return 0


def _managed_ids(settings: Settings) -> Iterable[str]:
    with open_state(settings) as state:
        return list(state.managed_ids())


def _not_managed(campaign_id: str, known: Iterable[str]) -> FatalError:
    return FatalError(
        f"campaign {campaign_id!r} is not managed in this state store"
        f"{did_you_mean(campaign_id, known)}"
    )
