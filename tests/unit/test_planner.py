"""Every change kind through the planner and the applier, on the real local platform and a real
SQLite state store; every rules row through a plan."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from campaign_gitops.applying.applier import Applier
from campaign_gitops.backends.base import Actor, Capabilities, ListFilter, LiveCampaign
from campaign_gitops.backends.local import LocalBackend
from campaign_gitops.desired.loader import CampaignDoc, Desired
from campaign_gitops.models import CAMPAIGN_ADAPTER, Label
from campaign_gitops.plan import APPROVAL, BLOCKED, OK, Plan
from campaign_gitops.planning.planner import Live, Options, make_plan
from campaign_gitops.rules import RULES, Outcome, Rule
from campaign_gitops.state.sqlite import SqliteState
from tests.helpers import at
from tests.unit.test_rules import NOW, situation_for

T0 = at("2026-11-23T10:00")  # before the default start, 2026-12-01T09:00Z
ACTOR = Actor("ci@example.com")
LABELS = [Label(name="Onboarding", description="new users"), Label(name="Promotions")]


def doc(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "Welcome",
        "channel": "push",
        "labels": ["Onboarding"],
        "what": {"content": {"title": "Hi", "body": "There"}},
        "when": {"delivery": "action", "trigger": {"event": "App Installed"},
                 "start": "2026-12-01T09:00:00Z"},
    }  # fmt: skip
    return base | overrides


def desired(campaigns: dict[str, dict[str, Any]], labels: list[Label] = LABELS) -> Desired:
    out = Desired(labels=list(labels))
    for key, data in campaigns.items():
        spec = CAMPAIGN_ADAPTER.validate_python(data)
        out.campaigns[key] = CampaignDoc(key, f"campaigns/{key}.yaml", "", spec)
    return out


class World:
    def __init__(self, tmp: Path, workflow: bool = False):
        self.backend = LocalBackend(tmp / "platform.db", workflow=workflow)
        self.state = SqliteState(tmp / "state.db")
        self.workflow = workflow

    def plan(self, want: Desired, now: Any = T0, **options: Any) -> Plan:
        live = Live(
            self.backend.list_campaigns(now, ListFilter(archived="include")),
            self.backend.list_labels(),
        )
        opts = Options(at=now, workflow=self.workflow, **options)
        return make_plan(want, live, self.state.managed(), self.state.labels(), opts)

    def apply(self, want: Desired, now: Any = T0, **options: Any) -> Plan:
        plan = self.plan(want, now, **options)
        result = Applier(self.backend, self.state, ACTOR, now).run(plan)
        assert result.ok, result.failed
        return plan

    def live(self, key: str, now: Any = T0) -> list[LiveCampaign]:
        everything = ListFilter(archived="include")
        return [c for c in self.backend.list_campaigns(now, everything) if c.id == key]


def kinds(plan: Plan) -> list[tuple[str, str, str, str]]:
    return [(c.TARGET, c.KIND, c.key, c.verdict) for c in plan.changes]


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def test_create_publish_and_converge(world: World) -> None:
    want = desired({"w": doc(), "d": doc(state="draft"), "s": doc(state="stopped")})
    plan = world.plan(want)
    assert kinds(plan) == [
        ("label", "create", "Onboarding", OK),
        ("label", "create", "Promotions", OK),
        ("campaign", "create", "d", OK),
        ("campaign", "create", "w", OK),
    ]  # a campaign born stopped is never created
    assert [c.publish for c in plan.changes[2:]] == [False, True]  # type: ignore[attr-defined]
    world.apply(want)
    assert world.live("w")[0].status == "scheduled" and world.live("d")[0].status == "draft"
    assert world.plan(want).changes == [] and not world.plan(want).drift


def test_update_by_section_field_by_field(world: World) -> None:
    world.apply(desired({"w": doc()}))
    changed = doc(name="Welcome!", what={"content": {"title": "Hello", "body": "There"}})
    plan = world.plan(desired({"w": changed}))
    [update] = plan.changes
    assert (update.KIND, update.verdict) == ("update", OK)
    assert update.sections == {"name", "what"}  # type: ignore[attr-defined]
    assert [(c.path, c.before, c.after) for c in update.changes] == [  # type: ignore[attr-defined]
        ("name", "Welcome", "Welcome!"),
        ("what.content.title", "Hi", "Hello"),
    ]
    world.apply(desired({"w": changed}))
    assert (
        world.live("w")[0].name == "Welcome!" and world.plan(desired({"w": changed})).changes == []
    )


def test_publish_a_draft(world: World) -> None:
    world.apply(desired({"w": doc(state="draft")}))
    assert kinds(world.plan(desired({"w": doc()}))) == [("campaign", "publish", "w", OK)]
    world.apply(desired({"w": doc()}))
    assert world.live("w")[0].status == "scheduled"


def test_stop_then_archive(world: World) -> None:
    world.apply(desired({"w": doc()}))
    running = at("2026-12-02T10:00")
    want = desired({"w": doc(state="stopped", archived=True)})
    assert kinds(world.plan(want, running)) == [
        ("campaign", "stop", "w", OK),
        ("campaign", "archive", "w", OK),
    ]
    world.apply(want, running)
    [live] = world.live("w", running)
    assert live.status == "stopped" and live.archived
    assert world.plan(want, running).changes == []


def test_archiving_a_live_campaign_is_blocked_with_a_remedy(world: World) -> None:
    world.apply(desired({"w": doc()}))
    [change] = world.plan(desired({"w": doc(archived=True)}), at("2026-12-02T10:00")).changes
    assert (change.KIND, change.verdict) == ("archive", BLOCKED)
    assert "stop it first" in change.reason and "state: stopped" in change.remedy


def test_running_audience_is_locked_then_replace(world: World) -> None:
    world.apply(desired({"w": doc()}))
    running = at("2026-12-02T10:00")
    audience = {"segment": {"user_properties": [{"name": "Tier", "op": "equals", "value": "Gold"}]}}
    [blocked] = world.plan(desired({"w": doc(who=audience)}), running).changes
    assert (blocked.KIND, blocked.verdict) == ("update", BLOCKED)
    assert "who locked" in blocked.reason and "on_locked_change: replace" in blocked.remedy
    opted = desired({"w": doc(who=audience, on_locked_change="replace")})
    for want, options in (
        (opted, {}),
        (desired({"w": doc(who=audience)}), {"allow_replace": True}),
    ):
        assert kinds(world.plan(want, running, **options)) == [("campaign", "replace", "w", OK)]
    world.apply(opted, running)
    old, new = world.live("w", running)
    assert old.status == "stopped" and new.status == "running"
    assert new.spec["who"]["segment"]["user_properties"][0]["value"] == "Gold"
    assert world.state.managed()["w"].platform_id == new.platform_id
    assert world.plan(opted, running).changes == []


def test_what_and_name_stay_editable_while_running(world: World) -> None:
    world.apply(desired({"w": doc()}))
    [update] = world.plan(desired({"w": doc(name="New name")}), at("2026-12-02T10:00")).changes
    assert (update.KIND, update.verdict) == ("update", OK)


def test_channel_never_changes(world: World) -> None:
    world.apply(desired({"w": doc(state="draft")}))
    email = doc(
        state="draft", channel="email",
        what={"content": {"subject": "Hi", "sender_name": "Shop", "body": "<p>Hi</p>"}},
    )  # fmt: skip
    [change] = world.plan(desired({"w": email})).changes
    assert change.verdict == BLOCKED and "channel" in change.reason


def test_published_campaign_never_returns_to_draft(world: World) -> None:
    world.apply(desired({"w": doc()}))
    [change] = world.plan(desired({"w": doc(state="draft")})).changes
    assert change.verdict == BLOCKED and "never returns to draft" in change.reason


def test_labels_create_update_rename_delete(world: World) -> None:
    world.apply(desired({"w": doc()}, [*LABELS, Label(name="Old")]))
    renamed = [
        Label(name="Newcomers", description="new users", renamed_from="Onboarding"),
        Label(name="Promotions", description="sales"),
    ]
    want = desired({"w": doc(labels=["Newcomers"])}, renamed)
    assert kinds(world.plan(want)) == [
        ("label", "rename", "Newcomers", OK),
        ("label", "update", "Promotions", OK),
        ("label", "delete", "Old", OK),
    ]  # the campaign's label follows the rename: no campaign update
    world.apply(want)
    assert {label.name for label in world.backend.list_labels()} == {"Newcomers", "Promotions"}
    assert world.live("w")[0].labels == ("Newcomers",)
    again = world.plan(want)
    assert again.changes == [] and again.drift == []


def test_a_label_used_outside_git_is_not_deleted(world: World) -> None:
    world.apply(desired({}, [Label(name="Keep")]))
    world.backend.create_campaign(
        "manual", CAMPAIGN_ADAPTER.validate_python(doc(labels=["Keep"])),
        publish=False, actor=ACTOR, now=T0,
    )  # fmt: skip
    [change] = world.plan(desired({}, [])).changes
    assert (change.KIND, change.verdict) == ("delete", BLOCKED) and "manual" in change.reason


def test_a_rename_onto_an_existing_label_merges_and_names_renamed_from(world: World) -> None:
    """The platform has both names: the rename is a merge, whose delete of the old name a
    campaign outside git blocks; the remedy undoes the rename as well (else the file, listing
    the old name and renaming from it, is invalid)."""
    world.apply(desired({}, [Label(name="Keep"), Label(name="News")]))
    world.backend.create_campaign(
        "manual", CAMPAIGN_ADAPTER.validate_python(doc(labels=["Keep"])),
        publish=False, actor=ACTOR, now=T0,
    )  # fmt: skip
    [change] = world.plan(desired({}, [Label(name="News", renamed_from="Keep")])).changes
    assert (change.KIND, change.key, change.verdict) == ("delete", "Keep", BLOCKED)
    assert change.remedy == (
        "remove it from them in the dashboard, or keep it in labels.yaml and drop "
        "`renamed_from: Keep` from News"
    )


def test_forget_by_default_prune_stops(world: World) -> None:
    world.apply(desired({"w": doc()}))
    assert kinds(world.plan(desired({}))) == [("campaign", "forget", "w", OK)]
    running = at("2026-12-02T10:00")
    assert kinds(world.plan(desired({}), running, prune=True)) == [
        ("campaign", "stop", "w", OK),
        ("campaign", "forget", "w", OK),
    ]
    world.apply(desired({}))
    assert world.live("w")[0].status == "scheduled" and "w" not in world.state.managed()


def test_adopt_a_live_campaign_with_the_same_id(world: World) -> None:
    world.apply(desired({}))
    world.backend.create_campaign(
        "w", CAMPAIGN_ADAPTER.validate_python(doc()), publish=True, actor=ACTOR, now=T0
    )
    assert kinds(world.plan(desired({"w": doc()}))) == [("campaign", "adopt", "w", OK)]
    renamed = desired({"w": doc(name="Adopted")})
    assert kinds(world.plan(renamed)) == [
        ("campaign", "adopt", "w", OK),
        ("campaign", "update", "w", OK),
    ]
    world.apply(renamed)
    assert world.plan(renamed).changes == [] and len(world.live("w")) == 1


def test_drift_three_values_git_wins_or_ignored(world: World) -> None:
    world.apply(desired({"w": doc()}))
    [live] = world.live("w")
    dashboard = CAMPAIGN_ADAPTER.validate_python(
        doc(what={"content": {"title": "Dashboard", "body": "There"}}, name="Edited")
    )
    world.backend.update_campaign(
        live.platform_id, dashboard, frozenset({"what", "name"}), actor=ACTOR, now=T0
    )
    plan = world.plan(desired({"w": doc()}))
    assert {(d.path, d.last_applied, d.live, d.desired, d.resolution) for d in plan.drift} == {
        ("name", "Welcome", "Edited", "Welcome", "git wins"),
        ("what.content.title", "Hi", "Dashboard", "Hi", "git wins"),
    }
    assert kinds(plan) == [("campaign", "update", "w", OK)]
    refresh = world.plan(desired({"w": doc()}), refresh_only=True)
    assert refresh.drift and refresh.applicable == []
    ignoring = desired({"w": doc(ignore_changes=["what.content.title", "name"])})
    plan = world.plan(ignoring)
    assert plan.changes == [] and {d.resolution for d in plan.drift} == {"ignored (ignore_changes)"}


def test_drift_kept_when_the_revert_is_blocked(world: World) -> None:
    world.apply(desired({"w": doc()}))
    [live] = world.live("w")
    running = at("2026-12-02T10:00")
    world.backend.update_campaign(
        live.platform_id,
        CAMPAIGN_ADAPTER.validate_python(doc(who={"segment": {"saved": "VIPs"}})),
        frozenset({"who"}),
        actor=ACTOR,
        now=T0,
    )
    plan = world.plan(desired({"w": doc()}), running)
    assert plan.blocked and {d.resolution for d in plan.drift} == {"kept: the change is blocked"}


def test_creator_in_the_approval_workflow(tmp_path: Path) -> None:
    world = World(tmp_path, workflow=True)
    plan = world.plan(desired({"w": doc()}))
    assert ("campaign", "create", "w", APPROVAL) in kinds(plan)
    world.apply(desired({"w": doc()}))
    assert world.live("w")[0].status == "pending_approval"


def _live_in(rule: Rule) -> LiveCampaign:
    situation = situation_for(rule)
    spec = CAMPAIGN_ADAPTER.validate_python(doc(labels=[])).spec_data()
    return LiveCampaign(
        "1457000001", "w", "Welcome", "push", "single_message", "action", situation.status,
        situation.archived, spec, situation.scheduled_at, NOW - timedelta(days=1), "x", (), 3,
        situation.has_run,
    )  # fmt: skip


EDITS: dict[str, dict[str, Any]] = {
    "name": {"name": "Renamed"},
    "labels": {"labels": ["Onboarding"]},
    "goal": {"goal": {"event": "Charged", "within": "1d"}},
    "who": {"who": {"segment": {"saved": "VIPs"}}},
    "what": {"what": {"content": {"title": "New", "body": "There"}}},
    "when": {"when": {"delivery": "action", "trigger": {"event": "Signed Up"},
                      "start": "2026-12-01T09:00:00Z"}},
}  # fmt: skip


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.key)
@pytest.mark.parametrize("section", list(EDITS))
def test_every_rules_row_through_a_plan(rule: Rule, section: str) -> None:
    live = _live_in(rule)
    # a pending or rejected campaign whose file says `state: draft` is withdrawn first, and its
    # edit is a draft's: `state: active` keeps it as it is while the edit is judged
    status_intent = {"state": "draft" if live.status == "draft" else "active"}
    want = desired({"w": doc(**({"labels": []} | status_intent | EDITS[section]))})
    opts = Options(at=NOW, workflow=bool(rule.workflow), role=rule.role or "creator")
    managed = {}
    plan = make_plan(want, Live([live], LABELS), managed, {}, opts)
    [update] = [c for c in plan.changes if c.KIND == "update"]
    assert update.rule == rule.key
    if section in rule.editable and rule.outcome in (Outcome.APPLY, Outcome.APPROVAL):
        expected = APPROVAL if rule.outcome is Outcome.APPROVAL else OK
        assert update.verdict == expected, update
    else:
        assert update.verdict == BLOCKED and update.reason and update.remedy


def test_what_the_api_cannot_do_is_manual_not_a_late_failure(world: World) -> None:
    world.apply(desired({"w": doc(), "gone": doc(name="Gone")}))
    caps = Capabilities(
        update=False, drafts=False, labels=False, archive=False, channels=frozenset({"push"})
    )
    no_dnd = {"unsupported": lambda s: ["dnd"] if s["when"]["preferences"].get("dnd") else []}
    email = doc(
        channel="email",
        what={"content": {"subject": "Hi", "sender_name": "Shop", "body": "<p>Hi</p>"}},
    )
    dnd = {"delivery": "on_date_time", "start": "2026-12-01T09:00:00Z",
           "preferences": {"dnd": {"from": "21:00", "to": "09:00"}}}  # fmt: skip
    want = desired({
        "w": doc(name="Renamed"), "gone": doc(name="Gone", state="stopped", archived=True),
        "mail": email, "draft": doc(state="draft"), "dnd": doc(when=dnd), "fine": doc(),
    })  # fmt: skip
    plan = world.plan(want, caps=caps, **no_dnd)
    verdicts = {(c.KIND, c.key): (c.verdict, c.reason) for c in plan.changes}
    assert verdicts[("create", "mail")][0] == "manual"
    assert "cannot create email campaigns" in verdicts[("create", "mail")][1]
    assert "cannot create drafts" in verdicts[("create", "draft")][1]
    assert verdicts[("create", "dnd")] == ("manual", "dnd")
    assert verdicts[("update", "w")][0] == "manual"
    assert verdicts[("archive", "gone")][0] == "manual"
    assert verdicts[("create", "fine")][0] == "ok"
    assert "labels (Onboarding) are not sent" in verdicts[("create", "fine")][1]
    assert not [c for c in plan.changes if c.TARGET == "label"]  # no label API: not planned
    assert not plan.blocked and [c.key for c in plan.applicable] == ["gone", "fine"]
    opted = desired({"w": doc(name="Renamed", on_locked_change="replace")})
    [swap] = [c for c in world.plan(opted, caps=caps).changes if c.key == "w"]
    assert (swap.KIND, swap.verdict) == ("replace", "ok")
