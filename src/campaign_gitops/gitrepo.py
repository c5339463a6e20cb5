"""The git repository holding the campaigns: desired state at any commit, what changed between
two commits, commit authorship, branches for imports. GitCommandError never leaves this module."""

from __future__ import annotations

import logging
import posixpath
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from campaign_gitops import files, yamlio
from campaign_gitops.desired.filecheck import Then
from campaign_gitops.desired.loader import (
    YAML_SUFFIXES,
    Desired,
    Pick,
    Source,
    build,
    decode,
    gc_paused,
)
from campaign_gitops.errors import FatalError, Problem, ValidationFailed
from campaign_gitops.yamllimits import MIB

if TYPE_CHECKING:
    import git


log = logging.getLogger(__name__)
LINK_MODE = 0o120000  # a symbolic link's tree entry
MAX_FILE_BYTES = 64 * MIB  # the most max_file_bytes allows


class GitError(FatalError):
    pass


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author: str  # "Name <email>"
    message: str


@dataclass
class Changed:
    """Between two commits: campaign ids touched and whether labels changed."""

    ids: set[str] = field(default_factory=set)
    labels: set[str] = field(default_factory=set)  # label names added, removed, renamed, edited
    files: list[str] = field(default_factory=list)
    paths: dict[str, set[str]] = field(default_factory=dict)  # id -> its files, before and after


