from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from campaign_gitops.desired.loader import read_worktree
from campaign_gitops.models import CAMPAIGN_ADAPTER, CHANNELS, campaign_model
from campaign_gitops.models.common import parse_duration
from campaign_gitops.models.schedule import Delivery
from tests.helpers import spec

REPO = Path(__file__).resolve().parents[2]

MINIMAL_CONTENT: dict[str, dict[str, Any]] = {
    "push": {"title": "t", "body": "b"},
    "in_app": {"title": "t"},
    "app_inbox": {"title": "t"},
    "email": {"subject": "s", "body": "b", "sender_name": "n"},
    "sms": {"body": "b"},
    "whatsapp": {"template": "t", "language": "en"},
    "web_push": {"title": "t", "body": "b", "url": "https://x.example"},
    "web_popup": {"title": "t"},
    "web_exit_intent": {"title": "t"},
    "native_display": {"title": "t"},
    "web_native_display": {"selector": "#x"},
    "webhook": {"endpoint": "crm"},
    "facebook_audience": {"ad_account": "act_1", "audience": "a"},
    "google_ads": {"customer_id": "123-456-7890", "audience": "a"},
    "tiktok_audience": {"advertiser_id": "1", "audience": "a"},
    "segment_export": {},
}


def campaign(channel: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "n",
        "channel": channel,
        "what": {"content": MINIMAL_CONTENT[channel]},
        "when": {"delivery": "now"},
    } | extra


def test_sixteen_channels_each_with_its_own_content_model() -> None:
    assert len(CHANNELS) == 16 == len({campaign_model(c) for c in CHANNELS}) == len(MINIMAL_CONTENT)


@pytest.mark.parametrize("channel", CHANNELS)
def test_minimal_campaign_of_each_channel(channel: str) -> None:
    spec = CAMPAIGN_ADAPTER.validate_python(campaign(channel))
    assert type(spec) is campaign_model(channel)
    assert type(CAMPAIGN_ADAPTER.union.validate_python(campaign(channel))) is type(spec)
    assert spec.content_items


# "an email needs a subject, an SMS a body, a webhook an endpoint..."
REQUIRED = {
    "push": {"title", "body"},
    "app_inbox": {"title"},
    "email": {"subject", "body", "sender_name"},
    "sms": {"body"},
    "whatsapp": {"template", "language"},
    "web_push": {"title", "body", "url"},
    "web_exit_intent": {"title"},
    "web_native_display": {"selector"},
    "webhook": {"endpoint"},
    "facebook_audience": {"ad_account", "audience"},
    "google_ads": {"customer_id", "audience"},
    "tiktok_audience": {"advertiser_id", "audience"},
}


@pytest.mark.parametrize("channel", CHANNELS)
def test_required_content_fields_per_channel(channel: str) -> None:
    from campaign_gitops.models.content import CONTENT_BY_CHANNEL

    fields = CONTENT_BY_CHANNEL[channel].model_fields
    assert {name for name, f in fields.items() if f.is_required()} == REQUIRED.get(channel, set())
    for field in REQUIRED.get(channel, ()):
        content = {k: v for k, v in MINIMAL_CONTENT[channel].items() if k != field}
        doc = campaign(channel) | {"what": {"content": content}}
        with pytest.raises(ValidationError) as info:
            CAMPAIGN_ADAPTER.validate_python(doc)
        locs = [err["loc"][1:] for err in info.value.errors()]
        assert ("what", "content", field) in locs


def test_content_of_another_channel_is_refused() -> None:
    doc = campaign("sms") | {"what": {"content": MINIMAL_CONTENT["email"]}}
    with pytest.raises(ValidationError):
        CAMPAIGN_ADAPTER.validate_python(doc)


def test_frozen_models() -> None:
    spec = CAMPAIGN_ADAPTER.validate_python(campaign("push"))
    with pytest.raises(ValidationError):
        spec.name = "other"  # type: ignore[misc]


def test_durations() -> None:
    assert parse_duration("10m").total_seconds() == 600
    assert parse_duration("1d").days == 1
    assert parse_duration("2w").days == 14
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("0d")


def test_repo_examples_cover_every_channel_delivery_and_type() -> None:
    desired = read_worktree(REPO, REPO / "campaigns", REPO / "labels.yaml")
    specs = [doc.spec for doc in desired.campaigns.values()]
    assert {s.channel for s in specs} == set(CHANNELS)
    assert {s.when.delivery for s in specs} == set(Delivery.__args__)  # type: ignore[attr-defined]
    assert {s.type for s in specs} == {"single_message", "ab_test", "user_property"}
    segment_kinds = {
        name
        for s in specs
        for name in type(s.who.segment).model_fields
        if getattr(s.who.segment, name)
    }
    assert segment_kinds == set(type(specs[0].who.segment).model_fields)
    monthly = [s for s in specs if s.when.recurring and s.when.recurring.day_of_month == 7]
    assert monthly, "the newsletter on the 7th of each month"
    assert any(s.when.inaction and s.when.inaction.within == "10m" for s in specs)
    assert any(s.who.targeting_cap and s.who.targeting_cap.safety_limit for s in specs), (
        "a coupon campaign with a safety limit"
    )
    assert {label.name for label in desired.labels} >= {label for s in specs for label in s.labels}


def test_equal_fields_sets_are_shared_and_a_copy_never_changes_the_shared_one() -> None:
    one, two = spec(), spec(name="Two")
    assert one.model_fields_set is two.model_fields_set  # 70 MB of sets at 10,000 campaigns
    named = set(one.model_fields_set)
    copied = one.model_copy(update={"description": "changed"})
    assert "description" in copied.model_fields_set
    assert one.model_fields_set == named == two.model_fields_set
    assert one.model_dump(exclude_unset=True) == two.model_dump(exclude_unset=True) | {
        "name": one.name
    }
