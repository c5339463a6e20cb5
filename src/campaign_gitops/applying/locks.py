"""What an apply locks, and the plan it applies, made again under those locks.

An apply plans once to learn what it changes, locks those campaigns and labels (on PostgreSQL
one lock each; on SQLite the whole store), then plans again: the plan it shows and applies is
read under the locks, so an apply that waited for another sees what that one did (no lost
update, no second create). Should the second plan change something the first did not lock (an
edit in the dashboard meanwhile), the locks are released and the larger set is taken, in order.

What needs the whole store takes it: a label rename (the platform renames the label inside every
campaign, and so does the state store, in campaigns no other lock names), more than
`MAX_NAMED_LOCKS` names (PostgreSQL's lock table is shared and small), and the walk of main's
merged pull requests (one cursor, in order).

The journal: each apply records the lock it runs under and what it locks (state/sql.py). An
unfinished apply whose lock is gone was interrupted; a later apply names it, and settles it,
for what that apply planned again under its locks (a whole plan: everything; `--target` or
`--changed-since`: those campaigns, and the labels, which are always planned). It is finished
once nothing it locked is left; an apply that is still running is never named."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterable

from campaign_gitops.closing import Closing
from campaign_gitops.errors import FatalError
from campaign_gitops.plan import LabelRename, Move, Plan
from campaign_gitops.state.base import (
    LockInfo,
    LockSet,
    Managed,
    StateStore,
    campaign_lock,
    label_lock,
)

log = logging.getLogger(__name__)
MAX_NAMED_LOCKS = 1000  # more: the whole store (4 such applies fill PostgreSQL's default table)
ATTEMPTS = 3  # plans made under locks before an apply gives up on a plan that keeps moving


def needed(plan: Plan, pending_renames: bool = False) -> LockSet:
    """The locks `plan`'s changes need: each campaign and label it changes (any verdict: a
    blocked change must still be seen under the lock), and, shared, the labels the campaign
    specs it sends name. `pending_renames`: the state store still names a label that
    labels.yaml renamed (a rename a killed apply made on the platform), which apply finishes
    in every campaign's record."""
    exclusive = {
        campaign_lock(c.key) if c.TARGET == "campaign" else label_lock(c.key) for c in plan.changes
    }
    exclusive |= {label_lock(c.old) for c in plan.changes if isinstance(c, LabelRename)}
    # a move renames OLD's record too: an apply of OLD must not run beside it
    exclusive |= {campaign_lock(c.moved_from) for c in plan.changes if isinstance(c, Move)}
    shared = {
        label_lock(str(name)) for spec in plan.specs.values() for name in spec.get("labels") or ()
    } - exclusive
    whole = (
        pending_renames
        or any(isinstance(c, LabelRename) for c in plan.changes)
        or len(exclusive) + len(shared) > MAX_NAMED_LOCKS
    )
    return LockSet(frozenset(exclusive), frozenset(shared), store=whole)


def renames_pending(renamed_from: Iterable[str], managed: dict[str, Managed]) -> bool:
    """Whether a last-applied spec still names a label that labels.yaml renamed."""
    old = set(renamed_from)
    return bool(old) and any(old.intersection(m.spec.get("labels") or ()) for m in managed.values())


def covered(plan: Plan, partial: bool) -> frozenset[str] | None:
    """What an apply planned under its locks, as lock names (None: everything). A partial
    plan (`--target`, `--changed-since`) covers its campaigns, and every label."""
    if not partial:
        return None
    campaigns = set(plan.desired_checksums) | {c.key for c in plan.changes if c.TARGET != "label"}
    labels = set(plan.labels) | {c.key for c in plan.changes if c.TARGET == "label"}
    return frozenset({campaign_lock(k) for k in campaigns} | {label_lock(n) for n in labels})


def finish_interrupted(state: StateStore, within: Collection[str] | None) -> None:
    """Every interrupted apply is over for what this apply covered: a resume that was killed
    itself leaves two, and the older must not be named as interrupted again."""
    seen: set[str] = set()
    while (apply_id := state.unfinished(within)) is not None and apply_id not in seen:
        seen.add(apply_id)
        state.settle(apply_id, within)


class ApplyLocks(Closing):
    """The locks of one apply, held from `plan()` (or `whole()`) until `release()`."""

    def __init__(self, state: StateStore, info: LockInfo, timeout: float):
        self.state = state
        self.info = info
        self.timeout = timeout
        self.held: LockSet | None = None

    def close(self) -> None:  # leaving its `with` block releases every lock it holds
        self.release()

    def whole(self) -> None:
        """The whole store (the walk of main's merged pull requests)."""
        self._take(LockSet(store=True))

    def plan(
        self,
        make: Callable[[], Plan],
        saved: Plan | None = None,
        pending_renames: Callable[[], bool] = lambda: False,
    ) -> Plan:
        """The plan to apply, made by `make` while this apply holds the locks of every change
        in it. With `saved`, the saved plan's changes are what is locked (the caller checks that
        the plan made under them is the same)."""
        first = saved if saved is not None else make()
        wanted = needed(first, pending_renames())
        if saved is None and not wanted.names and not wanted.store:
            self._take(wanted)  # nothing to change: nothing to plan again either
            return first
        for _ in range(ATTEMPTS):
            self._take(wanted)
            plan = make()
            now = needed(plan, wanted.store)
            assert self.held is not None
            if saved is not None or self.held.covers(now):
                return plan
            self.release()
            log.debug("the plan made under the locks changes more than they cover: taking more")
            wanted = wanted | now
            if len(wanted.names) > MAX_NAMED_LOCKS:
                wanted = wanted.whole()
        raise FatalError(
            f"the plan changed each of the {ATTEMPTS} times it was made under its locks (other "
            "applies or dashboard edits meanwhile); nothing was applied. Apply again."
        )

    def _take(self, locks: LockSet) -> None:
        self.release()
        what = (
            "the whole store"
            if locks.store
            else (f"{len(locks.exclusive)} exclusive, {len(locks.shared)} shared lock(s)")
        )
        log.debug("taking %s (waiting up to %g s)", what, self.timeout)
        began = time.monotonic()
        self.state.acquire_set(self.info, locks, self.timeout)
        log.debug("took %s after %.3f s", what, time.monotonic() - began)
        self.held = locks

    def release(self) -> None:
        if self.held is not None:
            self.held = None
            self.state.release(self.info.lock_id)
