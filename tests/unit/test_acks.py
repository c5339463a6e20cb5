"""Acknowledgements of manual changes (acks.py): what an ack records for each kind of manual
change, what it refuses, and how planning then sees the campaign. Plans are made by the real
planner against the real local platform, with the clevertap backend's capabilities."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from campaign_gitops.acks import Request, acknowledge, command, covered_spec, seen_through_state
from campaign_gitops.backends.base import Capabilities, ListFilter
from campaign_gitops.backends.snapshot import from_record
from campaign_gitops.desired.loader import Desired
from campaign_gitops.errors import FatalError
from campaign_gitops.plan import Archive, Create, Plan, Replace, Update
from campaign_gitops.planning.moves import newest, with_known_specs
from campaign_gitops.planning.planner import Live, Options, make_plan
from campaign_gitops.state.base import Ack, Managed
from tests.unit.test_planner import T0, World, desired, doc

API = Capabilities(
    update=False, drafts=False, labels=False, archive=False, channels=frozenset({"push"})
)
RUNNING = T0.replace(month=12, day=2)


def _plan(world: World, want: Desired) -> Plan:
    """As the workspace plans on a backend whose API lists no content: the local platform's
    campaigns without their specs, completed from the state store and the acknowledgements."""
    managed = world.state.managed()
    listed = world.backend.list_campaigns(T0, ListFilter(archived="include"))
    campaigns = with_known_specs([replace(c, spec={}) for c in listed], managed, want)
    campaigns = seen_through_state(campaigns, managed, world.state.acks(), T0)
    live = Live(campaigns, world.backend.list_labels())
    return make_plan(want, live, managed, world.state.labels(), Options(at=T0, caps=API))


def _ask(
    world: World, campaigns: dict[str, dict[str, Any]], platform_id: str | None = None
) -> tuple[Plan, Any]:
    want = desired(campaigns)
    key = next(iter(campaigns))
    request = Request(key, platform_id, "dana", "by hand", T0)
    ack, record = acknowledge(_plan(world, want), want, world.state.managed(), request)
    world.state.acknowledge(ack, record)
    return _plan(world, want), ack


def test_the_command_names_what_it_needs() -> None:
    assert command(Update("w")) == "campaign-gitops ack w"
    assert command(Archive("w"), env="prod") == "campaign-gitops ack w --env prod"
    made = "--platform-id <the dashboard campaign's id>"
    assert command(Create("w")) == f"campaign-gitops ack w {made}"
    assert command(Replace("w")) == f"campaign-gitops ack w --allow-replace {made}"


def test_an_edit_covers_its_sections_only() -> None:
    base = doc(name="Old", what={"content": {"title": "Old", "body": "x"}}, archived=False)
    effective = doc(name="New", what={"content": {"title": "New", "body": "x"}}, archived=True)
    spec = covered_spec([Update("w", sections=frozenset({"what"}))], base, effective)
    assert (spec["name"], spec["what"]["content"]["title"], spec["archived"]) == (
        "Old", "New", False,
    )  # fmt: skip
    spec = covered_spec([Archive("w")], base, effective)
    assert (spec["name"], spec["archived"]) == ("Old", True)
    assert covered_spec([Create("w")], base, effective) == effective
    assert covered_spec([Update("w", sections=frozenset({"name"}))], None, effective) == effective


def test_a_manual_edit_is_done_once_acknowledged(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.apply(desired({"w": doc()}))
    after, ack = _ask(world, {"w": doc(name="Renamed")})
    assert (ack.changes, ack.by, ack.note) == (("update",), "dana", "by hand")
    assert ack.at == T0.isoformat()
    assert world.state.managed()["w"].spec["name"] == "Renamed"
    assert [c for c in after.changes if c.key == "w"] == []
    again = _plan(world, desired({"w": doc(name="Renamed twice")}))
    assert [(c.KIND, c.verdict) for c in again.changes] == [("update", "manual")]


def test_a_record_without_content_is_covered_whole(tmp_path: Path) -> None:
    # an adopt of a campaign the API could not describe records no content: the ack of the
    # manual edit that follows must record the whole spec, or it is planned forever
    world = World(tmp_path)
    world.apply(desired({"w": doc()}))
    known = world.state.managed()["w"]
    world.state.record(replace(known, spec={"labels": []}))
    spec = doc(name="Renamed")
    _, ack = _ask(world, {"w": spec})
    assert ack.spec["channel"] == "push" and ack.spec["name"] == "Renamed"


def test_refusals(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.apply(desired({"w": doc()}))
    with pytest.raises(FatalError, match="nothing manual is pending for w: the plan has no"):
        _ask(world, {"w": doc()})
    with pytest.raises(FatalError, match=r"create campaign p\); pass --platform-id"):
        _ask(world, {"p": doc(channel="sms", what={"content": {"body": "Hi"}})})
    with pytest.raises(FatalError, match=r"is of platform campaign \d+, not 99"):
        _ask(world, {"w": doc(name="Renamed")}, platform_id="99")
    managed = world.state.managed()["w"].platform_id
    with pytest.raises(FatalError, match=f"platform campaign {managed} is managed as w, not p"):
        _ask(world, {"p": doc(channel="sms", what={"content": {"body": "Hi"}})}, managed)


def test_an_archive_waits_for_the_stop_apply_makes(tmp_path: Path) -> None:
    # the plan stops the campaign, then asks for the archive by hand: acknowledged before the
    # apply, the archive would be recorded of a campaign still scheduled
    world = World(tmp_path)
    world.apply(desired({"w": doc()}))
    message = "w: apply first: stop campaign w comes before the manual archive"
    with pytest.raises(FatalError, match=message):
        _ask(world, {"w": doc(state="stopped", archived=True)})
    world.apply(desired({"w": doc(state="stopped")}))
    after, ack = _ask(world, {"w": doc(state="stopped", archived=True)})
    assert ack.changes == ("archive",) and after.changes == []


def test_a_campaign_made_in_the_dashboard_is_seen_from_its_record(tmp_path: Path) -> None:
    world = World(tmp_path)
    sms = {"p": doc(channel="sms", what={"content": {"body": "Hi"}})}
    after, ack = _ask(world, sms, platform_id="1457999001")
    assert ack.changes == ("create",) and ack.platform_id == "1457999001"
    managed = world.state.managed()
    assert managed["p"].platform_id == "1457999001"
    # the platform does not list it: planning sees it through the acknowledgement
    assert after.changes == []
    live = seen_through_state([], managed, world.state.acks(), RUNNING)
    [seen] = live
    assert (seen.id, seen.platform_id, seen.channel, seen.status) == (
        "p", "1457999001", "sms", "running",
    )  # fmt: skip
    assert seen_through_state([], managed, world.state.acks(), T0)[0].status == "scheduled"
    archived = seen_through_state(live, managed, [replace(ack, changes=("archive",))], RUNNING)
    assert archived[0].archived


def test_a_managed_campaign_the_api_does_not_list_is_never_created_twice() -> None:
    # the API lists by schedule window: an acknowledged edit of the date (or a mistyped one in
    # the dashboard) put the campaign outside it, and the next plan created the id again
    managed = {"p": Managed("p", "1", doc(), T0.isoformat(), "ci")}
    [seen] = seen_through_state([], managed, [], RUNNING)
    assert (seen.id, seen.platform_id, seen.status) == ("p", "1", "running")
    unknown = {"p": Managed("p", "1", {"labels": []}, T0.isoformat(), "ci")}
    assert seen_through_state([], unknown, [], T0) == []  # an adopt that knew no content


def test_a_replace_done_by_hand_stands_for_the_id_whatever_its_name() -> None:
    # a replace done in the dashboard: the original (stopped, named with the id marker) and the
    # new campaign, named otherwise; acknowledged, the new one is the id's campaign
    old = from_record(Managed("w", "1", doc(state="stopped"), T0.isoformat(), "ci"), RUNNING)
    new = from_record(Managed("x", "2", doc(), T0.isoformat(), "dana"), RUNNING)
    assert old is not None and new is not None
    listed = [old, replace(new, id="clevertap-2")]
    managed = {"w": Managed("w", "2", doc(), T0.isoformat(), "dana")}
    ack = Ack("w", ("replace",), "2", doc(), "c", None, T0.isoformat(), "dana")
    seen = seen_through_state(listed, managed, [ack], RUNNING)
    assert [(c.id, c.platform_id) for c in seen] == [("w", "1"), ("w", "2")]
    assert newest(seen)["w"].platform_id == "2"
