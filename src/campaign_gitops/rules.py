"""The platform's edit restrictions as one table of data, each row quoting the seed it comes from.

`edit_rule()` finds the one row that governs an edit, `judge_edit()` turns it into a verdict for a
set of changed sections, and `judge_operation()` does the same for publish / stop / archive.
Everything here is a pure function of (status, times, role, change); "now" is a parameter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from campaign_gitops.models import SECTIONS

Status = Literal[
    "draft",
    "scheduled",
    "awaiting_next_run",
    "running",
    "pending_approval",
    "rejected",
    "stopped",
    "completed",
]
STATUSES: tuple[Status, ...] = (
    "draft",
    "scheduled",
    "awaiting_next_run",
    "running",
    "pending_approval",
    "rejected",
    "stopped",
    "completed",
)
LIVE: frozenset[str] = frozenset({"scheduled", "awaiting_next_run", "running"})
Role = Literal["creator", "approver"]
Operation = Literal["publish", "stop", "archive", "withdraw"]
ALL = frozenset(SECTIONS)
NOTHING: frozenset[str] = frozenset()
WHAT = frozenset({"what"})
MESSAGE_NAME_LABELS = frozenset({"what", "name", "labels"})
SEED_002 = "002_6fdda4150f9b2c9f.txt"
SEED_000 = "000_919ea1a5f3db328a.txt"


class Outcome(StrEnum):
    APPLY = "apply"  # the edit takes effect (an approver's edit is published)
    APPROVAL = "approval"  # the edit is sent for approval: the campaign goes to pending_approval
    DISCARD = "discard"  # the dashboard shows "changes discarded": the edit never lands
    READ_ONLY = "read_only"  # archived: clone it
    FINAL = "final"  # stopped or completed: nothing to edit, stopping is final


@dataclass(frozen=True)
class Rule:
    key: str
    status: str  # a live status, or "archived"
    editable: frozenset[str]
    outcome: Outcome
    seed: str
    workflow: bool | None = None  # True: creator-approver on; False: off; None: either
    role: Role | None = None  # None: either role
    first_run: Literal["any", "pending", "done"] = "any"
    timing: Literal["any", "before", "after"] = "any"  # relative to the scheduled time
    source: str = SEED_002


def _row(
    key: str, status: str, editable: frozenset[str], outcome: Outcome, seed: str, **match: object
) -> Rule:
    return Rule(key, status, editable, outcome, seed, **match)  # type: ignore[arg-type]


# fmt: off
A, P, D = Outcome.APPLY, Outcome.APPROVAL, Outcome.DISCARD
C: dict[str, object] = {"workflow": True, "role": "creator"}
V: dict[str, object] = {"workflow": True, "role": "approver"}
RULES: tuple[Rule, ...] = (
    _row("archived", "archived", NOTHING, Outcome.READ_ONLY,
         "Archived campaigns (including drafts) are read-only. You can view details, but cannot "
         "edit or publish them."),
    _row("draft", "draft", ALL, A, "Draft: Indicates that the campaign is still not published."),
    _row("stopped", "stopped", NOTHING, Outcome.FINAL,
         "Stopped: Indicates that the campaign has been permanently halted."),
    _row("completed", "completed", NOTHING, Outcome.FINAL,
         "Completed: Indicates that the campaign has finished running and is no longer active."),
    # -- the account without the creator-approver workflow
    _row("scheduled-before", "scheduled", ALL - {"goal"}, A,
         "For Campaigns Scheduled for Later, you can edit the following sections of the campaign: "
         "Who, What, and When.", workflow=False, timing="before"),
    _row("scheduled-after", "scheduled", NOTHING, D,
         "Cannot edit; popup indicating discarded changes displays", workflow=False,
         timing="after"),
    _row("awaiting-next-run", "awaiting_next_run", MESSAGE_NAME_LABELS, A,
         "For Live Campaigns Awaiting Next Run, you can edit the following: What section, "
         "Campaign name, and Message labels.", workflow=False),
    _row("running", "running", MESSAGE_NAME_LABELS, A,
         "For Campaigns Awaiting Next Run and Live Campaigns: You can edit only the campaign "
         "message, name, and labels.", workflow=False, source=SEED_000),
    _row("pending-without-workflow", "pending_approval", NOTHING, D,
         "Pending for Approval: Indicates that the campaign with Creator Approver workflow is "
         "awaiting review and approval", workflow=False),
    _row("rejected-without-workflow", "rejected", NOTHING, D,
         "Rejected: Indicates that the campaign with Creator Approver workflow is not approved by "
         "the designated approver.", workflow=False),
    # -- the creator-approver table of seed 002, in full
    _row("wf-scheduled-before-creator", "scheduled", ALL, P,
         "Can edit all campaign information and send it for approval.", timing="before", **C),
    _row("wf-scheduled-before-approver", "scheduled", ALL, A,
         "Can edit all campaign information and publish.", timing="before", **V),
    _row("wf-scheduled-after-creator", "scheduled", NOTHING, D,
         "Cannot edit; popup indicating discarded changes displays", timing="after", **C),
    _row("wf-scheduled-after-approver", "scheduled", NOTHING, D,
         "Can only approve; popup indicating discarded changes..", timing="after", **V),
    _row("wf-awaiting-before-creator", "awaiting_next_run", WHAT, P,
         "Can modify only the What section and send it for approval.", timing="before", **C),
    _row("wf-awaiting-before-approver", "awaiting_next_run", WHAT, A,
         "Can modify only the What section and publish.", timing="before", **V),
    _row("wf-awaiting-after-creator", "awaiting_next_run", NOTHING, D,
         "Cannot edit; popup indicating discarded changes displays.", timing="after", **C),
    _row("wf-awaiting-after-approver", "awaiting_next_run", NOTHING, D,
         "Can only approve; popup indicating discarded changes.", timing="after", **V),
    _row("wf-running-creator", "running", WHAT, P,
         "Can modify only the What section of Live campaigns and send them for approval.", **C),
    _row("wf-running-approver", "running", WHAT, A,
         "Can modify only the What section of Live campaigns and publish.", **V),
    _row("wf-pending-first-creator", "pending_approval", ALL, P,
         "Can edit all campaign information before and after the scheduled time and send it for "
         "approval.", first_run="pending", **C),
    _row("wf-pending-first-before-approver", "pending_approval", ALL, A,
         "Can edit all the campaign information before the scheduled time and approve the "
         "campaign.", first_run="pending", timing="before", **V),
    _row("wf-pending-first-after-approver", "pending_approval", ALL, A,
         "Popup indicating that the campaign was scheduled in the past time; The approver can "
         "edit all the campaign information and publish the campaign.", first_run="pending",
         timing="after", **V),
    _row("wf-pending-next-before-creator", "pending_approval", WHAT, P,
         "The creator can edit only the WHAT section before the scheduled time and send it to "
         "the approver for approval.", first_run="done", timing="before", **C),
    _row("wf-pending-next-after-creator", "pending_approval", NOTHING, D,
         "If the creator tries to edit the campaign after the scheduled time, a popup opens. The "
         "popup indicates that the changes made by the creator will be discarded.",
         first_run="done", timing="after", **C),
    _row("wf-pending-next-before-approver", "pending_approval", WHAT, A,
         "The approver can edit only the WHAT section before the scheduled time and publish the "
         "campaign.", first_run="done", timing="before", **V),
    _row("wf-pending-next-after-approver", "pending_approval", NOTHING, D,
         "If the approver tries to edit the campaign after the scheduled time, a popup opens. The "
         "popup indicates that the changes made by the creator will be discarded.",
         first_run="done", timing="after", **V),
    _row("wf-rejected-first-before-creator", "rejected", ALL, P,
         "The creator can edit all the campaign information before the scheduled time and send "
         "it to the approver for approval.", first_run="pending", timing="before", **C),
    _row("wf-rejected-first-after-creator", "rejected", ALL, P,
         "The creator can edit all the campaign information after the scheduled time and send it "
         "to the approver for approval.", first_run="pending", timing="after", **C),
    _row("wf-rejected-first-before-approver", "rejected", WHAT, P,
         "The approver can edit only the WHAT section before the scheduled time and send it to "
         "the approver for approval.", first_run="pending", timing="before", **V),
    _row("wf-rejected-first-after-approver", "rejected", NOTHING, D,
         "If the approver tries to edit the campaign after the scheduled time, a popup opens. The "
         "popup indicates that the changes made by the approver will be discarded.",
         first_run="pending", timing="after", **V),
    _row("wf-rejected-next-before-creator", "rejected", WHAT, P,
         "The creator can edit only the WHAT section before the scheduled time and send it to "
         "the approver for approval.", first_run="done", timing="before", **C),
    _row("wf-rejected-next-after-creator", "rejected", WHAT, P,
         "If the creator tries to edit the campaign after the scheduled time, they can edit only "
         "the WHAT section and send it to the approver for approval.", first_run="done",
         timing="after", **C),
    _row("wf-rejected-next-before-approver", "rejected", WHAT, A,
         "The approver can edit only the WHAT section before the scheduled time and publish the "
         "campaign.", first_run="done", timing="before", **V),
    _row("wf-rejected-next-after-approver", "rejected", WHAT, A,
         "The approver can only edit the WHAT section of the campaign after the scheduled time. "
         "Also, a popup indicates that the campaign can be run today or tomorrow.",
         first_run="done", timing="after", **V),
)
# fmt: on


@dataclass(frozen=True)
class Situation:
    """What the rules need to know about a live campaign and the one changing it."""

    status: str
    archived: bool = False
    workflow: bool = False
    role: Role = "creator"
    has_run: bool = False
    scheduled_at: datetime | None = None  # the next (or first) scheduled execution

    def timing(self, now: datetime) -> str:
        return "after" if self.scheduled_at is not None and now >= self.scheduled_at else "before"


def edit_rule(situation: Situation, now: datetime) -> Rule:
    """The one row governing an edit; the table is complete and unambiguous (tested)."""
    status = "archived" if situation.archived else situation.status
    timing = situation.timing(now)
    first_run = "done" if situation.has_run else "pending"
    found = [
        rule
        for rule in RULES
        if rule.status == status
        and rule.workflow in (None, situation.workflow)
        and (rule.role is None or not situation.workflow or rule.role == situation.role)
        and rule.first_run in ("any", first_run)
        and rule.timing in ("any", timing)
    ]
    if len(found) != 1:
        raise LookupError(f"rules table: {len(found)} rows match {situation} at {timing}")
    return found[0]


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    outcome: Outcome
    rule: Rule
    locked: frozenset[str] = NOTHING
    reason: str = ""
    remedy: str = ""

    @property
    def needs_approval(self) -> bool:
        return self.allowed and self.outcome is Outcome.APPROVAL


def _status_text(situation: Situation) -> str:
    return "archived" if situation.archived else situation.status.replace("_", " ")


def _a(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def judge_edit(situation: Situation, sections: frozenset[str], now: datetime) -> Verdict:
    rule = edit_rule(situation, now)
    locked = frozenset(sections) - rule.editable
    where = f"{_status_text(situation)} campaign"
    if rule.outcome is Outcome.READ_ONLY:
        return Verdict(
            False, rule.outcome, rule, locked, f"{_a(where)} is read-only", "clone it to a new id"
        )
    if rule.outcome is Outcome.FINAL:
        return Verdict(
            False,
            rule.outcome,
            rule,
            locked,
            f"{_a(where)} cannot change: stopping is final and there is no restart",
            "clone it to a new id",
        )
    if rule.outcome is Outcome.DISCARD:
        return Verdict(
            False,
            rule.outcome,
            rule,
            locked,
            f"the {where} is past its scheduled time: the platform discards the edit",
            "wait for the run to start, then change what its new status allows",
        )
    if locked:
        allowed = ", ".join(sorted(rule.editable)) or "nothing"
        return Verdict(
            False,
            rule.outcome,
            rule,
            locked,
            f"{_a(where)} allows edits to {allowed} only; {', '.join(sorted(locked))} locked",
            "replace it (stop + create a clone) or clone it to a new id",
        )
    return Verdict(True, rule.outcome, rule)


@dataclass(frozen=True)
class OperationRule:
    operation: Operation
    statuses: frozenset[str]
    result: Literal["allowed", "noop", "refused"]
    seed: str
    reason: str = ""
    first_run: Literal["any", "pending", "done"] = "any"


# fmt: off
OPERATIONS: tuple[OperationRule, ...] = (
    OperationRule("publish", frozenset({"draft", "rejected", "pending_approval"}), "allowed",
                  "Pending for Approval: ... awaiting review and approval from the designated "
                  "approver before it can be published or scheduled for execution"),
    OperationRule("publish", LIVE, "noop", "Scheduled / Running: already published"),
    OperationRule("publish", frozenset({"stopped", "completed"}), "refused",
                  "Once a campaign is published, you can stop it but cannot pause it.",
                  "stopping is final: a stopped or completed campaign never runs again"),
    OperationRule("stop", LIVE, "allowed",
                  "Once a campaign is published, you can stop it but cannot pause it."),
    OperationRule("stop", frozenset({"stopped", "completed"}), "noop",
                  "Stopped: Indicates that the campaign has been permanently halted."),
    OperationRule("stop", frozenset({"draft", "pending_approval", "rejected"}), "refused",
                  "Once a campaign is published, you can stop it",
                  "only a published campaign can be stopped"),
    OperationRule("archive", frozenset({"draft", "stopped", "completed", "rejected"}), "allowed",
                  "Campaigns in the Completed, Stopped, or Draft state are automatically archived"),
    OperationRule("archive", LIVE, "refused",
                  "Archiving campaigns helps to keep your CleverTap account organized",
                  "a live campaign cannot be archived: stop it first"),
    OperationRule("archive", frozenset({"pending_approval"}), "refused",
                  "Archiving campaigns helps to keep your CleverTap account organized",
                  "a campaign pending approval cannot be archived: withdraw it to draft first "
                  "(`state: draft`)"),
    # Withdrawing a request for approval (or a rejected one): the creator "can edit all campaign
    # information before and after the scheduled time" while it has never run, so the file's
    # `state: draft` takes it back to a draft (our decision: the seeds name no withdraw button)
    OperationRule("withdraw", frozenset({"pending_approval", "rejected"}), "allowed",
                  "Can edit all campaign information before and after the scheduled time and "
                  "send it for approval.", first_run="pending"),
    OperationRule("withdraw", frozenset({"pending_approval", "rejected"}), "refused",
                  "The creator can edit only the WHAT section before the scheduled time and "
                  "send it to the approver for approval.",
                  "the campaign has run: a published campaign never returns to draft",
                  first_run="done"),
    OperationRule("withdraw", frozenset({"draft"}), "noop",
                  "Draft: Indicates that the campaign is still not published."),
    OperationRule("withdraw", LIVE | {"stopped", "completed"}, "refused",
                  "Once a campaign is published, you can stop it but cannot pause it.",
                  "a published campaign never returns to draft"),
)
# fmt: on


def judge_operation(operation: Operation, situation: Situation) -> OperationRule:
    if situation.archived:
        if operation == "archive":
            return OperationRule("archive", frozenset({"archived"}), "noop", RULES[0].seed)
        return OperationRule(
            operation,
            frozenset({"archived"}),
            "refused",
            RULES[0].seed,
            "an archived campaign is read-only: clone it to a new id",
        )
    first_run = "done" if situation.has_run else "pending"
    for rule in OPERATIONS:
        if (
            rule.operation == operation
            and situation.status in rule.statuses
            and rule.first_run in ("any", first_run)
        ):
            return rule
    raise LookupError(f"no operation rule for {operation} on {situation.status}")
