"""A partial plan's campaigns: `--target` (ids, id globs, paths under the campaigns folder) or
`--changed-since` (the campaigns whose files a branch changed, and those using a label it
changed). Only the files that can hold one of them are parsed and validated; every other file
is read as text, which is enough to know that it cannot:

- a file's id is its `id:` or its file name. A file whose text holds the word `id` nowhere but
  in comments declares none; one whose only `id` is a top-level `id: <plain id>` line declares
  that one; any other file (a quoted or flow-style key, an escape sequence, `id` in a value) is
  parsed to learn its id. Every file with a selected id is checked, so a second file claiming
  it is reported as a duplicate, as the whole repository's validation would;
- a file may use a changed label only when its text holds every word of the label's name (or
  an escape sequence, which could spell it).

The result is the full plan restricted to these campaigns; what the rest of the repository
holds is not validated (`validate`, and the plan of main, see all of it)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from pathlib import Path

from campaign_gitops import yamlio
from campaign_gitops.desired.filecheck import ID_RE, Source
from campaign_gitops.desired.loader import Desired
from campaign_gitops.errors import FatalError

GLOB_CHARS = frozenset("*?[")
_TOP_ID = re.compile(
    r"id[ \t]*:[ \t]*(?:'([a-z0-9][a-z0-9-]*)'|\"([a-z0-9][a-z0-9-]*)\"|([a-z][a-z0-9-]*))"
    # a comment, then the next key at the line's start (a plain scalar goes on over
    # indented lines and blank ones)
    r"(?:[ \t]+#[^\n]*|[ \t]*)(?:\r?\n(?=[^ \t\r\n])|\r?\n?\Z)"
)
_ESCAPE = re.compile(r"\\(?:[xuU]|\r?\n)")  # a double-quoted scalar can spell any key so
_NOT_TEXT = frozenset({"true", "false", "null"})  # plain scalars YAML 1.2 reads as no string


class TargetError(FatalError):
    """A --target that is no id, id glob or path under the campaigns folder: bad usage."""

    exit_code = 2


def _parsed_id(source: Source) -> str:
    """The id of a file whose text alone does not tell it (the file name when it has none or
    cannot be read: its problems are then reported when it is checked)."""
    stem = _stem(source.file)
    try:
        data = yamlio.load(source.text)
    except yamlio.YamlSyntaxError:
        return stem
    given = data.get("id") if isinstance(data, dict) else None
    return given if isinstance(given, str) else stem


def _id_words(text: str) -> list[int]:
    """Where the word `id` stands in the text, outside comment lines (str.find: a regular
    expression with a look-behind is five times slower over 10,000 files)."""
    found = []
    at = text.find("id")
    while at >= 0:
        before = text[at - 1] if at else "\n"
        after = text[at + 2 : at + 3]
        if not (before.isalnum() or before in "_-") and not (after.isalnum() or after in "_-"):
            start = text.rfind("\n", 0, at) + 1
            if not text[start:at].lstrip(" \t").startswith("#"):
                found.append(at)
        at = text.find("id", at + 2)
    return found


def file_id(source: Source) -> str:
    """The id a campaign file gives its campaign, read from its text when that is certain."""
    text = source.text
    if "\\" in text and _ESCAPE.search(text):
        return _parsed_id(source)
    words = _id_words(text)
    if not words:
        return _stem(source.file)
    at = words[0]
    top = _TOP_ID.match(text, at) if len(words) == 1 and (at == 0 or text[at - 1] == "\n") else None
    if top is not None:
        quoted_single, quoted_double, plain = top.groups()
        if plain is None or plain not in _NOT_TEXT:
            return quoted_single or quoted_double or plain
    return _parsed_id(source)


def _stem(file: str) -> str:
    """PurePosixPath(file).stem, without a Path per file."""
    return posixpath.splitext(posixpath.basename(file))[0]


def _words(label: str) -> list[str]:
    return re.findall(r"\w+", label)


def may_use(text: str, labels: Sequence[list[str]]) -> bool:
    """Whether a file's text could name one of these labels (each given by its words)."""
    return "\\" in text or any(all(word in text for word in words) for words in labels)


