"""Two-phase configuration: the raw model as written, then resolved runtime settings.

Read lazily: `--help` and `init` never touch it."""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, TypeAdapter, ValidationError, ValidationInfo, field_validator
from pydantic_core import ErrorDetails

from campaign_gitops import files
from campaign_gitops.errors import ConfigError, FatalError, Problem, ValidationFailed, dotted
from campaign_gitops.filters import CHOICES, unknown
from campaign_gitops.limits.config import GlobalLimits, Safety
from campaign_gitops.models.common import Strict, fail
from campaign_gitops.yamllimits import MIB

CONFIG_FILE = "campaign-gitops.toml"
STATE_ENV = "CAMPAIGN_GITOPS_STATE"
TABLE = "tool.campaign-gitops"
NO_WORKFLOW = (
    "creator_approver = true needs a backend with an approval workflow; the clevertap backend "
    "has none (its API cannot send a campaign for approval): without an approved pull request, "
    "apply refuses instead"
)
NO_WORKFLOW_CODE = "config-no-approval-workflow"
Region = Literal["eu1", "in1", "sg1", "us1", "aps3", "mec1"]
HOSTS = {"eu1": "api.clevertap.com", "in1": "in1.api.clevertap.com",
         "sg1": "sg1.api.clevertap.com", "us1": "us1.api.clevertap.com",
         "aps3": "aps3.api.clevertap.com", "mec1": "mec1.api.clevertap.com"}  # fmt: skip


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ClevertapConfig(Strict):
    account_id: str = Field(min_length=1)
    region: Region = "eu1"
    base_url: str | None = Field(None, description="Overrides the region's host (tests, proxies)")
    max_concurrency: int = Field(3, ge=1, le=3, description="Requests in flight (the API's limit)")
    creates_per_second: float = Field(
        3.0,
        gt=0,
        le=3,
        description="Creates (and estimates) started per second, per account: the Create "
        "Campaign API's limit is 3",
    )
    timeout: float = Field(20.0, gt=0, description="Seconds before a request counts as failed")

    @property
    def url(self) -> str:
        return (self.base_url or f"https://{HOSTS[self.region]}").rstrip("/")

    @property
    def official(self) -> bool:
        """Whether requests go to one of CleverTap's own API hosts."""
        return urlsplit(self.url).hostname in HOSTS.values()

    @field_validator("base_url")
    @classmethod
    def _trusted_endpoint(cls, url: str | None) -> str | None:
        """The passcode goes wherever base_url points: https only, plain http only to this
        machine (test servers)."""
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise fail("config-bad-url", "base_url {url} is not an http(s) URL", url=repr(url))
        if parts.username or parts.password:
            raise fail("config-url-credentials", "base_url must not carry credentials")
        if parts.scheme == "http" and not _loopback(parts.hostname):
            raise fail(
                "config-insecure-url",
                "base_url {url} sends the passcode in clear text: use https "
                "(plain http is allowed only to a loopback address, for test servers)",
                url=repr(url),
            )
        return url


def _choices(key: str) -> Any:
    """A filter field whose values are one of a fixed set: the schema names them (editors offer
    them), and `_known_values` refuses the others."""
    items: dict[str, Any] = {"type": "string", "enum": list(CHOICES[key])}
    return Field(default_factory=list, json_schema_extra={"items": items})


class SavedFilter(Strict):
    """A saved `list` filter (the dashboard's "Save Filter")."""

    channel: list[str] = _choices("channel")
    type: list[str] = _choices("type")
    status: list[str] = _choices("status")
    created_by: list[str] = Field(default_factory=list)
    label: list[str] = Field(default_factory=list)
    delivery: list[str] = _choices("delivery")
    archived: Literal["exclude", "only", "include"] = "exclude"

    @field_validator("channel", "type", "status", "delivery")
    @classmethod
    def _known_values(cls, values: list[str], info: ValidationInfo) -> list[str]:
        """A value no campaign can have would make the filter match nothing, silently."""
        field = str(info.field_name)
        why = unknown(values, CHOICES[field], f"a {field}")
        if why is not None:
            raise fail("config-not-one-of", "{why}", why=why)
        return values


ApprovalTrigger = Literal[
    "new_campaign", "live_change", "channels", "reach", "safety_limit_removed"
]
DEFAULT_TRIGGERS: tuple[ApprovalTrigger, ...] = ("new_campaign", "live_change")


class ApprovalPolicy(Strict):
    """Which changes need a reviewer's approval on the pull request, and whose."""

    approvers: list[str] = Field(
        default_factory=list, description="GitHub logins and org/team slugs"
    )
    required_for: list[ApprovalTrigger] = Field(
        default_factory=lambda: list(DEFAULT_TRIGGERS),
        description="new_campaign: publishing a new campaign; live_change: any change to a live "
        "campaign; channels: sending on `channels`; reach: an estimated reach above "
        "`reach_above`; safety_limit_removed: removing a targeting safety limit",
    )
    channels: list[str] = Field(default_factory=list, description="For `channels`")
    reach_above: int = Field(100_000, ge=0, description="For `reach`")
    max_reach_growth: float = Field(
        1.2,
        ge=1.0,
        description="At apply time, a change whose estimated reach grew beyond this factor of "
        "its reach when it was approved needs a new approval",
    )
    codeowners: bool = Field(
        False,
        description="A change the policy names also needs an approval from an owner of each of "
        "its campaign's files in the base branch's CODEOWNERS (.github/, the root or docs/); "
        "a file without owners needs only `approvers`",
    )


