"""Every row of the seed's creator-approver table reached on the real local platform, by the
operations that lead there (publish as a creator or an approver, an edit sent for approval, the
approver's rejection, time passing), then judged through a plan and applied."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from campaign_gitops.applying.applier import Applier
from campaign_gitops.backends.base import Actor
from campaign_gitops.plan import APPROVAL, BLOCKED, OK, Plan
from campaign_gitops.rules import RULES, Outcome
from tests.helpers import at
from tests.unit.test_planner import World, desired, doc

T0 = at("2026-11-23T10:00")
CREATOR, APPROVER = Actor("cara@example.com", "creator"), Actor("vic@example.com", "approver")
ONCE = {"delivery": "on_date_time", "start": "2026-12-01T09:00:00Z"}
DAILY = {"delivery": "recurring", "start": "2026-12-01T09:00:00Z",
         "recurring": {"every": 1, "unit": "day", "at": "09:00"}}  # fmt: skip
WHAT = {"content": {"title": "Hi", "body": "Changed"}}
# the embedded platform starts a run at its scheduled time: a campaign is never "scheduled" or
# "awaiting next run" once that time has come, so these rows hold only between two instants in
# the dashboard; they are judged at the rules level (test_rules.py) and through a plan of a
# live campaign in that situation (test_planner.py), not reached here
INSTANT = {"wf-scheduled-after-creator", "wf-scheduled-after-approver",
           "wf-awaiting-after-creator", "wf-awaiting-after-approver"}  # fmt: skip


@dataclass(frozen=True)
class Route:
    """How to reach a row: the schedule, who publishes, an edit sent for approval at `edited`,
    a rejection, and the time the row is judged at."""

    when: dict[str, Any]
    publisher: Actor
    judged: str
    edited: str | None = None
    rejected: bool = False


FIRST_BEFORE, FIRST_AFTER = "2026-11-24T10:00", "2026-12-01T10:00"
ROUTES: dict[tuple[str, str], Route] = {
    ("scheduled", "before"): Route(ONCE, APPROVER, FIRST_BEFORE),
    ("running", "any"): Route(DAILY, APPROVER, "2026-12-01T09:10"),
    ("awaiting_next_run", "before"): Route(DAILY, APPROVER, "2026-12-01T12:00"),
    ("pending_approval", "pending-any"): Route(ONCE, CREATOR, FIRST_BEFORE),
    ("pending_approval", "pending-before"): Route(ONCE, CREATOR, FIRST_BEFORE),
    ("pending_approval", "pending-after"): Route(ONCE, CREATOR, FIRST_AFTER),
    ("rejected", "pending-before"): Route(ONCE, CREATOR, FIRST_BEFORE, rejected=True),
    ("rejected", "pending-after"): Route(ONCE, CREATOR, FIRST_AFTER, rejected=True),
    # a daily campaign that ran, edited by the creator at noon: the edit waits for approval
    # before the next run (12-02 09:00) and after it
    ("pending_approval", "done-before"): Route(DAILY, APPROVER, "2026-12-01T13:00", "12:00"),
    ("pending_approval", "done-after"): Route(DAILY, APPROVER, "2026-12-02T10:00", "12:00"),
    ("rejected", "done-before"): Route(DAILY, APPROVER, "2026-12-01T13:00", "12:00", True),
    ("rejected", "done-after"): Route(DAILY, APPROVER, "2026-12-02T10:00", "12:00", True),
}
WORKFLOW_ROWS = [r for r in RULES if r.workflow and r.key not in INSTANT]


def _route(status: str, first_run: str, timing: str) -> Route:
    if status in ("pending_approval", "rejected"):
        return ROUTES[(status, f"{first_run}-{timing}")]
    return ROUTES[(status, timing)]


def _apply(world: World, plan: Plan, actor: Actor, now: datetime) -> None:
    result = Applier(world.backend, world.state, actor, now).run(plan)
    assert result.ok, result.failed


def _reach(world: World, route: Route) -> dict[str, Any]:
    spec = doc(labels=[], when=route.when)
    want = desired({"w": spec})
    _apply(world, world.plan(want, T0, role=route.publisher.role), route.publisher, T0)
    decided = T0  # the approver rejects right after the request
    if route.edited is not None:
        edited_at = decided = at(f"2026-12-01T{route.edited}")
        spec = doc(labels=[], when=route.when, what=WHAT)
        plan = world.plan(desired({"w": spec}), edited_at, role="creator")
        assert [(c.KIND, c.verdict) for c in plan.changes] == [("update", APPROVAL)]
        _apply(world, plan, CREATOR, edited_at)
    if route.rejected:
        world.backend.review("w", approve=False, now=decided)
    return spec


@pytest.mark.parametrize("rule", WORKFLOW_ROWS, ids=lambda r: r.key)
def test_every_workflow_row_is_reached_and_applied(rule: Any, tmp_path: Path) -> None:
    world = World(tmp_path, workflow=True)
    route = _route(rule.status, rule.first_run, rule.timing)
    spec = _reach(world, route)
    now = at(route.judged)
    [live] = world.live("w", now)
    assert live.status == rule.status
    assert rule.first_run == "any" or live.has_run == (rule.first_run == "done")
    role = rule.role
    edited = spec | {"name": "Renamed"}  # a name is editable only where all is
    if "name" not in rule.editable:
        edited = spec | {"what": {"content": {"title": "Edited", "body": "Again"}}}
    plan = world.plan(desired({"w": edited}), now, role=role)
    [update] = [c for c in plan.changes if c.KIND == "update"]
    assert update.rule == rule.key
    if rule.outcome not in (Outcome.APPLY, Outcome.APPROVAL):
        assert update.verdict == BLOCKED
        return
    assert update.verdict == (APPROVAL if rule.outcome is Outcome.APPROVAL else OK)
    _apply(world, plan, APPROVER if role == "approver" else CREATOR, now)
    [after] = world.live("w", now)
    if rule.outcome is Outcome.APPROVAL and role == "creator":
        assert after.status == "pending_approval"
    else:  # an approver's edit is published, or sent for approval and approved by the plan
        assert after.status in ("scheduled", "running", "awaiting_next_run")  # published
    assert world.plan(desired({"w": edited}), now, role=role).changes == []