@dataclass(frozen=True)
class Selection:
    ids: frozenset[str] = frozenset()
    globs: tuple[str, ...] = ()  # fnmatch patterns over ids
    paths: tuple[str, ...] = ()  # files or folders (or patterns), relative to the root
    labels: frozenset[str] = frozenset()  # campaigns using any of these are selected too
    targets: tuple[str, ...] = ()  # as the user wrote them (--target)
    _words: tuple[list[str], ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_words", tuple(_words(name) for name in sorted(self.labels)))

    @classmethod
    def of_targets(cls, targets: Sequence[str], root: Path, campaigns_dir: str) -> Selection:
        ids: set[str] = set()
        globs: list[str] = []
        paths: list[str] = []
        for target in targets:
            if "/" in target or "\\" in target or target.endswith((".yaml", ".yml")):
                paths.append(_path(target, root, campaigns_dir))
            elif GLOB_CHARS & set(target):
                globs.append(target)
            elif ID_RE.fullmatch(target):
                ids.add(target)
            else:
                raise TargetError(
                    f"--target {target!r}: not a campaign id, an id glob (welcome-*) or a path "
                    f"under {campaigns_dir}/"
                )
        return cls(frozenset(ids), tuple(globs), tuple(paths), targets=tuple(targets))

    def matches_id(self, key: str) -> bool:
        return key in self.ids or any(fnmatchcase(key, glob) for glob in self.globs)

    def matches_file(self, file: str) -> bool:
        return any(_under(file, path) for path in self.paths)

    def pick(self, sources: list[Source]) -> list[Source]:
        """The campaign files to check: those that can hold a selected campaign, and every
        other file with the id of one of them."""
        keys = [file_id(source) for source in sources]
        wanted: set[str] = set()
        by_label: set[int] = set()
        for index, (source, key) in enumerate(zip(sources, keys, strict=True)):
            # a file saying moved_from may move a selected id's campaign: `restrict` decides
            if (
                self.matches_file(source.file)
                or self.matches_id(key)
                or "moved_from" in source.text
            ):
                wanted.add(key)
            elif self._words and may_use(source.text, self._words):
                wanted.add(key)
                by_label.add(index)
        return [
            source
            for index, (source, key) in enumerate(zip(sources, keys, strict=True))
            if key in wanted or index in by_label
        ]

    def restrict(self, desired: Desired) -> Desired:
        """The selected campaigns of a desired state read with `pick`."""
        kept = {
            key: doc
            for key, doc in desired.campaigns.items()
            if self.matches_id(key)
            or self.matches_file(doc.file)
            or not self.labels.isdisjoint(doc.spec.labels)
            or (doc.spec.moved_from is not None and self.matches_id(doc.spec.moved_from))
        }
        return replace(desired, campaigns=kept, valid_campaigns=len(kept))

    def only(self, desired: Desired, managed: Iterable[str]) -> frozenset[str]:
        """The ids to plan: the selected campaigns in the files, and those the state store
        manages that the selection names (a removed file's campaign is forgotten), and the ids
        the selected files move from (their records move with them)."""
        moved = {d.spec.moved_from for d in desired.campaigns.values() if d.spec.moved_from}
        return (
            frozenset(desired.campaigns) | moved | {key for key in managed if self.matches_id(key)}
        )


def _under(file: str, path: str) -> bool:
    if file == path or file.startswith(path + "/") or fnmatchcase(file, path):
        return True
    parts = file.split("/")
    return any(fnmatchcase("/".join(parts[:n]), path) for n in range(1, len(parts)))


def _path(target: str, root: Path, campaigns_dir: str) -> str:
    """A path target relative to the root, under the campaigns folder: as validate names
    files (campaigns/team/x.yaml), or relative to the campaigns folder (team/x.yaml)."""
    text = target.replace("\\", "/")
    if Path(text).is_absolute():
        try:
            text = Path(text).resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            text = ".."  # outside the root: refused below
    folder = posixpath.normpath(campaigns_dir.replace("\\", "/"))
    path = posixpath.normpath(text)
    named = text == folder or text.startswith(folder + "/")  # from the root, as validate shows
    if not named and ".." not in text.split("/"):
        path = posixpath.normpath(posixpath.join(folder, path))
    if path != folder and not path.startswith(folder + "/"):
        raise TargetError(f"--target {target!r}: a path must be under {folder}/")
    return path
