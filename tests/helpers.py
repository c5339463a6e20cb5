"""Small builders shared by tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from campaign_gitops.models import CAMPAIGN_ADAPTER, CampaignBase


def at(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def spec(**overrides: Any) -> CampaignBase:
    doc: dict[str, Any] = {
        "name": "Spec",
        "channel": "push",
        "what": {"content": {"title": "Hi", "body": "There"}},
        "when": {"delivery": "on_date_time", "start": "2026-12-01T09:00:00Z"},
    }
    for key, value in overrides.items():
        doc[key] = value
    return CAMPAIGN_ADAPTER.validate_python(doc)


def edited(base: CampaignBase, **changes: Any) -> CampaignBase:
    doc = base.model_dump(mode="json", by_alias=True, exclude_none=True)
    doc.update(changes)
    return CAMPAIGN_ADAPTER.validate_python(doc)
