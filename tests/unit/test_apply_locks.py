"""What an apply locks (apply_locks.py), and SQLite's one lock for the whole store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from campaign_gitops.applying.locks import MAX_NAMED_LOCKS, covered, needed, renames_pending
from campaign_gitops.plan import Create, LabelCreate, LabelRename, Move, Plan, Publish, Update
from campaign_gitops.state.base import JournalEntry, LockHeld, LockInfo, LockSet, Managed
from campaign_gitops.state.sqlite import SqliteState

AT = datetime(2026, 11, 23, tzinfo=UTC)


def _plan(*changes: object, specs: dict[str, dict[str, object]] | None = None) -> Plan:
    return Plan(at=AT, changes=list(changes), specs=specs or {})  # type: ignore[arg-type]


def test_a_plan_locks_what_it_changes_and_shares_the_labels_its_campaigns_use() -> None:
    plan = _plan(
        LabelCreate("Promo"),
        Create("spring", publish=True),
        Update("welcome", platform_id="1"),
        Publish("cart", verdict="blocked"),  # seen under the lock too: apply refuses it there
        specs={"spring": {"labels": ["Promo", "Shared"]}, "welcome": {"labels": ["Shared"]}},
    )
    locks = needed(plan)
    assert locks == LockSet(
        frozenset({"label:Promo", "campaign:spring", "campaign:welcome", "campaign:cart"}),
        frozenset({"label:Shared"}),
    )
    assert list(locks.modes()) == sorted(locks.names)


def test_a_move_locks_both_ids() -> None:
    # the apply renames OLD's record: an apply of OLD running beside it would lose its write
    locks = needed(_plan(Move("new", platform_id="1", moved_from="old")))
    assert locks.names == frozenset({"campaign:new", "campaign:old"})


def test_what_needs_the_whole_store() -> None:
    assert needed(_plan(LabelRename("New", old="Old"))).store  # it rewrites other campaigns
    assert needed(_plan(Create("a")), pending_renames=True).store
    many = _plan(*(Create(f"c{n}") for n in range(MAX_NAMED_LOCKS + 1)))
    assert needed(many).store and not needed(_plan(Create("a"))).store
    managed = {"a": Managed("a", "1", {"labels": ["Old"]}, "t", "ci")}
    assert renames_pending(["Old"], managed) and not renames_pending(["Gone"], managed)


def test_covers() -> None:
    held = LockSet(frozenset({"campaign:a"}), frozenset({"label:L"}))
    assert held.covers(LockSet(frozenset({"campaign:a"})))
    assert held.covers(LockSet(shared=frozenset({"label:L", "campaign:a"})))
    assert not held.covers(LockSet(frozenset({"label:L"})))  # shared is not enough to change it
    assert not held.covers(LockSet(frozenset({"campaign:b"})))
    assert not held.covers(LockSet(store=True)) and LockSet(store=True).covers(held)
    both = held | LockSet(frozenset({"label:L"}), frozenset({"campaign:b"}))
    assert both == LockSet(frozenset({"campaign:a", "label:L"}), frozenset({"campaign:b"}))


def test_a_partial_plan_covers_its_campaigns_and_every_label() -> None:
    plan = _plan(Create("a"), LabelCreate("New"))
    plan.desired_checksums = {"a": "x", "b": "y"}
    plan.labels = {"New": None, "Old": None}
    assert covered(plan, partial=False) is None
    assert covered(plan, partial=True) == {
        "campaign:a", "campaign:b", "label:New", "label:Old",
    }  # fmt: skip


def test_sqlite_has_one_lock_for_the_whole_store(tmp_path: Path) -> None:
    first, second = SqliteState(tmp_path / "s.db"), SqliteState(tmp_path / "s.db")
    alice = LockInfo.mine("alice@ci")
    first.acquire_set(alice, LockSet(frozenset({"campaign:a"})), 0)
    with pytest.raises(LockHeld, match="locked by alice@ci"):  # disjoint, and still waits
        second.acquire_set(LockInfo.mine("bob@ci"), LockSet(frozenset({"campaign:b"})), 0.2)
    first.journal(JournalEntry("one", 1, "create campaign a", "started"))
    assert second.unfinished() is None  # its holder is alive: it is running
    first.release(alice.lock_id)  # as an apply that failed half-way does
    second.acquire_set(LockInfo.mine("bob@ci"), LockSet(frozenset({"campaign:b"})), 0)
    assert second.unfinished() == "one" and second.unfinished(["campaign:b"]) is None
    second.settle("one", ["campaign:a"])
    assert second.unfinished() is None
    first.close()
    second.close()