class Repo:
    def __init__(self, root: Path):
        import git

        self.root = root.resolve()
        try:
            self.repo = git.Repo(self.root, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
            raise GitError(f"{root} is not inside a git repository") from exc
        top = Path(self.repo.working_tree_dir or self.root).resolve()
        prefix = self.root.relative_to(top).as_posix()
        self.prefix = "" if prefix == "." else prefix + "/"

    def _commit(self, ref: str) -> git.Commit:
        import git

        try:
            return self.repo.commit(ref)
        except (git.BadName, git.GitCommandError, ValueError) as exc:
            raise GitError(f"unknown git revision {ref!r}") from exc

    def resolve(self, ref: str) -> CommitInfo:
        commit = self._commit(ref)
        author = f"{commit.author.name} <{commit.author.email}>"
        return CommitInfo(commit.hexsha, author, str(commit.message).strip())

    def _blobs(self, ref: str, folder: str, unread: list[Problem]) -> Iterator[Any]:
        tree = self._commit(ref).tree
        try:
            sub = tree / (self.prefix + folder) if folder else tree
        except KeyError:
            return
        if getattr(sub, "mode", 0) == LINK_MODE:
            unread.append(self._refused(sub, MIB) or files.link_problem(folder, "?", True))
            return
        if getattr(sub, "type", "") != "tree":
            return
        for item in sub.traverse():
            path = getattr(item, "path", "")
            if getattr(item, "type", "") == "blob" and PurePosixPath(path).suffix in YAML_SUFFIXES:
                yield item

    def file_at(self, ref: str, path: str) -> bytes | None:
        """A file as committed at `ref` (path relative to the campaigns root), None if absent."""
        return self._file(ref, path)

    def top_file_at(self, ref: str, path: str) -> bytes | None:
        """A file as committed at `ref`, its path relative to the top of the git repository
        (where GitHub looks for CODEOWNERS, whatever folder holds the config)."""
        return self._file(ref, path, top=True)

    def changed_paths(self, base: str, ref: str) -> list[str]:
        """Every path added, modified, renamed or deleted between `base` and `ref`, relative to
        the top of the git repository (`prefix` leads to the campaigns root)."""
        import git

        base = self.merge_base(base, ref)
        try:
            diffs = self._commit(base).diff(self._commit(ref), find_renames=True)
        except git.GitCommandError as exc:
            raise GitError(f"cannot compare {base} with {ref}: {exc.stderr.strip()}") from exc
        paths = {p for d in diffs for p in (d.a_path, d.b_path) if p is not None}
        return sorted(paths)

    def _entry(self, ref: str, path: str, top: bool = False) -> Any | None:
        try:
            return self._commit(ref).tree / (path if top else self.prefix + path)
        except KeyError:
            return None

    def _file(self, ref: str, path: str, top: bool = False) -> bytes | None:
        """A committed regular file; None for a link (never followed) or a file past the
        largest size the config allows."""
        blob = self._entry(ref, path, top)
        if blob is None or getattr(blob, "type", "") != "blob":
            return None
        if blob.mode == LINK_MODE or blob.size > MAX_FILE_BYTES:
            return None
        data: bytes = blob.data_stream.read()
        return data

    def _refused(self, blob: Any, limit: int) -> Problem | None:
        """Why a committed file is not read: a link (its text names the target; the target
        is never looked up), or its size."""
        file = self._relative(blob.path)
        if blob.mode == LINK_MODE:
            target = blob.data_stream.read(4096).decode("utf-8", errors="replace")
            where = posixpath.normpath(posixpath.join(posixpath.dirname(blob.path), target))
            outside = target.startswith("/") or where == ".." or where.startswith("../")
            outside = outside or not (where + "/").startswith(self.prefix)
            return files.link_problem(file, target, outside)
        if blob.size > limit:
            return files.too_large(file, blob.size, limit)
        return None

    def _source(self, blob: Any, limit: int, unread: list[Problem]) -> Source | None:
        problem = self._refused(blob, limit)
        if problem is not None:
            unread.append(problem)
            return None
        try:
            return decode(self._relative(blob.path), blob.data_stream.read())
        except ValidationFailed as exc:
            unread.extend(exc.problems)
            return None

    def _relative(self, repo_path: str) -> str:
        return repo_path[len(self.prefix) :]

    def desired_at(
        self,
        ref: str,
        campaigns_dir: str,
        labels_file: str,
        max_file_bytes: int = MIB,
        pick: Pick | None = None,
        then: Then | None = None,
    ) -> Desired:
        """The desired state as committed at `ref`, without touching the work tree; `pick`:
        the campaign files to check, of all that were read (a partial plan's)."""
        unread: list[Problem] = []
        with gc_paused():
            began = time.perf_counter()
            blobs = sorted(self._blobs(ref, campaigns_dir, unread), key=lambda b: b.path)
            sources = [s for b in blobs if (s := self._source(b, max_file_bytes, unread))]
            log.debug(
                "read %d campaign files under %s at %s in %.3f s (%d unread)",
                len(sources),
                campaigns_dir,
                ref,
                time.perf_counter() - began,
                len(blobs) - len(sources),
            )
            if pick is not None:
                sources = pick(sources)
                log.debug("picked %d of them to check (a partial plan)", len(sources))
            entry = self._entry(ref, labels_file)
            if entry is not None and getattr(entry, "type", "") != "blob":
                entry = None
            labels = self._source(entry, max_file_bytes, unread) if entry is not None else None
            return build(
                sources,
                labels,
                unread,
                labels_unread=entry is not None and labels is None,
                then=then,
            )

    def merge_base(self, base: str, ref: str) -> str:
        """Where `ref` left `base`: a pull request's changes are counted from there, as GitHub
        shows them, so commits that reached the base branch since are not its changes."""
        import git

        try:
            found = self.repo.merge_base(self._commit(base), self._commit(ref))
        except git.GitCommandError as exc:
            raise GitError(f"cannot compare {base} with {ref}: {exc.stderr.strip()}") from exc
        if not found:
            raise GitError(f"{base} and {ref} share no history")
        return str(found[0].hexsha)

    def changed(self, base: str, ref: str, campaigns_dir: str, labels_file: str) -> Changed:
        """Campaign ids whose files changed on `ref` since it left `base` (added, modified,
        renamed or deleted), and the label names that changed."""
        import git

        out = Changed()
        folder = self.prefix + campaigns_dir.rstrip("/") + "/"
        base = self.merge_base(base, ref)
        try:
            diffs = self._commit(base).diff(self._commit(ref), find_renames=True)
        except git.GitCommandError as exc:
            raise GitError(f"cannot compare {base} with {ref}: {exc.stderr.strip()}") from exc
        for diff in diffs:
            # each side's blob comes with the diff: no walk down the trees to find it
            for path, blob in ((diff.a_path, diff.a_blob), (diff.b_path, diff.b_blob)):
                if path is None or not path.startswith(folder):
                    continue
                if PurePosixPath(path).suffix not in YAML_SUFFIXES:
                    continue
                out.files.append(self._relative(path))
                key = _id_of(path, _blob_data(blob))
                out.ids.add(key)
                out.paths.setdefault(key, set()).add(self._relative(path))
            if self.prefix + labels_file in (diff.a_path, diff.b_path):
                out.labels = _label_changes(
                    self._file(base, labels_file), self._file(ref, labels_file)
                )
        return out

    def first_parent(self, since: str, until: str) -> list[str]:
        """main's own history: the first-parent commits after `since` up to `until`, oldest
        first (a merge commit stands for its whole pull request)."""
        import git

        try:
            out = self.repo.git.rev_list("--first-parent", "--reverse", f"{since}..{until}")
        except git.GitCommandError as exc:
            raise GitError(f"cannot walk {since}..{until}: {exc.stderr.strip()}") from exc
        return [line for line in str(out).split() if line]

    def on_first_parent(self, sha: str, ref: str) -> bool:
        """Whether `sha` is one of `ref`'s own commits (its first-parent line), not a commit of
        a branch merged into it."""
        out = str(self.repo.git.rev_list("--first-parent", self._commit(ref).hexsha))
        return sha in out.split()

    def is_ancestor(self, older: str, newer: str) -> bool:
        return bool(self.repo.is_ancestor(self._commit(older), self._commit(newer)))

    def parents(self, ref: str) -> list[str]:
        return [p.hexsha for p in self._commit(ref).parents]

    def user(self) -> str | None:
        """The configured git user, "Name <email>"."""
        reader = self.repo.config_reader()
        name = reader.get_value("user", "name", default="")
        email = reader.get_value("user", "email", default="")
        return f"{name} <{email}>" if name or email else None

    def is_dirty(self) -> bool:
        return self.repo.is_dirty(untracked_files=True)

    def dirty(self, paths: Sequence[str]) -> list[str]:
        """Which files under `paths` (relative to the campaigns root; a folder stands for every
        file in it) differ from HEAD's: modified, staged, deleted, renamed, untracked or
        ignored (a file git ignores is never in a commit). Relative to the campaigns root,
        sorted; every file when nothing is committed yet."""
        import git

        if not paths:
            return []
        try:
            out = self.repo.git.status(
                "--porcelain=v1", "-z", "--untracked-files=all", "--ignored=matching", "--",
                *(f":(literal){self.prefix}{p}" for p in paths),
            )  # fmt: skip
        except git.GitCommandError as exc:
            raise GitError(f"git status failed: {exc.stderr.strip()}") from exc
        found: set[str] = set()
        entries = iter(str(out).split("\0"))
        for entry in entries:
            if len(entry) < 4:
                continue
            found.add(entry[3:])
            if entry[0] in "RC":  # a rename or copy: its source follows
                found.add(next(entries, ""))
        return sorted(self._relative(p) for p in found if p.startswith(self.prefix))

    def commit_files(self, branch: str, paths: list[Path], message: str) -> str:
        """Create `branch` from HEAD, switch to it, and commit `paths` there."""
        import git

        try:
            if branch in self.repo.heads:
                raise GitError(f"branch {branch!r} already exists")
            self.repo.create_head(branch).checkout()
            self.repo.index.add([str(p.resolve()) for p in paths])
            commit = self.repo.index.commit(message)
        except git.GitCommandError as exc:
            raise GitError(f"git failed: {exc.stderr.strip()}") from exc
        return commit.hexsha


def _blob_data(blob: Any) -> bytes | None:
    """A blob's bytes, as `Repo._file` reads them: None for a link or past the size limit."""
    if blob is None or blob.mode == LINK_MODE or blob.size > MAX_FILE_BYTES:
        return None
    data: bytes = blob.data_stream.read()
    return data


def _id_of(path: str, data: bytes | None) -> str:
    stem = PurePosixPath(path).stem
    if data is None:
        return stem
    try:
        doc = yamlio.load(data.decode("utf-8"))
    except Exception:  # an unreadable old version: its file name is its id
        return stem
    given = doc.get("id") if isinstance(doc, dict) else None
    return given if isinstance(given, str) else stem


def _labels(data: bytes | None) -> dict[str, tuple[Any, Any]]:
    if data is None:
        return {}
    try:
        doc = yamlio.load(data.decode("utf-8"))
    except Exception:
        return {}
    items = doc.get("labels") if isinstance(doc, dict) else None
    return {
        str(item["name"]): (item.get("description"), item.get("renamed_from"))
        for item in items or []
        if isinstance(item, dict) and "name" in item
    }


def _label_changes(before: bytes | None, after: bytes | None) -> set[str]:
    old, new = _labels(before), _labels(after)
    names = {name for name in old.keys() | new.keys() if old.get(name) != new.get(name)}
    return names | {str(v[1]) for v in new.values() if v[1]}
