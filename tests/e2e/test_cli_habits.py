"""Habits users bring to the CLI (issue #19): global options after the command, Terraform's
single-dash flags, and output that reads well on its own. Through the real CLI."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from campaign_gitops.cli.spellings import rewrite_terraform_flags
from campaign_gitops.state.base import LockInfo
from campaign_gitops.state.sqlite import SqliteState
from tests.e2e.cli import run

T0 = "2026-11-23T10:00:00Z"
T1 = "2026-11-24T08:30:00Z"


def _applied(repo: Path) -> None:
    done = run("--at", T0, "apply", "--auto-approve", cwd=repo)
    assert done.returncode == 0, done.stderr


# --- global options before or after the command ---------------------------------------------


def test_at_after_the_command_and_after_wins(repo: Path) -> None:
    after = run("plan", "--at", T0, cwd=repo)
    assert after.returncode == 0, after.stderr
    assert "at 2026-11-23T10:00:00+00:00" in after.stdout
    both = run("--at", T0, "plan", "--at", T1, cwd=repo)
    assert "at 2026-11-24T08:30:00+00:00" in both.stdout
    listed = run("list", "--at", "2026-12-01T00:00:00Z", "--format", "json", cwd=repo)
    assert listed.returncode == 0 and json.loads(listed.stdout) == []


def test_chdir_after_a_subcommand(repo: Path, tmp_path: Path) -> None:
    _applied(repo)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    listed = run("state", "list", "-C", str(repo), cwd=elsewhere)
    assert listed.returncode == 0, listed.stderr
    assert "welcome-push" in listed.stdout
    both = run("-C", str(elsewhere), "state", "list", "--chdir", str(repo), cwd=elsewhere)
    assert both.returncode == 0 and "welcome-push" in both.stdout


def test_env_and_config_after_the_command(repo: Path) -> None:
    (repo / "campaign-gitops.toml").write_text(
        'backend = "local"\n\n[environments.staging]\nplatform = "staging/platform.db"\n'
        'state = "staging/state.db"\n'
    )
    wrong = run("--env", "staging", "state", "list", "--env", "prod", cwd=repo)
    assert wrong.returncode == 1 and "no environment named 'prod'" in wrong.stderr
    right = run("--env", "prod", "state", "list", "--env", "staging", cwd=repo)
    assert right.returncode == 0, right.stderr
    missing = run("plan", "--config", "missing.toml", cwd=repo)
    assert missing.returncode == 1 and "--config missing.toml: no such file" in missing.stderr
    assert "Traceback" not in missing.stderr
    found = run("--config", "missing.toml", "plan", "--config", "campaign-gitops.toml", cwd=repo)
    assert found.returncode == 0, found.stderr


def test_verbose_after_the_command(repo: Path) -> None:
    quiet = run("plan", "--at", "garbage", cwd=repo)
    assert quiet.returncode == 1 and "Traceback" not in quiet.stderr
    assert "is not an ISO 8601 time" in quiet.stderr
    loud = run("plan", "--at", "garbage", "-v", cwd=repo)
    assert loud.returncode == 1 and "Traceback" in loud.stderr


# --- Terraform's single-dash spellings ------------------------------------------------------


def test_rewrite_table() -> None:
    args = ["plan", "-out=p.bin", "-target", "a", "-detailed-exitcode", "--", "-out", "-target=b"]
    assert rewrite_terraform_flags(args) == [
        "plan", "--out=p.bin", "--target", "a", "--detailed-exitcode", "--", "-out", "-target=b",
    ]  # fmt: skip
    assert rewrite_terraform_flags(["apply", "-auto-approve", "-lock-timeout=5s"]) == [
        "apply", "--auto-approve", "--lock-timeout=5s",
    ]  # fmt: skip
    assert rewrite_terraform_flags(["-v", "-C", "d", "-outward"]) == ["-v", "-C", "d", "-outward"]


def test_plan_spellings(repo: Path) -> None:
    detailed = run("--at", T0, "plan", "-detailed-exitcode", cwd=repo)
    assert detailed.returncode == 2, detailed.stderr
    for out in (["-out=first.bin"], ["-out", "second.bin"]):
        saved = run("--at", T0, "plan", *out, cwd=repo)
        assert saved.returncode == 0, saved.stderr
    assert (repo / "first.bin").exists() and (repo / "second.bin").exists()
    for target in (["-target=welcome-push"], ["-target", "welcome-push"]):
        partial = run("--at", T0, "plan", *target, "--format", "json", cwd=repo)
        assert partial.returncode == 0, partial.stderr
        data = json.loads(partial.stdout)
        assert data["targets"] == ["welcome-push"]
        assert [c["key"] for c in data["changes"] if c["target"] == "campaign"] == ["welcome-push"]


def test_apply_spellings(repo: Path) -> None:
    applied = run("--at", T0, "apply", "-auto-approve", "-lock-timeout=5s", cwd=repo)
    assert applied.returncode == 0, applied.stderr
    assert "Apply complete: 29 applied" in applied.stdout
    state = SqliteState(repo / ".campaign-gitops" / "state.db")
    holder = LockInfo.mine("alice@ci")
    state.acquire(holder, 0)
    try:
        for timeout in (["-lock-timeout=1s"], ["-lock-timeout", "1s"]):
            blocked = run("--at", T0, "apply", "-auto-approve", *timeout, cwd=repo)
            assert blocked.returncode == 1 and "alice@ci" in blocked.stderr
            assert "Traceback" not in blocked.stderr
    finally:
        state.release(holder.lock_id)
        state.close()


def test_nothing_after_double_dash_is_rewritten(repo: Path) -> None:
    cloned = run("clone", "--", "-out", "copy", cwd=repo)
    assert cloned.returncode != 0
    assert "'-out' is not a campaign id" in cloned.stderr
    assert "Traceback" not in cloned.stderr


@pytest.mark.parametrize("args", [["plan", "-auto-approve"], ["apply", "-out=x.bin"]])
def test_a_spelling_the_command_lacks_is_a_usage_error(repo: Path, args: list[str]) -> None:
    wrong = run(*args, cwd=repo)
    assert wrong.returncode == 2
    assert "No such option" in wrong.stderr and "Traceback" not in wrong.stderr


# --- output that reads well on its own ------------------------------------------------------


def test_label_rename_and_description_show_before_and_after(repo: Path) -> None:
    _applied(repo)
    labels = repo / "labels.yaml"
    text = labels.read_text()
    text = text.replace("  - name: Promotions\n", "  - name: Sales\n    renamed_from: Promotions\n")
    text = text.replace("Editorial content on a fixed cadence", "Editorial content, weekly")
    labels.write_text(text)
    for path in (repo / "campaigns").rglob("*.yaml"):
        path.write_text(path.read_text().replace("Promotions", "Sales"))
    plan = run("--at", T0, "plan", cwd=repo)
    assert plan.returncode == 0, plan.stderr
    lines = plan.stdout.splitlines()
    at = lines.index("    ~ rename label Sales")
    assert lines[at + 1] == '      name: "Promotions" -> "Sales"'
    at = lines.index("    ~ update label Newsletter")
    assert lines[at + 1] == (
        '      description: "Editorial content on a fixed cadence" -> "Editorial content, weekly"'
    )
    markdown = run("--at", T0, "plan", "--format", "markdown", cwd=repo)
    assert 'name: "Promotions" -> "Sales"' in markdown.stdout


def test_validate_reports_on_stdout(repo: Path) -> None:
    fine = run("validate", cwd=repo)
    assert fine.returncode == 0 and fine.stdout.startswith("ok: 21 campaigns") and not fine.stderr
    path = repo / "campaigns" / "onboarding" / "welcome-push.yaml"
    path.write_text(path.read_text() + "surprise: 1\n")
    broken = run("validate", cwd=repo)
    assert broken.returncode == 1 and broken.stderr == ""
    lines = broken.stdout.splitlines()
    assert lines[-1] == "1 problem(s) found"
    assert lines[0].startswith("campaigns/onboarding/welcome-push.yaml:")
    assert lines[0].endswith("[unknown-field]")


def test_estimate_on_an_unseeded_platform_says_to_seed(repo: Path) -> None:
    hint = "Note: reach ≈ 0 means nothing yet: the local platform has no users. Run "
    empty = run("--at", T0, "plan", "--estimate", cwd=repo)
    assert empty.returncode == 0, empty.stderr
    assert "reach ≈ 0)" in empty.stdout
    assert hint + "`campaign-gitops platform seed`" in empty.stdout
    assert hint not in run("--at", T0, "plan", cwd=repo).stdout  # no figures, no hint
    seeded = run("--at", T0, "platform", "seed", "--users", "300", cwd=repo)
    assert seeded.returncode == 0, seeded.stderr
    again = run("--at", T0, "plan", "--estimate", cwd=repo)
    assert again.returncode == 0 and "reach ≈" in again.stdout and hint not in again.stdout


def _outage(repo: Path) -> None:
    """The platform refuses to create exit-discount (as in test_plan_apply_cli)."""
    assert run("--at", T0, "list", cwd=repo).returncode == 0  # creates the platform
    db = sqlite3.connect(repo / ".campaign-gitops" / "platform.db")
    db.execute(
        "CREATE TRIGGER outage BEFORE INSERT ON campaigns WHEN NEW.key = 'exit-discount' "
        "BEGIN SELECT RAISE(ABORT, 'the platform is down'); END"
    )
    db.commit()
    db.close()


def _blocked(repo: Path) -> str:
    _applied(repo)
    path = repo / "campaigns" / "audiences" / "gen-z-tiktok.yaml"
    path.write_text(path.read_text().replace("max: 27", "max: 30"))
    return "2026-12-05T02:00:00Z"  # when the edit is blocked


def test_apply_json_is_one_document_with_a_result_per_change(repo: Path) -> None:
    planned = json.loads(run("--at", T0, "plan", "--format", "json", cwd=repo).stdout)
    done = run("--at", T0, "apply", "--auto-approve", "--format", "json", cwd=repo)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)  # stdout holds the document alone
    assert data["format_version"] == 1 and data["ok"] is True
    results = data["results"]
    assert [(r["target"], r["kind"], r["key"]) for r in results] == [
        (c["target"], c["kind"], c["key"]) for c in planned["changes"]
    ]
    assert len(results) == 29 and len({r["apply_id"] for r in results}) == 1
    for result in results:
        assert result["status"] == "applied" and result["error"] is None
        assert result["title"] == f"{result['kind']} {result['target']} {result['key']}"
    # the plan, the steps and the outcome went to stderr
    assert "+ create campaign welcome-push (published)" in done.stderr
    assert "+ create campaign welcome-push: done" in done.stderr
    assert "Apply complete: 29 applied" in done.stderr
    again = run("--at", T0, "apply", "--auto-approve", "--format", "json", cwd=repo)
    assert json.loads(again.stdout) == {
        "format_version": 1, "ok": True, "results": [], "refused": None,
    }  # fmt: skip


def test_apply_json_reports_failed_and_not_applied(repo: Path) -> None:
    _outage(repo)
    done = run("--at", T0, "apply", "--auto-approve", "--format", "json", cwd=repo)
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert data["ok"] is False
    by_key = {r["key"]: r for r in data["results"]}
    assert by_key["exit-discount"]["status"] == "failed"
    assert "the platform is down" in by_key["exit-discount"]["error"]
    statuses = [r["status"] for r in data["results"]]
    assert statuses.count("applied") == 11 and statuses.count("not_applied") == 17
    assert by_key["welcome-push"]["status"] == "not_applied"
    assert by_key["welcome-push"]["error"] is None
    assert "create campaign exit-discount failed" in done.stderr


def test_apply_json_of_a_blocked_plan(repo: Path) -> None:
    at = _blocked(repo)
    done = run("--at", at, "apply", "--auto-approve", "--format", "json", cwd=repo)
    assert done.returncode == 1 and "nothing was applied" in done.stderr
    data = json.loads(done.stdout)
    assert data["ok"] is False
    [result] = data["results"]
    assert (result["key"], result["status"], result["apply_id"]) == (
        "gen-z-tiktok", "blocked", None,
    )  # fmt: skip
    assert result["reason"]
    refused = data["refused"]
    assert refused["kind"] == "blocked" and "nothing was applied" in refused["message"]
    assert [item.split(":")[0] for item in refused["items"]] == ["update campaign gen-z-tiktok"]


def test_apply_json_of_a_stale_saved_plan_says_why_as_data(repo: Path) -> None:
    _applied(repo)
    path = repo / "campaigns" / "audiences" / "gen-z-tiktok.yaml"
    path.write_text(path.read_text().replace("max: 27", "max: 26"))
    saved = run("--at", T0, "plan", "--out", "saved.plan", cwd=repo)
    assert saved.returncode == 0, saved.stderr
    path.write_text(path.read_text().replace("max: 26", "max: 25"))  # moved since the plan
    done = run("--at", T0, "apply", "--format", "json", "saved.plan", cwd=repo)
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert (data["ok"], data["results"], data["refused"]["kind"]) == (False, [], "stale")
    assert data["refused"]["items"] and data["refused"]["message"] in done.stderr


def test_apply_quiet_prints_the_outcome_and_failures_only(repo: Path) -> None:
    done = run("--at", T0, "apply", "--auto-approve", "--quiet", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    [line] = done.stdout.splitlines()
    assert line.startswith("Apply complete: 29 applied, 0 failed, 0 not applied (apply ")
    nothing = run("--at", T0, "apply", "--auto-approve", "-q", cwd=repo)
    assert nothing.stdout.splitlines() == ["No changes. The platform matches the files."]


def test_apply_quiet_with_failures(repo: Path) -> None:
    _outage(repo)
    done = run("--at", T0, "apply", "--auto-approve", "--quiet", cwd=repo)
    assert done.returncode == 1
    [line] = done.stdout.splitlines()
    assert line.startswith("Apply incomplete: 11 applied, 1 failed, 17 not applied")
    errors = done.stderr.splitlines()
    assert len(errors) == 1 + 1 + 17  # the failure, "Not applied:", each change not applied
    assert errors[0].startswith("error: create campaign exit-discount failed:")
    assert errors[1] == "Not applied:"


def test_apply_quiet_of_a_blocked_plan(repo: Path) -> None:
    at = _blocked(repo)
    done = run("--at", at, "apply", "--auto-approve", "--quiet", cwd=repo)
    assert done.returncode == 1 and done.stdout == ""
    errors = done.stderr.splitlines()
    assert len(errors) == 2
    assert errors[0].startswith("  ! update campaign gen-z-tiktok: ")
    assert errors[1].startswith("error: 1 change(s) are blocked")


def test_init_runs_where_chdir_says(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    for args in (["-C", "base", "init", "one"], ["init", "two", "-C", "base"]):
        made = run(*args, cwd=tmp_path)
        assert made.returncode == 0, made.stderr
    assert (tmp_path / "base" / "one" / "labels.yaml").exists()
    assert (tmp_path / "base" / "two" / "labels.yaml").exists()
    assert run("validate", "-C", "base/two", cwd=tmp_path).returncode == 0


def test_shell_completion(tmp_path: Path) -> None:
    script = run(cwd=tmp_path, env={"_CAMPAIGN_GITOPS_COMPLETE": "bash_source"})
    assert script.returncode == 0 and "_campaign_gitops_completion()" in script.stdout

    def complete(words: str) -> list[str]:
        env = {
            "_CAMPAIGN_GITOPS_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - 1),
        }
        done = run(cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()

    assert complete("campaign-gitops pl") == ["plain,plan", "plain,platform"]
    assert complete("campaign-gitops state list --ch") == ["plain,--chdir"]
    assert complete("campaign-gitops apply --aut") == ["plain,--auto-approve"]
