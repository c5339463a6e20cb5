"""The first parts of the plan/apply engine (issue #4): diff, plan records, SQLite state."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from campaign_gitops.diff import FieldChange, changed_sections, field_changes, ignored
from campaign_gitops.plan import BLOCKED, Create, Drift, LabelCreate, Plan, Stop, Update
from campaign_gitops.state.base import LockHeld, LockInfo
from campaign_gitops.state.sqlite import SqliteState
from tests.helpers import at


def test_field_changes_by_section_with_paths() -> None:
    before = {
        "name": "x",
        "labels": ["A"],
        "who": {"segment": {"geo_radius": [{"city": "Paris", "radius_km": 10}]}},
    }
    after = {
        "name": "y",
        "labels": ["A", "B"],
        "goal": {"event": "Charged"},
        "who": {"segment": {"geo_radius": [{"city": "Paris", "radius_km": 20}]}},
    }
    assert field_changes(before, after) == [
        FieldChange("goal", None, {"event": "Charged"}),
        FieldChange("labels[1]", "<absent>", "B"),
        FieldChange("name", "x", "y"),
        FieldChange("who.segment.geo_radius[0].radius_km", 10, 20),
    ]
    assert changed_sections(before, after) == {"goal", "labels", "name", "who"}
    change = FieldChange("who.segment.geo_radius[0].radius_km", 10, 20)
    assert change.section == "who"
    assert ignored(change, ["who.segment"]) and ignored(change, ["who.segment.geo_radius"])
    assert not ignored(change, ["who.seg"])


def test_plan_orders_changes_and_round_trips_through_json() -> None:
    plan = Plan(
        at=at("2026-11-23T10:00"),
        changes=[
            Update(
                "b",
                platform_id="2",
                sections=frozenset({"what"}),
                changes=(FieldChange("what.content.title", "a", "b"),),
            ),
            Create("a", publish=True),
            Stop("c", platform_id="3"),
            LabelCreate("Onboarding", description="d"),
            Update("d", platform_id="4", verdict=BLOCKED, reason="who locked", rule="running"),
        ],
        drift=[Drift("b", "what.content.title", "a", "x", "b", "git wins")],
    )
    assert [c.title for c in plan.changes] == [
        "create label Onboarding",
        "stop campaign c",
        "create campaign a",
        "update campaign b",
        "update campaign d",
    ]
    assert [c.key for c in plan.blocked] == ["d"] and len(plan.applicable) == 4
    data = json.loads(json.dumps(plan.data()))
    assert data["format_version"] == 2 and data["summary"]["blocked"] == 1
    again = Plan.from_data(data)
    assert again.data() == plan.data()
    assert replace(plan, refresh_only=True).applicable == []


def test_sqlite_lock_names_its_holder_and_frees_a_dead_one(tmp_path: Path) -> None:
    state = SqliteState(tmp_path / "state.db")
    mine = LockInfo.mine("ci@runner")
    state.acquire(mine, timeout=0)
    other = SqliteState(tmp_path / "state.db")
    with pytest.raises(LockHeld) as info:
        other.acquire(LockInfo.mine("me@laptop"), timeout=0.3)
    message = str(info.value)
    assert "locked by ci@runner" in message and mine.lock_id in message
    assert other.unlock(mine.lock_id) and not other.unlock(mine.lock_id)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    gone = replace(LockInfo.mine("crashed"), pid=int(dead.stdout))
    state.acquire(gone, timeout=0)  # a lock row whose process died on this host
    nxt = LockInfo.mine("next")
    other.acquire(nxt, timeout=1)  # is taken over
    assert [held for held, _ in other._holders()] == [nxt]


def test_processes_opening_a_new_database_at_once_wait_for_each_other(tmp_path: Path) -> None:
    """Switching a new file to WAL does not wait on SQLite's busy handler; connect() must."""
    script = (
        "import sys\nfrom pathlib import Path\n"
        "from campaign_gitops.sqlite_util import connect, immediate\n"
        "for i in range(150):\n"
        "    db = connect(Path(sys.argv[1]) / f'db{i}.sqlite')\n"
        "    with immediate(db):\n"
        "        db.execute('CREATE TABLE IF NOT EXISTS t (x)')\n"
        "    db.close()\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
