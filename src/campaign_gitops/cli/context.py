"""What every command of the click layer shares: the global options' context, `--env` after a
command, the table formats. Light on purpose: `--help` imports it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # imported lazily at run time: --help reads no config and loads no models
    from campaign_gitops.config import Settings

TABLE_FORMATS = click.Choice(["table", "json", "csv"])


@dataclass
class Context:
    chdir: Path
    config_file: Path | None
    at_text: str | None
    verbose: bool = False
    env: str | None = None

    @cached_property
    def settings(self) -> Settings:
        from campaign_gitops.config import load_settings

        return (
            load_settings(self.chdir, self.config_file).for_env(self.env).with_environ(os.environ)
        )

    @cached_property
    def at(self) -> datetime:
        from campaign_gitops.timeutil import parse_at

        return parse_at(self.at_text)


pass_ctx = click.make_pass_decorator(Context)


def _set_env(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(Context).env = value


env_option = click.option(
    "--env",
    metavar="NAME",
    expose_value=False,
    callback=_set_env,
    help="An environment from config (default: the top level).",
)
