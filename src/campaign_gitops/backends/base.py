"""The interface every platform backend implements, and what the planner may ask of it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from campaign_gitops.closing import Closing
from campaign_gitops.errors import FatalError
from campaign_gitops.models import CampaignBase, Label
from campaign_gitops.rules import Role


class PlatformError(FatalError):
    """The platform refused an operation (as the dashboard would)."""

    def __init__(self, message: str, rule: str = ""):
        super().__init__(f"{message} (rule: {rule})" if rule else message)
        self.rule = rule


@dataclass(frozen=True)
class Actor:
    email: str
    role: Role = "creator"


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do; the planner shows the rest as manual steps, never as a late
    failure during apply."""

    update: bool = True
    drafts: bool = True
    labels: bool = True
    archive: bool = True
    estimate: bool = True
    reports: bool = True
    approval_workflow: bool = True
    channels: frozenset[str] = frozenset()
    max_concurrency: int = 8
    reads_specs: bool = True  # False: live campaigns come without content; the state has it


@dataclass(frozen=True)
class LiveCampaign:
    platform_id: str
    id: str
    name: str
    channel: str
    type: str
    delivery: str
    status: str
    archived: bool
    spec: dict[str, Any]
    scheduled_at: datetime | None
    last_active: datetime
    created_by: str
    labels: tuple[str, ...]
    version: int
    has_run: bool = False

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "platform_id": self.platform_id,
            "name": self.name,
            "channel": self.channel,
            "type": self.type,
            "delivery": self.delivery,
            "status": self.status,
            "archived": self.archived,
            "labels": list(self.labels),
            "created_by": self.created_by,
            "version": self.version,
            "scheduled_at": self.scheduled_at.isoformat() if self.scheduled_at else None,
            "last_active": self.last_active.isoformat(),
        }


@dataclass(frozen=True)
class ListFilter:
    """The dashboard's campaign filters (seed 002, "Filter Campaigns"); empty means any."""

    channel: Sequence[str] = ()
    type: Sequence[str] = ()
    status: Sequence[str] = ()
    created_by: Sequence[str] = ()
    label: Sequence[str] = ()
    delivery: Sequence[str] = ()
    archived: Literal["exclude", "only", "include"] = "exclude"

    def matches(self, c: LiveCampaign) -> bool:
        if (self.archived == "exclude" and c.archived) or (
            self.archived == "only" and not c.archived
        ):
            return False
        return (
            (not self.channel or c.channel in self.channel)
            and (not self.type or c.type in self.type)
            and (not self.status or c.status in self.status)
            and (not self.created_by or c.created_by in self.created_by)
            and (not self.delivery or c.delivery in self.delivery)
            and (not self.label or bool(set(self.label) & set(c.labels)))
        )


@dataclass(frozen=True)
class ReportRow:
    id: str
    name: str
    channel: str
    type: str
    status: str
    delivery: str
    labels: tuple[str, ...]
    created_by: str
    runs: int = 0
    qualified: int = 0
    held_out: int = 0
    sent: int = 0
    viewed: int = 0
    clicked: int = 0
    conversions: int = 0
    skipped: tuple[str, ...] = field(default_factory=tuple)
    limited: int = 0  # users a global campaign limit skipped

    @property
    def conversion_rate(self) -> float:
        return self.conversions / self.sent if self.sent else 0.0


