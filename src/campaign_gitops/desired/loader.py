"""Files -> desired state: every file checked (filecheck.py, on every core: parallel.py), then
the checks across files (ids unique, labels exist, moves from ids no file has); all problems at
once."""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campaign_gitops import files
from campaign_gitops.config import config_problems
from campaign_gitops.desired.filecheck import (
    LABEL_RE,
    Source,
    Then,
    at_most,
    load_labels,
    printable_problem,
)
from campaign_gitops.desired.parallel import check_campaigns
from campaign_gitops.errors import Problem, ValidationFailed
from campaign_gitops.models import CAMPAIGN_ADAPTER, CampaignBase, Label
from campaign_gitops.plan import checksum
from campaign_gitops.suggest import did_you_mean
from campaign_gitops.yamllimits import MIB

if TYPE_CHECKING:
    from campaign_gitops.config import Settings

__all__ = ["CampaignDoc", "Desired", "Source", "build", "decode", "read_configured"]

YAML_SUFFIXES = (".yaml", ".yml")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CampaignDoc:
    """A valid campaign file: its text is not kept (15 MB at 10,000), only its checksum."""

    id: str
    file: str
    checksum: str  # of the file's text: a saved plan is stale when it changes
    spec: CampaignBase


@dataclass
class Desired:
    campaigns: dict[str, CampaignDoc] = field(default_factory=dict)
    made: dict[str, Any] = field(default_factory=dict)  # `then`'s results, instead of models
    labels: list[Label] = field(default_factory=list)
    labels_source: Source | None = None
    valid_campaigns: int = 0  # also when read without models (validate)


def build(
    campaign_sources: Iterable[Source],
    labels_source: Source | None,
    unread: Sequence[Problem] = (),
    labels_unread: bool = False,
    *,
    models: bool = True,
    then: Then | None = None,
) -> Desired:
    """Everything wrong in every file, or the desired state. `unread`: the files refused before
    parsing (too large, a link, unreadable); `labels_unread`: the labels file is one of them,
    so the labels campaigns use cannot be checked. Without `models` (validate), `campaigns`
    stays empty and `valid_campaigns` counts them; with `then`, `made` holds its results
    instead."""
    problems: list[Problem] = list(unread)
    known: set[str] = set()
    labels: list[Label] = []
    if labels_source is not None:
        names, labels = load_labels(labels_source, problems)
        at_most(problems, len(unread), labels_source.file)
        known = set(names)
    where = labels_source.file if labels_source else "labels.yaml"
    desired = Desired(labels_source=labels_source)
    owners: dict[str, str] = {}
    moving: list[tuple[Source, str]] = []
    sources = list(campaign_sources)
    began = time.perf_counter()
    checks = check_campaigns(sources, models=models, then=then)
    for source, checked in zip(sources, checks, strict=True):
        problems.extend(checked.problems)
        if checked.id is not None:
            if checked.id in owners:
                has_id = "id:" in source.text
                problems.append(
                    source.problem(
                        ["id"] if has_id else [],
                        f"id {checked.id!r} is already used by {owners[checked.id]}",
                        "duplicate-id",
                    )
                )
                continue
            owners[checked.id] = source.file
            if checked.moved_from is not None:
                moving.append((source, checked.moved_from))
        for index, name in enumerate(checked.labels):
            if name not in known and LABEL_RE.fullmatch(name) and not labels_unread:
                problems.append(
                    source.problem(
                        ["labels", index],
                        f"label {name!r} is not defined in {where}{did_you_mean(name, known)}",
                        "unknown-label",
                    )
                )
        if checked.valid and checked.id is not None:
            desired.valid_campaigns += 1
            if problems or not models:
                continue  # nothing will be planned: no model is needed
            if then is not None:
                desired.made[checked.id] = checked.made
                continue
            spec = checked.spec or CAMPAIGN_ADAPTER.validate_python(checked.data)
            doc = CampaignDoc(checked.id, source.file, checksum(source.text), spec)
            desired.campaigns[checked.id] = doc
    problems += _move_problems(moving, owners)
    log.debug(
        "checked %d campaign files and %s in %.3f s: %d valid, %d problem(s)",
        len(sources),
        labels_source.file if labels_source else "no labels file",
        time.perf_counter() - began,
        desired.valid_campaigns,
        len(problems),
    )
    if problems:
        raise ValidationFailed(map(printable_problem, problems))
    desired.labels = labels
    return desired


