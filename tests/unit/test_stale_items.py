"""plan.stale_items, branch by branch: why a saved plan may no longer be applied, each item
naming what moved since it was made (the desired files, the platform's versions, a
time-dependent verdict, the changes themselves). The refusal around it: test_refusals.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from campaign_gitops.plan import (
    APPROVAL,
    BLOCKED,
    MANUAL,
    Change,
    Create,
    Plan,
    Stop,
    Update,
    stale_items,
)

T0 = datetime(2026, 11, 23, 10, tzinfo=UTC)
T1 = T0 + timedelta(hours=2)


def _plan(*changes: Change, at: datetime = T0, **fields: Any) -> Plan:
    base: dict[str, Any] = {"desired_checksums": {"sale": "aaaa"}, "live_versions": {"sale": 3}}
    return Plan(at=at, changes=list(changes), **(base | fields))


def test_nothing_moved() -> None:
    assert stale_items(_plan(Create("sale")), _plan(Create("sale"), at=T1)) == []
    assert stale_items(_plan(), _plan()) == []
    assert stale_items(Plan(at=T0), Plan(at=T1)) == []


# --- the desired files ------------------------------------------------------------------------


def test_a_file_changed() -> None:
    assert stale_items(_plan(), _plan(desired_checksums={"sale": "bbbb"})) == [
        "desired changed: campaign sale (its file changed since the plan)"
    ]


def test_a_file_is_gone() -> None:
    assert stale_items(_plan(), _plan(desired_checksums={})) == [
        "desired changed: campaign sale is no longer in the files"
    ]


def test_a_file_is_new() -> None:
    fresh = _plan(desired_checksums={"sale": "aaaa", "gen-z": "cccc"})
    assert stale_items(_plan(), fresh) == ["desired changed: campaign gen-z is new since the plan"]


def test_desired_items_in_key_order() -> None:
    saved = _plan(desired_checksums={"b": "1", "a": "1", "c": "1"})
    fresh = _plan(desired_checksums={"c": "2", "e": "1", "d": "1", "a": "1"})
    assert stale_items(saved, fresh) == [
        "desired changed: campaign b is no longer in the files",
        "desired changed: campaign c (its file changed since the plan)",
        "desired changed: campaign d is new since the plan",
        "desired changed: campaign e is new since the plan",
    ]


# --- the platform -----------------------------------------------------------------------------


def test_a_live_version_moved() -> None:
    assert stale_items(_plan(), _plan(live_versions={"sale": 4})) == [
        "live changed: campaign sale (platform version 3 -> 4)"
    ]


def test_a_live_campaign_is_gone() -> None:
    assert stale_items(_plan(), _plan(live_versions={})) == [
        "live changed: campaign sale (platform version 3 -> None)"
    ]


def test_a_live_campaign_appeared() -> None:
    assert stale_items(_plan(live_versions={}), _plan()) == [
        "live changed: campaign sale appeared on the platform"
    ]


def test_desired_then_live_items() -> None:
    fresh = _plan(desired_checksums={"sale": "bbbb"}, live_versions={"sale": 4, "new": 1})
    assert stale_items(_plan(), fresh) == [
        "desired changed: campaign sale (its file changed since the plan)",
        "live changed: campaign sale (platform version 3 -> 4)",
        "live changed: campaign new appeared on the platform",
    ]


# --- a time-dependent verdict -----------------------------------------------------------------


def _update(**fields: Any) -> Update:
    return Update("sale", **({"sections": frozenset({"what"})} | fields))


def test_a_verdict_that_became_blocked_is_discarded() -> None:
    blocked = _update(verdict=BLOCKED, reason="the scheduled campaign is past its time")
    assert stale_items(_plan(_update()), _plan(blocked, at=T1)) == [
        "time-dependent verdict changed: update campaign sale was ok at "
        "2026-11-23T10:00:00+00:00 and is discarded at 2026-11-23T12:00:00+00:00: "
        "the scheduled campaign is past its time"
    ]


@pytest.mark.parametrize(
    ("before", "after", "word"),
    [("ok", APPROVAL, "now approval"), ("approval", "ok", "now ok"), ("ok", MANUAL, "now manual")],
)
def test_a_verdict_that_changed_otherwise(before: Any, after: Any, word: str) -> None:
    saved, fresh = _plan(_update(verdict=before)), _plan(_update(verdict=after), at=T1)
    assert stale_items(saved, fresh) == [
        f"time-dependent verdict changed: update campaign sale was {before} at "
        f"2026-11-23T10:00:00+00:00 and is {word} at 2026-11-23T12:00:00+00:00: see the new plan"
    ]


def test_the_same_verdict_with_other_details_is_not_a_verdict_change() -> None:
    """(check_saved then compares the content hashes: test_refusals.py)"""
    saved = _plan(_update(reason="one"))
    assert stale_items(saved, _plan(_update(reason="two", sections=frozenset({"who"})))) == []


def test_changes_are_matched_by_target_kind_and_key() -> None:
    """A create that became an update is a change gone and a change needed, not a verdict."""
    saved = _plan(Create("sale", verdict=BLOCKED))
    assert stale_items(saved, _plan(_update())) == [
        "the plan no longer holds: create campaign sale is not needed any more",
        "the plan no longer holds: update campaign sale is needed now",
    ]


# --- the changes themselves -------------------------------------------------------------------


def test_a_change_no_longer_needed() -> None:
    assert stale_items(_plan(_update()), _plan()) == [
        "the plan no longer holds: update campaign sale is not needed any more"
    ]


def test_every_change_no_longer_needed_is_named() -> None:
    saved = _plan(_update(), Stop("old"), Create("new"))
    assert stale_items(saved, _plan()) == [
        "the plan no longer holds: create campaign new is not needed any more",
        "the plan no longer holds: stop campaign old is not needed any more",
        "the plan no longer holds: update campaign sale is not needed any more",
    ]


def test_a_change_gone_is_not_named_once_something_else_moved() -> None:
    saved = _plan(_update())
    assert stale_items(saved, _plan(live_versions={"sale": 4})) == [
        "live changed: campaign sale (platform version 3 -> 4)"
    ]


def test_changes_gone_are_named_after_a_verdict_change_whatever_their_order() -> None:
    """A verdict change does not explain other changes gone: they are named after it (the list
    named only those sorted before the first item)."""
    blocked = Update("b", verdict=BLOCKED, reason="past its time")
    saved = _plan(Update("a"), Update("b"), Update("c"))
    assert stale_items(saved, _plan(blocked)) == [
        "time-dependent verdict changed: update campaign b was ok at "
        "2026-11-23T10:00:00+00:00 and is discarded at 2026-11-23T10:00:00+00:00: past its time",
        "the plan no longer holds: update campaign a is not needed any more",
        "the plan no longer holds: update campaign c is not needed any more",
    ]


def test_a_change_needed_now() -> None:
    assert stale_items(_plan(), _plan(_update())) == [
        "the plan no longer holds: update campaign sale is needed now"
    ]


def test_every_change_needed_now_is_named() -> None:
    saved = _plan(Stop("old"))
    fresh = _plan(Stop("old"), _update(), Create("new"))
    assert stale_items(saved, fresh) == [
        "the plan no longer holds: create campaign new is needed now",
        "the plan no longer holds: update campaign sale is needed now",
    ]


def test_changes_gone_or_new_are_not_named_once_a_file_or_live_campaign_moved() -> None:
    assert stale_items(_plan(), _plan(_update(), desired_checksums={"sale": "bbbb"})) == [
        "desired changed: campaign sale (its file changed since the plan)"
    ]
    assert stale_items(_plan(Stop("old")), _plan(_update())) == [
        "the plan no longer holds: stop campaign old is not needed any more",
        "the plan no longer holds: update campaign sale is needed now",
    ]
