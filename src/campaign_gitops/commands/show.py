"""`show PLANFILE`: a saved plan, rendered as `plan` printed it; nothing else is read."""

from __future__ import annotations

import json
from pathlib import Path

from campaign_gitops.commands.plan import show as render_plan
from campaign_gitops.errors import FatalError
from campaign_gitops.saved_plans import load_saved

NOT_A_PLAN = "not a plan file (a plan file is what `campaign-gitops plan --out FILE` writes)"


def show(path: Path, fmt: str) -> int:
    """No config, no state store, no platform: a stale plan is shown as it was made (staleness
    is `apply FILE`'s to judge); one edited since, or of another format version, is refused."""
    try:
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise FatalError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    except (ValueError, RecursionError):
        raise FatalError(f"{path}: {NOT_A_PLAN}") from None
    if not isinstance(data, dict) or "format_version" not in data or "changes" not in data:
        raise FatalError(f"{path}: {NOT_A_PLAN}")
    render_plan(load_saved(path), fmt)
    return 0
