from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from datetime import datetime

import click

from campaign_gitops.backends import open_backend
from campaign_gitops.backends.base import Backend, ListFilter
from campaign_gitops.config import Settings
from campaign_gitops.errors import FatalError
from campaign_gitops.filters import CHOICES, unknown
from campaign_gitops.views.tables import render

LIST_COLUMNS = ("id", "name", "channel", "type", "status", "delivery", "labels", "created_by")
LABEL_COLUMNS = ("name", "description", "campaigns", "archived")
REPORT_COLUMNS = (
    "id",
    "channel",
    "type",
    "status",
    "delivery",
    "labels",
    "created_by",
    "sent",
    "conversions",
    "conversion_rate",
)


def resolve_filter(
    settings: Settings, saved: str | None, given: dict[str, tuple[str, ...]], archived: str
) -> ListFilter:
    base: dict[str, object] = {}
    if saved is not None:
        if saved not in settings.raw.filters:
            known = ", ".join(sorted(settings.raw.filters)) or "none"
            raise FatalError(f"no saved filter named {saved!r} (saved filters: {known})")
        base = settings.raw.filters[saved].model_dump()
    chosen = {key: values for key, values in given.items() if values}
    for key, values in chosen.items():
        if key in CHOICES:
            why = unknown(values, CHOICES[key], f"a {key}")
            if why is not None:
                raise click.BadParameter(why, param_hint=f"'--{key.replace('_', '-')}'")
    if archived != "exclude" or "archived" not in base:
        base["archived"] = archived
    return ListFilter(**(base | chosen))  # type: ignore[arg-type]


def _check_labels(backend: Backend, where: ListFilter) -> None:
    """A label filter names a label of the platform (one without a labels API takes any)."""
    if where.label and backend.capabilities.labels:
        known = sorted(label.name for label in backend.list_labels())
        why = unknown(where.label, known, "a label on the platform")
        if why is not None:
            raise click.BadParameter(why, param_hint="'--label'")


def list_campaigns(settings: Settings, now: datetime, where: ListFilter, fmt: str) -> int:
    with open_backend(settings) as backend:
        _check_labels(backend, where)
        campaigns = backend.list_campaigns(now, where, with_spec=False)
    rows = [c.row() for c in campaigns]
    columns: tuple[str, ...] = LIST_COLUMNS
    if where.archived == "include":  # --all: which ones are archived
        columns = (*columns[:5], "archived", *columns[5:])
    click.echo(render(rows, columns if fmt == "table" or not rows else list(rows[0]), fmt))
    return 0


def labels(settings: Settings, now: datetime, fmt: str) -> int:
    """The platform's labels, with how many campaigns use each (not archived, archived)."""
    with open_backend(settings) as backend:
        campaigns = backend.list_campaigns(now, ListFilter(archived="include"), with_spec=False)
        has_api = backend.capabilities.labels
        defined = {label.name: label.description for label in backend.list_labels()}
        name = backend.name
    used: Counter[str] = Counter()
    archived: Counter[str] = Counter()
    for campaign in campaigns:
        (archived if campaign.archived else used).update(set(campaign.labels))
    names = sorted(set(defined) | set(used) | set(archived), key=str.casefold)
    rows = [
        {
            "name": label,
            "description": defined.get(label),
            "campaigns": used[label],
            "archived": archived[label],
        }
        for label in names
    ]
    click.echo(render(rows, LABEL_COLUMNS, fmt))
    if not has_api:
        click.echo(
            f"note: the {name} API has no labels: these are the labels of the messages its "
            "message report covers (messages sent or scheduled around now), not every label "
            "of the account, and without their descriptions",
            err=True,
        )
    return 0


def report(settings: Settings, now: datetime, where: ListFilter, fmt: str) -> int:
    with open_backend(settings) as backend:
        _check_labels(backend, where)
        rows = backend.report(now, where)
    out = [asdict(r) | {"conversion_rate": round(r.conversion_rate, 4)} for r in rows]
    columns = REPORT_COLUMNS if fmt != "json" else tuple(out[0]) if out else REPORT_COLUMNS
    if fmt != "json" and settings.raw.global_limits.active:  # the users the limits skipped
        at = columns.index("sent")
        columns = (*columns[:at], "limited", *columns[at:])
    click.echo(render(out, columns, fmt))
    skipped = [(r.id, reason) for r in rows for reason in r.skipped]
    if fmt == "table":
        for campaign, reason in skipped:
            click.echo(f"note: {campaign}: a run was skipped: {reason}", err=True)
    return 0


def seed(settings: Settings, now: datetime, users: int, seed_value: int) -> int:
    from campaign_gitops.backends.local import LocalBackend
    from campaign_gitops.embedded.synthetic import SAVED_SEGMENTS, generate

    with open_backend(settings) as backend:
        if not isinstance(backend, LocalBackend):
            raise FatalError(
                f"`platform seed` fills the local backend; this environment uses {backend.name}"
            )
        counts = generate(backend.profiles_path(), users, seed_value, now)
        with backend.transaction():
            backend.db.executemany(
                "INSERT OR REPLACE INTO saved_segments VALUES (?, ?)",
                [(k, json.dumps(v)) for k, v in SAVED_SEGMENTS.items()],
            )
            backend.db.execute("DELETE FROM runs")
            backend.db.execute("DELETE FROM notification_sent")
            backend.db.execute("DELETE FROM conversions")
    click.echo(
        f"seeded {counts['users']:,} users and {counts['events']:,} events "
        f"(seed {seed_value}) into {backend.profiles_path().name}; "
        f"saved segments: {', '.join(SAVED_SEGMENTS)}"
    )
    return 0


def review(settings: Settings, now: datetime, campaign_id: str, approve: bool) -> int:
    """The dashboard's approver approving or rejecting a campaign pending approval."""
    from campaign_gitops.backends.local import LocalBackend

    with open_backend(settings) as backend:
        if not isinstance(backend, LocalBackend):
            raise FatalError(
                "`platform review` acts as the local platform's approver; on "
                f"{backend.name} the approver decides in the dashboard"
            )
        if not backend.workflow:
            raise FatalError(
                "the account does not use the creator-approver workflow (creator_approver = "
                "false): nothing waits for approval"
            )
        live = backend.review(campaign_id, approve=approve, now=now)
    verb = "approved" if approve else "rejected"
    click.echo(f"{verb} {campaign_id} ({live.platform_id}): now {live.status.replace('_', ' ')}")
    return 0