class Backend(ABC, Closing):
    """A platform the reconciler reads and changes. The contract every backend keeps (checked by
    tests/contract/test_backend_contract.py against each one):

    Raises: a refusal, as the dashboard would refuse it (the rules, an unknown id, what the API
    cannot do), is PlatformError; its `rule` says which, "api" when this backend can never do it
    (its `capabilities` say so up front, and the planner shows such changes as manual). A
    platform that cannot be reached after the backend's own retries is a FatalError too.

    Retries: reads change nothing and may be repeated. A write's docstring says whether a repeat
    is harmless; a write whose answer was lost is never repeated blindly: the next plan reads the
    platform and adopts what landed.

    Threads: planning calls one method at a time. The applier calls the campaign writes
    (create_campaign, update_campaign, publish, move, withdraw, stop, archive) and get_campaign
    for different campaigns side by side, from up to `capabilities.max_concurrency` threads on
    this one instance (apply.py); labels, listings and reports are never called concurrently.
    A backend whose writes must not overlap says max_concurrency=1 (local)."""

    name: str = ""
    capabilities: Capabilities = Capabilities()

    @abstractmethod
    def list_campaigns(
        self, now: datetime, where: ListFilter | None = None, with_spec: bool = True
    ) -> list[LiveCampaign]:
        """The campaigns `where` selects (default: not archived), as of `now`; each `id` is the
        one its create was given (read back from the marker the create left), a campaign made
        elsewhere has an id of the backend's own. Without `with_spec`, `spec` may be left
        empty: listing needs none. A read: safe to retry."""

    @abstractmethod
    def get_campaign(self, platform_id: str, now: datetime) -> LiveCampaign:
        """The campaign with this platform id (archived too), as of `now`. PlatformError when
        the platform has none. A read: safe to retry."""

    def campaigns_of(
        self, now: datetime, ids: Collection[str], platform_ids: Collection[str] = ()
    ) -> list[LiveCampaign]:
        """The live campaigns (archived too) with these ids or platform ids: a partial plan's.
        A backend that can ask for them alone overrides this; it lists them all by default."""
        wanted, numbers = set(ids), set(platform_ids)
        listed = self.list_campaigns(now, ListFilter(archived="include"))
        return [c for c in listed if c.id in wanted or c.platform_id in numbers]

    @abstractmethod
    def create_campaign(
        self, campaign_id: str, spec: CampaignBase, *, publish: bool, actor: Actor, now: datetime
    ) -> LiveCampaign:
        """A new campaign of `spec` carrying `campaign_id`, published when `publish` (or sent
        for approval, when the platform's workflow wants that of `actor`); returns it as made,
        with the `spec` the state store records. PlatformError when refused: a live campaign
        has the id, a label is unknown, the API cannot express the spec (or a draft). Not
        idempotent: the planner creates only an id the platform does not list; a repeat is
        refused (local) or may make a second campaign (clevertap, which finds a create whose
        answer was lost by its marker before trying again)."""

    @abstractmethod
    def update_campaign(
        self,
        platform_id: str,
        spec: CampaignBase,
        sections: frozenset[str],
        *,
        actor: Actor,
        now: datetime,
    ) -> LiveCampaign:
        """The campaign's `sections` edited to `spec`; returns it after the edit (pending
        approval when the workflow wants that). PlatformError when the rules refuse the edit in
        its status, when the channel would change, for an unknown id; rule "api" where
        `capabilities.update` is False. Idempotent: the same edit again leaves the same content
        (its `version` may grow)."""

    @abstractmethod
    def publish(self, platform_id: str, *, actor: Actor, now: datetime) -> LiveCampaign:
        """A draft published (or sent for approval, when the workflow wants that of `actor`);
        returns it. PlatformError when its status refuses it, for an unknown id; rule "api"
        where `capabilities.drafts` is False. Idempotent: a published campaign stays as it is."""

    def move(self, platform_id: str, campaign_id: str, *, now: datetime) -> LiveCampaign:
        """The campaign now carries `campaign_id` where the platform keeps our id; by default
        nowhere it can change (the file keeps `moved_from`, and a lost record is found by it).
        Returns it; PlatformError for an unknown id. Idempotent."""
        return self.get_campaign(platform_id, now)

    def withdraw(self, platform_id: str, *, actor: Actor, now: datetime) -> LiveCampaign:
        """A campaign pending approval back to draft; returns it. PlatformError when its status
        refuses it; rule "api" where `capabilities.drafts` is False. Idempotent: a draft stays
        one."""
        raise PlatformError(f"the {self.name} backend has no drafts to withdraw to", "api")

    @abstractmethod
    def stop(self, platform_id: str, *, actor: Actor, now: datetime) -> LiveCampaign:
        """The campaign stopped (one that completed stays completed); returns it. PlatformError
        for an unknown id, or when its status refuses a stop. Idempotent: stopping a stopped
        campaign changes nothing and returns it stopped."""

    @abstractmethod
    def archive(self, platform_id: str, *, actor: Actor, now: datetime) -> LiveCampaign:
        """The campaign archived; returns it. PlatformError for an unknown id or when its
        status refuses it; rule "api" where `capabilities.archive` is False. Idempotent."""

    @abstractmethod
    def estimate_reach(self, spec: CampaignBase, now: datetime) -> int:
        """How many users `spec` would reach as of `now`; makes nothing. PlatformError when the
        platform gives no estimate. A read: safe to retry."""

    def reach_hint(self) -> str | None:
        """Why every reach estimate is meaningless, to say next to them; None: they mean what
        they say."""
        return None

    @abstractmethod
    def list_labels(self) -> list[Label]:
        """The account's labels, by name; empty where `capabilities.labels` is False. A read."""

    @abstractmethod
    def create_label(self, label: Label) -> None:
        """PlatformError when the name exists, is not allowed, or the account is full; rule
        "api" where `capabilities.labels` is False. Not idempotent: a repeat is refused."""

    @abstractmethod
    def update_label(self, label: Label) -> None:
        """The label's description set. Rule "api" where `capabilities.labels` is False.
        Idempotent."""

    @abstractmethod
    def rename_label(self, old: str, new: str) -> None:
        """`old` renamed to `new`, in every campaign that has it too. PlatformError when `old`
        does not exist or `new` does; rule "api" where `capabilities.labels` is False. Not
        idempotent: a repeat finds no `old`."""

    @abstractmethod
    def delete_label(self, name: str) -> None:
        """PlatformError (rule "label-in-use") while a campaign has it; rule "api" where
        `capabilities.labels` is False. Idempotent: deleting a missing label does nothing."""

    @abstractmethod
    def report(self, now: datetime, where: ListFilter | None = None) -> list[ReportRow]:
        """A row of figures for each campaign `where` selects (default: archived too), as of
        `now`. A read: safe to retry."""

    def unsupported(self, spec: dict[str, Any]) -> list[str]:
        """What in `spec` this backend's API cannot express (the plan shows it as manual)."""
        return []

    def focus(self, specs: Iterable[dict[str, Any]], *, searching: bool = False) -> None:
        """The specs a plan is about (managed and desired), for backends that list by window;
        `searching`: some desired id is not in the state store, so its campaign, if one was
        made, may be scheduled on any day."""

    def share(self, applied: Mapping[str, dict[str, Any]]) -> None:
        """The last-applied specs by platform id: a backend that reads specs may hand back
        these very objects where the platform's are equal (a plan then holds one copy)."""

    def remember(self, campaigns: Iterable[LiveCampaign]) -> None:
        """The live campaigns as a plan saw them, specs completed from the state store, for a
        backend whose API returns no content: what an adopt or a stop then records."""

    def close(self) -> None:
        pass
