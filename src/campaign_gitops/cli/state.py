"""The `state` commands and `ack`: what the state store holds, and a person's word that a
manual change was done in the dashboard. Registered on the main group by cli.py."""

from __future__ import annotations

import click

from campaign_gitops.cli.context import TABLE_FORMATS, Context, env_option, pass_ctx


@click.group()
def state() -> None:
    """The state store: managed campaigns, last-applied specs, the lock."""


@state.command("list")
@click.option("--format", "fmt", type=TABLE_FORMATS, default="table", show_default=True)
@env_option
@pass_ctx
def state_list(ctx: Context, fmt: str) -> None:
    """Campaigns under management and who applied them."""
    from campaign_gitops.commands.state import list_managed

    raise SystemExit(list_managed(ctx.settings, fmt))


@state.command("show")
@click.argument("campaign_id")
@env_option
@pass_ctx
def state_show(ctx: Context, campaign_id: str) -> None:
    """One managed campaign: platform id, last-applied spec, history."""
    from campaign_gitops.commands.state import show

    raise SystemExit(show(ctx.settings, campaign_id))


@state.command("set-applied")
@click.argument("commit")
@click.option("--by", help="Who records it (default: the git user).")
@click.option("--note", default="", help="Why, for the record.")
@env_option
@pass_ctx
def state_set_applied(ctx: Context, commit: str, by: str | None, note: str) -> None:
    """Take COMMIT of main as applied: the next apply on main starts after it."""
    from campaign_gitops.approval.gate import set_applied

    raise SystemExit(set_applied(ctx.settings, commit, by, note))


@state.command("unlock")
@click.argument("lock_id")
@env_option
@pass_ctx
def state_unlock(ctx: Context, lock_id: str) -> None:
    """Release a lock left by an apply that is gone (the id is in the lock message)."""
    from campaign_gitops.commands.state import unlock

    raise SystemExit(unlock(ctx.settings, lock_id))


@state.command("mv")
@click.argument("old")
@click.argument("new")
@env_option
@pass_ctx
def state_mv(ctx: Context, old: str, new: str) -> None:
    """Manage the campaign recorded as OLD under the id NEW (a file's `moved_from` does this
    in a plan)."""
    from campaign_gitops.commands.state import move

    raise SystemExit(move(ctx.settings, old, new))


@state.command("rm")
@click.argument("campaign_id")
@env_option
@pass_ctx
def state_rm(ctx: Context, campaign_id: str) -> None:
    """Stop managing CAMPAIGN_ID; its live campaign is left as it is."""
    from campaign_gitops.commands.state import remove

    raise SystemExit(remove(ctx.settings, campaign_id))


@state.command("export")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@env_option
@pass_ctx
def state_export(ctx: Context, file: str) -> None:
    """Write the whole state store (not the lock) to FILE as JSON; '-' is standard output."""
    from campaign_gitops.commands.state import export

    raise SystemExit(export(ctx.settings, file))


@state.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--replace", is_flag=True, help="Replace a state store that is not empty.")
@env_option
@pass_ctx
def state_import(ctx: Context, file: str, replace: bool) -> None:
    """Replace the state store's content with FILE, an export, in one transaction."""
    from campaign_gitops.commands.state import import_

    raise SystemExit(import_(ctx.settings, file, replace))


@click.command()
@click.argument("campaign_id")
@click.option(
    "--platform-id",
    metavar="N",
    help="The id the dashboard shows for the campaign made there (needed for a create).",
)
@click.option("--note", default="", help="What was done, for the record.")
@click.option("--by", help="Who did it (default: the git user).")
@click.option(
    "--allow-replace", is_flag=True, help="The plan showed a manual replace (with --allow-replace)."
)
@env_option
@pass_ctx
def ack(
    ctx: Context,
    campaign_id: str,
    platform_id: str | None,
    note: str,
    by: str | None,
    allow_replace: bool,
) -> None:
    """Record that the manual change the plan shows for CAMPAIGN_ID was done in the dashboard.

    The next plan shows no change for it; a later edit of its file is planned again."""
    from campaign_gitops.commands.ack import ack as run

    raise SystemExit(run(ctx.settings, ctx.at, campaign_id, platform_id, note, by, allow_replace))
