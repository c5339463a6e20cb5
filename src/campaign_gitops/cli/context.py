"""What every command of the click layer shares: the global options' context, the global
options after a command, the table formats. Light on purpose: `--help` imports it."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # imported lazily at run time: --help reads no config and loads no models
    from campaign_gitops.config import Settings

TABLE_FORMATS = click.Choice(["table", "json", "csv"])
log = logging.getLogger(__name__)


@dataclass
class Context:
    chdir: Path
    config_file: Path | None
    at_text: str | None
    verbose: bool = False
    env: str | None = None

    @cached_property
    def settings(self) -> Settings:
        from campaign_gitops.config import STATE_ENV, env_state, load_settings
        from campaign_gitops.state import is_postgres

        settings = (
            load_settings(self.chdir, self.config_file).for_env(self.env).with_environ(os.environ)
        )
        raw = settings.raw  # the state's kind only: its value may hold a password
        log.debug(
            "config loaded: %s (env %s, backend %s at %s, state: %s from %s)",
            settings.config_file or "none (defaults)",
            settings.env,
            raw.backend,
            settings.endpoint,
            "postgresql" if is_postgres(raw.state.strip()) else "sqlite",
            STATE_ENV if env_state(os.environ) is not None else "the config",
        )
        return settings

    @cached_property
    def at(self) -> datetime:
        from campaign_gitops.timeutil import parse_at

        return parse_at(self.at_text)


pass_ctx = click.make_pass_decorator(Context)


def _set_env(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(Context).env = value


refresh_option = click.option(
    "--refresh/--no-refresh",
    default=True,
    show_default=True,
    help="--no-refresh: live values are the state store's last-applied specs; the platform is "
    "not contacted and needs no credentials (a pull request's plan).",
)


env_option = click.option(
    "--env",
    metavar="NAME",
    expose_value=False,
    callback=_set_env,
    help="An environment from config (default: the top level).",
)


def _setter(field: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    """A global option given after the command: it overrides the one given before."""

    def set_field(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is None or value is False:  # not given here: the group's value stands
            return
        setattr(ctx.ensure_object(Context), field, value)
        if field == "verbose":
            from campaign_gitops import redact

            redact.configure_logging(True)
            logging.getLogger().setLevel(logging.DEBUG)

    return set_field


def _global_options() -> list[click.Option]:
    """The group's global options, again, for a command: `list --at T`, `state list -C dir`."""
    common: dict[str, Any] = {"expose_value": False, "default": None}
    return [
        click.Option(
            ["-C", "--chdir"],
            type=click.Path(file_okay=False, path_type=Path),
            callback=_setter("chdir"),
            help="Run as if started in this folder (global option; overrides one before the "
            "command).",
            **common,
        ),
        click.Option(
            ["--config"],
            type=click.Path(dir_okay=False, path_type=Path),
            callback=_setter("config_file"),
            help="Config file (global option).",
            **common,
        ),
        click.Option(
            ["--at"],
            metavar="TIME",
            callback=_setter("at_text"),
            help="Evaluate as of this ISO 8601 time (global option).",
            **common,
        ),
        click.Option(
            ["--env"],
            metavar="NAME",
            callback=_setter("env"),
            help="An environment from config (global option).",
            **common,
        ),
        click.Option(
            ["-v", "--verbose"],
            is_flag=True,
            callback=_setter("verbose"),
            help="Debug logs; tracebacks on errors (global option).",
            expose_value=False,
        ),
    ]


def accept_global_options(group: click.Group) -> None:
    """Every command and subgroup under `group` also takes the global options after its name
    (the one after the command wins). A command's own option of the same name stays its own."""
    for command in group.commands.values():
        taken = {name for param in command.params for name in param.opts}
        command.params += [
            option for option in _global_options() if not taken.intersection(option.opts)
        ]
        if isinstance(command, click.Group):
            accept_global_options(command)