def _move_problems(moving: list[tuple[Source, str]], owners: dict[str, str]) -> list[Problem]:
    """`moved_from: OLD` moves OLD's campaign to the file's id: OLD must be in no file (that
    file would keep it), and no other file may move from it too (one campaign, two ids)."""
    problems: list[Problem] = []
    claimed: dict[str, str] = {}
    for source, old in moving:
        if owners.get(old) == source.file:
            message = f"{old!r} is this file's own id: name the id the campaign had before"
            code = "moved-from-present"
        elif old in owners:
            message = (
                f"{old!r} is still the id of {owners[old]}: remove one of them (a campaign "
                "moves from an id no file has)"
            )
            code = "moved-from-present"
        elif old in claimed:
            message = f"{claimed[old]} moves from {old!r} too: a campaign moves to one id"
            code = "duplicate-moved-from"
        else:
            claimed[old] = source.file
            continue
        problems.append(source.problem(["moved_from"], message, code))
    return problems


def campaign_files(campaigns_dir: Path) -> list[str]:
    """Campaign files, and links named like one (refused when read), in pathlib's order; never
    descends into a linked folder. os.scandir and strings: the file types come with the
    listing, and a Path per file would cost more than reading it."""
    if not campaigns_dir.is_dir():
        return []
    found: list[str] = []
    folders = [str(campaigns_dir)]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.path)
                elif os.path.splitext(entry.name)[1] not in YAML_SUFFIXES:
                    continue
                elif entry.is_symlink() or entry.is_file():
                    found.append(entry.path)
    return sorted(found, key=lambda path: path.split(os.sep))


@contextmanager
def gc_paused() -> Iterator[None]:
    """Loading builds many long-lived objects and no cycles; the collector's full passes over
    the growing heap cost a third of the load time at 10,000 files."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def decode(file: str, data: bytes) -> Source:
    try:
        return Source(file, data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        problem = Problem(
            file,
            line,
            col,
            "",
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x})",
            "encoding",
        )
        raise ValidationFailed([printable_problem(problem)]) from exc


Pick = Callable[[list[Source]], list[Source]]


def read_worktree(
    root: Path,
    campaigns_dir: Path,
    labels_file: Path,
    max_file_bytes: int = MIB,
    *,
    models: bool = True,
    pick: Pick | None = None,
    then: Then | None = None,
) -> Desired:
    """`pick`: the campaign files to check, of all that were read (a partial plan's)."""
    unread: list[Problem] = []

    def source(path: Path | str) -> Source | None:
        file = files.relative(root, path)
        data = files.read(root, path, max_file_bytes, file)
        if isinstance(data, Problem):
            unread.append(printable_problem(data))
            return None
        try:
            return decode(file, data)
        except ValidationFailed as exc:
            unread.extend(exc.problems)
            return None

    with gc_paused():
        began = time.perf_counter()
        found = campaign_files(campaigns_dir)
        if found and not files.inside(root, campaigns_dir):  # a folder that links out
            where = files.relative(root, campaigns_dir)
            link = files.link_problem(where, str(campaigns_dir.resolve()), True)
            unread.append(printable_problem(link))
            found = []
        sources = [s for p in found if (s := source(p)) is not None]
        log.debug(
            "read %d campaign files under %s in %.3f s (%d unread)",
            len(sources),
            files.relative(root, campaigns_dir),
            time.perf_counter() - began,
            len(found) - len(sources),
        )
        if pick is not None:
            sources = pick(sources)
            log.debug("picked %d of them to check (a partial plan)", len(sources))
        has_labels = labels_file.is_file() or labels_file.is_symlink()
        labels = None
        if has_labels and not files.inside(root, labels_file.parent):
            where = files.relative(root, labels_file)
            link = files.link_problem(where, str(labels_file.resolve()), True)
            unread.append(printable_problem(link))
        elif has_labels:
            labels = source(labels_file)
        unreadable = has_labels and labels is None
        return build(sources, labels, unread, labels_unread=unreadable, models=models, then=then)


def read_configured(
    settings: Settings, *, models: bool = True, pick: Pick | None = None, then: Then | None = None
) -> Desired:
    """The desired state in the work tree. A folder or file the config names must exist: a
    misspelt campaigns_dir would otherwise read as a repository without campaigns."""
    named = settings.raw.model_fields_set
    missing = [
        (key, f"{getattr(settings.raw, key)!r} does not exist (in {settings.root})")
        for key in ("campaigns_dir", "labels_file")
        if key in named and not (settings.root / getattr(settings.raw, key)).exists()
    ]
    if missing:
        raise ValidationFailed(
            config_problems(settings.config_file, missing, "config-missing-path")
        )
    return read_worktree(
        settings.root,
        settings.campaigns_dir,
        settings.labels_file,
        settings.raw.max_file_bytes,
        models=models,
        pick=pick,
        then=then,
    )
