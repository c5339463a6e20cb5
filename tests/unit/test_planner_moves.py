"""Moves through the planner and the applier on the local platform: what the id a campaign moves
to already names decides whether the move can be made, and the plan after it is empty."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from campaign_gitops.plan import BLOCKED, OK
from tests.unit.test_planner import T0, World, desired, doc, kinds

NOW = {"delivery": "now"}
LATER = T0 + timedelta(hours=3)  # a campaign delivered now has completed


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def _forgotten_under(world: World, key: str, **spec: object) -> str:
    """A campaign with id `key` that no file manages any more; its platform id."""
    world.apply(desired({"old": doc(), key: doc(name="Other", **spec)}))
    world.apply(desired({"old": doc()}))
    [live] = world.live(key, LATER)
    return live.platform_id


def test_a_move_onto_a_completed_campaign_no_file_manages_is_blocked(world: World) -> None:
    """The completed one would be taken for the new id's by every later plan: the moved
    campaign's record would go to it (an adopt), and the moved one would run on unmanaged."""
    completed = _forgotten_under(world, "new", when=NOW)
    assert world.live("new", LATER)[0].status == "completed"
    moved = desired({"new": doc(moved_from="old")})
    [move] = world.plan(moved, LATER).changes
    assert (move.KIND, move.verdict, move.rule) == ("move", BLOCKED, "move-onto-live")
    assert f"names campaign {completed}, a completed campaign no file manages" in move.reason
    assert "archive campaign" in move.remedy and "move to another id" in move.remedy


def test_a_move_onto_a_running_campaign_no_file_manages_is_blocked(world: World) -> None:
    running = _forgotten_under(world, "new")
    [move] = world.plan(desired({"new": doc(moved_from="old")}), LATER).changes
    assert (move.KIND, move.verdict) == ("move", BLOCKED)
    assert "would leave two live campaigns with one id" in move.reason
    assert f"stop campaign {running} first" in move.remedy


def test_a_move_onto_an_archived_campaign_converges(world: World) -> None:
    """A stopped and archived campaign under the new id is history: the moved one is the id's."""
    world.apply(desired({"old": doc(), "new": doc(name="Other", when=NOW)}))
    world.apply(desired({"old": doc(), "new": doc(name="Other", when=NOW, archived=True)}), LATER)
    world.apply(desired({"old": doc()}), LATER)
    platform_id = world.state.managed()["old"].platform_id
    moved = desired({"new": doc(moved_from="old")})
    assert kinds(world.plan(moved, LATER)) == [("campaign", "move", "new", OK)]
    world.apply(moved, LATER)
    assert world.state.managed()["new"].platform_id == platform_id
    assert world.plan(moved, LATER).changes == []


def test_a_moved_and_stopped_campaign_stays_the_new_ids(world: World) -> None:
    """The sequence the invariant test found: the moved campaign stopped and archived, the
    id it moves to naming a newer campaign that completed and was forgotten."""
    world.apply(desired({"old": doc(), "new": doc(name="Other", when=NOW)}))
    world.apply(desired({"old": doc(state="stopped", archived=True)}), LATER)
    assert world.live("new", LATER)[0].status == "completed"
    moved = desired({"new": doc(state="stopped", archived=True, moved_from="old")})
    [move] = world.plan(moved, LATER).changes
    assert (move.KIND, move.verdict) == ("move", BLOCKED)  # never an adopt of the completed one


def test_two_files_moving_from_one_id_move_it_once(world: World) -> None:
    """The loader refuses it (`duplicate-moved-from`); a desired state made otherwise still
    never moves one record to two ids."""
    world.apply(desired({"old": doc()}))
    both = desired({"a": doc(moved_from="old"), "b": doc(moved_from="old")})
    moves = [c for c in world.plan(both).changes if c.KIND == "move"]
    assert [(c.key, c.moved_from) for c in moves] == [("a", "old")]  # type: ignore[attr-defined]
