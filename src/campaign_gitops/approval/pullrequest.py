"""A pull request's plan and approval check. Its campaign and label files are data, read at its
head commit; what decides trust (the approval policy, the endpoints, the state URL) comes from
the base commit's config, the environment or the command line, never from the pull request."""

from __future__ import annotations

import logging
import os
from typing import Any

from campaign_gitops.config import CONFIG_FILE, TABLE, RawConfig, Settings, parse_config
from campaign_gitops.errors import FatalError
from campaign_gitops.gitrepo import Repo

log = logging.getLogger(__name__)
CONFIG_NAMES = (CONFIG_FILE, "pyproject.toml")
# files that change who is trusted or what runs with secrets, besides the config
TRUST_FILES = ("CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS", "action.yml")


def config_at(repo: Repo, ref: str) -> tuple[str, RawConfig] | None:
    """The config as committed at `ref`, found the way the work tree's is (campaign-gitops.toml,
    else pyproject.toml's table), whatever the work tree's is called: renaming or moving the
    config in a pull request must not make an older commit look unconfigured."""
    for name in CONFIG_NAMES:
        data = repo.file_at(ref, name)
        if data is None:
            continue
        text = data.decode("utf-8", errors="replace")
        if name == "pyproject.toml" and f"[{TABLE}" not in text:
            continue
        return name, parse_config(name, text)
    return None


def base_settings(settings: Settings, repo: Repo, base: str) -> Settings:
    """The settings a pull request is judged by: the base commit's config (the defaults when
    the base has none), then the selected environment and the environment variables."""
    if settings.config_file is not None and not settings.config_file.resolve().is_relative_to(
        settings.root
    ):
        return settings  # a config outside the repository was given by the operator
    found = config_at(repo, base)
    name, raw = found if found is not None else (CONFIG_FILE, RawConfig())
    at_base = Settings(settings.root, settings.root / name, raw)
    judged = at_base.for_env(settings.env).with_environ(os.environ)
    log.debug("config of the base %s: %s (env %s, backend %s at %s)", base,
              name if found is not None else "none (defaults)", judged.env, judged.raw.backend,
              judged.endpoint)  # fmt: skip
    return judged


def _differences(before: dict[str, Any], after: dict[str, Any], path: str = "") -> list[str]:
    out: list[str] = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        where = f"{path}.{key}" if path else key
        if isinstance(old, dict) and isinstance(new, dict):
            out += _differences(old, new, where)
        else:
            out.append(f"{where}: {old!r} -> {new!r}")
    return out


def notices(repo: Repo, base: str, ref: str, settings: Settings) -> list[str]:
    """What the pull request changes besides campaigns and labels: it takes effect only after
    the merge, and this plan still follows the base."""
    out: list[str] = []
    base = repo.merge_base(base, ref)
    changed = repo.changed_paths(base, ref)
    configs = {repo.prefix + n for n in CONFIG_NAMES}
    if configs & set(changed):
        try:
            before, after = (config_at(repo, at) for at in (base, ref))
            diffs = _differences(
                (before[1] if before else RawConfig()).model_dump(),
                (after[1] if after else RawConfig()).model_dump(),
            )
        except FatalError as exc:
            diffs = [f"the pull request's config does not load ({exc})"]
        detail = "; ".join(diffs) if diffs else "no setting changes"
        out.append(
            f"policy change: takes effect after merge; this plan and the approval check follow "
            f"the base branch's config ({detail})"
        )
    workflows = [p for p in changed if p.startswith(".github/workflows/")]
    trust = [p for p in changed if p in TRUST_FILES or p.removeprefix(repo.prefix) in TRUST_FILES]
    if workflows or trust:
        out.append(
            "policy change: takes effect after merge; workflow or code-owner files changed: "
            + ", ".join(workflows + trust)
        )
    return out


def for_pull_request(settings: Settings, ref: str, base: str) -> tuple[Settings, list[str]]:
    """The settings to judge the pull request at `ref` by, and what it changes besides
    campaigns and labels."""
    repo = Repo(settings.root)
    return base_settings(settings, repo, base), notices(repo, base, ref, settings)
