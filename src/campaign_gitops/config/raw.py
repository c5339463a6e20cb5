"""The config's first phase: the raw model, as written in the TOML table."""

from __future__ import annotations

import ipaddress
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator

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


def approval_workflow(raw: RawConfig) -> RawConfig:
    if raw.creator_approver and raw.backend == "clevertap":
        raise ValueError(NO_WORKFLOW)
    return raw
