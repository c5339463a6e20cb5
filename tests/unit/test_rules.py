from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from campaign_gitops.rules import (
    ALL,
    OPERATIONS,
    RULES,
    STATUSES,
    Outcome,
    Rule,
    Situation,
    edit_rule,
    judge_edit,
    judge_operation,
)

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
PAST, FUTURE = NOW - timedelta(hours=1), NOW + timedelta(hours=1)


def _plain(text: str) -> str:
    text = re.sub(r"<[^>]+>", " ", text).replace("**", "").replace("_", "").replace("*", "")
    return re.sub(r"\s+", " ", text).strip()


def situation_for(rule: Rule) -> Situation:
    scheduled = {"before": FUTURE, "after": PAST, "any": FUTURE}[rule.timing]
    return Situation(
        status="stopped" if rule.status == "archived" else rule.status,
        archived=rule.status == "archived",
        workflow=bool(rule.workflow),
        role=rule.role or "creator",
        has_run=rule.first_run == "done",
        scheduled_at=scheduled,
    )


@pytest.mark.skipif(
    not SEEDS.is_dir(),
    reason=f"the seed documents are not beside this checkout ({SEEDS}): each rule's quote is "
    "checked where they are (the team's CI)",
)
@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.key)
def test_each_row_quotes_its_seed(rule: Rule) -> None:
    seed = _plain((SEEDS / rule.source).read_text())
    assert _plain(rule.seed).rstrip(".") in seed


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.key)
def test_each_row_governs_its_situation(rule: Rule) -> None:
    situation = situation_for(rule)
    assert edit_rule(situation, NOW) is rule
    verdict = judge_edit(situation, rule.editable, NOW)
    if rule.outcome in (Outcome.APPLY, Outcome.APPROVAL):
        assert verdict.allowed and verdict.outcome is rule.outcome
        assert verdict.needs_approval == (rule.outcome is Outcome.APPROVAL)
        locked = ALL - rule.editable
        if locked:
            blocked = judge_edit(situation, frozenset(locked), NOW)
            assert not blocked.allowed and blocked.locked == locked
            assert "replace" in blocked.remedy
    else:
        assert not verdict.allowed and verdict.reason and verdict.remedy


def test_table_is_complete_and_unambiguous() -> None:
    combos = itertools.product(
        STATUSES,
        (False, True),
        (False, True),
        ("creator", "approver"),
        (False, True),
        (None, PAST, FUTURE),
    )
    for status, archived, workflow, role, has_run, scheduled in combos:
        situation = Situation(status, archived, workflow, role, has_run, scheduled)  # type: ignore[arg-type]
        edit_rule(situation, NOW)  # raises unless exactly one row matches


def test_design_table() -> None:
    """DESIGN.md: the editable sections per live status, without the workflow."""

    def editable(
        status: str, scheduled: datetime | None = FUTURE, archived: bool = False
    ) -> set[str]:
        return set(edit_rule(Situation(status, archived, scheduled_at=scheduled), NOW).editable)

    assert editable("draft") == set(ALL)
    assert editable("scheduled") == {"who", "what", "when", "name", "labels"}
    assert editable("scheduled", PAST) == set()
    assert editable("awaiting_next_run") == editable("running") == {"what", "name", "labels"}
    assert editable("stopped") == editable("completed") == set()
    assert editable("draft", archived=True) == set()


def test_running_audience_is_locked_with_a_remedy() -> None:
    verdict = judge_edit(Situation("running"), frozenset({"who", "what"}), NOW)
    assert not verdict.allowed
    assert verdict.locked == {"who"}
    assert (
        verdict.reason == "a running campaign allows edits to labels, name, what only; who locked"
    )


def test_scheduled_after_its_time_is_discarded() -> None:
    verdict = judge_edit(Situation("scheduled", scheduled_at=PAST), frozenset({"what"}), NOW)
    assert verdict.outcome is Outcome.DISCARD and "discards the edit" in verdict.reason


def test_the_time_is_a_parameter() -> None:
    situation = Situation("scheduled", scheduled_at=NOW)
    assert judge_edit(situation, frozenset({"who"}), NOW - timedelta(seconds=1)).allowed
    assert not judge_edit(situation, frozenset({"who"}), NOW).allowed


