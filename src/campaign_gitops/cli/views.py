"""The commands that show what the platform holds and what it will send: `list`, `report`,
`labels` and `calendar`. Registered on the main group by cli/__init__.py."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from campaign_gitops.cli.context import (
    TABLE_FORMATS,
    Context,
    env_option,
    pass_ctx,
    refresh_option,
)

if TYPE_CHECKING:  # imported lazily at run time: --help reads no config and loads no models
    from campaign_gitops.backends.base import ListFilter


def _filter_options(command: click.decorators.FC) -> click.decorators.FC:
    options = [
        click.option("--channel", multiple=True, help="Repeatable, like every filter."),
        click.option("--type", "type_", multiple=True),
        click.option("--status", multiple=True),
        click.option("--created-by", multiple=True),
        click.option("--label", multiple=True),
        click.option("--delivery", multiple=True),
        click.option("--archived", "archived", flag_value="only", help="Only archived campaigns."),
        click.option("--all", "archived", flag_value="include", help="Archived and not archived."),
        click.option("--filter", "saved", metavar="NAME", help="A saved filter from config."),
        click.option("--format", "fmt", type=TABLE_FORMATS, default="table", show_default=True),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _where(
    ctx: Context, saved: str | None, archived: str | None, **given: tuple[str, ...]
) -> ListFilter:
    from campaign_gitops.commands.platform import resolve_filter

    given["type"] = given.pop("type_")
    return resolve_filter(ctx.settings, saved, given, archived or "exclude")


@click.command("list")
@_filter_options
@env_option
@pass_ctx
def list_cmd(
    ctx: Context, /, fmt: str, saved: str | None, archived: str | None, **given: tuple[str, ...]
) -> None:
    """Campaigns on the platform, with the dashboard's filters (archived ones hidden)."""
    from campaign_gitops.commands.platform import list_campaigns

    where = _where(ctx, saved, archived, **given)
    raise SystemExit(list_campaigns(ctx.settings, ctx.at, where, fmt))


@click.command()
@_filter_options
@env_option
@pass_ctx
def report(
    ctx: Context, /, fmt: str, saved: str | None, archived: str | None, **given: tuple[str, ...]
) -> None:
    """Per campaign: sent, conversions and conversion rate (runs due by --at are recorded)."""
    from campaign_gitops.commands.platform import report as run

    where = _where(ctx, saved, archived or "include", **given)
    raise SystemExit(run(ctx.settings, ctx.at, where, fmt))


@click.command()
@click.option("--format", "fmt", type=TABLE_FORMATS, default="table", show_default=True)
@env_option
@pass_ctx
def labels(ctx: Context, fmt: str) -> None:
    """The platform's labels, with how many campaigns use each."""
    from campaign_gitops.commands.platform import labels as run

    raise SystemExit(run(ctx.settings, ctx.at, fmt))


@click.command()
@click.option("--from", "first", metavar="DATE", help="First day (default: the day of --at).")
@click.option("--to", "last", metavar="DATE", help="Last day (default: 30 days after --from).")
@click.option(
    "--tz",
    "tz_name",
    metavar="ZONE",
    default="UTC",
    show_default=True,
    help="The time zone of the days and times (an IANA name: Europe/Paris).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("calendar.html"),
    show_default=True,
    help="The HTML file to write ('-': stdout).",
)
@click.option("--ref", metavar="REF", help="Read the campaigns at this git commit, branch or tag.")
@click.option(
    "--base",
    metavar="BASE",
    help="With --ref (a pull request's calendar): the config comes from this commit.",
)
@refresh_option
@env_option
@pass_ctx
def calendar(
    ctx: Context,
    first: str | None,
    last: str | None,
    tz_name: str,
    out: Path,
    ref: str | None,
    base: str | None,
    refresh: bool,
) -> None:
    """One self-contained HTML page of every campaign's sends, day by day, with previews of
    its messages: the files' schedules, coloured by the platform's status."""
    from campaign_gitops.commands.calendar import Source
    from campaign_gitops.commands.calendar import calendar as run

    if base is not None and ref is None:
        raise click.UsageError("--base is for a pull request's calendar: give --ref as well")
    path = out if str(out) == "-" else ctx.chdir / out
    source = Source(ref, base, refresh)
    raise SystemExit(run(ctx.settings, ctx.at, first, last, tz_name, path, source))
