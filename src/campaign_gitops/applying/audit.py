"""The audit trail of an apply: who ran it, and whether the files it read (the campaign files,
labels.yaml and the config) were the ones in the commit the state store records. In CI (GitHub
Actions) an apply from files that are not as committed is refused before anything is applied:
what CI applies is what was reviewed and merged, never what a step of the job left behind."""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from campaign_gitops.config import Settings
from campaign_gitops.desired.loader import YAML_SUFFIXES
from campaign_gitops.errors import FatalError
from campaign_gitops.github import in_actions
from campaign_gitops.gitrepo import GitError, Repo

SHOWN = 10  # dirty files named in the CI refusal


@dataclass(frozen=True)
class Audit:
    """What the state store records with each campaign an apply changes."""

    applied_by: str | None  # None: the config's `created_by` (CI: attributed per pull request)
    dirty: tuple[str, ...] | None  # files not as committed; (): clean; None: not a git checkout

    @property
    def clean(self) -> bool | None:
        return None if self.dirty is None else not self.dirty


def os_user() -> str:
    """The operating system's user, on this host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def inputs(settings: Settings) -> list[str]:
    """What an apply reads from the work tree, relative to the repository root."""
    read = (settings.raw.campaigns_dir, settings.raw.labels_file)
    paths = [PurePosixPath(p).as_posix() for p in read]
    if settings.config_file is not None:
        config = settings.config_file.resolve()
        try:
            paths.append(config.relative_to(settings.root.resolve()).as_posix())
        except ValueError:  # a --config outside the repository is in no commit of it
            paths.append(str(config))
    return paths


def _in_campaigns(settings: Settings, path: str) -> bool:
    return PurePosixPath(path).is_relative_to(PurePosixPath(settings.raw.campaigns_dir))


def take(settings: Settings, merged: bool) -> Audit:
    """The apply's audit record; in CI a refusal (FatalError) when any of the files is not as
    committed, or there is no git checkout to tell. Applying merged pull requests reads the
    campaigns and labels from their commits: only the config's state is then recorded."""
    ci = in_actions()
    try:
        repo = Repo(settings.root)
    except GitError:
        if ci:
            raise FatalError(
                f"in CI (GITHUB_ACTIONS=true) apply runs only from a git checkout: {settings.root} "
                "is not inside a git repository; nothing was applied"
            ) from None
        return Audit(os_user(), None)
    paths = inputs(settings)
    outside = [p for p in paths if Path(p).is_absolute()]
    found = repo.dirty([p for p in paths if p not in outside]) + outside
    # a campaign folder's file counts when the loader reads it (YAML)
    dirty = [
        p
        for p in found
        if not _in_campaigns(settings, p) or PurePosixPath(p).suffix in YAML_SUFFIXES
    ]
    if ci and dirty:
        more = f" and {len(dirty) - SHOWN} more" if len(dirty) > SHOWN else ""
        raise FatalError(
            "in CI (GITHUB_ACTIONS=true) apply runs only from files as committed, and these "
            f"differ from {_head(repo)}: {', '.join(dirty[:SHOWN])}{more}; nothing was applied. "
            "Change them in a pull request, not in the job"
        )
    if merged:
        read_from_commits = {PurePosixPath(settings.raw.labels_file).as_posix()}
        dirty = [p for p in dirty if not _in_campaigns(settings, p) and p not in read_from_commits]
    return Audit(None if ci else repo.user() or os_user(), tuple(dirty))


def _head(repo: Repo) -> str:
    try:
        return f"commit {repo.resolve('HEAD').sha[:12]}"
    except GitError:
        return "the commit (there is none yet)"
