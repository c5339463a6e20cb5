"""The `StateStore` contract (state/base.py) against every implementation: SQLite and PostgreSQL
(a real server: tests/postgres_server.py). Two instances of one store stand for two processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from campaign_gitops.errors import FatalError
from campaign_gitops.state.base import (
    Ack,
    JournalEntry,
    LockHeld,
    LockInfo,
    LockSet,
    Managed,
    StateStore,
    campaign_lock,
)
from campaign_gitops.state.postgres import PostgresState
from campaign_gitops.state.sqlite import SqliteState
from tests.postgres_server import PostgresServer

T0 = "2026-11-23T10:00:00+00:00"
Open = Callable[[], StateStore]


@pytest.fixture(params=["sqlite", "postgresql"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Open]:
    """Opens another instance (another connection) of one new, empty store."""
    opened: list[StateStore] = []
    if request.param == "sqlite":
        path = tmp_path / "state.db"

        def new() -> StateStore:
            opened.append(SqliteState(path))
            return opened[-1]
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.new_database()

        def new() -> StateStore:
            opened.append(PostgresState(url, export_dir=tmp_path))
            return opened[-1]

    yield new
    for store in reversed(opened):
        store.close()


@pytest.fixture
def state(opener: Open) -> StateStore:
    return opener()


def managed(key: str = "welcome", platform_id: str = "1457000001", **spec: object) -> Managed:
    return Managed(key, platform_id, {"name": key, **spec}, T0, "ci", "beef", 7, author="dana")


def test_a_record_reads_back_with_its_history_when_asked(state: StateStore) -> None:
    first = managed(tier="gold")
    state.record(first)
    assert state.managed() == {"welcome": first}
    assert state.managed_ids() == ["welcome"]
    state.record(first)  # idempotent for the record; the history grows
    again = state.managed(history=True)["welcome"]
    assert again.spec == first.spec and again.platform_id == first.platform_id
    assert [h["commit"] for h in again.history] == ["beef", "beef"]
    state.record(managed("other", "1457000002"))
    assert set(state.managed(ids=["other", "nobody"])) == {"other"}


def test_forget_is_idempotent(state: StateStore) -> None:
    state.record(managed())
    state.forget("welcome")
    state.forget("welcome")
    state.forget("never-managed")
    assert state.managed() == {}


def test_move_carries_the_record_and_its_acks_and_never_overwrites(state: StateStore) -> None:
    state.record(managed("old"))
    ack = Ack("old", ("create",), "1457000001", {"name": "old"}, "c1", None, T0, "dana")
    state.acknowledge(ack, managed("old"))
    state.record(managed("taken", "1457000009"))
    assert state.move("old", "new") is True
    assert set(state.managed()) == {"new", "taken"}
    assert state.managed()["new"].platform_id == "1457000001"
    assert [a.campaign_id for a in state.acks()] == ["new"] and state.acks("old") == []
    assert state.move("old", "new") is False  # a repeat: nothing left to move
    with pytest.raises(FatalError, match="already manages"):
        state.move("new", "taken")
    assert state.managed()["taken"].platform_id == "1457000009"  # nothing changed
    assert state.managed()["new"].platform_id == "1457000001"


def test_labels_are_upserted_renamed_and_forgotten_idempotently(state: StateStore) -> None:
    for _ in range(2):
        state.record_label("Promotions", "sales")
    state.record_label("Promotions", "offers")
    assert state.labels() == {"Promotions": "offers"}
    state.record_label("Promos", "offers", previous="Promotions")
    assert state.labels() == {"Promos": "offers"}
    state.forget_label("Promos")
    state.forget_label("Promos")
    assert state.labels() == {}


def test_the_journal_keeps_order_and_an_unfinished_apply_until_it_finishes(
    state: StateStore,
) -> None:
    assert state.unfinished() is None and state.journal_of() == []
    steps = [
        JournalEntry("a1", 1, "create campaign welcome", "started"),
        JournalEntry("a1", 1, "create campaign welcome", "done", "", "1457000001"),
        JournalEntry("a1", 2, "stop campaign old", "started"),
    ]
    for entry in steps:
        state.journal(entry)
    assert state.journal_of("a1") == steps
    assert state.unfinished() == "a1"  # no lock holds it: it crashed
    assert state.journal_of() == steps  # the last unfinished apply's
    state.finish("a1")
    state.finish("a1")  # idempotent
    assert state.unfinished() is None
    state.settle("no-such-apply", None)  # no error


def test_an_apply_under_a_live_lock_is_running_not_unfinished(opener: Open) -> None:
    first, second = opener(), opener()
    lock = LockInfo.mine("apply-1")
    first.acquire_set(lock, LockSet(frozenset({campaign_lock("welcome")})), 5)
    first.journal(JournalEntry("a1", 1, "create campaign welcome", "started"))
    assert second.unfinished() is None  # its lock is held: it is running
    first.release(lock.lock_id)
    assert second.unfinished() == "a1"
    assert second.unfinished(within=[campaign_lock("other")]) is None
    assert second.unfinished(within=[campaign_lock("welcome")]) == "a1"
    second.settle("a1", [campaign_lock("welcome")])  # planned and applied again
    assert second.unfinished() is None


def test_an_apply_records_the_locks_it_holds_when_it_starts(opener: Open) -> None:
    """The scope of each apply is that of the locks held at its first step, also when the
    same lock id takes a larger set (an apply whose plan moved under its first locks)."""
    first, second = opener(), opener()
    lock = LockInfo.mine("apply-1")
    welcome, other = campaign_lock("welcome"), campaign_lock("other")
    first.acquire_set(lock, LockSet(frozenset({welcome})), 5)
    for step in (1, 2):
        first.journal(JournalEntry("a1", step, "create campaign welcome", "started"))
    first.release(lock.lock_id)
    first.acquire_set(lock, LockSet(frozenset({welcome, other})), 5)
    first.journal(JournalEntry("a2", 1, "create campaign other", "started"))
    first.release(lock.lock_id)
    assert second.unfinished(within=[other]) == "a2"
    second.settle("a2", None)
    assert second.unfinished(within=[other]) is None  # a1 never locked it
    assert second.unfinished(within=[welcome]) == "a1"


def test_the_store_lock_is_exclusive_and_released_idempotently(opener: Open) -> None:
    first, second = opener(), opener()
    mine, theirs = LockInfo.mine("apply-1"), LockInfo.mine("apply-2")
    first.acquire(mine, 5)
    with pytest.raises(LockHeld) as held:
        second.acquire(theirs, 0.3)
    assert held.value.info.lock_id == mine.lock_id
    assert mine.lock_id in str(held.value) and "state unlock" in str(held.value)
    first.release(mine.lock_id)
    first.release(mine.lock_id)  # idempotent
    second.acquire(theirs, 5)  # nothing of the failed attempt was left behind
    with pytest.raises(LockHeld):
        first.acquire(LockInfo.mine("apply-3"), 0.3)
    assert first.unlock("no-such-lock") is False
    assert first.unlock(theirs.lock_id) is True  # `state unlock`, from another instance
    assert first.unlock(theirs.lock_id) is False
    third = LockInfo.mine("apply-4")
    first.acquire(third, 5)
    first.release(third.lock_id)


def test_the_cursor_and_the_commit_log_take_repeats(state: StateStore) -> None:
    assert state.cursor() is None
    for _ in range(2):
        state.set_cursor("c" * 40, "ci", "first run")
    cursor = state.cursor()
    assert cursor is not None and (cursor.commit, cursor.set_by) == ("c" * 40, "ci")
    state.record_commit("a" * 40, 3, "applied", T0, "ci")
    state.record_commit("b" * 40, None, "no-op", T0, "ci")
    state.record_commit("a" * 40, 3, "applied", T0, "ci")  # moves to the end, kept once
    assert [c.commit[0] for c in state.applied_commits()] == ["a", "b"]
    assert len(state.applied_commits(limit=1)) == 1
    with pytest.raises(ValueError, match="outcome"):
        state.record_commit("d" * 40, None, "merged", T0, "ci")


def test_an_import_replaces_the_whole_store(state: StateStore, opener: Open) -> None:
    state.record(managed(tier="gold"))
    state.record_label("Promotions", "sales")
    state.journal(JournalEntry("a1", 1, "create campaign welcome", "started"))
    state.record_commit("a" * 40, 3, "applied", T0, "ci")
    document = state.export()
    state.forget("welcome")
    state.record(managed("later", "1457000002"))
    state.record_label("Later", None)
    other = opener()
    other.import_(document)
    other.import_(document)  # idempotent: replaces the whole store
    again = other.export()  # its time of export is its own (a second may have passed)
    assert {**again, "exported_at": None} == {**document, "exported_at": None}
    with pytest.raises(FatalError):
        other.import_({"format": "something else"})
    after = other.export()  # a refused document changes nothing
    assert {**after, "exported_at": None} == {**document, "exported_at": None}