class EnvironmentConfig(Strict):
    """An environment overrides where the platform and the state are, and how to act there."""

    backend: Literal["local", "clevertap"] | None = None
    platform: str | None = None
    state: str | None = None
    creator_approver: bool | None = None
    created_by: str | None = None
    role: Literal["creator", "approver"] | None = None
    clevertap: ClevertapConfig | None = None


class RawConfig(Strict):
    backend: Literal["local", "clevertap"] = "local"
    campaigns_dir: str = Field("campaigns", description="Folder of campaign files, any depth")
    labels_file: str = "labels.yaml"
    platform: str = Field(
        ".campaign-gitops/platform.db", description="SQLite file of the local backend"
    )
    state: str = Field(
        ".campaign-gitops/state.db", description="State store: a SQLite path or postgresql:// URL"
    )
    creator_approver: bool = Field(
        False, description="The account uses the creator-approver workflow"
    )
    created_by: str = Field("campaign-gitops", description="Creator recorded on new campaigns")
    role: Literal["creator", "approver"] = Field(
        "creator", description="This tool's role in the creator-approver workflow"
    )
    clevertap: ClevertapConfig | None = None
    filters: dict[str, SavedFilter] = Field(
        default_factory=dict, description="Saved `list` filters by name"
    )
    approval: ApprovalPolicy = Field(default_factory=ApprovalPolicy)
    estimate: bool = Field(
        False, description="Plans show the estimated reach of new audiences (plan --estimate)"
    )
    max_file_bytes: int = Field(
        MIB,
        ge=1024,
        le=64 * MIB,
        description="Campaign and labels files larger than this are refused unread",
    )
    global_limits: GlobalLimits = Field(
        default_factory=GlobalLimits,
        description="The account's global campaign limits (frequency caps) and dwell time",
    )
    safety: Safety = Field(default_factory=Safety, description="The plan's blast-radius limits")
    environments: dict[str, EnvironmentConfig] = Field(
        default_factory=dict,
        description="Named environments (staging, production); the top level is `default`",
    )

    @field_validator("creator_approver")
    @classmethod
    def _workflow_needs_a_backend_with_one(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("backend") == "clevertap":
            raise fail(NO_WORKFLOW_CODE, NO_WORKFLOW)
        return value


def _approval_workflow(raw: RawConfig) -> RawConfig:
    if raw.creator_approver and raw.backend == "clevertap":
        raise ValueError(NO_WORKFLOW)
    return raw


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
            _approval_workflow(raw)
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


def config_problems(
    config_file: Path | None, found: Sequence[tuple[str | tuple[str, ...], str]], code: str
) -> list[Problem]:
    """Problems at the config's keys (`found`: key path, message)."""
    name = config_file.name if config_file is not None else CONFIG_FILE
    try:
        text = config_file.read_text(encoding="utf-8") if config_file is not None else ""
    except (OSError, UnicodeDecodeError):
        text = ""
    table = TABLE if name == "pyproject.toml" else ""
    problems = []
    for key, message in found:
        loc = (key,) if isinstance(key, str) else key
        line, col = _toml_position(text, table, loc)
        problems.append(Problem(name, line or 1, col or 1, dotted(loc), message, code))
    return problems


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


def _toml_position(text: str, table: str, loc: tuple[str | int, ...]) -> tuple[int, int]:
    """Best effort (tomllib keeps no positions): the line of the longest key path that
    leads to `loc`, a table header or a `key =` line; else the first header of a table under
    it (`[a.b]` defines `a`); else the top of the file."""
    wanted = [*(table.split(".") if table else []), *map(str, loc)]
    best, best_len, under = (1, 1), 0, (0, 0)
    current: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("["):
            current = [p.strip().strip('"') for p in stripped.strip("[]").split(".")]
            full, col = current, 1
        elif "=" in stripped and not stripped.startswith("#"):
            key = stripped.split("=", 1)[0].strip()
            full = current + [p.strip().strip('"') for p in key.split(".")]
            col = line.index(key) + 1
        else:
            continue
        if full == wanted[: len(full)] and len(full) > best_len:
            best, best_len = (number, col), len(full)
        elif under == (0, 0) and full[: len(wanted)] == wanted:
            under = (number, col)
    return under if best_len < len(wanted) and under != (0, 0) else best


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


def parse_config(name: str, text: str) -> RawConfig:
    """The raw config from a file's text; `name` (campaign-gitops.toml or pyproject.toml) says
    where the table is, and like every problem path it is relative to the repository root.
    Types are strict (TOML has them): `"no"` is not a boolean, `"3"` not a number."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # 3.11: TOMLDecodeError has no lineno; its message ends "(at line L, column C)"
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        last = text.rsplit("\n", 1)[-1]
        end = (text.count("\n") + 1, len(last) + 1)  # "at end of document"
        line, col = (int(found[1]), int(found[2])) if found else end
        raise ValidationFailed([Problem(name, line, col, "", str(exc), "toml-syntax")]) from exc
    table = TABLE if Path(name).name == "pyproject.toml" else ""
    section: object = document
    if table:
        tool = document.get("tool", {})
        section = tool.get("campaign-gitops", {}) if isinstance(tool, dict) else {}
    if not isinstance(section, dict):
        line, col = _toml_position(text, "", ("tool", "campaign-gitops"))
        message = f"[{table}] must be a table, not {_toml_type(section)}"
        raise ValidationFailed([Problem(name, line, col, table, message, "config-wrong-type")])
    try:
        return RawConfig.model_validate(section, strict=True)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            line, col = _toml_position(text, table, err["loc"])
            message, code = _explain(err)
            problems.append(Problem(name, line, col, dotted(err["loc"]), message, code))
        raise ValidationFailed(problems) from exc


# pydantic's error types, in the tool's own codes (custom errors carry theirs: config-...)
_CODES = {
    "extra_forbidden": "config-unknown-key",
    "missing": "config-required",
    "literal_error": "config-not-one-of",
    "greater_than": "config-out-of-range",
    "greater_than_equal": "config-out-of-range",
    "less_than": "config-out-of-range",
    "less_than_equal": "config-out-of-range",
    "string_too_short": "config-too-short",
    "too_short": "config-too-short",
}
_EXPECTED = {
    "bool_type": (bool, "a boolean (true or false)"),
    "int_type": (int, "an integer"),
    "float_type": (float, "a number"),
    "string_type": (str, "a string"),
    "list_type": (list, "an array"),
    "dict_type": (dict, "a table"),
    "model_type": (dict, "a table"),
}


def _toml_type(value: object) -> str:
    kinds = [(bool, "a boolean"), (int, "an integer"), (float, "a float"), (str, "a string"),
             (list, "an array"), (dict, "a table")]  # fmt: skip
    return next((name for kind, name in kinds if isinstance(value, kind)), "a date or time")


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml_value, value)) + "]"
    return repr(value)


def _lax(kind: type, value: object) -> object | None:
    """What the value would have been read as before types were strict (the fix to suggest)."""
    if kind is list and isinstance(value, str | int | float | bool):
        return [value]
    if kind is str and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if kind in (bool, int, float):
        try:
            return TypeAdapter(kind).validate_python(value)
        except ValidationError:
            return None
    return None


def _known_keys(loc: tuple[str | int, ...]) -> list[str]:
    """The keys allowed where `loc` (a key's path) is."""
    model: type[Strict] = RawConfig
    parts = list(loc[:-1])
    while parts:
        part = parts.pop(0)
        if model is RawConfig and part in ("filters", "environments"):
            model = SavedFilter if part == "filters" else EnvironmentConfig
            parts = parts[1:]  # the filter's or environment's name
        elif part == "clevertap":
            model = ClevertapConfig
        elif part == "approval":
            model = ApprovalPolicy
        elif part in ("global_limits", "safety"):
            model = GlobalLimits if part == "global_limits" else Safety
        else:
            return []
    return list(model.model_fields)


def _explain(err: ErrorDetails) -> tuple[str, str]:
    """(message, code) for one of pydantic's errors, in the config's terms: a key, a TOML type,
    and how to write a value the model refuses but once read."""
    kind, loc, value = err["type"], err["loc"], err.get("input")
    key = str(loc[-1]) if loc else ""
    if kind in _EXPECTED:
        wanted, expected = _EXPECTED[kind]
        message = f"{_toml_value(value)} is {_toml_type(value)}; {key} must be {expected}"
        fixed = _lax(wanted, value)
        if fixed is not None and isinstance(loc[-1], str):
            message += f": write {key} = {_toml_value(fixed)}"
        return message, "config-wrong-type"
    if kind == "extra_forbidden":
        known = _known_keys(loc)
        near = difflib.get_close_matches(key, known, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        if known and not near:
            hint = f" (keys here: {', '.join(known)})"
        return f"unknown key {key!r}{hint}", _CODES[kind]
    if kind == "missing":
        return f"required key {key!r} is missing", _CODES[kind]
    if kind == "literal_error":
        expected = (err.get("ctx") or {}).get("expected", "")
        return f"{_toml_value(value)} is not one of {expected}", _CODES[kind]
    message = err["msg"].removeprefix("Value error, ")
    if message.startswith("Input should be"):
        message = message.replace("Input", _toml_value(value), 1)
    if kind in _CODES:
        return message, _CODES[kind]
    return message, kind if kind.startswith("config-") else "config-invalid"
