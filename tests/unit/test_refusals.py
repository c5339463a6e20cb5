"""Each kind of refusal, in-process: the plan's (a stale saved plan with its items, one of
another environment or account, one made without a refresh, blocked changes) and the
approval's at apply time (no pull request, not approved, the creator-approver fallback, a plan
that moved since its approval, a rewritten branch). Through the CLI: test_saved_plans.py,
test_plan_apply_cli.py, test_apply_merged.py."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from campaign_gitops.approval import at_apply
from campaign_gitops.approval.gate import Run, _start
from campaign_gitops.approval.mainline import Step
from campaign_gitops.approval.reviews import Approval
from campaign_gitops.config import RawConfig, Settings
from campaign_gitops.errors import FatalError
from campaign_gitops.github import GitHub
from campaign_gitops.gitrepo import Repo
from campaign_gitops.plan import BLOCKED, Create, Plan, Update
from campaign_gitops.refusals import PlanRefused, Refusal, refuse_blocked
from campaign_gitops.saved_plans import check_saved
from campaign_gitops.state.base import Cursor

T0 = datetime(2026, 11, 23, 10, tzinfo=UTC)
PUBLISH = Create("sale", publish=True, review=("publishes a new campaign",))


def _plan(*changes: Any, **fields: Any) -> Plan:
    base: dict[str, Any] = {
        "desired_checksums": {"sale": "aaaa"},
        "live_versions": {},
        "account": None,
        "endpoint": ".campaign-gitops/platform.db",
    }
    return Plan(at=T0, changes=list(changes), **(base | fields))


def _refused(call: Any, *args: Any) -> PlanRefused:
    with pytest.raises(PlanRefused) as info:
        call(*args)
    assert isinstance(info.value, FatalError) and info.value.exit_code == 1
    return info.value


def test_refusal_kinds_are_words() -> None:
    assert str(Refusal.WRONG_ENVIRONMENT) == "wrong-environment"
    assert {"stale", "blocked", "wrong-environment", "approval-missing"} <= set(Refusal)


# --- the plan's ------------------------------------------------------------------------------


def test_a_saved_plan_that_still_holds_applies() -> None:
    check_saved(_plan(Create("sale")), _plan(Create("sale")))


def test_stale_with_its_items() -> None:
    saved = _plan(Create("sale"))
    fresh = _plan(Create("sale"), desired_checksums={"sale": "bbbb"})
    refused = _refused(check_saved, saved, fresh)
    assert refused.kind == Refusal.STALE
    assert refused.items == ("desired changed: campaign sale (its file changed since the plan)",)
    assert str(refused).startswith("the saved plan is stale; nothing was applied:\n  - desired")
    assert str(refused).endswith("\nPlan again.")


def test_stale_when_only_the_changes_differ() -> None:
    refused = _refused(check_saved, _plan(Create("sale")), _plan(Create("sale", publish=True)))
    assert refused.kind == Refusal.STALE
    assert refused.items == ("the changes differ from the saved plan's (see the new plan)",)


def test_wrong_environment() -> None:
    refused = _refused(check_saved, _plan(env="staging"), _plan(env="default"))
    assert refused.kind == Refusal.WRONG_ENVIRONMENT
    assert str(refused) == "the plan is for environment 'staging', not 'default'"
    other = _refused(check_saved, _plan(account="123"), _plan(account="456"))
    assert other.kind == Refusal.WRONG_ENVIRONMENT
    assert "the plan was made for local account 123 at" in str(other)
    assert other.items == (
        "local account 123 at .campaign-gitops/platform.db, "
        "not local account 456 at .campaign-gitops/platform.db",
    )


def test_not_refreshed() -> None:
    refused = _refused(check_saved, _plan(refreshed=False), _plan())
    assert refused.kind == Refusal.NOT_REFRESHED and "--no-refresh" in str(refused)


def test_blocked_changes() -> None:
    refuse_blocked(_plan(Create("sale")))  # nothing blocked: no refusal
    blocked = Update("gen-z", verdict=BLOCKED, reason="the audience of a running campaign")
    refused = _refused(refuse_blocked, _plan(blocked, Create("sale")))
    assert refused.kind == Refusal.BLOCKED
    assert refused.items == ("update campaign gen-z: the audience of a running campaign",)
    assert str(refused).startswith("1 change(s) are blocked by the platform's rules")
    at_main = _refused(at_apply.refuse_blocked, _plan(blocked))
    assert at_main.kind == Refusal.BLOCKED and at_main.items == refused.items


# --- the approval's, at apply time on main ---------------------------------------------------


def _settings(tmp_path: Path, **raw: Any) -> Settings:
    return Settings(tmp_path, None, RawConfig.model_validate(raw))


def _approval(ok: bool) -> Approval:
    refused = [] if ok else ["ann opened the pull request"]
    return Approval(7, "ann", "c" * 40, ["bob"] if ok else [], refused, [PUBLISH], by_approver=ok)


def test_no_pull_request_covers_a_change_that_needs_approval(tmp_path: Path) -> None:
    github = cast(GitHub, None)  # not asked: there is no pull request to ask about
    step = Step(("a" * 40,), "b" * 40, None)
    assert at_apply.review(github, _settings(tmp_path), step, _plan(Create("sale"))) is None
    refused = _refused(at_apply.review, github, _settings(tmp_path), step, _plan(PUBLISH))
    assert refused.kind == Refusal.NO_PULL_REQUEST
    assert refused.items == ("create campaign sale",)
    assert str(refused) == (
        "no approved, merged pull request covers it, and it changes: create campaign sale"
    )


def test_approval_missing(tmp_path: Path) -> None:
    settings = _settings(tmp_path, approval={"approvers": ["bob"]})
    refused = _refused(at_apply.decide, settings, _plan(PUBLISH), _approval(False))
    assert refused.kind == Refusal.APPROVAL_MISSING and str(refused) == "not approved"
    assert refused.items == ("ann opened the pull request",)
    assert at_apply.decide(settings, _plan(Create("sale")), None) == at_apply.Approved()


def test_creator_approver_fallback(tmp_path: Path) -> None:
    settings = _settings(tmp_path, approval={"approvers": ["bob"]}, creator_approver=True)
    asked: list[Approval] = []

    def moved(approval: Approval) -> None:
        asked.append(approval)

    approved = at_apply.decide(settings, _plan(PUBLISH), _approval(False), moved)
    assert approved == at_apply.Approved((), frozenset({"sale"}))
    assert asked == []  # an unapproved plan is not compared with an approved one


def test_approved_unless_the_plan_moved_since(tmp_path: Path) -> None:
    settings = _settings(tmp_path, approval={"approvers": ["bob"]})
    approval = _approval(True)
    approved = at_apply.decide(settings, _plan(PUBLISH), approval, lambda a: None)
    assert approved == at_apply.Approved(("bob",))
    moved = PlanRefused(Refusal.CHANGED_SINCE_APPROVAL, "the plan differs", ["now: x"])
    refused = _refused(at_apply.decide, settings, _plan(PUBLISH), approval, lambda a: moved)
    assert refused is moved and refused.kind == Refusal.CHANGED_SINCE_APPROVAL


def test_history_rewritten(tmp_path: Path) -> None:
    cursor = Cursor("d" * 40, "2026-11-22T10:00:00+00:00", "ci")
    state = SimpleNamespace(cursor=lambda: cursor)
    repo = SimpleNamespace(is_ancestor=lambda a, b: False)
    run = cast(Run, SimpleNamespace(state=state))
    refused = _refused(_start, run, cast(Repo, repo), "e" * 40)
    assert refused.kind == Refusal.HISTORY_REWRITTEN
    assert "is not an ancestor of eeeeeeeeeeee" in str(refused)
