from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import click

from campaign_gitops import files
from campaign_gitops.config import Settings
from campaign_gitops.desired.loader import YAML_SUFFIXES, Source, read_configured
from campaign_gitops.errors import FatalError, Problem, ValidationFailed, render_problems


def validate(settings: Settings, fmt: str, named: Sequence[Path] = (), cwd: Path = Path()) -> int:
    """Every file's problems; with `named` (paths relative to `cwd`, as pre-commit passes them)
    only those files' problems, the checks across files still seeing the whole repository."""
    if named:
        return _validate_named(settings, fmt, named, cwd)
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


def _in_repository(root: Path, cwd: Path, name: Path) -> str:
    """`name`'s path relative to the repository `root`, with slashes; a path outside it is
    refused. The folder is resolved, not the file: a named link stays a link (refused when
    read, as every link is)."""
    path = Path(os.path.abspath(cwd / name))
    if not os.path.lexists(path):
        raise FatalError(f"{name}: no such file; nothing was checked")
    full = path.parent.resolve() / path.name
    try:
        return full.relative_to(root).as_posix()
    except ValueError:
        raise FatalError(f"{name}: outside the repository ({root}); nothing was checked") from None


@dataclass(frozen=True)
class Named:
    """The files a command was given, relative to the repository root."""

    wanted: list[str]  # campaign files and the labels file
    ignored: list[str]  # any other file (a README pre-commit passes)
    config: bool  # the config is one of them
    campaigns: str  # the campaigns folder, with a slash
    labels: str

    def ours(self, file: str) -> bool:
        """A file validate reads: a campaign file or the labels file."""
        return file == self.labels or (
            file.startswith(self.campaigns) and file.endswith(YAML_SUFFIXES)
        )


def named_files(settings: Settings, named: Sequence[Path], cwd: Path) -> Named:
    """`named` (relative to `cwd`) inside the repository; a path outside it is refused."""
    root = settings.root
    campaigns = files.relative(root, settings.campaigns_dir).rstrip("/") + "/"
    found = Named([], [], False, campaigns, files.relative(root, settings.labels_file))
    given = list(dict.fromkeys(_in_repository(root, cwd, name) for name in named))
    config = settings.config_file
    found.wanted.extend(file for file in given if found.ours(file))
    found.ignored.extend(sorted(file for file in given if not found.ours(file)))
    return replace(found, config=config is not None and files.relative(root, config) in given)


def _validate_named(settings: Settings, fmt: str, named: Sequence[Path], cwd: Path) -> int:
    found = named_files(settings, named, cwd)
    if found.config:
        return validate(settings, fmt)  # the config changes how every file reads
    wanted, ignored = set(found.wanted), found.ignored
    if wanted:

        def named_last(sources: list[Source]) -> list[Source]:
            # a duplicate id is reported on the later file: on the named one, not the other
            return [s for s in sources if s.file not in wanted] + [
                s for s in sources if s.file in wanted
            ]

        try:
            read_configured(settings, models=False, pick=named_last)
        except ValidationFailed as exc:
            problems = [p for p in exc.problems if _reported(p, wanted, found.ours)]
            if problems:
                click.echo(render_problems(problems, fmt))
                return 1
    if fmt == "json":
        data = {"problems": [], "files": sorted(wanted), "ignored": ignored}
        click.echo(json.dumps(data, indent=2))
    elif fmt == "text":
        note = f" ({len(ignored)} other file(s) ignored)" if ignored else ""
        click.echo(f"ok: {len(wanted)} named campaign or labels file(s) are valid{note}")
    return 0


def _reported(problem: Problem, wanted: set[str], ours: Callable[[str], bool]) -> bool:
    """A named file's problem, or one of no file validate reads (the config, the campaigns
    folder itself): every other file's problems are its own commit's."""
    return problem.file in wanted or not ours(problem.file)
