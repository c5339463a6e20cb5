from __future__ import annotations

import json

import click

from campaign_gitops.config import Settings
from campaign_gitops.errors import ValidationFailed, render_problems
from campaign_gitops.loader import read_configured


def validate(settings: Settings, fmt: str) -> int:
    try:
        desired = read_configured(settings, models=False)  # counted, not kept
    except ValidationFailed as exc:
        click.echo(render_problems(exc.problems, fmt))  # the report: `validate > out.txt`
        return 1
    counts = {"campaigns": desired.valid_campaigns, "labels": len(desired.labels)}
    if fmt == "json":
        click.echo(json.dumps({"problems": [], **counts}, indent=2))
    elif fmt == "text":
        click.echo(f"ok: {counts['campaigns']} campaigns and {counts['labels']} labels are valid")
    return 0
