"""`import` (live campaigns into files, adopted through a pull request) and `clone`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from campaign_gitops.backends.base import ListFilter, LiveCampaign
from campaign_gitops.campaign_yaml import add_labels, state_for, to_yaml
from campaign_gitops.config import Settings
from campaign_gitops.desired.filecheck import Source, check_campaign
from campaign_gitops.errors import FatalError, Problem, ValidationFailed, dotted
from campaign_gitops.files import inside, write_atomic
from campaign_gitops.ids import BadId, check_id
from campaign_gitops.models import Label
from campaign_gitops.planning.moves import newest
from campaign_gitops.suggest import did_you_mean
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
    with Workspace(settings) as workspace:
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
    """Every check comes before anything is written: the new id (its shape, unused in the files
    and on the platform), and the copy itself (as `validate` checks a file)."""
    check_id(source, "campaign id (SOURCE)")
    check_id(new_id, "campaign id (NEW_ID)")
    labels: list[Label | str] = []
    no_labels = ""
    with Workspace(settings) as workspace:
        desired = workspace.desired
        if new_id in desired.campaigns:
            file = desired.campaigns[new_id].file
            raise FatalError(f"campaign {new_id!r} exists already ({file}); choose another id")
        live = _live(workspace, now)
        if new_id in live:
            raise FatalError(
                f"campaign {new_id!r} exists already on the platform ({live[new_id].status}, "
                f"in no file): a file with this id would take it over; choose another id, or "
                f"`campaign-gitops import {new_id}`"
            )
        doc = desired.campaigns.get(source)
        if doc is not None:
            spec = doc.spec.spec_data()
            path = (settings.root / doc.file).with_name(f"{new_id}.yaml")
        else:
            found = live.get(source)
            if found is None:
                hint = did_you_mean(source, [*desired.campaigns, *live])
                raise FatalError(f"no campaign {source!r} in the files or on the platform{hint}")
            backend = workspace.backend
            if not backend.capabilities.reads_specs:
                raise FatalError(
                    f"{source!r} is in no file, and the {backend.name} API lists campaigns' "
                    "names and statuses, not their content: there is nothing to clone it from"
                )
            spec = dict(found.spec)
            path = settings.campaigns_dir / f"{new_id}.yaml"
            # labels.yaml may lack the platform campaign's labels: added with their descriptions
            on_platform = {label.name: label for label in backend.list_labels()}
            labels = [on_platform.get(name, name) for name in found.labels]
            no_labels = "" if backend.capabilities.labels else NO_LABELS_API.format(backend.name)
    where = path.relative_to(settings.root).as_posix()
    if path.exists():
        raise FatalError(f"{where} exists; nothing was written")
    for key in ("id", "moved_from"):  # the copy is a new campaign, named by its file
        spec.pop(key, None)
    spec |= {"state": "active", "archived": False, "on_locked_change": "block"}
    text = _checked_copy(spec, path, settings.root, where)
    added = add_labels(settings.labels_file, labels) if labels else []
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)
    click.echo(f"wrote {where}: a copy of {source} as {new_id}")
    if added:
        click.echo(f"added to {settings.raw.labels_file}: {', '.join(added)}")
        if no_labels:
            click.echo(f"note: {no_labels}")
    start = _start(spec)
    if start is not None and start < now:
        click.echo(
            f"warning: {where} starts at {spec['when']['start']}, which is past "
            f"(now: {_iso(now)}): applied as it is, the copy goes live at once; set when.start "
            "to schedule it",
            err=True,
        )
    return 0


def _live(workspace: Workspace, now: datetime) -> dict[str, LiveCampaign]:
    """The platform's campaigns by id; a local platform not made yet has none (and is not made
    by a clone)."""
    settings = workspace.settings
    if settings.raw.backend == "local" and not settings.platform_path.exists():
        return {}
    return newest(workspace.backend.list_campaigns(now, ListFilter(archived="include")))


def _checked_copy(spec: dict[str, Any], path: Path, root: Path, where: str) -> str:
    """The copy's text, refused with every problem `validate` would report in it."""
    try:
        text = to_yaml(spec, path, root)
    except ValidationError as exc:
        problems = [
            Problem(where, 0, 0, dotted(err["loc"]), err["msg"], "invalid-copy")
            for err in exc.errors()
        ]
        raise ValidationFailed(problems) from None
    checked = check_campaign(Source(where, text))
    if checked.problems:
        raise ValidationFailed(checked.problems)
    return text


def _start(spec: dict[str, Any]) -> datetime | None:
    when = spec.get("when")
    start = when.get("start") if isinstance(when, dict) else None
    try:
        moment = datetime.fromisoformat(start) if isinstance(start, str) else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")
