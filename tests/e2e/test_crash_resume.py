"""kill -9 at any point of an apply's journal, then apply again: it converges to what an
uninterrupted apply gives, with no duplicate campaign and no lost step. Also: concurrent applies."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaign_gitops.applying.applier import KILL_AT_ENV
from tests.e2e.cli import run

T0, AT = "2026-11-23T10:00:00Z", "2026-12-02T10:00:00Z"  # AT: the campaigns are running


def _campaign(name: str, labels: str, who: str = "New", **extra: str) -> str:
    lines = [
        f"name: {name}",
        "channel: push",
        f"labels: [{labels}]",
        "who:",
        "  segment:",
        f"    user_properties: [{{name: Customer Type, op: equals, value: {who}}}]",
        "what:",
        "  content: {title: Hi, body: There}",
        "when:",
        "  delivery: action",
        "  trigger: {event: App Installed}",
        "  start: 2026-12-01T00:00:00Z",
        *(f"{k}: {v}" for k, v in extra.items()),
    ]
    return "\n".join(lines) + "\n"


def _write_base(root: Path) -> None:
    (root / "campaigns").mkdir(parents=True)
    (root / "campaign-gitops.toml").write_text('backend = "local"\n')
    (root / "labels.yaml").write_text("labels:\n  - name: Old\n  - name: Keep\n")
    (root / "campaigns" / "a.yaml").write_text(_campaign("A", "Old"))
    (root / "campaigns" / "b.yaml").write_text(_campaign("B", "Keep", on_locked_change="replace"))
    (root / "campaigns" / "c.yaml").write_text(_campaign("C", "Keep"))


def _write_change(root: Path) -> None:
    (root / "labels.yaml").write_text(
        "labels:\n  - name: New\n    renamed_from: Old\n  - name: Keep\n    description: kept\n"
    )
    (root / "campaigns" / "a.yaml").write_text(_campaign("A renamed", "New"))
    (root / "campaigns" / "b.yaml").write_text(
        _campaign("B", "Keep", who="Gold", on_locked_change="replace")
    )
    (root / "campaigns" / "c.yaml").unlink()
    (root / "campaigns" / "d.yaml").write_text(_campaign("D", "New, Keep"))


def _snapshot(root: Path) -> dict[str, Any]:
    listed = run("--at", AT, "list", "--all", "--format", "json", cwd=root)
    assert listed.returncode == 0, listed.stderr
    campaigns = sorted(
        (c["id"], c["status"], c["name"], tuple(c["labels"])) for c in json.loads(listed.stdout)
    )
    managed = json.loads(run("state", "list", "--format", "json", cwd=root).stdout)
    return {"campaigns": campaigns, "managed": sorted(m["id"] for m in managed)}


@pytest.fixture(scope="module")
def applied_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("base")
    _write_base(root)
    assert run("--at", T0, "apply", "--auto-approve", cwd=root).returncode == 0
    return root


@pytest.fixture(scope="module")
def reference(applied_base: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("reference") / "repo"
    shutil.copytree(applied_base, root)
    _write_change(root)
    done = run("--at", AT, "apply", "--auto-approve", "--prune", cwd=root)
    assert done.returncode == 0, done.stderr
    snapshot = _snapshot(root)
    assert ("b", "stopped", "B", ("Keep",)) in snapshot["campaigns"]  # replaced
    assert ("c", "stopped", "C", ("Keep",)) in snapshot["campaigns"]  # pruned
    assert snapshot["managed"] == ["a", "b", "d"]
    return snapshot


@settings(
    max_examples=14,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# the change apply below has 29 journal points; 30-32 let it finish unharmed
@given(kills=st.lists(st.integers(min_value=1, max_value=32), min_size=1, max_size=2))
def test_killed_apply_resumes_and_converges(
    kills: list[int],
    applied_base: Path,
    reference: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = tmp_path_factory.mktemp("crash") / "repo"
    shutil.copytree(applied_base, root)
    _write_change(root)
    for point in kills:  # a second kill interrupts the resume itself
        killed = run(
            "--at", AT, "apply", "--auto-approve", "--prune", cwd=root,
            env={KILL_AT_ENV: str(point)},
        )  # fmt: skip
        assert killed.returncode in (0, -signal.SIGKILL), killed.stderr
    resumed = run("--at", AT, "apply", "--auto-approve", "--prune", cwd=root)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "Traceback" not in resumed.stderr
    settled = run("--at", AT, "plan", "--prune", "--detailed-exitcode", cwd=root)
    assert settled.returncode == 0, settled.stdout
    assert "Drift" not in settled.stdout
    assert _snapshot(root) == reference
    shutil.rmtree(root.parent)


def test_an_interrupted_apply_is_named_when_resumed(applied_base: Path, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(applied_base, root)
    _write_change(root)
    killed = run("--at", AT, "apply", "--auto-approve", "--prune", cwd=root, env={KILL_AT_ENV: "6"})
    assert killed.returncode == -signal.SIGKILL
    resumed = run("--at", AT, "apply", "--auto-approve", "--prune", cwd=root)
    assert resumed.returncode == 0
    assert "was interrupted" in resumed.stdout and "step(s) done" in resumed.stdout
    assert "(resumed an interrupted apply)" in resumed.stdout


def test_two_concurrent_applies_on_sqlite(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _write_base(root)
    command = [sys.executable, "-m", "campaign_gitops", "--at", T0, "apply", "--auto-approve"]
    env = {**os.environ, "NO_COLOR": "1"}
    procs = [
        subprocess.Popen(
            [*command, "--lock-timeout", "60s"], cwd=root, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]  # fmt: skip
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    texts = sorted(out for out, _ in outputs)
    assert sum("Apply complete: 5 applied" in t for t in texts) == 1
    assert sum("No changes." in t for t in texts) == 1
    listed = json.loads(run("--at", T0, "list", "--format", "json", cwd=root).stdout)
    assert sorted(c["id"] for c in listed) == ["a", "b", "c"]
