"""The approval policy (approval/policy.py), branch by branch: which planned change needs a
reviewer's approval under each trigger (new_campaign, live_change, channels, reach,
safety_limit_removed) and the reason it gives; which changes `annotate` marks, and whose
files' owners must approve; which changes `with_reach` estimates. Real plan records, live
campaigns and policies; the reach estimate is a plain function of the spec."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from campaign_gitops.approval.policy import annotate, new_audience, reasons, with_reach
from campaign_gitops.backends.base import LiveCampaign
from campaign_gitops.config import ApprovalPolicy
from campaign_gitops.plan import (
    APPROVAL,
    BLOCKED,
    MANUAL,
    Adopt,
    Archive,
    Change,
    Create,
    Forget,
    LabelCreate,
    Move,
    Plan,
    Publish,
    Replace,
    Stop,
    Update,
    Withdraw,
)

T0 = datetime(2026, 11, 23, 10, tzinfo=UTC)
ALL_TRIGGERS = ["new_campaign", "live_change", "channels", "reach", "safety_limit_removed"]


def _policy(*triggers: str, **fields: Any) -> ApprovalPolicy:
    return ApprovalPolicy.model_validate({"required_for": list(triggers), **fields})


def _spec(channel: str | None = "push", limit: int | None = None, who: bool = True) -> dict:
    spec: dict[str, Any] = {"name": "Sale"}
    if channel is not None:
        spec["channel"] = channel
    if who:
        spec["who"] = {"segment": {"saved": "VIPs"}}
        if limit is not None:
            spec["who"]["targeting_cap"] = {"safety_limit": limit}
    return spec


def _live(status: str = "running", channel: str = "push", spec: dict | None = None) -> LiveCampaign:
    return LiveCampaign(
        "1457000001", "sale", "Sale", channel, "single_message", "on_date_time", status, False,
        spec if spec is not None else _spec(channel), None, T0, "x", (), 3,
    )  # fmt: skip


def _estimate(reach: int | None) -> Any:
    return lambda spec: reach


# --- new_audience -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (Create("sale"), True),
        (Replace("sale"), True),
        (Update("sale", sections=frozenset({"who", "what"})), True),
        (Update("sale", sections=frozenset({"what"})), False),
        (Publish("sale"), False),
        (Stop("sale"), False),
    ],
    ids=["create", "replace", "update-who", "update-what", "publish", "stop"],
)
def test_new_audience(change: Change, expected: bool) -> None:
    assert new_audience(change) is expected


# --- new_campaign -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (Create("sale", publish=True), ["publishes a new campaign"]),
        (Replace("sale", publish=True), ["publishes a new campaign"]),
        (Publish("sale"), ["publishes a new campaign"]),
        (Create("sale"), []),  # a draft is not published
        (Replace("sale"), []),
        (Update("sale", sections=frozenset({"what"})), []),
    ],
    ids=["create-published", "replace-published", "publish", "create-draft", "replace-draft",
         "update"],
)  # fmt: skip
def test_new_campaign(change: Change, why: list[str]) -> None:
    assert reasons(change, _policy("new_campaign"), None, None, None) == why


def test_new_campaign_not_wanted() -> None:
    change = Create("sale", publish=True)
    assert reasons(change, _policy("live_change"), None, None, None) == []


# --- live_change ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "why"),
    [
        ("running", ["changes a running campaign"]),
        ("scheduled", ["changes a scheduled campaign"]),
        ("awaiting_next_run", ["changes an awaiting next run campaign"]),
        ("draft", []),
        ("pending_approval", []),
        ("stopped", []),
    ],
)
def test_live_change_by_status(status: str, why: list[str]) -> None:
    change = Update("sale", sections=frozenset({"what"}))
    assert reasons(change, _policy("live_change"), _live(status), None, None) == why


@pytest.mark.parametrize(
    "change",
    [Update("sale"), Replace("sale"), Stop("sale"), Archive("sale"), Publish("sale")],
    ids=lambda c: c.KIND,
)
def test_live_change_kinds_that_touch_a_live_campaign(change: Change) -> None:
    assert reasons(change, _policy("live_change"), _live(), None, None) == [
        "changes a running campaign"
    ]


@pytest.mark.parametrize(
    "change",
    [Create("sale"), Withdraw("sale"), Adopt("sale"), Forget("sale"), Move("sale")],
    ids=lambda c: c.KIND,
)
def test_live_change_kinds_that_do_not(change: Change) -> None:
    assert reasons(change, _policy("live_change"), _live(), None, None) == []


def test_live_change_without_a_live_campaign_or_not_wanted() -> None:
    change = Update("sale", sections=frozenset({"what"}))
    assert reasons(change, _policy("live_change"), None, None, None) == []
    assert reasons(change, _policy("new_campaign"), _live(), None, None) == []


# --- channels ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [Create("sale"), Replace("sale"), Update("sale"), Publish("sale")],
    ids=lambda c: c.KIND,
)
def test_channels_for_each_kind_that_sends(change: Change) -> None:
    policy = _policy("channels", channels=["sms"])
    assert reasons(change, policy, None, _spec("sms"), None) == ["sends on sms"]
    assert reasons(change, policy, None, _spec("push"), None) == []


@pytest.mark.parametrize("change", [Stop("sale"), Archive("sale")], ids=lambda c: c.KIND)
def test_channels_not_for_kinds_that_do_not_send(change: Change) -> None:
    policy = _policy("channels", channels=["sms"])
    assert reasons(change, policy, _live(channel="sms"), _spec("sms"), None) == []


def test_channels_the_spec_first_then_the_live_campaign() -> None:
    policy = _policy("channels", channels=["sms"])
    publish = Publish("sale")
    # no spec, or a spec without a channel: the live campaign's channel
    assert reasons(publish, policy, _live(channel="sms"), None, None) == ["sends on sms"]
    assert reasons(publish, policy, _live(channel="sms"), _spec(None), None) == ["sends on sms"]
    # the spec's channel wins over the live one
    assert reasons(publish, policy, _live(channel="sms"), _spec("push"), None) == []
    assert reasons(publish, policy, _live(channel="push"), _spec("sms"), None) == ["sends on sms"]
    # neither: no channel at all
    assert reasons(publish, policy, None, None, None) == []


def test_channels_not_wanted() -> None:
    policy = _policy("new_campaign", channels=["sms"])
    assert reasons(Update("sale"), policy, None, _spec("sms"), None) == []


# --- reach ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reach", "why"),
    [
        (None, ["its reach could not be estimated"]),
        (150_000, ["reaches an estimated 150,000 users (above 100,000)"]),
        (100_000, []),  # "above": the threshold itself needs no approval
        (0, []),
    ],
)
def test_reach(reach: int | None, why: list[str]) -> None:
    assert reasons(Create("sale"), _policy("reach"), None, _spec(), _estimate(reach)) == why


def test_reach_threshold_is_the_policys() -> None:
    policy = _policy("reach", reach_above=10)
    assert reasons(Create("sale"), policy, None, _spec(), _estimate(11)) == [
        "reaches an estimated 11 users (above 10)"
    ]


def test_reach_is_not_estimated_without_a_new_audience_a_spec_or_an_estimate() -> None:
    asked: list[dict] = []

    def estimate(spec: dict) -> int:
        asked.append(spec)
        return 10**9

    policy = _policy("reach")
    assert (
        reasons(Update("sale", sections=frozenset({"what"})), policy, None, _spec(), estimate) == []
    )
    assert reasons(Create("sale"), policy, None, None, estimate) == []
    assert reasons(Create("sale"), policy, None, _spec(), None) == []
    assert reasons(Create("sale"), _policy("new_campaign"), None, _spec(), estimate) == []
    assert asked == []  # none of them spent an estimate
    who = Update("sale", sections=frozenset({"who"}))
    assert reasons(who, policy, None, _spec(), estimate) == [
        "reaches an estimated 1,000,000,000 users (above 100,000)"
    ]
    assert asked == [_spec()]


# --- safety_limit_removed ---------------------------------------------------------------------


@pytest.mark.parametrize("change", [Update("sale"), Replace("sale")], ids=lambda c: c.KIND)
def test_safety_limit_removed(change: Change) -> None:
    policy = _policy("safety_limit_removed")
    live = _live(spec=_spec(limit=5000))
    assert reasons(change, policy, live, _spec(), None) == ["removes the targeting safety limit"]
    assert reasons(change, policy, live, None, None) == ["removes the targeting safety limit"]
    assert reasons(change, policy, live, _spec(who=False), None) == [
        "removes the targeting safety limit"
    ]


def test_safety_limit_kept_changed_or_never_there() -> None:
    policy = _policy("safety_limit_removed")
    limited = _live(spec=_spec(limit=5000))
    change = Update("sale")
    assert reasons(change, policy, limited, _spec(limit=5000), None) == []
    assert reasons(change, policy, limited, _spec(limit=10), None) == []  # changed, not removed
    assert reasons(change, policy, limited, _spec(limit=0), None) == []  # 0 is a limit
    assert reasons(change, policy, _live(spec=_spec()), _spec(), None) == []  # none before
    assert reasons(change, policy, _live(spec={}), _spec(), None) == []
    live_cap_without_limit = _live(spec={"who": {"targeting_cap": {"per_day": 1}}})
    assert reasons(change, policy, live_cap_without_limit, _spec(), None) == []
    assert reasons(change, policy, None, _spec(), None) == []  # nothing live to compare


@pytest.mark.parametrize(
    "change", [Create("sale"), Stop("sale"), Publish("sale")], ids=lambda c: c.KIND
)
def test_safety_limit_only_for_updates_and_replaces(change: Change) -> None:
    policy = _policy("safety_limit_removed")
    assert reasons(change, policy, _live(spec=_spec(limit=5000)), _spec(), None) == []


def test_safety_limit_not_wanted() -> None:
    live = _live(spec=_spec(limit=5000))
    assert reasons(Update("sale"), _policy("live_change"), live, _spec(), None) == [
        "changes a running campaign"
    ]


# --- every trigger at once, in order ----------------------------------------------------------


def test_all_reasons_in_the_policys_order() -> None:
    policy = _policy(*ALL_TRIGGERS, channels=["push"], reach_above=1)
    live = _live(spec=_spec(limit=5000))
    change = Replace("sale", publish=True)
    assert reasons(change, policy, live, _spec(), _estimate(2)) == [
        "publishes a new campaign",
        "changes a running campaign",
        "sends on push",
        "reaches an estimated 2 users (above 1)",
        "removes the targeting safety limit",
    ]
    defaults = ApprovalPolicy()  # new_campaign and live_change
    assert reasons(change, defaults, live, _spec(), _estimate(2)) == [
        "publishes a new campaign",
        "changes a running campaign",
    ]
    assert reasons(change, _policy(), live, _spec(), _estimate(2)) == []  # no trigger


# --- annotate ---------------------------------------------------------------------------------


def _plan(*changes: Change) -> Plan:
    return Plan(at=T0, changes=list(changes), specs={c.key: _spec() for c in changes})


def test_annotate_without_approvers_or_owners_asks_nobody() -> None:
    plan = _plan(Create("sale", publish=True))
    annotate(plan, _policy("new_campaign"), {})
    assert plan.approvers == []
    assert [c.review for c in plan.changes] == [()]
    assert plan.reviews == [] and plan.owners == {}


def test_annotate_marks_the_changes_the_policy_names() -> None:
    plan = _plan(Create("sale", publish=True), Create("draft"))
    annotate(plan, _policy("new_campaign", approvers=["carol", "acme/leads"]), {})
    assert plan.approvers == ["carol", "acme/leads"]
    assert {c.key: c.review for c in plan.changes} == {
        "sale": ("publishes a new campaign",),
        "draft": (),
    }
    assert [c.key for c in plan.reviews] == ["sale"]
    assert plan.owners == {}  # no CODEOWNERS asked


def test_annotate_passes_each_changes_live_campaign_spec_and_estimate() -> None:
    policy = _policy("live_change", "reach", approvers=["carol"], reach_above=10)
    plan = _plan(Update("sale", sections=frozenset({"who"})), Create("new"))
    plan.specs["new"] = _spec() | {"name": "New"}
    estimates = {"Sale": 5, "New": 50}
    annotate(plan, policy, {"sale": _live()}, lambda spec: estimates[spec["name"]])
    assert {c.key: c.review for c in plan.changes} == {
        "sale": ("changes a running campaign",),
        "new": ("reaches an estimated 50 users (above 10)",),
    }


@pytest.mark.parametrize("verdict", [BLOCKED, MANUAL])
def test_annotate_skips_changes_that_never_apply(verdict: Any) -> None:
    plan = _plan(Create("sale", publish=True, verdict=verdict))
    annotate(plan, _policy("new_campaign", approvers=["carol"]), {})
    assert [c.review for c in plan.changes] == [()]


def test_annotate_marks_a_change_the_platform_sends_for_approval() -> None:
    plan = _plan(Create("sale", publish=True, verdict=APPROVAL))
    annotate(plan, _policy("new_campaign", approvers=["carol"]), {})
    assert [c.review for c in plan.changes] == [("publishes a new campaign",)]


def test_annotate_skips_label_changes() -> None:
    plan = Plan(at=T0, changes=[LabelCreate("Sale")])
    annotate(plan, _policy(*ALL_TRIGGERS, approvers=["carol"], channels=["push"]), {})
    assert [c.review for c in plan.changes] == [()]


def _owned(files: dict[str, dict[str, tuple[str, ...]]]) -> Any:
    asked: list[str] = []

    def owned(key: str) -> dict[str, tuple[str, ...]]:
        asked.append(key)
        return files.get(key, {})

    owned.asked = asked  # type: ignore[attr-defined]
    return owned


def test_annotate_with_owners_and_no_approvers() -> None:
    owned = _owned({
        "sale": {"campaigns/a/sale.yaml": ("acme/a",), "campaigns/old/sale.yaml": ()},
        "free": {"campaigns/shared/free.yaml": ()},
    })  # fmt: skip
    plan = _plan(Create("sale", publish=True), Create("free", publish=True), Create("draft"))
    annotate(plan, _policy("new_campaign", codeowners=True), {}, None, owned)
    # an owned change needs its owners; an unowned one has nobody to ask without approvers
    assert {c.key: c.review for c in plan.changes} == {
        "sale": ("publishes a new campaign",),
        "free": (),
        "draft": (),
    }
    assert plan.owners == {"sale": {"campaigns/a/sale.yaml": ["acme/a"]}}  # unowned files left out
    assert owned.asked == ["free", "sale"]  # not asked about a change that needs no approval
    assert plan.approvers == []


def test_annotate_with_owners_and_approvers() -> None:
    owned = _owned({"sale": {"campaigns/a/sale.yaml": ("acme/a", "erin")}})
    plan = _plan(Create("sale", publish=True), Create("free", publish=True))
    annotate(plan, _policy("new_campaign", approvers=["carol"], codeowners=True), {}, None, owned)
    assert {c.key: c.review for c in plan.changes} == {
        "sale": ("publishes a new campaign",),
        "free": ("publishes a new campaign",),  # the approvers approve it
    }
    assert plan.owners == {"sale": {"campaigns/a/sale.yaml": ["acme/a", "erin"]}}


# --- with_reach -------------------------------------------------------------------------------


def test_with_reach_estimates_each_new_audience() -> None:
    spec = _spec()
    for change in (Create("sale"), Replace("sale"), Update("sale", sections=frozenset({"who"}))):
        assert with_reach(change, spec, _estimate(1234)) == replace(change, reach=1234)
    assert with_reach(Create("sale"), spec, _estimate(None)).reach is None


def test_with_reach_spends_no_estimate_on_other_changes() -> None:
    def estimate(spec: dict) -> int:
        raise AssertionError("not asked")

    untouched = [
        (Create("sale", verdict=BLOCKED), _spec()),  # never applies
        (Create("sale", verdict=MANUAL), _spec()),
        (Update("sale", sections=frozenset({"what"})), _spec()),  # not a new audience
        (Stop("sale"), _spec()),
        (Create("sale"), None),  # no spec to estimate
    ]
    for change, spec in untouched:
        assert with_reach(change, spec, estimate) is change