@pytest.mark.parametrize("operation", ["publish", "stop", "archive", "withdraw"])
def test_operations_cover_every_status(operation: str) -> None:
    for status in STATUSES:
        rule = judge_operation(operation, Situation(status))  # type: ignore[arg-type]
        assert rule.result in ("allowed", "noop", "refused")
        assert rule.result != "refused" or rule.reason
    assert judge_operation(operation, Situation("draft", archived=True)).result in (  # type: ignore[arg-type]
        "refused",
        "noop",
    )


def test_stop_is_final_and_live_campaigns_are_not_archived() -> None:
    assert judge_operation("publish", Situation("stopped")).result == "refused"
    assert judge_operation("stop", Situation("running")).result == "allowed"
    assert judge_operation("stop", Situation("stopped")).result == "noop"
    assert judge_operation("archive", Situation("running")).result == "refused"
    assert judge_operation("archive", Situation("completed")).result == "allowed"
    assert all(rule.seed for rule in OPERATIONS)


def test_a_pending_or_rejected_campaign_that_never_ran_is_withdrawn_to_draft() -> None:
    for status in ("pending_approval", "rejected"):
        assert judge_operation("withdraw", Situation(status)).result == "allowed"
        ran = judge_operation("withdraw", Situation(status, has_run=True))
        assert ran.result == "refused" and "has run" in ran.reason
    assert judge_operation("withdraw", Situation("running")).result == "refused"
    pending = judge_operation("archive", Situation("pending_approval"))
    assert pending.result == "refused" and "withdraw it to draft first" in pending.reason


def test_reasons_read_as_english() -> None:
    # "a awaiting next run campaign allows edits to ..."
    situation = Situation("awaiting_next_run", scheduled_at=NOW + timedelta(days=1))
    verdict = judge_edit(situation, frozenset({"who"}), NOW)
    assert verdict.reason.startswith("an awaiting next run campaign allows edits to ")
    archived = judge_edit(Situation("draft", archived=True), frozenset({"who"}), NOW)
    assert archived.reason == "an archived campaign is read-only"


# --- each branch of judge_edit and judge_operation, with its exact words -------------------------


@pytest.mark.parametrize(
    ("situation", "sections", "outcome", "locked", "reason", "remedy"),
    [
        (Situation("draft", archived=True), {"what"}, Outcome.READ_ONLY, {"what"},
         "an archived campaign is read-only", "clone it to a new id"),
        (Situation("stopped"), {"name"}, Outcome.FINAL, {"name"},
         "a stopped campaign cannot change: stopping is final and there is no restart",
         "clone it to a new id"),
        (Situation("completed"), set(), Outcome.FINAL, set(),
         "a completed campaign cannot change: stopping is final and there is no restart",
         "clone it to a new id"),
        (Situation("scheduled", scheduled_at=PAST), {"what"}, Outcome.DISCARD, {"what"},
         "the scheduled campaign is past its scheduled time: the platform discards the edit",
         "wait for the run to start, then change what its new status allows"),
        (Situation("running", workflow=True), {"who", "name"}, Outcome.APPROVAL, {"who", "name"},
         "a running campaign allows edits to what only; name, who locked",
         "replace it (stop + create a clone) or clone it to a new id"),
    ],
    ids=["read-only", "final-stopped", "final-completed", "discard", "locked"],
)  # fmt: skip
def test_judge_edit_refusals(
    situation: Situation,
    sections: set[str],
    outcome: Outcome,
    locked: set[str],
    reason: str,
    remedy: str,
) -> None:
    verdict = judge_edit(situation, frozenset(sections), NOW)
    assert not verdict.allowed and not verdict.needs_approval
    assert verdict.outcome is outcome and verdict.locked == locked
    assert (verdict.reason, verdict.remedy) == (reason, remedy)


