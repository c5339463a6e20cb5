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
