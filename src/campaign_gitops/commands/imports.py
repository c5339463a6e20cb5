"""`import` (live campaigns into files, adopted through a pull request) and `clone`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from campaign_gitops.backends.base import ListFilter
from campaign_gitops.campaign_yaml import add_labels, state_for, to_yaml
from campaign_gitops.config import Settings
from campaign_gitops.errors import FatalError
from campaign_gitops.files import inside, write_atomic
from campaign_gitops.ids import BadId, check_id
from campaign_gitops.planner import newest
from campaign_gitops.workspace import Workspace

NO_LABELS_API = (
    "the {} API has no labels: their descriptions are not imported and labels.yaml is not "
    "compared with the dashboard's; copy them from the dashboard by hand"
)


def import_campaigns(
    settings: Settings,
    now: datetime,
    ids: tuple[str, ...],
    folder: str,
    include_archived: bool,
    branch: str | None,
) -> int:
    for campaign_id in ids:
        check_id(campaign_id)
    if not inside(settings.campaigns_dir, settings.campaigns_dir / folder):
        raise BadId(f"--dir {folder!r} leads outside {settings.raw.campaigns_dir}/")
    workspace = Workspace(settings)
    try:
        desired = workspace.desired
        backend = workspace.backend
        if not backend.capabilities.reads_specs:
            raise FatalError(
                f"the {backend.name} API lists campaigns' names and statuses, not their "
                "content: there is nothing to import a campaign from. Write its file by hand and "
                "name the campaign in the dashboard `NAME [ID]`; the next plan adopts it"
                + ("" if backend.capabilities.labels else f". {NO_LABELS_API.format(backend.name)}")
            )
        where = ListFilter(archived="include" if include_archived else "exclude")
        live = newest(backend.list_campaigns(now, where)).values()
        # every field the platform has for a label: the plan after the import only adopts
        on_platform = {label.name: label for label in backend.list_labels()}
        no_labels = "" if backend.capabilities.labels else NO_LABELS_API.format(backend.name)
    finally:
        workspace.close()
    wanted = [c for c in live if c.id not in desired.campaigns and (not ids or c.id in ids)]
    unknown = sorted(set(ids) - {c.id for c in live})
    if unknown:
        raise FatalError(f"not on the platform (or archived; see --all): {', '.join(unknown)}")
    target = settings.campaigns_dir / folder
    written: list[Path] = []
    for campaign in sorted(wanted, key=lambda c: c.id):
        path = target / f"{campaign.id}.yaml"
        if path.exists():
            raise FatalError(f"{path.relative_to(settings.root)} exists; nothing was written")
        spec = campaign.spec | {"state": state_for(campaign.status), "archived": campaign.archived}
        written.append(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, to_yaml(spec, path, settings.root))
    used = [on_platform.get(n, n) for c in sorted(wanted, key=lambda c: c.id) for n in c.labels]
    labels = add_labels(settings.labels_file, used)
    for path in written:
        click.echo(f"wrote {path.relative_to(settings.root)}")
    if labels:
        click.echo(f"added to {settings.raw.labels_file}: {', '.join(labels)}")
        if no_labels:
            click.echo(f"note: {no_labels}")
    if not written:
        click.echo("every live campaign is in the files already; nothing to import")
        return 0
    if branch is not None:
        files = [*written, *([settings.labels_file] if labels else [])]
        sha = workspace.repo.commit_files(
            branch, files, f"Import {len(written)} campaign(s) from the platform"
        )
        click.echo(f"committed on branch {branch} ({sha[:12]}); open a pull request to adopt them")
    click.echo("`campaign-gitops plan` shows them as adopted, with nothing else to change.")
    return 0


def clone(settings: Settings, now: datetime, source: str, new_id: str) -> int:
    check_id(source, "campaign id (SOURCE)")
    check_id(new_id, "campaign id (NEW_ID)")
    workspace = Workspace(settings)
    try:
        desired = workspace.desired
        if new_id in desired.campaigns:
            raise FatalError(f"campaign {new_id!r} exists already")
        doc = desired.campaigns.get(source)
        if doc is not None:
            spec = doc.spec.spec_data()
            path = (settings.root / doc.source.file).with_name(f"{new_id}.yaml")
        else:
            live = newest(
                workspace.backend.list_campaigns(now, ListFilter(archived="include"))
            ).get(source)
            if live is None:
                raise FatalError(f"no campaign {source!r} in the files or on the platform")
            spec = dict(live.spec)
            path = settings.campaigns_dir / f"{new_id}.yaml"
    finally:
        workspace.close()
    if path.exists():
        raise FatalError(f"{path.relative_to(settings.root)} exists; nothing was written")
    spec |= {"state": "active", "archived": False, "on_locked_change": "block"}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, to_yaml(spec, path, settings.root))
    click.echo(f"wrote {path.relative_to(settings.root)}: a copy of {source} as {new_id}")
    return 0
