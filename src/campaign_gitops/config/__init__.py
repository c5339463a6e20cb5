"""Two-phase configuration: the raw model as written (raw.py, read by parse.py), then
resolved runtime settings (settings.py).

Read lazily: `--help` and `init` never touch it."""

from campaign_gitops.config.parse import config_problems, parse_config
from campaign_gitops.config.raw import (
    CONFIG_FILE,
    HOSTS,
    STATE_ENV,
    TABLE,
    ApprovalPolicy,
    ClevertapConfig,
    RawConfig,
)
from campaign_gitops.config.settings import (
    Settings,
    env_state,
    find_config,
    in_ci,
    load_settings,
)

__all__ = [
    "CONFIG_FILE",
    "HOSTS",
    "STATE_ENV",
    "TABLE",
    "ApprovalPolicy",
    "ClevertapConfig",
    "RawConfig",
    "Settings",
    "config_problems",
    "env_state",
    "find_config",
    "in_ci",
    "load_settings",
    "parse_config",
]
