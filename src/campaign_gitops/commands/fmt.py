"""`fmt [--check] [FILES...]`: campaign files and the labels file in the canonical style, their
comments kept; never their data (README, "The canonical style")."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from campaign_gitops import files, schema, yamlio
from campaign_gitops.campaign_yaml import KEY_ORDER
from campaign_gitops.commands.validate import named_files
from campaign_gitops.config import Settings
from campaign_gitops.desired.filecheck import printable_problem
from campaign_gitops.desired.loader import campaign_files
from campaign_gitops.errors import Problem


def _targets(settings: Settings, named: Sequence[Path], cwd: Path) -> list[str]:
    """The files to format, relative to the root: the named campaign and labels files, or
    every campaign file and the labels file."""
    if named:
        return named_files(settings, named, cwd).wanted
    root, labels = settings.root, settings.labels_file
    found = [files.relative(root, path) for path in campaign_files(settings.campaigns_dir)]
    if labels.is_file() or labels.is_symlink():
        found.append(files.relative(root, labels))
    return found


def fmt(settings: Settings, check: bool, named: Sequence[Path] = (), cwd: Path = Path()) -> int:
    from campaign_gitops import yamledit  # ruamel.yaml: only the commands that write load it

    root = settings.root
    labels = files.relative(root, settings.labels_file)
    campaign_order = yamledit.SchemaOrder(schema.committed("campaign"), KEY_ORDER)
    labels_order = yamledit.SchemaOrder(schema.committed("labels"))
    changed: list[str] = []
    problems: list[Problem] = []
    for file in _targets(settings, named, cwd):
        data = files.read(root, root / file, settings.raw.max_file_bytes, file)
        if isinstance(data, Problem):  # a link, too large, unreadable
            problems.append(printable_problem(data))
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(Problem(file, 1, 1, "", "the file is not UTF-8 text", "encoding"))
            continue
        try:
            new = yamledit.canonical(text, labels_order if file == labels else campaign_order)
        except yamlio.YamlSyntaxError as exc:
            problems.append(
                printable_problem(Problem(file, exc.line, exc.col, "", exc.message, exc.code))
            )
            continue
        except yamledit.NotCanonical as exc:
            problems.append(Problem(file, 0, 0, "", f"left as it is: {exc}", "fmt-refused"))
            continue
        if new == text:
            continue
        changed.append(file)
        if not check:
            files.write_atomic(root / file, new)
    for problem in problems:
        click.echo(problem.render(), err=True)
    for file in changed:
        click.echo(file)  # the files (to be) rewritten, one a line, on stdout
    if check and changed:
        click.echo(
            f"{len(changed)} file(s) not in the canonical style; `campaign-gitops fmt` rewrites "
            "them",
            err=True,
        )
    if problems:
        click.echo(f"{len(problems)} file(s) could not be formatted", err=True)
    return 1 if problems or (check and changed) else 0
