"""Issue #18, the audit trail: the state store records, with each campaign an apply changes, the
commit and whether the campaign files, labels file and config were as in it (a dirty tree: the
applied file was not in that commit), and who applied a local run (the git user, else the OS
user). In CI (GITHUB_ACTIONS=true) apply refuses files that are not as committed."""

from __future__ import annotations

import getpass
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from campaign_gitops.state.base import Managed
from campaign_gitops.state.schema import BASE, MIGRATIONS, VERSION_DDL
from tests.e2e.cli import run
from tests.e2e.test_github_flow import git, make_repo
from tests.e2e.test_state_migrations import Store, make  # noqa: F401 - a fixture

T0 = "2026-11-23T10:00:00Z"
PUSH = "campaigns/onboarding/welcome-push.yaml"
OS_USER = f"{getpass.getuser()}@{socket.gethostname()}"


def shown(repo: Path, key: str = "welcome-push", env: dict[str, str] | None = None) -> Any:
    done = run("state", "show", key, cwd=repo, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_clean_apply_records_the_commit_and_the_git_user(repo: Path) -> None:
    make_repo(repo)
    head = git(repo, "rev-parse", "HEAD")
    done = run("--at", T0, "apply", "--auto-approve", cwd=repo)
    assert done.returncode == 0, done.stderr
    record = shown(repo)
    assert (record["commit"], record["dirty"], record["clean"]) == (head, [], True)
    assert record["applied_by"] == "Dana Author <dana@example.com>"  # not `campaign-gitops`
    assert record["history"][-1]["dirty"] == []


def test_a_dirty_tree_is_recorded_with_the_files_not_in_the_commit(repo: Path) -> None:
    make_repo(repo)
    head = git(repo, "rev-parse", "HEAD")
    push = repo / PUSH
    push.write_text(push.read_text().replace("Welcome", "Hello", 1))
    (repo / "campaigns" / "notes.txt").write_text("not a campaign file\n")  # never read
    labels = repo / "labels.yaml"
    labels.write_text(labels.read_text() + "  - name: Untracked label\n")
    done = run("--at", T0, "apply", "--auto-approve", cwd=repo)
    assert done.returncode == 0, done.stderr
    record = shown(repo)
    assert record["commit"] == head and record["clean"] is False
    assert record["dirty"] == ["campaigns/onboarding/welcome-push.yaml", "labels.yaml"]
    # an untouched campaign of the same apply: the apply's files were not the commit's
    assert shown(repo, "cart-abandonment")["dirty"] == record["dirty"]
    git(repo, "commit", "-qam", "hello")
    push.write_text(push.read_text().replace("Hello", "Hi", 1))
    git(repo, "add", PUSH)  # staged is not committed
    assert run("--at", T0, "apply", "--auto-approve", cwd=repo).returncode == 0
    assert shown(repo)["dirty"] == [PUSH]
    assert [h["dirty"] for h in shown(repo)["history"]][-2:] == [record["dirty"], [PUSH]]


def test_without_a_git_user_the_os_user_applied(repo: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    alone = {"HOME": str(home), "XDG_CONFIG_HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1"}
    git(repo, "init", "-q", "-b", "main")
    done = run("--at", T0, "apply", "--auto-approve", cwd=repo, env=alone)
    assert done.returncode == 0, done.stderr
    record = shown(repo, env=alone)
    assert record["applied_by"] == OS_USER
    assert record["commit"] is None and PUSH in record["dirty"]  # nothing committed yet


def test_outside_git_the_os_user_applied_and_cleanliness_is_unknown(repo: Path) -> None:
    assert run("--at", T0, "apply", "--auto-approve", cwd=repo).returncode == 0
    record = shown(repo)
    assert (record["applied_by"], record["commit"], record["dirty"]) == (OS_USER, None, None)
    assert record["clean"] is None


CI = {"GITHUB_ACTIONS": "true"}


@pytest.mark.parametrize(
    "edit",
    [
        "campaign",
        "new campaign",
        "labels",
        "config",
    ],
)
def test_in_ci_apply_refuses_files_not_as_committed(repo: Path, edit: str) -> None:
    make_repo(repo)
    if edit == "campaign":
        (repo / PUSH).write_text((repo / PUSH).read_text() + "# edited in the job\n")
    elif edit == "new campaign":
        (repo / "campaigns" / "extra.yaml").write_text((repo / PUSH).read_text())
    elif edit == "labels":
        (repo / "labels.yaml").write_text((repo / "labels.yaml").read_text() + "\n")
    else:
        (repo / "campaign-gitops.toml").write_text(
            (repo / "campaign-gitops.toml").read_text() + "\n"
        )
    done = run("--at", T0, "apply", "--auto-approve", cwd=repo, env=CI)
    assert done.returncode == 1
    assert "in CI (GITHUB_ACTIONS=true) apply runs only from files as committed" in done.stderr
    assert "nothing was applied" in done.stderr and "Traceback" not in done.stderr
    listed = run("state", "list", "--format", "json", cwd=repo)
    assert json.loads(listed.stdout) == []  # nothing applied, nothing recorded
    assert not (repo / ".campaign-gitops" / "platform.db").exists()  # the platform untouched


def test_in_ci_apply_refuses_outside_a_git_checkout(repo: Path) -> None:
    done = run("--at", T0, "apply", "--auto-approve", cwd=repo, env=CI)
    assert done.returncode == 1 and "runs only from a git checkout" in done.stderr


def test_the_dirty_column_migrates_from_the_store_before_it(make: Any) -> None:  # noqa: F811
    [audit] = [m for m in MIGRATIONS if "ADD COLUMN dirty" in " ".join(m.statements)]
    before = audit.version - 1
    store: Store = make()
    older = [s for m in MIGRATIONS if m.version <= before for s in m.statements]
    store.query(
        *BASE,
        *older,
        VERSION_DDL,
        f"INSERT INTO schema_version VALUES (1, {before})",
        "INSERT INTO managed (id, platform_id, spec, applied_at, applied_by, commit_sha, "
        "pull_request, history, author, merged_by, approvers) VALUES ('welcome', '1', '{}', "
        f"'{T0}', 'ci', 'c0ffee', NULL, '[]', NULL, NULL, '[]')",
    )
    state = store.open()
    try:
        assert state.managed()["welcome"].dirty is None  # not known: recorded before
        [export] = store.exports()
        assert json.loads(export.read_text())["managed"][0]["dirty"] is None
        state.record(Managed("welcome", "1", {}, T0, "Dana <d@x>", "beef", dirty=("labels.yaml",)))
        state.record(Managed("clean", "2", {}, T0, "Dana <d@x>", "beef", dirty=()))
        managed = state.managed(history=True)
        assert (managed["welcome"].dirty, managed["clean"].dirty) == (("labels.yaml",), ())
        assert managed["welcome"].history[-1]["dirty"] == ["labels.yaml"]
        doc = state.export()
    finally:
        state.close()
    fresh = make().open()
    try:
        fresh.import_(doc)
        assert fresh.managed()["welcome"].dirty == ("labels.yaml",)
        assert fresh.managed()["clean"].dirty == ()
    finally:
        fresh.close()
