from __future__ import annotations

from pathlib import Path

import pytest

from campaign_gitops.backends.base import Actor, ListFilter, PlatformError
from campaign_gitops.backends.local import LocalBackend
from campaign_gitops.models import Label
from tests.helpers import at, edited, spec

ME = Actor("creator@shop.example")
BOSS = Actor("approver@shop.example", "approver")
T0 = at("2026-11-23T10:00:00")


@pytest.fixture
def platform(tmp_path: Path) -> LocalBackend:
    backend = LocalBackend(tmp_path / "platform.db")
    backend.create_label(Label(name="Onboarding"))
    backend.create_label(Label(name="Promotions"))
    return backend


@pytest.fixture
def workflow(tmp_path: Path) -> LocalBackend:
    backend = LocalBackend(tmp_path / "wf.db", workflow=True)
    backend.create_label(Label(name="Onboarding"))
    return backend


def test_draft_then_published_then_running_then_completed(platform: LocalBackend) -> None:
    c = platform.create_campaign(
        "welcome", spec(labels=["Onboarding"]), publish=False, actor=ME, now=T0
    )
    assert (c.status, c.archived, c.version, c.labels) == ("draft", False, 1, ("Onboarding",))
    assert c.created_by == ME.email and c.id == "welcome"
    c = platform.publish(c.platform_id, actor=ME, now=T0)
    assert c.status == "scheduled" and c.scheduled_at == at("2026-12-01T09:00:00")
    assert platform.get_campaign(c.platform_id, at("2026-12-01T09:10")).status == "running"
    done = platform.get_campaign(c.platform_id, at("2026-12-02"))
    assert done.status == "completed" and done.has_run
    assert platform.get_campaign(c.platform_id, at("2027-06-01T11:00")).archived


def test_running_audience_is_locked_by_the_platform_itself(platform: LocalBackend) -> None:
    base = spec(when={"delivery": "action", "trigger": {"event": "App Launched"}})
    c = platform.create_campaign("live", base, publish=True, actor=ME, now=T0)
    assert c.status == "running"
    audience = edited(base, who={"segment": {"demographics": {"gender": "female"}}})
    with pytest.raises(PlatformError, match=r"who locked \(rule: running\)"):
        platform.update_campaign(c.platform_id, audience, frozenset({"who"}), actor=ME, now=T0)
    message = edited(base, what={"content": {"title": "New", "body": "Copy"}}, name="Renamed")
    after = platform.update_campaign(
        c.platform_id, message, frozenset({"what", "name"}), actor=ME, now=T0
    )
    assert (after.name, after.version, after.status) == (
        "Renamed",
        3,
        "running",
    )  # create, publish, edit
    assert after.spec["what"]["content"]["title"] == "New"


def test_scheduled_campaign_allows_who_what_when_until_its_time(platform: LocalBackend) -> None:
    base = spec()
    c = platform.create_campaign("later", base, publish=True, actor=ME, now=T0)
    moved = edited(base, when={"delivery": "on_date_time", "start": "2026-12-05T09:00:00Z"})
    c = platform.update_campaign(c.platform_id, moved, frozenset({"when"}), actor=ME, now=T0)
    assert c.scheduled_at == at("2026-12-05T09:00")
    goal = edited(moved, goal={"event": "Charged", "within": "1d"})
    with pytest.raises(PlatformError, match="rule: scheduled-before"):
        platform.update_campaign(c.platform_id, goal, frozenset({"goal"}), actor=ME, now=T0)


def test_channel_never_changes(platform: LocalBackend) -> None:
    c = platform.create_campaign("x", spec(), publish=False, actor=ME, now=T0)
    sms = spec(channel="sms", what={"content": {"body": "hi"}})
    with pytest.raises(PlatformError, match="channel of a campaign never changes"):
        platform.update_campaign(c.platform_id, sms, frozenset({"what"}), actor=ME, now=T0)


def test_stop_is_final_and_archived_is_read_only(platform: LocalBackend) -> None:
    base = spec(when={"delivery": "action", "trigger": {"event": "X"}})
    c = platform.create_campaign("s", base, publish=True, actor=ME, now=T0)
    with pytest.raises(PlatformError, match="stop it first"):
        platform.archive(c.platform_id, actor=ME, now=T0)
    c = platform.stop(c.platform_id, actor=ME, now=T0)
    assert c.status == "stopped"
    assert platform.stop(c.platform_id, actor=ME, now=T0).version == c.version  # no-op
    with pytest.raises(PlatformError, match="stopping is final"):
        platform.publish(c.platform_id, actor=ME, now=T0)
    with pytest.raises(PlatformError, match="rule: stopped"):
        platform.update_campaign(
            c.platform_id, edited(base, name="n"), frozenset({"name"}), actor=ME, now=T0
        )
    c = platform.archive(c.platform_id, actor=ME, now=T0)
    assert c.archived
    with pytest.raises(PlatformError, match=r"read-only.*rule: archived"):
        platform.update_campaign(
            c.platform_id, edited(base, name="n"), frozenset({"name"}), actor=ME, now=T0
        )
    with pytest.raises(PlatformError, match="clone it"):
        platform.publish(c.platform_id, actor=ME, now=T0)


def test_draft_cannot_be_stopped(platform: LocalBackend) -> None:
    c = platform.create_campaign("d", spec(), publish=False, actor=ME, now=T0)
    with pytest.raises(PlatformError, match="only a published campaign can be stopped"):
        platform.stop(c.platform_id, actor=ME, now=T0)


