from __future__ import annotations

from pathlib import Path

import click

from campaign_gitops import files, schema, yamlio
from campaign_gitops.campaign_yaml import to_yaml
from campaign_gitops.errors import FatalError

CONFIG = """\
# campaign-gitops configuration (schema: schemas/config.schema.json)
backend = "local"                              # embedded platform; "clevertap": a real account
campaigns_dir = "campaigns"
labels_file = "labels.yaml"
platform = ".campaign-gitops/platform.db"      # the local platform's SQLite file
state = ".campaign-gitops/state.db"            # state store: SQLite path or postgresql:// URL
creator_approver = false                       # the account uses the creator-approver workflow
"""
LABELS = {"labels": [{"name": "Onboarding", "description": "Messages that onboard new users"}]}
WELCOME = {
    "name": "Welcome push, day 1",
    "channel": "push",
    "labels": ["Onboarding"],
    "state": "draft",
    "goal": {"event": "Charged", "within": "1d"},
    "who": {
        "segment": {"past_behavior": {"did": [{"event": "App Launched", "within": "7d"}]}},
        "control_group": {"percent": 10},
    },
    "what": {
        "content": {
            "title": "Welcome!",
            "body": "Your first order ships free",
            "deep_link": "app://offers",
        }
    },
    "when": {
        "delivery": "action",
        "trigger": {"event": "App Installed"},
        "preferences": {"dnd": {"from": "21:00", "to": "09:00", "mode": "delay"}},
    },
}


def _write(path: Path, text: str, root: Path) -> None:
    shown = path.relative_to(root).as_posix()
    if path.exists():
        click.echo(f"kept     {shown} (exists)")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    click.echo(f"created  {shown}")


def _refresh(path: Path, text: str, root: Path) -> None:
    """A generated file is this version's, whatever was there: a stale schema is rewritten."""
    shown = path.relative_to(root).as_posix()
    if not files.inside(root, path):
        raise FatalError(f"{shown} leads outside the repository ({root}): it is not written")
    if not path.exists():
        _write(path, text, root)
        return
    try:
        current = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        current = None
    if current == text:
        click.echo(f"kept     {shown} (up to date)")
        return
    files.write_atomic(path, text)
    click.echo(f"updated  {shown} (was stale)")


def init(directory: Path) -> int:
    root = directory.resolve()
    root.mkdir(parents=True, exist_ok=True)
    pyproject = root / "pyproject.toml"
    if pyproject.exists():
        text = pyproject.read_text()
        if "[tool.campaign-gitops]" in text:
            click.echo("kept     pyproject.toml (has [tool.campaign-gitops])")
        else:
            body = CONFIG.split("\n", 1)[1]
            pyproject.write_text(text.rstrip("\n") + "\n\n[tool.campaign-gitops]\n" + body)
            click.echo("updated  pyproject.toml ([tool.campaign-gitops])")
    else:
        _write(root / "campaign-gitops.toml", CONFIG, root)
    labels = "# yaml-language-server: $schema=schemas/labels.schema.json\n" + yamlio.dump(LABELS)
    _write(root / "labels.yaml", labels, root)
    welcome = root / "campaigns" / "onboarding" / "welcome-push.yaml"
    _write(welcome, to_yaml(WELCOME, welcome, root), root)
    for name in schema.SCHEMA_NAMES:
        _refresh(root / "schemas" / f"{name}.schema.json", schema.render(name), root)
    ignore = root / ".gitignore"
    lines = ignore.read_text().splitlines() if ignore.exists() else []
    if ".campaign-gitops/" not in lines:
        ignore.write_text("\n".join([*lines, ".campaign-gitops/"]) + "\n")
        click.echo("updated  .gitignore (.campaign-gitops/)")
    click.echo("next: campaign-gitops validate")
    return 0
