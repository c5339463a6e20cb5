"""Issue #16 item 7: a saved plan applies exactly where it was made and as it was made: bound to
the account and endpoint, with a hash over its content; format_version 1 files are refused."""

from __future__ import annotations

import json
from pathlib import Path

from campaign_gitops.plan import checksum, file_hash
from tests.e2e.cli import run

T0 = "2026-11-23T10:00:00Z"
WELCOME = Path("campaigns/onboarding/welcome-push.yaml")


def _saved(repo: Path) -> tuple[Path, dict[str, object]]:
    assert run("--at", T0, "apply", "--auto-approve", cwd=repo).returncode == 0
    path = repo / WELCOME
    path.write_text(path.read_text().replace("Welcome push, day 1", "Welcome, day 1"))
    out = repo / "plan.json"
    assert run("--at", T0, "plan", "--out", str(out), cwd=repo).returncode == 0
    return out, json.loads(out.read_text())


def test_a_saved_plan_applies_as_made(repo: Path) -> None:
    out, data = _saved(repo)
    assert data["format_version"] == 2 and data["endpoint"] == ".campaign-gitops/platform.db"
    done = run("--at", T0, "apply", str(out), cwd=repo)
    assert done.returncode == 0, done.stderr
    assert run("--at", T0, "plan", "--detailed-exitcode", cwd=repo).returncode == 0


def test_an_edited_plan_file_is_refused(repo: Path) -> None:
    out, data = _saved(repo)
    path = repo / WELCOME
    path.write_text(path.read_text().replace("Welcome, day 1", "Something else"))  # stale now
    # the old way through: make the stored checksum match the file again
    data["desired_checksums"]["welcome-push"] = checksum(path.read_text())  # type: ignore[index]
    out.write_text(json.dumps(data))
    edited = run("--at", T0, "apply", str(out), cwd=repo)
    assert edited.returncode == 1
    assert "the plan's content does not match its hash" in edited.stderr
    # with its hash made again too: the plan it holds is not the plan a fresh one makes
    data["hash"] = file_hash(data)
    out.write_text(json.dumps(data))
    rehashed = run("--at", T0, "apply", str(out), cwd=repo)
    assert rehashed.returncode == 1 and "the saved plan is stale" in rehashed.stderr
    assert "Something else" not in run("--at", T0, "list", "--format", "json", cwd=repo).stdout


def test_a_plan_for_another_platform_or_version_is_refused(repo: Path) -> None:
    out, data = _saved(repo)
    (repo / "campaign-gitops.toml").write_text(
        'backend = "local"\nplatform = ".campaign-gitops/other.db"\n'
    )
    elsewhere = run("--at", T0, "apply", str(out), cwd=repo)
    assert elsewhere.returncode == 1
    assert "the plan was made for local account - at .campaign-gitops/platform.db" in (
        elsewhere.stderr
    )
    data["format_version"] = 1
    out.write_text(json.dumps(data))
    old = run("--at", T0, "apply", str(out), cwd=repo)
    assert old.returncode == 1 and "a plan of format_version 1" in old.stderr


def test_creator_approver_needs_a_backend_with_an_approval_workflow(repo: Path) -> None:
    (repo / "campaign-gitops.toml").write_text(
        'backend = "clevertap"\ncreator_approver = true\n\n[clevertap]\naccount_id = "A"\n'
    )
    done = run("plan", cwd=repo)
    assert done.returncode == 1
    assert "campaign-gitops.toml:2:1: creator_approver:" in done.stderr
    assert "the clevertap backend has none" in done.stderr
