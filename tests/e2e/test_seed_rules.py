"""The seeds' rules the engine missed (issue #18), each through `plan` and `apply` on the local
platform: an auto-archived campaign stays read-only, the approver approves and edits a pending
campaign, a pending campaign can be withdrawn, and `rejected` is reachable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.cli import run

T0 = "2026-11-23T10:00:00Z"  # before the campaign's start
START = "2026-12-01T09:00:00Z"
SENDING = "2026-12-01T09:10:00Z"


def _campaign(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Winter sale",
        "channel": "push",
        "what": {"content": {"title": "Sale", "body": "20% off"}},
        "when": {"delivery": "on_date_time", "start": START},
    } | overrides


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "labels.yaml").write_text("labels: []\n")
    _config(tmp_path, "creator")
    return tmp_path


def _config(repo: Path, role: str, workflow: bool = True) -> None:
    flag = "true" if workflow else "false"
    text = f'backend = "local"\ncreator_approver = {flag}\nrole = "{role}"\n'
    (repo / "campaign-gitops.toml").write_text(text)


def _write(repo: Path, **overrides: Any) -> None:
    (repo / "campaigns" / "w.yaml").write_text(yaml.safe_dump(_campaign(**overrides)))


def _plan(repo: Path, at: str = T0) -> dict[str, Any]:
    result = run("--at", at, "plan", "--format", "json", cwd=repo)
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _kinds(plan: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["kind"], c["verdict"]) for c in plan["changes"]]


def _apply(repo: Path, at: str = T0) -> None:
    done = run("--at", at, "apply", "--auto-approve", cwd=repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert run("--at", at, "plan", "--detailed-exitcode", cwd=repo).returncode == 0  # invariant


def _status(repo: Path, at: str = T0) -> str:
    listed = run("--at", at, "list", "--all", "--format", "json", cwd=repo)
    found = [c for c in json.loads(listed.stdout) if c["id"] == "w"]
    return str(max(found, key=lambda c: int(c["platform_id"]))["status"])  # a replace's clone


def _pending(repo: Path) -> None:
    _write(repo)
    _apply(repo)
    assert _status(repo) == "pending_approval"


def test_the_approver_approves_a_pending_campaign(repo: Path) -> None:
    # a file saying `state: active` of a pending campaign planned nothing for the approver
    _pending(repo)
    assert _kinds(_plan(repo)) == []  # the creator waits
    _config(repo, "approver")
    assert _kinds(_plan(repo)) == [("publish", "ok")]
    _apply(repo)
    assert _status(repo) == "scheduled" and _status(repo, SENDING) == "running"


def test_an_approvers_edit_of_a_pending_campaign_publishes_it(repo: Path) -> None:
    # the edit was applied, and the campaign stayed a draft, even at its send time
    _pending(repo)
    _config(repo, "approver")
    _write(repo, name="Winter sale, last days")
    assert _kinds(_plan(repo)) == [("update", "ok"), ("publish", "ok")]
    _apply(repo)
    assert _status(repo) == "scheduled" and _status(repo, SENDING) == "running"


@pytest.mark.parametrize("intent", [{"state": "draft"}, {"state": "draft", "archived": True}])
def test_a_pending_campaign_is_withdrawn_to_draft(repo: Path, intent: dict[str, Any]) -> None:
    # `state: draft` planned nothing; stop was refused ("archive it instead") and archive too
    # ("stop it first"): a pending campaign had no way out
    _pending(repo)
    _write(repo, name="Winter sale (later)", **intent)
    plan = _plan(repo)
    expected = [("withdraw", "ok"), ("update", "ok")]
    assert _kinds(plan) == expected + ([("archive", "ok")] if "archived" in intent else [])
    _apply(repo)
    listed = run("--at", T0, "list", "--all", "--format", "json", cwd=repo)
    [campaign] = json.loads(listed.stdout)
    assert (campaign["status"], campaign["name"]) == ("draft", "Winter sale (later)")


def test_a_pending_campaign_that_has_run_cannot_be_withdrawn(repo: Path) -> None:
    recurring = {"delivery": "recurring", "start": START,
                 "recurring": {"every": 1, "unit": "day", "at": "09:00"}}  # fmt: skip
    _config(repo, "approver")
    _write(repo, when=recurring)
    _apply(repo)
    _config(repo, "creator")
    _write(repo, when=recurring, what={"content": {"title": "Sale", "body": "30% off"}})
    _apply(repo, SENDING)  # an edit of a live campaign is sent for approval
    assert _status(repo, SENDING) == "pending_approval"
    _write(repo, when=recurring, state="draft")
    plan = _plan(repo, SENDING)
    [withdraw] = [c for c in plan["changes"] if c["kind"] == "withdraw"]
    assert withdraw["verdict"] == "blocked" and "has run" in withdraw["reason"]


def test_rejected_is_reachable_and_the_creator_resubmits(repo: Path) -> None:
    _pending(repo)
    review = run("--at", T0, "platform", "review", "w", "--reject", cwd=repo)
    assert review.returncode == 0, review.stderr
    assert "rejected w" in review.stdout and _status(repo) == "rejected"
    _write(repo, what={"content": {"title": "Sale", "body": "25% off"}})
    assert _kinds(_plan(repo)) == [("update", "approval"), ("publish", "approval")]
    _apply(repo)
    assert _status(repo) == "pending_approval"
    approve = run("--at", T0, "platform", "review", "w", "--approve", cwd=repo)
    assert approve.returncode == 0 and _status(repo) == "scheduled"
    assert run("--at", T0, "plan", "--detailed-exitcode", cwd=repo).returncode == 0
    again = run("--at", T0, "platform", "review", "w", "--approve", cwd=repo)
    assert again.returncode == 1 and "no campaign 'w' is pending approval" in again.stderr


def test_review_needs_the_workflow(repo: Path) -> None:
    _config(repo, "creator", workflow=False)
    _write(repo)
    _apply(repo)
    review = run("--at", T0, "platform", "review", "w", "--approve", cwd=repo)
    assert review.returncode == 1 and "creator-approver workflow" in review.stderr


@pytest.mark.parametrize("state", ["draft", "stopped"])
def test_an_auto_archived_campaign_is_read_only(repo: Path, state: str) -> None:
    # the plan said "No changes. The platform matches the files." and exited 0
    _config(repo, "creator", workflow=False)
    _write(repo, state="draft")
    _apply(repo)
    if state == "stopped":
        _write(repo)
        _apply(repo)
        _write(repo, state="stopped")
        _apply(repo, SENDING)
    later = "2027-07-15T00:00:00Z"  # 6 months after its last active date: auto-archived
    _write(repo)  # state: active
    result = run("--at", later, "plan", cwd=repo)
    assert result.returncode == 1, result.stdout
    assert "archived campaign is read-only" in result.stdout
    assert "clone it to a new id" in result.stdout
    _write(repo, on_locked_change="replace")
    plan = _plan(repo, later)
    assert _kinds(plan) == [("replace", "ok")]
    _apply(repo, later)
    assert _status(repo, later) == "running"  # the clone, published now
