"""The config's second phase: settings resolved for a run (the repository's root, the
environment, the state store named by the environment variable), and where the config is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from campaign_gitops import files
from campaign_gitops.config.parse import config_problems, parse_config
from campaign_gitops.config.raw import (
    CONFIG_FILE,
    NO_WORKFLOW_CODE,
    STATE_ENV,
    TABLE,
    RawConfig,
    approval_workflow,
)
from campaign_gitops.errors import ConfigError, FatalError, Problem, ValidationFailed


def in_ci(environ: Mapping[str, str]) -> bool:
    return any(environ.get(name, "").lower() in ("true", "1") for name in ("CI", "GITHUB_ACTIONS"))


def env_state(environ: Mapping[str, str]) -> str | None:
    """CAMPAIGN_GITOPS_STATE when it overrides `state`: set, or set but empty in CI (a secret
    the workflow cannot read is empty, and must not mean "use a local file")."""
    value = environ.get(STATE_ENV)
    return value if value or (value is not None and in_ci(environ)) else None


@dataclass(frozen=True)
class Settings:
    root: Path
    config_file: Path | None
    raw: RawConfig
    env: str = "default"

    def with_environ(self, environ: Mapping[str, str]) -> Settings:
        """CAMPAIGN_GITOPS_STATE overrides `state`: a PostgreSQL URL with its password belongs
        in a CI secret, not in the repository. Empty counts as unset, except in CI."""
        state = env_state(environ)
        if state is None:
            return self
        return Settings(
            self.root, self.config_file, self.raw.model_copy(update={"state": state}), self.env
        )

    def for_env(self, name: str | None) -> Settings:
        if name is None or name == "default":
            return self
        if name not in self.raw.environments:
            known = ", ".join(["default", *sorted(self.raw.environments)])
            raise FatalError(f"no environment named {name!r} (environments: {known})")
        override = self.raw.environments[name].model_dump(exclude_none=True)
        raw = self.raw.model_copy(update=override | {"environments": {}})
        if "clevertap" in override:
            raw = raw.model_copy(update={"clevertap": self.raw.environments[name].clevertap})
        try:
            approval_workflow(raw)
        except ValueError as exc:
            # at the environment's key that makes the pair: its backend, or its workflow flag
            key = "backend" if "backend" in override else "creator_approver"
            where = ("environments", name, key) if key in override else key
            message = f"environment {name!r}: {exc}"
            raise ValidationFailed(
                config_problems(self.config_file, [(where, message)], NO_WORKFLOW_CODE)
            ) from None
        return Settings(self.root, self.config_file, raw, name)

    @property
    def account(self) -> str | None:
        clevertap = self.raw.clevertap
        return clevertap.account_id if self.raw.backend == "clevertap" and clevertap else None

    @property
    def endpoint(self) -> str:
        """Where the backend's requests go: the platform file, or the API's base URL."""
        if self.raw.backend == "clevertap" and self.raw.clevertap is not None:
            return self.raw.clevertap.url
        return self.raw.platform

    @property
    def campaigns_dir(self) -> Path:
        return self.root / self.raw.campaigns_dir

    @property
    def labels_file(self) -> Path:
        return self.root / self.raw.labels_file

    @property
    def platform_path(self) -> Path:
        return self.root / self.raw.platform


def _sqlite_path(state: str) -> bool:
    """Whether `state` names a SQLite file (not a PostgreSQL URL or key=value string)."""
    return bool(state.strip()) and "://" not in state and "=" not in state


def _outside(root: Path, raw: RawConfig) -> list[tuple[str | tuple[str, ...], str]]:
    """The config's paths that resolve outside the repository (through `..`, an absolute path
    or a link): a pull request's config is read by `validate` in CI. The labels file itself may
    be a link: reading it refuses that, with the file's own problem."""
    named: list[tuple[str | tuple[str, ...], str]] = [
        ("campaigns_dir", raw.campaigns_dir),
        ("labels_file", raw.labels_file),
        ("platform", raw.platform),
        ("state", raw.state),
    ]
    for env_name, env in raw.environments.items():
        named += [(("environments", env_name, "platform"), env.platform or "")]
        named += [(("environments", env_name, "state"), env.state or "")]
    found = []
    for key, value in named:
        last = key if isinstance(key, str) else key[-1]
        if not value or (last == "state" and not _sqlite_path(value)):
            continue
        path = root / value
        if not files.inside(root, path.parent if last == "labels_file" else path):
            found.append(
                (
                    key,
                    f"{value!r} resolves outside the repository ({root}): the files, the local "
                    f"platform and a SQLite state store must be inside it (a store elsewhere is "
                    f"named by {STATE_ENV}, an operator's setting)",
                )
            )
    return found


def _check_paths(root: Path, config_file: Path | None, raw: RawConfig) -> None:
    """Paths set in the config are reported at their keys; a default that leads outside (a
    linked folder) is reported at the path itself."""
    outside = _outside(root, raw)
    if not outside:
        return
    named = raw.model_fields_set | {"environments"}
    keyed = [(key, message) for key, message in outside if not isinstance(key, str) or key in named]
    problems = config_problems(config_file, keyed, files.OUTSIDE)
    for key, message in outside:
        if isinstance(key, str) and key not in named:
            value = str(getattr(raw, key))
            problems.append(Problem(value, 1, 1, "", message, files.OUTSIDE))
    raise ValidationFailed(problems)


def find_config(start: Path) -> tuple[Path, Path | None]:
    """(root, config file): the nearest folder up from `start` holding our config."""
    for folder in [start, *start.parents]:
        if (folder / CONFIG_FILE).is_file():
            return folder, folder / CONFIG_FILE
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "[tool.campaign-gitops" in pyproject.read_text():
            return folder, pyproject
    return start, None


def load_settings(start: Path, config_file: Path | None = None) -> Settings:
    if config_file is None:
        root, config_file = find_config(start.resolve())
    elif not config_file.is_file():
        where = "" if config_file.is_absolute() else f" (looked in {Path.cwd()})"
        raise ConfigError(
            f"--config {config_file}: no such file{where}; name a {CONFIG_FILE}, or a "
            f"pyproject.toml with a [{TABLE}] table"
        )
    else:
        root = config_file.resolve().parent
    if config_file is None:
        _check_paths(root, None, RawConfig())
        return Settings(root=root, config_file=None, raw=RawConfig())
    try:
        text = config_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise ConfigError(f"cannot read the config file {config_file}: {why}") from None
    raw = parse_config(config_file.name, text)
    _check_paths(root, config_file, raw)
    return Settings(root, config_file, raw)
