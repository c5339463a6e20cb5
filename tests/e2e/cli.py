from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# a suite that itself runs in GitHub Actions must not hand its own runner to the CLI under test
NOT_INHERITED = ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_EVENT_PATH", "CI")


def inherited() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess, as a user or CI runs it."""
    return subprocess.run(
        [sys.executable, "-m", "campaign_gitops", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**inherited(), "NO_COLOR": "1", **(env or {})},
    )
