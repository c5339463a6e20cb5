"""Which record and live campaign each file's campaign is planned against, and the moves: a
file that says `moved_from: OLD` under a new id takes over OLD's record and live campaign
(nothing is created or forgotten); a forget and a create of equal specs, which look like a file
renamed without `moved_from`, are pointed out. On a platform that cannot rename (clevertap) a
moved campaign keeps its `[OLD]` marker, so matching by id also looks under the old id.

A file that says `moved_from: OLD` while another file still has the id OLD, or two files that
move from one id, are the loader's problems (`moved-from-present`, `duplicate-moved-from`): by
the time a plan is made, each OLD is claimed by at most one file and kept by none."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from campaign_gitops.backends.base import LiveCampaign
from campaign_gitops.desired.loader import CampaignDoc, Desired
from campaign_gitops.diff import sections_of
from campaign_gitops.plan import BLOCKED, OK, Create, Forget, Move, Plan
from campaign_gitops.state.base import Managed


def alive(c: LiveCampaign) -> bool:
    return not c.archived and c.status != "stopped"


def runs_on(c: LiveCampaign) -> bool:
    """Alive and not completed: a campaign that can still send (a completed one is as done as a
    stopped one when choosing which of an id's campaigns is its own)."""
    return alive(c) and c.status != "completed"


def newest(campaigns: Iterable[LiveCampaign]) -> dict[str, LiveCampaign]:
    """The campaign per id: one that can still send first (a move can take an id whose old
    campaign was stopped, archived or completed), then the most recent (a replace leaves the
    stopped original behind)."""
    out: dict[str, LiveCampaign] = {}
    for c in campaigns:
        seen = out.get(c.id)
        if seen is None or _order(c) > _order(seen):
            out[c.id] = c
    return out


def _order(c: LiveCampaign) -> tuple[bool, int, str]:
    if c.platform_id.isdigit():
        return (runs_on(c), int(c.platform_id), "")
    return (runs_on(c), 0, c.platform_id)


def moved_to(desired: Desired) -> dict[str, CampaignDoc]:
    """Old id -> the file that moves from it (the first, should two claim one)."""
    out: dict[str, CampaignDoc] = {}
    for doc in desired.campaigns.values():
        old = doc.spec.moved_from
        if old and old not in desired.campaigns:
            out.setdefault(old, doc)
    return out


def with_known_specs(
    live: list[LiveCampaign], managed: dict[str, Managed], desired: Desired
) -> list[LiveCampaign]:
    """For a backend that lists campaigns without their content: the spec last applied, or, for
    a campaign not recorded (made in the dashboard, created by an apply killed in between, or a
    lost state store), the desired spec when the name matches (the file with its id, or the one
    that moved from it: a moved campaign keeps its old marker); what the API does show of the
    spec (labels, from a message report) wins. Other drift in the dashboard cannot be seen."""
    applied = {m.platform_id: m.spec for m in managed.values()}
    moved = moved_to(desired)
    out = []
    for c in live:
        spec = applied.get(c.platform_id)
        doc = desired.campaigns.get(c.id) or moved.get(c.id)
        if not (spec and spec.get("channel")) and doc is not None and doc.spec.name == c.name:
            spec = doc.spec.spec_data()  # also heals a record without content
        if spec and spec.get("channel"):
            c = replace(
                c, spec=spec | c.spec, channel=spec["channel"], type=spec.get("type", c.type)
            )
        out.append(c)
    return out


def moves(desired: Desired, managed: dict[str, Managed]) -> dict[str, Managed]:
    """New id -> the record it moves from: `moved_from: OLD` in the file of an id the state store
    does not manage yet, OLD managed and in no file (a file still saying OLD keeps it)."""
    return {
        doc.id: managed[old]
        for old, doc in moved_to(desired).items()
        if doc.id not in managed and old in managed
    }


class Matching:
    """Which record and live campaign each file's campaign is planned against, and the moves
    and forgets of the records no file has."""

    def __init__(
        self, desired: Desired, managed: dict[str, Managed], campaigns: Iterable[LiveCampaign]
    ):
        campaigns = list(campaigns)
        self.desired, self.managed = desired, managed
        self.latest = newest(campaigns)
        self.by_platform_id = {c.platform_id: c for c in campaigns}
        self.moving = moves(desired, managed)
        # platform id -> the id of the file whose record manages it
        self.owner = {m.platform_id: k for k, m in managed.items() if k in desired.campaigns}

    def move(self, key: str) -> Move | None:
        """The move to `key`, if its file moves a record. Blocked when a campaign no file
        manages carries `key` already and is not stopped or archived: a running one would leave
        two live campaigns with one id, and a completed one would be taken for `key`'s by every
        later plan (the id names it, and on clevertap the moved one keeps its old marker)."""
        moving = self.moving.get(key)
        if moving is None:
            return None
        named = self.latest.get(key)
        ok = Move(key, OK, platform_id=moving.platform_id, moved_from=moving.id)
        if named is None or named.platform_id == moving.platform_id or not alive(named):
            return ok
        if named.platform_id in self.owner:
            return ok  # another file's: it keeps its own
        if named.status == "completed":
            why = "a completed campaign no file manages: after the move, plans would take it "
            why += f"for {key}'s"
            remedy = f"archive campaign {named.platform_id} in the dashboard first, or "
        else:
            why = "a live campaign no file manages: a move onto it would leave two live "
            why += "campaigns with one id"
            remedy = f"stop campaign {named.platform_id} first, or "
        return replace(
            ok,
            verdict=BLOCKED,
            reason=f"the id {key} names campaign {named.platform_id}, {why}",
            remedy=remedy + "move to another id",
            rule="move-onto-live",
        )

    def taken(self, doc: CampaignDoc) -> Create | None:
        """A blocked create: the file's id is new to the state store, but the live campaign
        carrying it is another file's (moved from this id, or `state mv`: the platform keeps
        the old id; on clevertap, where nothing is renamed, for good)."""
        key, spec = doc.id, doc.spec
        named = self.latest.get(key)
        if named is None or key in self.managed or key in self.moving:
            return None
        owner = self.owner.get(named.platform_id)
        if owner is None or not alive(named) or named.status == "completed":
            return None
        if spec.archived or spec.state == "stopped":
            return None  # nothing would be created
        return Create(
            key,
            BLOCKED,
            reason=f"live campaign {named.platform_id} still carries the id {key}, and {owner} "
            "manages it (it moved from that id): a create would leave two live campaigns with "
            "one id",
            remedy=f"give this file another id, or move {owner} back to it",
            rule="id-taken",
            publish=spec.state == "active",
        )

    def counterparts(self, doc: CampaignDoc) -> tuple[Managed | None, LiveCampaign | None]:
        """The record and the live campaign a file's campaign is planned against: its own;
        those it moves from; with no record at all, the live one its old id names (a lost state
        store: on clevertap a moved campaign keeps its old marker, and is adopted, never created
        twice). Never a campaign another file's record manages, which still carries this id."""
        key = doc.id
        known, current = self.managed.get(key), self.latest.get(key)
        if key in self.moving:
            known = self.moving[key]
            current = self.by_platform_id.get(known.platform_id)
        elif current is None and known is None and doc.spec.moved_from:
            current = self.latest.get(doc.spec.moved_from)
        if current is not None and self.owner.get(current.platform_id, key) != key:
            current = None
        if known is not None and (current is None or not runs_on(current)):
            # no campaign with the id can still send: the managed one, not another the id named
            current = self.by_platform_id.get(known.platform_id) or current
        return known, current

    def forgotten(
        self, only: frozenset[str] | None
    ) -> Iterator[tuple[Managed, LiveCampaign | None]]:
        """The records no file has, but those a file moves from (within `only`, a partial
        plan's), with their live campaigns."""
        moved = {m.id for m in self.moving.values()}
        for key, known in self.managed.items():
            if key in self.desired.campaigns or key in moved:
                continue
            if only is None or key in only:
                yield known, self.by_platform_id.get(known.platform_id)


def without_rename(change: Move) -> Move:
    """A move on a platform whose API edits no campaign: its name keeps the old marker."""
    note = (
        f"the platform's API cannot rename: the name keeps its [{change.moved_from}] marker; "
        f"keep `moved_from: {change.moved_from}` in the file"
    )
    return replace(change, reason=note)


def looks_moved(plan: Plan, managed: dict[str, Managed], specs: dict[str, dict[str, Any]]) -> None:
    """A forget and a create of equal specs (apart from the id): most likely a renamed file,
    which would leave the live campaign running and create a second one."""
    forgotten = [c.key for c in plan.changes if isinstance(c, Forget)]
    for change in plan.changes:
        if not isinstance(change, Create) or change.key not in specs:
            continue
        for old in forgotten:
            if sections_of(managed[old].spec) == sections_of(specs[change.key]):
                plan.notices.append(
                    f"{change.key} looks like {old} renamed: this plan creates {change.key} and "
                    f"forgets {old}, whose live campaign runs on. To move it instead, add "
                    f"`moved_from: {old}` to {change.key}'s file"
                )
