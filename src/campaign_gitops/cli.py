"""The click layer: parse arguments, call a command function, map errors to exit codes."""

from __future__ import annotations

import logging
import sys
import traceback
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import click

from campaign_gitops import __version__
from campaign_gitops.errors import FatalError, ValidationFailed, render_problems

if TYPE_CHECKING:  # imported lazily at run time: --help reads no config and loads no models
    from campaign_gitops.backends.base import ListFilter
    from campaign_gitops.config import Settings

log = logging.getLogger("campaign_gitops")
FORMATS = click.Choice(["text", "json", "github"])


@dataclass
class Context:
    chdir: Path
    config_file: Path | None
    at_text: str | None
    verbose: bool = False

    @cached_property
    def settings(self) -> Settings:
        from campaign_gitops.config import load_settings

        return load_settings(self.chdir, self.config_file)

    @cached_property
    def at(self) -> datetime:
        from campaign_gitops.timeutil import parse_at

        return parse_at(self.at_text)


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="campaign-gitops")
@click.option(
    "-C",
    "--chdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    help="Run as if started in this folder.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file (default: nearest campaign-gitops.toml or pyproject.toml).",
)
@click.option(
    "--at", "at_text", metavar="TIME", help="Evaluate as of this ISO 8601 time (default: now)."
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logs; tracebacks on errors.")
@click.pass_context
def cli(
    ctx: click.Context, chdir: Path, config_file: Path | None, at_text: str | None, verbose: bool
) -> None:
    """Messaging campaigns as code: validate, plan and apply them from git."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = Context(chdir=chdir, config_file=config_file, at_text=at_text, verbose=verbose)


@cli.command()
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
@pass_ctx
def validate(ctx: Context, fmt: str) -> None:
    """Check every campaign and labels.yaml; report all problems with file:line:col."""
    from campaign_gitops.commands.validate import validate as run

    raise SystemExit(run(ctx.settings, fmt))


@cli.group()
def schema() -> None:
    """JSON Schemas of campaigns, labels and config."""


@schema.command("export")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Target folder (default: the package's schemas/).",
)
@click.option("--check", is_flag=True, help="Exit 1 when a file differs; write nothing.")
def schema_export(directory: Path | None, check: bool) -> None:
    """Write schemas/*.schema.json generated from the models."""
    from campaign_gitops.commands.schema import export

    raise SystemExit(export(directory, check))


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
def init(directory: Path) -> None:
    """Scaffold a campaigns repository: config, labels.yaml, an example campaign, schemas."""
    from campaign_gitops.commands.init import init as run

    raise SystemExit(run(directory))


TABLE_FORMATS = click.Choice(["table", "json", "csv"])


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


@cli.command("list")
@_filter_options
@pass_ctx
def list_cmd(
    ctx: Context, /, fmt: str, saved: str | None, archived: str | None, **given: tuple[str, ...]
) -> None:
    """Campaigns on the platform, with the dashboard's filters (archived ones hidden)."""
    from campaign_gitops.commands.platform import list_campaigns

    where = _where(ctx, saved, archived, **given)
    raise SystemExit(list_campaigns(ctx.settings, ctx.at, where, fmt))


@cli.command()
@_filter_options
@pass_ctx
def report(
    ctx: Context, /, fmt: str, saved: str | None, archived: str | None, **given: tuple[str, ...]
) -> None:
    """Per campaign: sent, conversions and conversion rate (runs due by --at are recorded)."""
    from campaign_gitops.commands.platform import report as run

    where = _where(ctx, saved, archived or "include", **given)
    raise SystemExit(run(ctx.settings, ctx.at, where, fmt))


@cli.group()
def platform() -> None:
    """The embedded local platform."""


@platform.command("seed")
@click.option("--users", type=click.IntRange(0, 10_000_000), default=10_000, show_default=True)
@click.option("--seed", "seed_value", type=int, default=1, show_default=True)
@pass_ctx
def platform_seed(ctx: Context, users: int, seed_value: int) -> None:
    """Fill the local profile store with deterministic synthetic users and events."""
    from campaign_gitops.commands.platform import seed

    raise SystemExit(seed(ctx.settings, ctx.at, users, seed_value))


def main(argv: list[str] | None = None) -> int:
    verbose = "-v" in (argv or sys.argv[1:]) or "--verbose" in (argv or sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="campaign-gitops", standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except ValidationFailed as exc:
        click.echo(render_problems(exc.problems, "text"), err=True)
        return exc.exit_code
    except FatalError as exc:
        if verbose:
            traceback.print_exc()
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except Exception as exc:
        if verbose:
            traceback.print_exc()
        click.echo(
            f"error: unexpected {type(exc).__name__}: {exc} (run with -v for details)", err=True
        )
        return 1
    return 0
