"""plan, apply and state through the real CLI, on the repo's own campaigns."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from campaign_gitops.applying.audit import os_user
from campaign_gitops.state.base import LockInfo
from campaign_gitops.state.sqlite import SqliteState
from tests.e2e.cli import run

T0 = "2026-11-23T10:00:00Z"
GEN_Z = Path("campaigns/audiences/gen-z-tiktok.yaml")


def _edit(repo: Path, file: Path, old: str, new: str) -> None:
    path = repo / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def _applied(repo: Path) -> None:
    done = run("--at", T0, "apply", "--auto-approve", cwd=repo)
    assert done.returncode == 0, done.stderr


def test_plan_apply_then_nothing_to_do(repo: Path) -> None:
    first = run("--at", T0, "plan", "--detailed-exitcode", cwd=repo)
    assert first.returncode == 2, first.stderr
    assert "+ create label Onboarding" in first.stdout
    assert "+ create campaign welcome-push (published)" in first.stdout
    assert "Plan: 8 label(s) to create, 21 to create." in first.stdout
    assert "\x1b[" not in first.stdout  # not a terminal, and NO_COLOR
    applied = run("--at", T0, "apply", "--auto-approve", cwd=repo)
    assert applied.returncode == 0, applied.stderr
    assert "Apply complete: 29 applied, 0 failed, 0 not applied" in applied.stdout
    again = run("--at", T0, "plan", "--detailed-exitcode", cwd=repo)
    assert again.returncode == 0 and "No changes." in again.stdout
    listed = run("--at", T0, "list", "--format", "json", cwd=repo)
    assert len(json.loads(listed.stdout)) == 21
    state = run("state", "show", "welcome-push", cwd=repo)
    shown = json.loads(state.stdout)
    assert shown["platform_id"] and shown["applied_by"] == os_user()  # not a git checkout
    assert shown["spec"]["name"] == "Welcome push, day 1"
    assert "welcome-push" in run("state", "list", cwd=repo).stdout


def test_update_blocked_json_and_markdown(repo: Path) -> None:
    _applied(repo)
    _edit(repo, GEN_Z, "max: 27", "max: 30")
    before = run("--at", "2026-12-04T00:00:00Z", "plan", "--format", "json", cwd=repo)
    data = json.loads(before.stdout)
    assert data["format_version"] == 2 and data["summary"]["update"] == 1
    [update] = data["changes"]
    assert update["changes"] == [
        {"path": "who.segment.demographics.age.max", "before": 27, "after": 30}
    ]
    after = run("--at", "2026-12-05T02:00:00Z", "plan", "--format", "markdown", cwd=repo)
    assert after.returncode == 1  # blocked
    assert after.stdout.startswith("<!-- campaign-gitops plan -->")
    assert "#### ⛔ Blocked" in after.stdout and "gen-z-tiktok" in after.stdout
    refused = run("--at", "2026-12-05T02:00:00Z", "apply", "--auto-approve", cwd=repo)
    assert refused.returncode == 1 and "nothing was applied" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_saved_plan_applies_exactly_and_refuses_when_stale(repo: Path) -> None:
    _applied(repo)
    _edit(repo, GEN_Z, "max: 27", "max: 30")
    plan_file = repo / "out" / "plan.json"
    saved = run("--at", "2026-12-04T00:00:00Z", "plan", "--out", str(plan_file), cwd=repo)
    assert saved.returncode == 0 and plan_file.exists()
    # the scheduled time passes between plan and apply: the edit would be discarded
    late = run("--at", "2026-12-05T02:00:00Z", "apply", str(plan_file), cwd=repo)
    assert late.returncode == 1
    assert "time-dependent verdict changed: update campaign gen-z-tiktok" in late.stderr
    assert "discarded" in late.stderr
    # the file changes after the plan
    _edit(repo, GEN_Z, "max: 30", "max: 31")
    moved = run("--at", "2026-12-04T00:00:00Z", "apply", str(plan_file), cwd=repo)
    assert moved.returncode == 1
    assert "desired changed: campaign gen-z-tiktok" in moved.stderr
    # the live campaign changes after the plan (an edit in the dashboard)
    run("--at", "2026-12-04T00:00:00Z", "plan", "--out", str(plan_file), cwd=repo)
    db = sqlite3.connect(repo / ".campaign-gitops" / "platform.db")
    with db:
        db.execute("UPDATE campaigns SET version = version + 1 WHERE key = 'gen-z-tiktok'")
    db.close()
    live = run("--at", "2026-12-04T00:00:00Z", "apply", str(plan_file), cwd=repo)
    assert live.returncode == 1 and "live changed: campaign gen-z-tiktok" in live.stderr
    # a fresh plan applies, without a question
    run("--at", "2026-12-04T00:00:00Z", "plan", "--out", str(plan_file), cwd=repo)
    ok = run("--at", "2026-12-04T00:00:00Z", "apply", str(plan_file), cwd=repo)
    assert ok.returncode == 0, ok.stderr
    assert "Apply complete: 1 applied" in ok.stdout


def test_apply_asks_unless_auto_approve(repo: Path) -> None:
    refused = run("--at", T0, "apply", cwd=repo)
    assert refused.returncode == 1 and "--auto-approve" in refused.stderr
    listed = run("--at", T0, "list", "--format", "json", cwd=repo)
    assert json.loads(listed.stdout) == []


def test_lock_names_its_holder_and_unlock(repo: Path) -> None:
    state = SqliteState(repo / ".campaign-gitops" / "state.db")
    holder = LockInfo.mine("alice@ci")
    state.acquire(holder, 0)
    blocked = run("--at", T0, "apply", "--auto-approve", "--lock-timeout", "1s", cwd=repo)
    assert blocked.returncode == 1
    for part in ("alice@ci", holder.host, holder.started_at, holder.lock_id):
        assert part in blocked.stderr
    unlocked = run("state", "unlock", holder.lock_id, cwd=repo)
    assert unlocked.returncode == 0, unlocked.stderr
    assert run("state", "unlock", holder.lock_id, cwd=repo).returncode == 1
    state.close()
    _applied(repo)


def test_partial_failure_reports_what_was_and_was_not_applied(repo: Path) -> None:
    db_path = repo / ".campaign-gitops" / "platform.db"
    assert run("--at", T0, "list", cwd=repo).returncode == 0  # creates the platform
    db = sqlite3.connect(db_path)
    db.execute(
        "CREATE TRIGGER outage BEFORE INSERT ON campaigns WHEN NEW.key = 'exit-discount' "
        "BEGIN SELECT RAISE(ABORT, 'the platform is down'); END"
    )
    db.commit()
    stopped = run("--at", T0, "apply", "--auto-approve", cwd=repo)
    assert stopped.returncode == 1
    assert "create campaign exit-discount failed" in stopped.stderr
    assert "Apply incomplete: 11 applied, 1 failed, 17 not applied" in stopped.stdout
    assert "Not applied:" in stopped.stderr and "welcome-push" in stopped.stderr
    going_on = run("--at", T0, "apply", "--auto-approve", "--continue-on-error", cwd=repo)
    assert going_on.returncode == 1
    assert "Apply incomplete: 17 applied, 1 failed, 0 not applied" in going_on.stdout
    db.execute("DROP TRIGGER outage")
    db.commit()
    db.close()
    healed = run("--at", T0, "apply", "--auto-approve", cwd=repo)
    assert healed.returncode == 0 and "Apply complete: 1 applied" in healed.stdout


def test_environments(repo: Path) -> None:
    (repo / "campaign-gitops.toml").write_text(
        'backend = "local"\n\n[environments.staging]\nplatform = "staging/platform.db"\n'
        'state = "staging/state.db"\n'
    )
    staged = run("--at", T0, "apply", "--env", "staging", "--auto-approve", cwd=repo)
    assert staged.returncode == 0, staged.stderr
    assert (repo / "staging" / "platform.db").exists()
    plan = run("--at", T0, "--env", "staging", "plan", "--format", "json", cwd=repo)
    assert json.loads(plan.stdout)["env"] == "staging"
    assert json.loads(plan.stdout)["changes"] == []
    default = run("--at", T0, "plan", "--detailed-exitcode", cwd=repo)
    assert default.returncode == 2  # the default environment is untouched
    unknown = run("plan", "--env", "prod", cwd=repo)
    assert unknown.returncode == 1
    assert "no environment named 'prod' (environments: default, staging)" in unknown.stderr


def test_forget_and_prune_through_the_cli(repo: Path) -> None:
    _applied(repo)
    (repo / "campaigns" / "onboarding" / "welcome-push.yaml").unlink()
    plan = run("--at", "2026-12-02T00:00:00Z", "plan", cwd=repo)
    assert ". forget campaign welcome-push" in plan.stdout
    pruned = run("--at", "2026-12-02T00:00:00Z", "plan", "--prune", cwd=repo)
    assert "- stop campaign welcome-push" in pruned.stdout
    run("--at", "2026-12-02T00:00:00Z", "apply", "--auto-approve", cwd=repo)
    listed = json.loads(
        run("--at", "2026-12-02T00:00:00Z", "list", "--format", "json", cwd=repo).stdout
    )
    assert {c["id"]: c["status"] for c in listed}["welcome-push"] == "running"
    assert run("state", "show", "welcome-push", cwd=repo).returncode == 1


def test_drift_refresh_only_and_replace_through_the_cli(repo: Path) -> None:
    _applied(repo)
    before, running = "2026-12-04T00:00:00Z", "2026-12-05T00:30:00Z"  # it runs at 00:00
    db = sqlite3.connect(repo / ".campaign-gitops" / "platform.db")
    with db:  # an edit in the dashboard
        spec = json.loads(
            db.execute("SELECT spec FROM campaigns WHERE key = 'gen-z-tiktok'").fetchone()[0]
        )
        spec["name"] = "Renamed in the dashboard"
        db.execute(
            "UPDATE campaigns SET spec = ?, name = ?, version = version + 1 "
            "WHERE key = 'gen-z-tiktok'",
            (json.dumps(spec), spec["name"]),
        )
    db.close()
    refresh = run("--at", before, "plan", "--refresh-only", "--detailed-exitcode", cwd=repo)
    assert refresh.returncode == 2
    assert (
        'gen-z-tiktok name: last applied "Gen Z browsers (TikTok audience)", '
        'live "Renamed in the dashboard", desired "Gen Z browsers (TikTok audience)" -> git wins'
    ) in refresh.stdout
    assert "Refresh only" in refresh.stdout and "~ update campaign" not in refresh.stdout
    healed = run("--at", before, "plan", cwd=repo)
    assert "~ update campaign gen-z-tiktok [name]" in healed.stdout  # git wins
    _edit(repo, GEN_Z, "max: 27", "max: 30")  # the audience of a running campaign
    blocked = run("--at", running, "plan", cwd=repo)
    assert blocked.returncode == 1 and "BLOCKED" in blocked.stdout
    replaced = run("--at", running, "apply", "--auto-approve", "--allow-replace", cwd=repo)
    assert replaced.returncode == 0, replaced.stderr
    assert "-/+ replace campaign gen-z-tiktok" in replaced.stdout
    listed = json.loads(run("--at", running, "list", "--all", "--format", "json", cwd=repo).stdout)
    statuses = sorted(c["status"] for c in listed if c["id"] == "gen-z-tiktok")
    assert statuses == ["running", "stopped"]
    assert run("--at", running, "plan", "--detailed-exitcode", cwd=repo).returncode == 0
