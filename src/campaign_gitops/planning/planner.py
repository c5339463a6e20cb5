"""Desired (files) vs live (backend) vs last applied (state store) -> a Plan.

Every change is judged by rules.py from the live status and the evaluation time; the planner
never decides what the platform allows, it only asks the table."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from campaign_gitops.backends.base import Capabilities, LiveCampaign
from campaign_gitops.desired.loader import Desired
from campaign_gitops.diff import FieldChange, field_changes, ignored, keep_live
from campaign_gitops.models import CHANNELS, CampaignBase, Label
from campaign_gitops.plan import (
    APPROVAL,
    BLOCKED,
    MANUAL,
    OK,
    Adopt,
    Archive,
    CampaignChange,
    Change,
    Create,
    Drift,
    Forget,
    Plan,
    Publish,
    Replace,
    Stop,
    Update,
    Verdict,
    Withdraw,
)
from campaign_gitops.planning.capabilities import NO_LABELS_API, within_api
from campaign_gitops.planning.labels import plan_label_deletes, plan_labels
from campaign_gitops.planning.moves import Matching, looks_moved
from campaign_gitops.rules import LIVE, Outcome, Role, Situation, judge_edit, judge_operation
from campaign_gitops.state.base import Managed

log = logging.getLogger(__name__)
UNPUBLISHED = ("draft", "rejected", "pending_approval")  # never ran: a stop is refused
REPLACE_HINT = (
    "set `on_locked_change: replace` (or pass --allow-replace) to stop it and create a clone"
)


@dataclass(frozen=True)
class Options:
    at: datetime
    workflow: bool = False
    role: Role = "creator"
    allow_replace: bool = False
    prune: bool = False
    refresh_only: bool = False
    only: frozenset[str] | None = None  # limit to these campaign ids (labels are always planned)
    caps: Capabilities = field(default_factory=lambda: Capabilities(channels=frozenset(CHANNELS)))
    unsupported: Callable[[dict[str, Any]], list[str]] | None = None  # what the API can't express


@dataclass(frozen=True)
class Live:
    campaigns: list[LiveCampaign]
    labels: list[Label]


def _final(spec: CampaignBase) -> bool:
    """Archived or stopped in the file: a clone would be created only to be archived or stopped
    (a draft clone cannot even be stopped), so such a file is never replaced."""
    return spec.archived or spec.state == "stopped"


@dataclass
class _Planner:
    opts: Options
    renames: dict[str, str] = field(default_factory=dict)  # old label name -> new
    changes: list[Change] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)

    def situation(self, live: LiveCampaign) -> Situation:
        return Situation(
            live.status,
            live.archived,
            self.opts.workflow,
            self.opts.role,
            live.has_run,
            live.scheduled_at,
        )

    def publish_verdict(self) -> Verdict:
        return APPROVAL if self.opts.workflow and self.opts.role == "creator" else OK

    # -- campaigns -----------------------------------------------------------------------

    def campaign(
        self, spec: CampaignBase, key: str, live: LiveCampaign | None, managed: Managed | None
    ) -> dict[str, Any]:
        desired = spec.spec_data()
        if live is None:
            if spec.archived or spec.state == "stopped":
                return desired  # nothing to create: it would only be stopped or archived
            publish = spec.state == "active"
            self.changes.append(
                Create(key, self.publish_verdict() if publish else OK, publish=publish)
            )
            return desired
        if managed is None or managed.platform_id != live.platform_id:
            self.changes.append(Adopt(key, platform_id=live.platform_id))
        live_spec = self._renamed(live.spec)
        effective = keep_live(desired, live_spec, spec.ignore_changes)
        if managed is not None and managed.platform_id == live.platform_id:
            self._drift(key, managed.spec, live_spec, effective, spec.ignore_changes)
        edits = field_changes(live_spec, effective)
        if live.channel != spec.channel:
            edits.append(FieldChange("channel", live.channel, spec.channel))
        if live_spec.get("type", "single_message") != spec.type:
            edits.append(FieldChange("type", live_spec.get("type"), spec.type))
        if spec.state == "stopped" and (live.archived or live.status not in UNPUBLISHED):
            # stopping is final: the rest of the file can never reach this campaign, and an
            # edit planned with the stop would fail after it (or block every later apply)
            edits = []
        replace_ok = spec.on_locked_change == "replace" or self.opts.allow_replace
        withdrawing = self._withdrawing(spec, live)
        judged_as = replace(live, status="draft") if withdrawing else live
        if edits and self._edit(key, spec, judged_as, edits, replace_ok):
            return effective
        self._lifecycle(key, spec, live, replace_ok, edits)
        return effective

    def _withdrawing(self, spec: CampaignBase, live: LiveCampaign) -> bool:
        """The file takes a campaign pending approval, or rejected, back to draft: the withdraw
        is applied first, so the plan's edits are a draft's."""
        return self._wants_draft(spec, live) and (
            judge_operation("withdraw", self.situation(live)).result == "allowed"
        )

    @staticmethod
    def _wants_draft(spec: CampaignBase, live: LiveCampaign) -> bool:
        """`state: draft` of a pending or rejected campaign; `archived: true` of a pending one,
        which reaches the archive through draft (a rejected one is archived as it is)."""
        if live.archived:
            return False
        if live.status == "pending_approval":
            return spec.state == "draft" or spec.archived
        return live.status == "rejected" and spec.state == "draft" and not spec.archived

    def _renamed(self, spec: dict[str, Any]) -> dict[str, Any]:
        labels = spec.get("labels")
        if not self.renames or not labels:
            return spec
        return spec | {"labels": [self.renames.get(name, name) for name in labels]}

    def _drift(
        self,
        key: str,
        applied: dict[str, Any],
        live: dict[str, Any],
        desired: dict[str, Any],
        patterns: list[str],
    ) -> None:
        if applied == live:
            return
        wanted = {c.path: c.after for c in field_changes(applied, desired)}
        differs = {c.path for c in field_changes(live, desired)}
        for change in field_changes(applied, live):
            if ignored(change, patterns):
                resolution = "ignored (ignore_changes)"
            elif change.path not in differs:
                continue  # live and git agree: only the record is behind (a resumed apply)
            elif change.path in wanted:
                resolution = "git changed it too: git wins"
            else:
                resolution = "git wins"
            after = wanted.get(change.path, change.before)
            self.drift.append(
                Drift(key, change.path, change.before, change.after, after, resolution)
            )

    def _edit(
        self,
        key: str,
        spec: CampaignBase,
        live: LiveCampaign,
        edits: list[FieldChange],
        replace_ok: bool,
    ) -> bool:
        """Plan the edit; True when it became a replace (which covers the lifecycle too)."""
        sections = frozenset(
            c.section if c.section not in ("channel", "type") else "what" for c in edits
        )
        verdict = judge_edit(self.situation(live), sections, self.opts.at)
        if sections == {"labels"} and not self.opts.caps.labels:
            self._dashboard_labels(key, live, edits, verdict.allowed, verdict.reason)
            return False
        channel_changed = live.channel != spec.channel
        if verdict.allowed and not channel_changed and not self.opts.caps.update:
            if replace_ok and not _final(spec):
                self._replace(key, spec, live, sections, edits, verdict.rule.key)
                return True
            self.changes.append(
                Update(
                    key,
                    MANUAL,
                    reason="the platform's API cannot edit a campaign",
                    remedy=f"change it in the dashboard, or {REPLACE_HINT}",
                    rule="api-no-update",
                    platform_id=live.platform_id,
                    sections=sections,
                    changes=tuple(edits),
                )
            )
            return False
        if verdict.allowed and not channel_changed:
            state = APPROVAL if verdict.needs_approval else OK
            reason = "the platform sends the edit for approval" if state == APPROVAL else ""
            self.changes.append(
                Update(
                    key,
                    state,
                    reason=reason,
                    rule=verdict.rule.key,
                    platform_id=live.platform_id,
                    sections=sections,
                    changes=tuple(edits),
                )
            )
            return False
        if verdict.outcome is not Outcome.DISCARD and replace_ok and not _final(spec):
            self._replace(key, spec, live, sections, edits, verdict.rule.key)
            return True
        reason = (
            "the channel of a campaign never changes after creation"
            if channel_changed
            else verdict.reason
        )
        remedy = verdict.remedy
        if verdict.outcome is not Outcome.DISCARD:
            remedy = "clone it to a new id" + ("" if _final(spec) else f", or {REPLACE_HINT}")
        self.changes.append(
            Update(
                key,
                BLOCKED,
                reason=reason,
                remedy=remedy,
                rule=verdict.rule.key if not channel_changed else "channel",
                platform_id=live.platform_id,
                sections=sections,
                changes=tuple(edits),
            )
        )
        self._mark_drift_kept(key)
        return False

    def _dashboard_labels(
        self, key: str, live: LiveCampaign, edits: list[FieldChange], allowed: bool, why: str
    ) -> None:
        """Labels the platform's API cannot set, read from the dashboard: a manual step while the
        campaign can still be edited, and only reported once it cannot. Never a replace (a clone
        has no labels either) and never blocked: no apply could fix it, and it must not hold
        every other change of the account back."""
        if allowed:
            wanted = ", ".join(str(c.after) for c in edits)
            self.changes.append(
                Update(
                    key,
                    MANUAL,
                    reason="labels are set in the dashboard only: the platform's API has none",
                    remedy=f"set the labels in the dashboard ({wanted})",
                    rule="api-no-labels",
                    platform_id=live.platform_id,
                    sections=frozenset({"labels"}),
                    changes=tuple(edits),
                )
            )
            return
        kept = {c.path: Drift(key, c.path, c.before, c.before, c.after, f"kept: {why}")
                for c in edits}  # fmt: skip
        self.drift = [
            replace(d, resolution=kept.pop(d.path).resolution)
            if d.campaign == key and d.path in kept
            else d
            for d in self.drift
        ] + list(kept.values())

    def _mark_drift_kept(self, key: str) -> None:
        self.drift = [
            Drift(
                d.campaign, d.path, d.last_applied, d.live, d.desired, "kept: the change is blocked"
            )
            if d.campaign == key and d.resolution.endswith("git wins")
            else d
            for d in self.drift
        ]

    def _replace(
        self,
        key: str,
        spec: CampaignBase,
        live: LiveCampaign,
        sections: frozenset[str],
        edits: list[FieldChange],
        rule: str,
    ) -> None:
        publish = spec.state == "active"
        stop_first = not live.archived and live.status in LIVE
        archive_first = not live.archived and live.status in ("draft", "rejected")
        self.changes.append(
            Replace(
                key,
                self.publish_verdict() if publish else OK,
                reason=f"the {live.status.replace('_', ' ')} campaign cannot take this change",
                rule=rule,
                platform_id=live.platform_id,
                publish=publish,
                stop_first=stop_first,
                archive_first=archive_first,
                sections=sections,
                changes=tuple(edits),
            )
        )

    def _archived(
        self,
        key: str,
        spec: CampaignBase,
        live: LiveCampaign,
        replace_ok: bool,
        edits: list[FieldChange],
    ) -> None:
        """An archived campaign that never ran (or was stopped) whose file says it runs: read-only,
        whether archived by hand or by the platform after six months."""
        if spec.state != "active" or spec.archived or live.status == "completed":
            return
        if replace_ok:
            self._replace(key, spec, live, frozenset(), edits, "publish-refused")
            return
        rule = judge_operation("publish", self.situation(live))
        self._blocked(Publish, key, live, rule.reason, f"clone it to a new id, or {REPLACE_HINT}",
                      "publish-refused")  # fmt: skip

    def _blocked(
        self,
        change: type[CampaignChange],
        key: str,
        live: LiveCampaign,
        reason: str,
        remedy: str,
        rule: str,
    ) -> None:
        self.changes.append(
            change(
                key, BLOCKED, reason=reason, remedy=remedy, rule=rule, platform_id=live.platform_id
            )
        )

    def _lifecycle(
        self,
        key: str,
        spec: CampaignBase,
        live: LiveCampaign,
        replace_ok: bool,
        edits: list[FieldChange],
    ) -> None:
        """`state` and `archived` in the file against the live status."""
        if live.archived:
            self._archived(key, spec, live, replace_ok, edits)
            return  # archived is final; edits to it were judged above
        status = live.status
        situation = self.situation(live)
        if self._withdrawing(spec, live):
            self.changes.append(
                Withdraw(key, OK, rule="withdraw:allowed", platform_id=live.platform_id)
            )
            status, situation = "draft", replace(situation, status="draft")
        elif self._wants_draft(spec, live):
            rule = judge_operation("withdraw", situation)
            self._blocked(Withdraw, key, live, rule.reason, "wait for the approver's decision",
                          "withdraw-refused")  # fmt: skip
            return
        if spec.state == "active" and not spec.archived:  # archived wins: it never runs
            if status == "pending_approval" and self.opts.workflow and self.opts.role == "approver":
                rule = judge_operation("publish", situation)  # the approver approves it
                self.changes.append(
                    Publish(key, OK, rule=f"approve:{rule.result}", platform_id=live.platform_id)
                )
            elif status in ("draft", "rejected"):
                rule = judge_operation("publish", situation)
                self.changes.append(
                    Publish(
                        key,
                        self.publish_verdict(),
                        rule=f"publish:{rule.result}",
                        platform_id=live.platform_id,
                    )
                )
            elif status == "stopped":
                if replace_ok:
                    self._replace(key, spec, live, frozenset(), edits, "publish-refused")
                else:
                    self._blocked(
                        Publish,
                        key,
                        live,
                        "the campaign is stopped and stopping is final: it never runs again",
                        f"set `state: stopped`, clone it to a new id, or {REPLACE_HINT}",
                        "publish-refused",
                    )
        elif spec.state == "draft" and status not in ("draft", "rejected", "pending_approval"):
            self._blocked(
                Publish,
                key,
                live,
                f"the campaign is {status.replace('_', ' ')}: "
                "a published campaign never returns to draft",
                "set `state: active` or `state: stopped`, or clone it to a new id",
                "unpublish",
            )
        stopping = False
        if spec.state == "stopped":
            rule = judge_operation("stop", situation)
            if rule.result == "allowed":
                self.changes.append(Stop(key, OK, rule="stop", platform_id=live.platform_id))
                stopping = True
            elif rule.result == "refused":
                self._blocked(
                    Stop,
                    key,
                    live,
                    rule.reason,
                    "archive it instead (`archived: true`)",
                    "stop-refused",
                )
        if spec.archived:
            after = Situation("stopped") if stopping else situation
            rule = judge_operation("archive", after)
            if rule.result == "allowed":
                self.changes.append(Archive(key, OK, rule="archive", platform_id=live.platform_id))
            elif rule.result == "refused":
                self._blocked(
                    Archive,
                    key,
                    live,
                    rule.reason,
                    "set `state: stopped` as well",
                    "archive-refused",
                )


def make_plan(
    desired: Desired,
    live: Live,
    managed: dict[str, Managed],
    managed_labels: dict[str, str | None],
    opts: Options,
) -> Plan:
    planner = _Planner(opts)
    if opts.caps.labels:  # else each create's note names the labels to set in the dashboard
        planner.changes, planner.renames = plan_labels(desired, live.labels)
    plan = Plan(at=opts.at, refresh_only=opts.refresh_only)
    effective_specs: dict[str, dict[str, Any]] = {}
    matching = Matching(desired, managed, live.campaigns)
    for key, doc in desired.campaigns.items():
        if opts.only is not None and key not in opts.only:
            continue
        before = len(planner.changes)
        move = matching.move(key)
        if move is not None:
            planner.changes.append(move)
            if not move.applicable:
                continue
        if (taken := matching.taken(doc)) is not None:
            planner.changes.append(taken)
            continue
        known, current = matching.counterparts(doc)
        effective = planner.campaign(doc.spec, key, current, known)
        plan.desired_checksums[key] = doc.checksum
        if len(planner.changes) > before:  # only a change's spec is read again: 60 MB at 10,000
            effective_specs[key] = effective
        if current is not None:
            plan.live_versions[key] = current.version
    for known, current in matching.forgotten(opts.only):
        if opts.prune and current is not None and not current.archived and current.status in LIVE:
            planner.changes.append(Stop(known.id, OK, rule="prune", platform_id=known.platform_id))
        planner.changes.append(Forget(known.id, OK, platform_id=known.platform_id))
        if current is not None:
            plan.live_versions[known.id] = current.version
    planner.changes = [
        within_api(c, opts.caps, opts.unsupported, effective_specs.get(c.key))
        if c.applicable
        else c
        for c in planner.changes
    ]
    if opts.caps.labels:
        relabelled = {
            c.platform_id: set(effective_specs[c.key].get("labels") or [])
            for c in planner.changes
            if isinstance(c, Update) and c.applicable and "labels" in c.sections
        }
        planner.changes += plan_label_deletes(
            desired, live.labels, live.campaigns, managed_labels, planner.renames, relabelled
        )
    plan.labels = {label.name: label.description for label in desired.labels}
    if not opts.caps.labels and desired.labels:
        plan.notices.append(NO_LABELS_API)
    sending = {c.key for c in planner.changes if isinstance(c, Create | Update | Replace)}
    plan.specs = {key: effective_specs[key] for key in sorted(sending & set(effective_specs))}
    plan.changes = sorted(planner.changes, key=lambda c: c.sort_key)
    plan.drift = planner.drift
    looks_moved(plan, managed, effective_specs)
    if log.isEnabledFor(logging.DEBUG):  # -v: a line per change (a plan may have thousands)
        _log_verdicts(plan)
    return plan


def _log_verdicts(plan: Plan) -> None:
    for change in plan.changes:
        log.debug(
            "verdict %s for %s (rule %s): %s",
            change.verdict.value,
            change.title,
            change.rule or "-",
            change.reason or "nothing forbids it",
        )
    for drift in plan.drift:
        log.debug("drift of %s at %s: %s", drift.campaign, drift.path, drift.resolution)
    log.debug(
        "planned %d change(s), %d applicable; %d drifted field(s)",
        len(plan.changes),
        sum(c.applicable for c in plan.changes),
        len(plan.drift),
    )
