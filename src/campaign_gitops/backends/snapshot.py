"""`plan --no-refresh`: the platform as this tool last left it. Live campaigns are the state
store's last-applied specs, their statuses derived from their schedules at `now`; nothing is
sent anywhere, so a pull request's plan needs no platform credentials. Drift and changes made
in the dashboard cannot be seen; the apply on main refreshes and judges every change again."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any, NoReturn

from campaign_gitops.backends.base import (
    Backend,
    Capabilities,
    ListFilter,
    LiveCampaign,
    ReportRow,
)
from campaign_gitops.errors import FatalError
from campaign_gitops.lifecycle import Facts, Schedule, live_state
from campaign_gitops.models import CAMPAIGN_ADAPTER, CampaignBase, Label
from campaign_gitops.state.base import Managed, StateStore


class NotRefreshed(FatalError):
    pass


def _refuse(*_: Any, **__: Any) -> NoReturn:
    raise NotRefreshed("a plan made without refreshing from the platform cannot be applied")


def from_record(m: Managed, now: datetime) -> LiveCampaign | None:
    """A campaign as its last-applied spec says it is at `now` (the schedule gives its
    status): how a campaign the platform does not list is seen."""
    try:
        model = CAMPAIGN_ADAPTER.validate_python(m.spec)
    except ValueError:
        return None  # a spec this version cannot read: the apply on main will see it
    first = datetime.fromisoformat(str(m.history[0]["applied_at"]) if m.history else m.applied_at)
    last = datetime.fromisoformat(m.applied_at)
    # asked about a moment before it was applied (a review's time, when the clocks of the
    # tool and of GitHub disagree): it exists, so it was there already
    first, last = min(first, now), min(last, now)
    published = first if model.state in ("active", "stopped") else None
    facts = Facts(
        created_at=first,
        updated_at=last,
        published_at=published,
        stopped_at=last if model.state == "stopped" else None,
        archived_at=last if model.archived else None,
    )
    live = live_state(facts, Schedule.from_when(model.when), now)
    return LiveCampaign(
        platform_id=m.platform_id,
        id=m.id,
        name=model.name,
        channel=model.channel,
        type=model.type,
        delivery=model.when.delivery,
        status=live.status,
        archived=live.archived,
        spec=m.spec,
        scheduled_at=live.scheduled_at,
        last_active=live.last_active,
        created_by=m.applied_by,
        labels=tuple(model.labels),
        version=0,
        has_run=live.has_run,
    )


class StateSnapshot(Backend):
    def __init__(
        self,
        state: StateStore,
        of: str,
        capabilities: Capabilities,
        unsupported: Callable[[dict[str, Any]], list[str]],
    ):
        self.state = state
        self.name = of
        self.capabilities = capabilities
        self._unsupported = unsupported

    def unsupported(self, spec: dict[str, Any]) -> list[str]:
        return self._unsupported(spec)

    def list_campaigns(
        self, now: datetime, where: ListFilter | None = None, with_spec: bool = True
    ) -> list[LiveCampaign]:
        found = (from_record(m, now) for m in self.state.managed(history=True).values())
        return [c for c in found if c is not None and (where is None or where.matches(c))]

    def campaigns_of(
        self, now: datetime, ids: Collection[str], platform_ids: Collection[str] = ()
    ) -> list[LiveCampaign]:
        """A record's platform id is its own: the records of `ids` are all there is."""
        found = (from_record(m, now) for m in self.state.managed(True, ids).values())
        return [c for c in found if c is not None]

    def get_campaign(self, platform_id: str, now: datetime) -> LiveCampaign:
        for campaign in self.list_campaigns(now):
            if campaign.platform_id == platform_id:
                return campaign
        raise FatalError(f"campaign {platform_id} is not in the state store")

    def list_labels(self) -> list[Label]:
        return [Label(name=n, description=d) for n, d in sorted(self.state.labels().items())]

    def estimate_reach(self, spec: CampaignBase, now: datetime) -> int:
        raise FatalError("reach cannot be estimated without the platform")

    def report(self, now: datetime, where: ListFilter | None = None) -> list[ReportRow]:
        raise FatalError("reports need the platform")

    create_campaign = update_campaign = publish = stop = archive = _refuse
    create_label = update_label = rename_label = delete_label = _refuse
