from __future__ import annotations

import json
from dataclasses import asdict

import click

from campaign_gitops.config import Settings
from campaign_gitops.errors import FatalError
from campaign_gitops.output import render
from campaign_gitops.state import open_state

COLUMNS = ("id", "platform_id", "applied_at", "applied_by", "commit", "pull_request")


def list_managed(settings: Settings, fmt: str) -> int:
    state = open_state(settings)
    try:
        managed = state.managed()
    finally:
        state.close()
    rows = [
        {c: getattr(m, c) for c in COLUMNS} for m in sorted(managed.values(), key=lambda m: m.id)
    ]
    click.echo(render(rows, COLUMNS, fmt))
    return 0


def show(settings: Settings, campaign_id: str) -> int:
    state = open_state(settings)
    try:
        managed = state.managed(history=True).get(campaign_id)
    finally:
        state.close()
    if managed is None:
        raise FatalError(f"campaign {campaign_id!r} is not managed in this state store")
    click.echo(json.dumps(asdict(managed), indent=2, default=str))
    return 0


def unlock(settings: Settings, lock_id: str) -> int:
    state = open_state(settings)
    try:
        released = state.unlock(lock_id)
    finally:
        state.close()
    if not released:
        raise FatalError(f"no lock with id {lock_id!r}")
    click.echo(f"released lock {lock_id}")
    return 0
