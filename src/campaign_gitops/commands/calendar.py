"""`calendar`: every campaign's sends in a window as one HTML page, from the files' specs and
the platform's statuses."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from campaign_gitops.approval.pullrequest import for_pull_request
from campaign_gitops.backends.base import ListFilter, LiveCampaign
from campaign_gitops.config import Settings
from campaign_gitops.desired.loader import gc_paused
from campaign_gitops.errors import FatalError
from campaign_gitops.files import write_atomic
from campaign_gitops.planning.moves import newest
from campaign_gitops.views import calendar_page
from campaign_gitops.views.calendar import day_starts, sends
from campaign_gitops.workspace import Workspace

DEFAULT_DAYS = 30
MAX_DAYS = 366  # a page of a year at most: each recurring run is one mark


def parse_day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FatalError(f"{option} {text!r} is not a date (2026-12-01)") from None


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FatalError(
            f"--tz {name!r} is not a time zone name (UTC, Europe/Paris, Asia/Kolkata)"
        ) from None


@dataclass(frozen=True)
class Source:
    """Where the campaigns and statuses come from: the work tree and the platform by default;
    a pull request's head (`ref`) with the config of its base, statuses from the state store
    (`refresh=False`: no platform credentials), as plan.yml draws it."""

    ref: str | None = None
    base: str | None = None
    refresh: bool = True


def calendar(
    settings: Settings,
    at: datetime,
    first_text: str | None,
    last_text: str | None,
    tz_name: str,
    out: Path,
    source: Source = Source(),
) -> int:
    tz = zone(tz_name)
    first = parse_day(first_text, "--from") or at.astimezone(tz).date()
    try:
        last = parse_day(last_text, "--to") or first + timedelta(days=DEFAULT_DAYS)
        midnights = day_starts(first, min((last - first).days + 1, MAX_DAYS), tz)
    except OverflowError:
        raise FatalError(f"--from {first}: the window runs past the year 9999") from None
    if last < first:
        raise FatalError(f"--to {last} is before --from {first}")
    days = (last - first).days + 1
    if days > MAX_DAYS:
        raise FatalError(f"the window is {days} days; at most {MAX_DAYS}: narrow --from/--to")
    window = calendar_page.Window(midnights[0], midnights[-1], midnights, tz_name, at)
    if source.ref is not None and source.base is not None:
        settings, _ = for_pull_request(settings, source.ref, source.base)
    # each campaign is drawn where its file is checked (on every core), and no model crosses
    # back; many objects and no cycles: each of the collector's passes would cost a third of a
    # second, so it is paused for the whole command
    workspace = Workspace(settings, source.ref, refresh=source.refresh, then=calendar_page.draw)
    with gc_paused(), workspace:
        campaigns: dict[str, calendar_page.Drawn] = workspace.desired.made
        backend = workspace.backend
        listed = backend.list_campaigns(at, ListFilter(archived="include"), with_spec=False)
        live = newest(listed)
        statuses = {cid: "archived" if c.archived else c.status for cid, c in live.items()}
        return _write(campaigns, statuses, live, window, backend.name, out)


def _write(
    campaigns: dict[str, calendar_page.Drawn],
    statuses: dict[str, str],
    live: dict[str, LiveCampaign],
    window: calendar_page.Window,
    backend_name: str,
    out: Path,
) -> int:
    tz = window.start.tzinfo
    assert tz is not None
    found = sends(campaigns, statuses, window.start, window.end, tz, now=window.at)
    unfiled = sorted(set(live) - set(campaigns))
    notes = []
    if unfiled:
        shown = ", ".join(unfiled[:5]) + (
            f" and {len(unfiled) - 5} more" if len(unfiled) > 5 else ""
        )
        notes.append(
            f"{len(unfiled)} campaign(s) on the platform have no file and are not drawn: "
            f"{shown} (`campaign-gitops import` writes their files)"
        )
    page = calendar_page.build(
        campaigns, statuses, found, window, backend=backend_name, notes=notes
    )
    html = calendar_page.render(page)
    if str(out) == "-":
        sys.stdout.write(html)
        return 0
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(out, html)
    except OSError as exc:
        raise FatalError(f"{out}: cannot write the calendar ({exc.strerror or exc})") from exc
    click.echo(
        f"wrote {out}: {len(campaigns)} campaigns, {page['total_sends']} sends "
        f"from {window.days[0]:%Y-%m-%d} to {window.days[-2]:%Y-%m-%d} ({window.tz_name})"
    )
    return 0