def test_duplicate_ids_and_unknown_labels_are_refused(platform: LocalBackend) -> None:
    platform.create_campaign("dup", spec(), publish=False, actor=ME, now=T0)
    with pytest.raises(PlatformError, match="already exists"):
        platform.create_campaign("dup", spec(), publish=False, actor=ME, now=T0)
    with pytest.raises(PlatformError, match="unknown label"):
        platform.create_campaign("new", spec(labels=["Nope"]), publish=False, actor=ME, now=T0)
    assert [c.id for c in platform.list_campaigns(T0)] == ["dup"]  # nothing half-made


def test_creator_approver_workflow(workflow: LocalBackend) -> None:
    base = spec(when={"delivery": "action", "trigger": {"event": "X"}})
    c = workflow.create_campaign("wf", base, publish=True, actor=ME, now=T0)
    assert c.status == "pending_approval"  # a creator's publish is sent for approval
    c = workflow.publish(c.platform_id, actor=BOSS, now=T0)
    assert c.status == "running"
    copy = edited(base, what={"content": {"title": "v2", "body": "b"}})
    c = workflow.update_campaign(c.platform_id, copy, frozenset({"what"}), actor=ME, now=T0)
    assert c.status == "pending_approval"  # "send them for approval"
    c = workflow.reject(c.platform_id, actor=BOSS, now=T0)
    assert c.status == "rejected"
    with pytest.raises(PlatformError, match="only an approver"):
        workflow.reject(c.platform_id, actor=ME, now=T0)
    # seed 002, Rejected before the first run: the approver "can edit only the WHAT section
    # before the scheduled time and send it to the approver for approval"
    c = workflow.update_campaign(c.platform_id, copy, frozenset({"what"}), actor=BOSS, now=T0)
    assert c.status == "pending_approval"
    c = workflow.publish(c.platform_id, actor=BOSS, now=T0)
    assert c.status == "running"
    with pytest.raises(PlatformError, match="rule: wf-running-approver"):
        workflow.update_campaign(
            c.platform_id, edited(copy, name="x"), frozenset({"name"}), actor=BOSS, now=T0
        )


def test_labels_limit_characters_rename_and_delete(platform: LocalBackend) -> None:
    with pytest.raises(PlatformError, match="may not contain !"):
        platform.create_label(Label.model_construct(name="Sale!"))
    c = platform.create_campaign("x", spec(labels=["Onboarding"]), publish=False, actor=ME, now=T0)
    platform.rename_label("Onboarding", "Welcome")
    renamed = platform.get_campaign(c.platform_id, T0)
    assert renamed.labels == ("Welcome",) and renamed.spec["labels"] == ["Welcome"]
    with pytest.raises(PlatformError, match="used by 1 campaign"):
        platform.delete_label("Welcome")
    platform.delete_label("Promotions")
    assert [label.name for label in platform.list_labels()] == ["Welcome"]
    for i in range(899):
        platform.create_label(Label(name=f"L{i}"))
    with pytest.raises(PlatformError, match="at most 900"):
        platform.create_label(Label(name="one too many"))


def test_list_filters(platform: LocalBackend) -> None:
    platform.create_campaign("a", spec(labels=["Onboarding"]), publish=True, actor=ME, now=T0)
    platform.create_campaign(
        "b",
        spec(channel="sms", what={"content": {"body": "x"}}),
        publish=False,
        actor=Actor("other@x"),
        now=T0,
    )
    old = platform.create_campaign(
        "c", spec(when={"delivery": "now"}), publish=True, actor=ME, now=at("2025-01-01")
    )
    ids = lambda **kw: [c.id for c in platform.list_campaigns(T0, ListFilter(**kw))]  # noqa: E731
    assert ids() == ["a", "b"]  # c completed in 2025 and was auto-archived
    assert ids(archived="only") == ["c"] and ids(archived="include") == ["a", "b", "c"]
    assert ids(channel=["sms"]) == ["b"]
    assert ids(status=["scheduled"]) == ["a"] and ids(status=["draft"]) == ["b"]
    assert ids(created_by=["other@x"]) == ["b"]
    assert ids(label=["Onboarding"]) == ["a"]
    assert ids(delivery=["now"], archived="include") == ["c"]
    assert ids(type=["ab_test"]) == []
    assert platform.get_campaign(old.platform_id, at("2025-01-01T00:30")).status == "running"


def test_unknown_platform_id(platform: LocalBackend) -> None:
    with pytest.raises(PlatformError, match="no campaign with id 42"):
        platform.get_campaign("42", T0)


def test_an_equal_last_applied_spec_is_shared_and_a_different_one_is_not(
    platform: LocalBackend,
) -> None:
    same = platform.create_campaign("same", spec(), publish=True, actor=ME, now=T0)
    other = platform.create_campaign("other", spec(), publish=True, actor=ME, now=T0)
    applied_same = dict(same.spec)
    applied_other = {**other.spec, "name": "Renamed since"}
    platform.share({same.platform_id: applied_same, other.platform_id: applied_other})
    listed = {c.id: c for c in platform.list_campaigns(T0, ListFilter(archived="include"))}
    assert listed["same"].spec is applied_same  # one copy in a plan's memory, not two
    assert listed["other"].spec is not applied_other
    assert listed["other"].spec["name"] == other.spec["name"]  # the platform's, as it is
