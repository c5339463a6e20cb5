"""The click layer: parse arguments, call a command function, map errors to exit codes."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from campaign_gitops import __version__, redact
from campaign_gitops.cli import exits
from campaign_gitops.cli.context import (
    Context,
    accept_global_options,
    env_option,
    pass_ctx,
    refresh_option,
)
from campaign_gitops.cli.spellings import rewrite_terraform_flags
from campaign_gitops.cli.state import ack, state
from campaign_gitops.cli.views import calendar, labels, list_cmd, report

log = logging.getLogger("campaign_gitops")
FORMATS = click.Choice(["text", "json", "github"])


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
@click.option("--env", metavar="NAME", help="An environment from config (default: the top level).")
@click.option("-v", "--verbose", is_flag=True, help="Debug logs; tracebacks on errors.")
@click.option(
    "--jobs",
    type=click.IntRange(0),
    metavar="N",
    help="Processes that check campaign files (1: this one only; 0: every core). "
    "Default: CAMPAIGN_GITOPS_JOBS, else every core.",
)
@click.pass_context
def cli(
    ctx: click.Context,
    chdir: Path,
    config_file: Path | None,
    at_text: str | None,
    env: str | None,
    verbose: bool,
    jobs: int | None,
) -> None:
    """Messaging campaigns as code: validate, plan and apply them from git."""
    redact.configure_logging(verbose)
    if jobs is not None:
        os.environ["CAMPAIGN_GITOPS_JOBS"] = str(jobs)  # parallel.py reads it
    ctx.obj = Context(chdir, config_file, at_text, verbose, env)


@cli.command()
@click.argument("named", metavar="[FILES]...", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
@env_option
@pass_ctx
def validate(ctx: Context, named: tuple[Path, ...], fmt: str) -> None:
    """Check every campaign and labels.yaml; report all problems with file:line:col.

    With FILES (a pre-commit hook's), only their problems: ids and labels are still checked
    across the whole repository; a file that is neither a campaign nor the labels file is
    ignored, and naming the config checks everything."""
    from campaign_gitops.commands.validate import validate as run

    raise SystemExit(run(ctx.settings, fmt, named, ctx.chdir))


@cli.command()
@click.argument("named", metavar="[FILES]...", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--check", is_flag=True, help="Write nothing; list the files that would change, exit 1."
)
@pass_ctx
def fmt(ctx: Context, named: tuple[Path, ...], check: bool) -> None:
    """Rewrite campaign files and labels.yaml in the canonical style, keeping their comments.

    The data never changes: a file whose rewrite would not read back equal is left as it is
    and reported, as is one that does not parse. FILES: only these (others are ignored)."""
    from campaign_gitops.commands.fmt import fmt as run

    raise SystemExit(run(ctx.settings, check, named, ctx.chdir))


@cli.group()
def schema() -> None:
    """JSON Schemas of campaigns, labels and config."""


@schema.command("export")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Target folder (default: the repository's schemas/; the config is not read).",
)
@click.option("--check", is_flag=True, help="Exit 1 when a file differs; write nothing.")
@pass_ctx
def schema_export(ctx: Context, directory: Path | None, check: bool) -> None:
    """Write schemas/*.schema.json generated from the models."""
    from campaign_gitops.commands.schema import export

    raise SystemExit(export(directory, check, ctx.chdir, ctx.config_file))


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@pass_ctx
def init(ctx: Context, directory: Path) -> None:
    """Scaffold a campaigns repository: config, labels.yaml, an example campaign, schemas."""
    from campaign_gitops.commands.init import init as run

    raise SystemExit(run(ctx.chdir / directory))  # -C DIR: as if started there


def _request(ctx: Context, allow_replace: bool, prune: bool, refresh_only: bool = False) -> Any:
    from campaign_gitops.workspace import PlanRequest

    return PlanRequest(ctx.at, allow_replace, prune, refresh_only)


def _plan_options(command: click.decorators.FC) -> click.decorators.FC:
    options = [
        click.option(
            "--allow-replace",
            is_flag=True,
            help="Make changes the live status forbids by stopping the campaign and creating a "
            "clone (what `on_locked_change: replace` does for one campaign).",
        ),
        click.option(
            "--prune",
            is_flag=True,
            help="Stop live campaigns whose file was removed (default: only forget them).",
        ),
        click.option(
            "--target",
            "targets",
            multiple=True,
            metavar="ID|GLOB|PATH",
            help="Only this campaign: an id, an id glob (team-a-*) or a path under the "
            "campaigns folder (repeatable). The plan is partial: other campaigns are not planned.",
        ),
        click.option(
            "--force",
            is_flag=True,
            help="Go ahead with a plan over the [safety] thresholds (max_reach, "
            "max_changed_percent).",
        ),
        env_option,
    ]
    for option in reversed(options):
        command = option(command)
    return command


@cli.command()
@_plan_options
@click.option("--refresh-only", is_flag=True, help="Only report drift; plan no change.")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Save the plan (JSON) here."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes (0: none, 1: error)."
)
@click.option("--ref", metavar="REF", help="Read the campaigns at this git commit, branch or tag.")
@click.option(
    "--changed-since",
    metavar="BASE",
    help="Only campaigns whose files changed since BASE, and those using changed labels.",
)
@click.option(
    "--comment", "post_comment", is_flag=True, help="Create or update the pull request's comment."
)
@click.option("--pr", type=int, help="The pull request (default: from the GitHub event).")
@click.option(
    "--calendar-url",
    metavar="URL",
    help="With --comment: the calendar page's address (the workflow's artifact), linked.",
)
@click.option(
    "--estimate", is_flag=True, help="Show the estimated reach of new audiences (the backend's)."
)
@refresh_option
@pass_ctx
def plan(
    ctx: Context,
    allow_replace: bool,
    prune: bool,
    targets: tuple[str, ...],
    force: bool,
    refresh_only: bool,
    out: Path | None,
    fmt: str,
    detailed_exitcode: bool,
    ref: str | None,
    changed_since: str | None,
    post_comment: bool,
    pr: int | None,
    calendar_url: str | None,
    estimate: bool,
    refresh: bool,
) -> None:
    """Show what apply would change, what the platform's rules block and what needs approval.

    With --ref and --changed-since (a pull request's plan), the config (approval policy,
    endpoints, state) comes from the base commit, never from the files under review."""
    from dataclasses import replace

    from campaign_gitops.commands.plan import plan as run

    if targets and changed_since is not None:
        raise click.UsageError("--target and --changed-since cannot be combined")

    request = replace(
        _request(ctx, allow_replace, prune, refresh_only), estimate=estimate, force=force
    )
    raise SystemExit(
        run(
            ctx.settings,
            request,
            fmt,
            out,
            detailed_exitcode,
            ref=ref,
            changed_since=changed_since,
            post_comment=post_comment,
            pr=pr,
            refresh=refresh,
            targets=targets,
            calendar_url=calendar_url,
        )
    )


@cli.group()
def approval() -> None:
    """Pull-request approval of the changes the approval policy names."""


@approval.command("check")
@click.option(
    "--pr", type=int, help="The pull request (default: from the GitHub event, or --ref's)."
)
@click.option(
    "--ref",
    metavar="REF",
    help="The pull request's head commit: its files are read as data, the policy comes from "
    "the base (default: the work tree, with its own config).",
)
@click.option("--base", metavar="REF", help="With --ref: the base (default: the pull request's).")
@click.option("--head", metavar="OWNER:BRANCH", help="Find the pull request by its branch (forks).")
@click.option(
    "--status",
    is_flag=True,
    help="Also set the commit status campaign-gitops/approval on the head (require it).",
)
@refresh_option
@env_option
@pass_ctx
def approval_check(
    ctx: Context,
    pr: int | None,
    ref: str | None,
    base: str | None,
    head: str | None,
    refresh: bool,
    status: bool,
) -> None:
    """Pass only when an approver other than the author approved the head commit."""
    from campaign_gitops.commands.approve import check

    request = _request(ctx, False, False)
    raise SystemExit(check(ctx.settings, request, pr, ref, base, refresh, status, head))


def _duration(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        if text and text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not a duration like 30s or 2m") from exc


@cli.command()
@click.argument("plan_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@_plan_options
@click.option("--auto-approve", is_flag=True, help="Apply without asking.")
@click.option("--continue-on-error", is_flag=True, help="Go on with the other changes.")
@click.option(
    "--lock-timeout",
    default="10s",
    show_default=True,
    help="How long to wait for another apply's lock.",
)
@click.option(
    "--merged",
    is_flag=True,
    help="Apply main's merged pull requests since the apply cursor, each under its own "
    "approval (the default in GitHub Actions).",
)
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="Print only the outcome and the failures: no plan, no steps.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one document on stdout, {format_version, ok, results}, one result per change; "
    "the plan and the progress go to stderr.",
)
@pass_ctx
def apply(
    ctx: Context,
    plan_file: Path | None,
    allow_replace: bool,
    prune: bool,
    targets: tuple[str, ...],
    force: bool,
    auto_approve: bool,
    continue_on_error: bool,
    lock_timeout: str,
    merged: bool,
    quiet: bool,
    fmt: str,
) -> None:
    """Apply the changes (or PLAN_FILE from `plan --out`, refused when stale)."""
    from dataclasses import replace

    from campaign_gitops.commands.apply import apply as run

    if targets and plan_file is not None:
        raise click.UsageError("--target with a PLAN_FILE: the saved plan names its own targets")

    raise SystemExit(
        run(
            ctx.settings,
            replace(_request(ctx, allow_replace, prune), force=force),
            plan_file,
            auto_approve=auto_approve,
            continue_on_error=continue_on_error,
            lock_timeout=_duration(lock_timeout),
            merged=merged,
            targets=targets,
            quiet=quiet,
            fmt=fmt,
        )
    )


@cli.command()
@click.argument("plan_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
)
@pass_ctx
def show(ctx: Context, plan_file: Path, fmt: str) -> None:
    """Show PLAN_FILE (from `plan --out`) as `plan` printed it; reads nothing else, no config.

    A stale plan is shown as it was made: `apply PLAN_FILE` is what refuses it."""
    from campaign_gitops.commands.show import show as run

    raise SystemExit(run(ctx.chdir / plan_file, fmt))


@cli.command("import")
@click.argument("ids", nargs=-1)
@click.option(
    "--dir", "folder", default="imported", show_default=True, help="Folder inside campaigns/."
)
@click.option("--all", "include_archived", is_flag=True, help="Archived campaigns too.")
@click.option("--branch", metavar="NAME", help="Commit the files on this new branch.")
@env_option
@pass_ctx
def import_cmd(
    ctx: Context, ids: tuple[str, ...], folder: str, include_archived: bool, branch: str | None
) -> None:
    """Write files for live campaigns that are not in git (all, or IDS)."""
    from campaign_gitops.commands.imports import import_campaigns

    raise SystemExit(import_campaigns(ctx.settings, ctx.at, ids, folder, include_archived, branch))


@cli.command()
@click.argument("source")
@click.argument("new_id")
@env_option
@pass_ctx
def clone(ctx: Context, source: str, new_id: str) -> None:
    """Write NEW_ID as a copy of SOURCE: the remedy for a stopped or archived campaign."""
    from campaign_gitops.commands.imports import clone as run

    raise SystemExit(run(ctx.settings, ctx.at, source, new_id))


for command in (state, ack, list_cmd, report, labels, calendar):
    cli.add_command(command)


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


@platform.command("review")
@click.argument("campaign_id", metavar="ID")
@click.option("--approve/--reject", required=True, help="The approver's decision.")
@pass_ctx
def platform_review(ctx: Context, campaign_id: str, approve: bool) -> None:
    """Act as the dashboard's approver: approve or reject the campaign ID (its id in the files)
    while it is pending approval."""
    from campaign_gitops.commands.platform import review

    raise SystemExit(review(ctx.settings, ctx.at, campaign_id, approve))


def main(argv: list[str] | None = None, *, commands_stopped: bool = False) -> int:
    from campaign_gitops import ci

    args = rewrite_terraform_flags(sys.argv[1:] if argv is None else argv)
    if ci.in_actions() and not commands_stopped and not ci.annotations_only(args):
        with ci.stop_commands():  # no line of campaign data can act as a workflow command
            return main(args, commands_stopped=True)
    accept_global_options(cli)  # also after the command, on every command registered by now
    return exits.run(
        lambda: cli.main(args=args, prog_name="campaign-gitops", standalone_mode=False), args
    )