@pytest.mark.parametrize(
    ("situation", "outcome", "needs_approval"),
    [
        (Situation("draft"), Outcome.APPLY, False),
        (Situation("running", workflow=True), Outcome.APPROVAL, True),
        (Situation("running", workflow=True, role="approver"), Outcome.APPLY, False),
    ],
    ids=["apply", "approval", "approver-applies"],
)
def test_judge_edit_allowed(situation: Situation, outcome: Outcome, needs_approval: bool) -> None:
    verdict = judge_edit(situation, frozenset({"what"}), NOW)
    assert verdict.allowed and verdict.outcome is outcome
    assert verdict.needs_approval is needs_approval
    assert (verdict.locked, verdict.reason, verdict.remedy) == (frozenset(), "", "")


def test_an_empty_edit_is_allowed_where_edits_apply() -> None:
    verdict = judge_edit(Situation("running"), frozenset(), NOW)
    assert verdict.allowed and verdict.outcome is Outcome.APPLY and verdict.locked == frozenset()


def test_the_workflow_role_counts_only_with_the_workflow() -> None:
    """Without the creator-approver workflow the role matches any row (rows without one)."""
    for role in ("creator", "approver"):
        rule = edit_rule(Situation("running", role=role), NOW)  # type: ignore[arg-type]
        assert rule.key == "running"
    assert edit_rule(Situation("running", workflow=True), NOW).key == "wf-running-creator"


def test_a_status_the_table_does_not_know_is_no_rule() -> None:
    with pytest.raises(LookupError, match=r"rules table: 0 rows match Situation\(status='paused'"):
        edit_rule(Situation("paused"), NOW)
    with pytest.raises(LookupError, match="no operation rule for publish on paused"):
        judge_operation("publish", Situation("paused"))


@pytest.mark.parametrize(
    ("operation", "status", "has_run", "result", "reason"),
    [
        ("publish", "draft", False, "allowed", ""),
        ("publish", "pending_approval", False, "allowed", ""),
        ("publish", "rejected", True, "allowed", ""),
        ("publish", "scheduled", False, "noop", ""),
        ("publish", "running", True, "noop", ""),
        ("publish", "completed", True, "refused",
         "stopping is final: a stopped or completed campaign never runs again"),
        ("stop", "awaiting_next_run", True, "allowed", ""),
        ("stop", "stopped", True, "noop", ""),
        ("stop", "draft", False, "refused", "only a published campaign can be stopped"),
        ("archive", "completed", True, "allowed", ""),
        ("archive", "rejected", False, "allowed", ""),
        ("archive", "scheduled", False, "refused",
         "a live campaign cannot be archived: stop it first"),
        ("archive", "pending_approval", False, "refused",
         "a campaign pending approval cannot be archived: withdraw it to draft first "
         "(`state: draft`)"),
        ("withdraw", "pending_approval", False, "allowed", ""),
        ("withdraw", "rejected", False, "allowed", ""),
        ("withdraw", "pending_approval", True, "refused",
         "the campaign has run: a published campaign never returns to draft"),
        ("withdraw", "rejected", True, "refused",
         "the campaign has run: a published campaign never returns to draft"),
        ("withdraw", "draft", False, "noop", ""),
        ("withdraw", "stopped", True, "refused", "a published campaign never returns to draft"),
        ("withdraw", "scheduled", False, "refused", "a published campaign never returns to draft"),
    ],
)  # fmt: skip
def test_judge_operation(
    operation: str, status: str, has_run: bool, result: str, reason: str
) -> None:
    rule = judge_operation(operation, Situation(status, has_run=has_run))  # type: ignore[arg-type]
    assert rule.operation == operation and status in rule.statuses
    assert (rule.result, rule.reason) == (result, reason)


@pytest.mark.parametrize("operation", ["publish", "stop", "withdraw"])
def test_an_archived_campaign_refuses_every_operation_but_archive(operation: str) -> None:
    rule = judge_operation(operation, Situation("completed", archived=True))  # type: ignore[arg-type]
    assert (rule.operation, rule.result) == (operation, "refused")
    assert rule.reason == "an archived campaign is read-only: clone it to a new id"
    assert rule.statuses == {"archived"} and rule.seed == RULES[0].seed


def test_archiving_an_archived_campaign_does_nothing() -> None:
    rule = judge_operation("archive", Situation("draft", archived=True))
    assert (rule.operation, rule.result, rule.reason) == ("archive", "noop", "")
    assert rule.statuses == {"archived"} and rule.seed == RULES[0].seed
