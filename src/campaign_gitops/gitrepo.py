"""The git repository holding the campaigns; GitCommandError never leaves this module."""

from __future__ import annotations

from pathlib import Path


def head_commit(root: Path) -> str | None:
    """The commit checked out at `root`, or None outside a repository (or before a commit)."""
    import git

    try:
        repo = git.Repo(root, search_parent_directories=True)
        return repo.head.commit.hexsha
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError, git.GitCommandError):
        return None
