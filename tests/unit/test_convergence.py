"""Plans that an apply could not carry out, found by the reconciler's invariant test
(tests/e2e/test_invariant.py), each as its minimal sequence: after the apply, a plan at the same
time must have nothing left to do. On the real local platform and a real SQLite state store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from campaign_gitops.backends.base import Capabilities
from campaign_gitops.backends.local import LocalBackend
from campaign_gitops.commands.apply import apply
from campaign_gitops.config import load_settings
from campaign_gitops.models import Label
from campaign_gitops.plan import BLOCKED, OK, Replace
from campaign_gitops.state.base import JournalEntry
from campaign_gitops.state.sqlite import SqliteState
from campaign_gitops.workspace import PlanRequest, Workspace
from tests.e2e.cli import NOT_INHERITED
from tests.helpers import at
from tests.unit.test_planner import T0, World, desired, doc, kinds

RUNNING = at("2026-12-02T10:00")  # doc()'s trigger campaign runs from 2026-12-01T09:00Z


def test_a_stop_with_edits_of_the_same_file_only_stops(tmp_path: Path) -> None:
    # add a scheduled campaign, apply; edit its name and set state: stopped; apply: the update
    # ran after the stop and the platform refused it ("stopping is final")
    world = World(tmp_path)
    world.apply(desired({"w": doc()}))
    for now in (T0, RUNNING):
        want = desired({"w": doc(name="Renamed", labels=[], state="stopped")})
        assert kinds(world.plan(want, now)) == [("campaign", "stop", "w", OK)]
    world.apply(want, RUNNING)
    assert world.plan(want, RUNNING).changes == []
    later = desired({"w": doc(name="Renamed again", state="stopped")})
    assert world.plan(later, RUNNING).changes == []  # never a blocked edit of a stopped campaign


def test_archived_wins_over_active_for_a_draft(tmp_path: Path) -> None:
    # add a draft, apply; set archived: true with state: active; apply: the publish ran, then the
    # archive of the now live campaign was refused
    world = World(tmp_path)
    world.apply(desired({"w": doc(state="draft")}))
    want = desired({"w": doc(archived=True)})
    assert kinds(world.plan(want)) == [("campaign", "archive", "w", OK)]
    world.apply(want)
    [live] = world.live("w")
    assert (live.status, live.archived) == ("draft", True)
    assert world.plan(want).changes == []


def test_a_replaced_draft_is_archived_first(tmp_path: Path) -> None:
    # add a draft, apply; change its channel with on_locked_change: replace; apply: the clone's
    # create was refused, since the draft still held the id
    world = World(tmp_path)
    world.apply(desired({"w": doc(state="draft")}))
    sms = doc(state="draft", channel="sms", what={"content": {"body": "Hi"}},
              on_locked_change="replace")  # fmt: skip
    [change] = world.plan(desired({"w": sms})).changes
    assert isinstance(change, Replace) and (change.archive_first, change.stop_first) == (
        True, False,
    )  # fmt: skip
    world.apply(desired({"w": sms}))
    old, new = world.live("w")
    assert (old.archived, new.archived, new.channel) == (True, False, "sms")
    assert world.plan(desired({"w": sms})).changes == []


def test_a_label_a_campaign_keeps_is_not_deleted(tmp_path: Path) -> None:
    # add a campaign labelled Onboarding, stop it; remove the label from labels.yaml and the
    # file; apply: the platform refused the delete, since the stopped campaign keeps its label
    world = World(tmp_path)
    world.apply(desired({"w": doc()}))
    world.apply(desired({"w": doc(state="stopped")}), RUNNING)
    promotions = [Label(name="Promotions")]
    want = desired({"w": doc(labels=[], state="stopped")}, promotions)
    [change] = world.plan(want, RUNNING).changes
    assert (change.KIND, change.key, change.verdict) == ("delete", "Onboarding", BLOCKED)
    assert change.reason == "kept by 1 campaign(s): w"


def test_a_label_an_update_drops_is_deleted_after_it(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.apply(desired({"w": doc()}))
    want = desired({"w": doc(labels=["Promotions"])}, [Label(name="Promotions")])
    assert kinds(world.plan(want, RUNNING)) == [
        ("campaign", "update", "w", OK),
        ("label", "delete", "Onboarding", OK),
    ]
    world.apply(want, RUNNING)
    assert world.plan(want, RUNNING).changes == []


def test_an_archived_file_is_never_replaced_without_an_edit_api(tmp_path: Path) -> None:
    # clevertap: a scheduled campaign that opts into replace; its file edited and archived:
    # true; apply: the replace created a published clone, which the next plan could only try
    # to archive (blocked: a live campaign cannot be archived)
    world = World(tmp_path)
    world.apply(desired({"w": doc()}))
    api = Capabilities(update=False, archive=False, channels=frozenset({"push"}))
    want = desired({"w": doc(name="Renamed", archived=True, on_locked_change="replace")})
    assert [(c.KIND, c.verdict) for c in world.plan(want, caps=api).changes] == [
        ("update", "manual"), ("archive", BLOCKED),
    ]  # fmt: skip


def test_a_stopped_file_is_never_replaced(tmp_path: Path) -> None:
    # add a draft, apply; change its channel, set state: stopped and opt into replace; apply:
    # the replace created a draft clone, which the next plan could only try to stop (blocked:
    # a draft cannot be stopped)
    world = World(tmp_path)
    world.apply(desired({"w": doc(state="draft")}))
    sms = doc(channel="sms", what={"content": {"body": "Hi"}}, state="stopped",
              on_locked_change="replace")  # fmt: skip
    plan = world.plan(desired({"w": sms}))
    assert kinds(plan) == [("campaign", "stop", "w", BLOCKED), ("campaign", "update", "w", BLOCKED)]
    assert [c.remedy for c in plan.changes] == [
        "archive it instead (`archived: true`)", "clone it to a new id",
    ]  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in NOT_INHERITED:  # an apply in GitHub Actions applies merged pull requests
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "campaign-gitops.toml").write_text('backend = "local"\n')
    labels = {"labels": [{"name": "Onboarding"}]}
    (tmp_path / "labels.yaml").write_text(yaml.safe_dump(labels))
    return tmp_path


def _apply(root: Path) -> int:
    settings = load_settings(root).for_env(None).with_environ(os.environ)
    return apply(
        settings, PlanRequest(T0), None, auto_approve=True, continue_on_error=False,
        lock_timeout=1,
    )  # fmt: skip


def test_a_label_made_by_a_killed_apply_is_managed_by_the_next(repo: Path) -> None:
    # an apply killed between the platform's create of a label and its record: the next apply
    # has no change to make, and recorded nothing
    platform = LocalBackend(repo / ".campaign-gitops" / "platform.db")
    platform.create_label(Label(name="Onboarding"))
    platform.close()
    assert _apply(repo) == 0
    state = SqliteState(repo / ".campaign-gitops" / "state.db")
    assert state.labels() == {"Onboarding": None}
    state.close()


def test_every_interrupted_apply_is_finished_by_the_next(repo: Path) -> None:
    # an apply killed, then its resume killed too: the next apply finished only the newest, and
    # every later one named the oldest as interrupted again
    state = SqliteState(repo / ".campaign-gitops" / "state.db")
    for apply_id in ("first", "resume"):
        state.journal(JournalEntry(apply_id, 1, "create label Onboarding", "started"))
    state.close()
    assert _apply(repo) == 0
    state = SqliteState(repo / ".campaign-gitops" / "state.db")
    assert state.unfinished() is None
    state.close()


def test_a_rename_a_killed_apply_made_is_finished_in_the_state(repo: Path) -> None:
    # an apply killed between the platform's rename of a label and the state store's: the
    # last-applied specs kept the old name, and every later plan called the rename drift
    (repo / "campaigns" / "w.yaml").write_text(yaml.safe_dump(doc()))
    assert _apply(repo) == 0
    platform = LocalBackend(repo / ".campaign-gitops" / "platform.db")
    platform.rename_label("Onboarding", "Newcomers")
    platform.close()
    renamed = {"labels": [{"name": "Newcomers", "renamed_from": "Onboarding"}]}
    (repo / "labels.yaml").write_text(yaml.safe_dump(renamed))
    (repo / "campaigns" / "w.yaml").write_text(yaml.safe_dump(doc(labels=["Newcomers"])))
    assert _apply(repo) == 0
    state = SqliteState(repo / ".campaign-gitops" / "state.db")
    assert state.managed()["w"].spec["labels"] == ["Newcomers"]
    assert state.labels() == {"Newcomers": None}
    state.close()
    settings = load_settings(repo).for_env(None).with_environ(os.environ)
    workspace = Workspace(settings)
    try:
        plan = workspace.plan(PlanRequest(T0))
    finally:
        workspace.close()
    assert plan.changes == [] and plan.drift == []
