from __future__ import annotations

import difflib
from pathlib import Path

import click

from campaign_gitops import files, schema
from campaign_gitops.config import CONFIG_FILE, TABLE, find_config
from campaign_gitops.errors import FatalError


def repository_schemas(start: Path, config_file: Path | None = None) -> Path:
    """The repository's schemas/ folder: the root is found as config discovery finds it (the
    folder of --config, else the nearest config up from `start`), and the config is not read."""
    if config_file is not None:
        if not config_file.is_file():
            raise FatalError(f"--config {config_file}: no such file")
        root = config_file.resolve().parent
    else:
        root, found = find_config(start.resolve())
        if found is None:
            raise click.UsageError(
                f"{start.resolve()} is in no campaigns repository (no {CONFIG_FILE}, nor a "
                f"pyproject.toml with a [{TABLE}] table, there or above): pass --dir"
            )
    target = root / "schemas"
    if not files.inside(root, target):
        raise FatalError(
            f"{target} leads outside the repository ({root}): the schemas are not written "
            "through it; pass --dir"
        )
    return target


def export(directory: Path | None, check: bool, start: Path, config_file: Path | None) -> int:
    target = directory if directory is not None else repository_schemas(start, config_file)
    if check:
        stale = []
        for name in schema.SCHEMA_NAMES:
            path = target / f"{name}.schema.json"
            try:
                current = path.read_text(encoding="utf-8") if path.exists() else ""
            except (OSError, UnicodeDecodeError):
                current = ""
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
        again = "campaign-gitops schema export" + (f" --dir {directory}" if directory else "")
        for path in stale:
            what = "out of date" if path.exists() else "missing"
            click.echo(f"{path}: {what}; run `{again}`", err=True)
        return 1 if stale else 0
    written = schema.export(target)
    for path in written:
        click.echo(f"wrote {path}")
    if not written:
        click.echo(f"{target}: up to date")
    return 0
