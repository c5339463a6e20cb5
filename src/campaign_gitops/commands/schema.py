from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path

import click

from campaign_gitops import schema


def export(directory: Path | None, check: bool) -> int:
    target = directory or Path(str(resources.files("campaign_gitops") / "schemas"))
    if check:
        stale = []
        for name in schema.SCHEMA_NAMES:
            path = target / f"{name}.schema.json"
            current = path.read_text() if path.exists() else ""
            wanted = schema.render(name)
            if current != wanted:
                stale.append(path)
                diff = difflib.unified_diff(
                    current.splitlines(),
                    wanted.splitlines(),
                    str(path),
                    "generated",
                    lineterm="",
                    n=1,
                )
                click.echo("\n".join(list(diff)[:40]), err=True)
        for path in stale:
            click.echo(f"{path}: out of date; run `campaign-gitops schema export`", err=True)
        return 1 if stale else 0
    for path in schema.export(target):
        click.echo(f"wrote {path}")
    return 0
