"""Manual changes finished by hand: `campaign-gitops ack ID` records that what the plan showed as
manual for ID was done in the dashboard, and planning then treats it as done.

A backend whose API returns no content (clevertap) is seen through the state store: a listed
campaign has its last-applied spec. So an acknowledgement records the spec it covers as the last
applied one: a manual edit is no longer a difference, and a later edit of the file is one again.
A campaign made in the dashboard is never listed by that API: the acknowledgement maps the id to
it (as an adopt would), and planning sees it as its recorded spec says it is at the plan's time.
An archive the API cannot see is taken from the acknowledgement too."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from campaign_gitops.backends.base import LiveCampaign
from campaign_gitops.backends.snapshot import from_record
from campaign_gitops.desired.loader import Desired
from campaign_gitops.diff import keep_live
from campaign_gitops.errors import FatalError
from campaign_gitops.plan import (
    Archive,
    Change,
    Create,
    Move,
    Plan,
    Publish,
    Replace,
    Stop,
    Update,
)
from campaign_gitops.plan import checksum as checksum_of
from campaign_gitops.state.base import Ack, Managed

MADE_IN_DASHBOARD = ("create", "replace")  # the campaign the id maps to was made by a person
# what apply must have done before a manual change of the same campaign can be (an archive of a
# campaign that is not stopped yet cannot have happened; a move gives the id its record)
BEFORE = (Move, Stop, Create, Replace, Publish)


def command(change: Change, env: str = "default") -> str:
    """The exact `ack` command that finishes `change` once it is done in the dashboard."""
    words = ["campaign-gitops", "ack", change.key]
    if env != "default":
        words += ["--env", env]
    if isinstance(change, Replace):
        words.append("--allow-replace")  # harmless when the file itself opts into replace
    line = shlex.join(words)
    if isinstance(change, Create | Replace):
        line += " --platform-id <the dashboard campaign's id>"
    return line


def pending(plan: Plan, key: str) -> list[Change]:
    return [c for c in plan.manual if c.TARGET == "campaign" and c.key == key]


def _nothing_pending(plan: Plan, key: str, desired: Desired) -> str:
    head = f"nothing manual is pending for {key}"
    if key not in desired.campaigns:
        return f"{head}: no campaign file has this id"
    changes = [c for c in plan.changes if c.TARGET == "campaign" and c.key == key]
    if not changes:
        return f"{head}: the plan has no change for it (already done, or acknowledged)"
    listed = ", ".join(f"{c.KIND} ({c.verdict})" for c in changes)
    return f"{head}: the plan's changes for it are {listed}; apply makes them, not a person"


def covered_spec(
    changes: Sequence[Change], base: dict[str, Any] | None, effective: dict[str, Any]
) -> dict[str, Any]:
    """The spec the campaign has once `changes` are done: the effective desired spec for a
    campaign made by hand, else `base` (the last-applied spec) with only what the manual changes
    touch taken from it. A part of the file the plan blocks stays unacknowledged."""
    if base is None or any(isinstance(c, Create | Replace) for c in changes):
        return effective
    spec = dict(base)
    for change in changes:
        if isinstance(change, Update):
            parts = set(change.sections) | ({"type"} if "what" in change.sections else set())
            for part in parts:
                if part in effective:
                    spec[part] = effective[part]
                else:
                    spec.pop(part, None)
        elif isinstance(change, Publish):
            spec["state"] = "active"
        elif isinstance(change, Archive):
            spec["archived"] = True
    return spec


@dataclass(frozen=True)
class Request:
    key: str
    platform_id: str | None
    by: str
    note: str
    at: datetime


def acknowledge(
    plan: Plan, desired: Desired, managed: dict[str, Managed], request: Request
) -> tuple[Ack, Managed]:
    """What to record for `request` against `plan` (made for its id), or a FatalError saying
    why nothing is: no manual change pending, a create without the dashboard's id, an id that
    another campaign holds."""
    key = request.key
    changes = pending(plan, key)
    if not changes:
        raise FatalError(_nothing_pending(plan, key, desired))
    before = [
        c.title
        for c in plan.applicable
        if c.key == key and isinstance(c, BEFORE) and c.sort_key < max(m.sort_key for m in changes)
    ]
    if before:
        kinds = ", ".join(dict.fromkeys(c.KIND for c in changes))
        raise FatalError(
            f"{key}: apply first: {', '.join(before)} comes before the manual {kinds}, which "
            "cannot be done in the dashboard until then"
        )
    made = [c for c in changes if isinstance(c, Create | Replace)]
    platform_id = (request.platform_id or "").strip()
    if made and not platform_id:
        raise FatalError(
            f"{key}: the plan asks for a campaign made in the dashboard ({made[0].title}); pass "
            "--platform-id with the id the dashboard shows for it"
        )
    on = next((str(getattr(c, "platform_id", "")) for c in changes), "")
    if not made and platform_id and platform_id != on:
        raise FatalError(
            f"{key}: the manual {changes[0].KIND} is of platform campaign {on}, not "
            f"{platform_id} (a campaign made in the dashboard in its place is a replace: plan "
            "with --allow-replace)"
        )
    platform_id = platform_id or on
    holder = next((m.id for m in managed.values() if m.platform_id == platform_id), key)
    if holder != key:
        raise FatalError(
            f"platform campaign {platform_id} is managed as {holder}, not {key}: check the id "
            "the dashboard shows"
        )
    doc = desired.campaigns[key]
    known = managed.get(key)
    # a record without content (an adopt the API could not describe) covers nothing
    base = known.spec if known is not None and known.spec.get("channel") else None
    effective = plan.specs.get(key) or keep_live(
        doc.spec.spec_data(), base or {}, doc.spec.ignore_changes
    )
    spec = covered_spec(changes, base, effective)
    ack = Ack(
        campaign_id=key,
        changes=tuple(dict.fromkeys(c.KIND for c in changes)),
        platform_id=platform_id,
        spec=spec,
        checksum=checksum_of(spec),
        file_checksum=plan.desired_checksums.get(key),
        at=request.at.isoformat(),
        by=request.by,
        note=request.note,
    )
    record = Managed(
        key,
        platform_id,
        spec,
        ack.at,
        request.by,
        plan.commit,
        known.pull_request if known is not None else None,
    )
    return ack, record


def seen_through_state(
    live: list[LiveCampaign], managed: dict[str, Managed], acks: list[Ack], now: datetime
) -> list[LiveCampaign]:
    """The live campaigns of a backend whose API lists no content, completed from the state
    store: a campaign it manages is live even when the API does not list it (it lists only
    API-made campaigns, by schedule window; it deletes none), as its record says it is at
    `now`, so that no id is ever created twice; and what acknowledgements say a person did in
    the dashboard: the campaign made there carries its id whatever its name, an archive."""
    archived = {a.platform_id for a in acks if "archive" in a.changes}
    made_at: dict[str, str] = {}  # platform id -> when it was acknowledged as made
    for a in acks:
        if set(a.changes) & set(MADE_IN_DASHBOARD):
            made_at.setdefault(a.platform_id, a.at)
    # else the stopped original of a replace done by hand, named with the id, would stand for it
    owner = {m.platform_id: key for key, m in managed.items() if m.platform_id in made_at}
    out = [
        replace(
            c, id=owner.get(c.platform_id, c.id), archived=c.archived or c.platform_id in archived
        )
        for c in live
    ]
    listed = {c.platform_id for c in live}
    for m in managed.values():
        if m.platform_id in listed:
            continue
        # a campaign made by hand runs on the schedule it had when it was made
        first = made_at.get(m.platform_id)
        seen = from_record(replace(m, history=({"applied_at": first},)) if first else m, now)
        if seen is not None:
            out.append(replace(seen, archived=seen.archived or m.platform_id in archived))
    return out


def shown(ack: Ack) -> dict[str, Any]:
    """One acknowledgement as `state show` prints it."""
    return {
        "changes": list(ack.changes),
        "platform_id": ack.platform_id,
        "at": ack.at,
        "by": ack.by,
        "note": ack.note,
        "checksum": ack.checksum,
        "file_checksum": ack.file_checksum,
        "spec": ack.spec,
    }
