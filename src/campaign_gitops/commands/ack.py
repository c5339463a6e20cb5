"""`campaign-gitops ack ID`: the manual change the plan shows for ID was done in the dashboard."""

from __future__ import annotations

from datetime import datetime

import click

from campaign_gitops.acks import Request, acknowledge
from campaign_gitops.config import Settings
from campaign_gitops.gitrepo import GitError, Repo
from campaign_gitops.state.base import LockInfo
from campaign_gitops.workspace import PlanRequest, Workspace

LOCK_TIMEOUT = 10.0  # seconds an ack waits for a running apply


def _git_user(settings: Settings) -> str | None:
    try:
        return Repo(settings.root).user()
    except GitError:
        return None


def ack(
    settings: Settings,
    at: datetime,
    campaign_id: str,
    platform_id: str | None,
    note: str,
    by: str | None,
    allow_replace: bool,
) -> int:
    with Workspace(settings) as workspace:
        lock = LockInfo.mine(f"{workspace.holder} (ack)")
        desired = workspace.desired  # invalid files fail before the lock is taken
        state = workspace.state
        state.acquire(lock, LOCK_TIMEOUT)  # planned and recorded with no apply in between
        try:
            # a moved file's plan holds its move: the record it moves from is planned with it
            doc = desired.campaigns.get(campaign_id)
            moved = {doc.spec.moved_from} if doc is not None and doc.spec.moved_from else set()
            only = frozenset({campaign_id, *moved})
            request = PlanRequest(at, allow_replace=allow_replace, only=only)
            plan = workspace.plan(request)
            who = by or _git_user(settings) or workspace.holder
            done, record = acknowledge(
                plan, desired, state.managed(), Request(campaign_id, platform_id, who, note, at)
            )
            state.acknowledge(done, record)
        finally:
            state.release(lock.lock_id)
    click.echo(
        f"Acknowledged {', '.join(done.changes)} of campaign {campaign_id} (platform campaign "
        f"{done.platform_id}) by {who}: spec {done.checksum} is recorded as applied, and the "
        "next plan shows no change for it until its file changes."
    )
    return 0
