"""CODEOWNERS (`approval.codeowners`): who owns each campaign file, by GitHub's rules, read
from where the approval policy is read (a pull request's base commit, never its head).

GitHub's rules (https://docs.github.com/en/repositories/managing-your-repositorys-settings-and-features/customizing-your-repository/about-code-owners):
the file is `.github/CODEOWNERS`, else `CODEOWNERS`, else `docs/CODEOWNERS` ("GitHub will search
for them in that order and use the first one it finds"), under 3 MB; patterns follow gitignore's
rules except `!` negation and `[ ]` ranges, and "the last matching pattern takes the most
precedence"; owners are `@username`, `@org/team-name` or an email; a pattern without owners
leaves its files without owners; a line with invalid syntax is skipped. Matching is the
`codeowners` package's (GitHub's rules)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from campaign_gitops.gitrepo import GitError, Repo

if TYPE_CHECKING:
    import codeowners

    from campaign_gitops.config import Settings
    from campaign_gitops.desired.loader import Desired
    from campaign_gitops.plan import Plan

LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
MAX_BYTES = 3 * 1024 * 1024  # "CODEOWNERS files must be under 3 MB in size"
_USER = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
OWNER = re.compile(rf"@{_USER}(?:/[A-Za-z0-9][A-Za-z0-9._-]*)?|[^@\s]+@[^@\s]+\.[^@\s]+")
_MASK = "\x00"  # stands for an escaped space while a line is split

# campaign id -> {file (from the top of the git repository) -> its owners}
Owned = Callable[[str], dict[str, tuple[str, ...]]]


def is_email(owner: str) -> bool:
    return "@" in owner


def _line(number: int, line: str, where: str) -> tuple[str, str | None]:
    """The line to keep (without an inline comment), or "" and why GitHub would skip it."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return "", None
    tokens = stripped.replace("\\ ", _MASK).split()
    pattern, owners = tokens[0], tokens[1:]
    for i, token in enumerate(owners):
        if token.startswith("#"):  # an inline comment: the owners before it still count
            owners = owners[:i]
            break
    bad = next((o for o in owners if not OWNER.fullmatch(o)), None)
    why = None
    if pattern.startswith("!"):
        why = "GitHub does not support `!` negation in CODEOWNERS"
    elif re.search(r"(?<!\\)\[", pattern):
        why = "GitHub does not support `[ ]` character ranges (nor sections) in CODEOWNERS"
    elif bad is not None:
        why = f"{bad!r} is not an owner (@username, @org/team-name or an email)"
    if why is not None:
        return "", f"{where} line {number}: {why}; the line is skipped, as GitHub skips it"
    return " ".join([pattern, *owners]).replace(_MASK, "\\ "), None


class CodeOwners:
    """One CODEOWNERS file. `prefix` leads from the top of the git repository to the config's
    folder; `since` is the commit the pull request is compared with: a campaign's files there
    (moved or deleted since) need their owners' approval too."""

    def __init__(self, text: str, where: str, prefix: str = "", since: str | None = None):
        self.where = where
        self.prefix = prefix
        self.since = since
        kept, problems = [], []
        for number, line in enumerate(text.splitlines(), 1):
            keep, why = _line(number, line, where)
            kept.append(keep)
            if why is not None:
                problems.append(why)
        self.text = "\n".join(kept)
        self.problems = problems

    @cached_property
    def _rules(self) -> codeowners.CodeOwners:
        import codeowners

        return codeowners.CodeOwners(self.text)

    def of(self, path: str) -> tuple[str, ...]:
        """The owners of `path` (from the top of the git repository): logins and org/team
        slugs without their `@`, emails as written; () for a file without owners."""
        return tuple(name.removeprefix("@") for _, name in self._rules.of(path))

    def owned(
        self, desired: Desired, repo: Callable[[], Repo], ref: str | None, settings: Settings
    ) -> Owned:
        """Who owns each campaign's files: its file in `desired` (at `ref`, or the work tree)
        and, compared with `since`, every file it had there (moved or deleted since)."""
        earlier: dict[str, set[str]] = {}
        if self.since is not None:
            raw = settings.raw
            changed = repo().changed(self.since, ref or "HEAD", raw.campaigns_dir, raw.labels_file)
            earlier = changed.paths

        def owners_of(key: str) -> dict[str, tuple[str, ...]]:
            doc = desired.campaigns.get(key)
            files = set(earlier.get(key, set()))
            if doc is not None:
                files.add(doc.file)
            return {self.prefix + f: self.of(self.prefix + f) for f in sorted(files)}

        return owners_of


def _none(where: str, prefix: str, since: str | None) -> CodeOwners:
    return CodeOwners("", f"no CODEOWNERS file ({where})", prefix, since)


def at_commit(repo: Repo, ref: str, since: str | None = None) -> CodeOwners:
    """The CODEOWNERS file committed at `ref` (a pull request's base)."""
    sha = repo.resolve(ref).sha
    for location in LOCATIONS:
        data = repo.top_file_at(sha, location)
        if data is None:
            continue
        where = f"{location} at {sha[:12]}"
        if len(data) >= MAX_BYTES:
            table = _none(where, repo.prefix, since)
            table.problems.append(f"{where} is 3 MB or more: GitHub does not load it")
            return table
        return CodeOwners(data.decode("utf-8", errors="replace"), where, repo.prefix, since)
    return _none(f"at {sha[:12]}", repo.prefix, since)


def in_work_tree(root: Path, since: str | None = None) -> CodeOwners:
    """The work tree's CODEOWNERS file, at the top of its git repository (or `root`)."""
    top, prefix = root, ""
    try:
        repo = Repo(root)
        top, prefix = Path(repo.repo.working_tree_dir or root), repo.prefix
    except GitError:
        since = None  # no history: no earlier files
    for location in LOCATIONS:
        path = top / location
        if path.is_symlink() or not path.is_file():
            continue
        if path.stat().st_size >= MAX_BYTES:
            table = _none(location, prefix, since)
            table.problems.append(f"{location} is 3 MB or more: GitHub does not load it")
            return table
        text = path.read_text(encoding="utf-8", errors="replace")
        return CodeOwners(text, f"{location} in the work tree", prefix, since)
    return _none("in the work tree", prefix, since)


def load(
    settings: Settings, base: str | None = None, since: str | None = None
) -> CodeOwners | None:
    """CODEOWNERS as the approval policy `settings` holds asks: None when it does not use
    it; committed at `base` when the policy was read there, else the work tree's."""
    if not settings.raw.approval.codeowners:
        return None
    if base is None:
        return in_work_tree(settings.root, since)
    return at_commit(Repo(settings.root), base, since if since is not None else base)


def required(plan: Plan, keys: Iterable[str] | None = None) -> dict[str, tuple[str, ...]]:
    """The files whose owners must approve the plan's changes that need an approval (or the
    changes of `keys`), each with its owners."""
    wanted = {c.key for c in plan.reviews} if keys is None else set(keys)
    out: dict[str, tuple[str, ...]] = {}
    for key in sorted(wanted):
        for path, owners in plan.owners.get(key, {}).items():
            out[path] = tuple(owners)
    return out
