"""The repository's own files, read as untrusted input: never through a link, never past the
size limit, and every failure a problem of the file (all reported at once), not an exception.

Campaign and labels files must be regular files: a plan at a git ref reads blobs and never
follows a link, so the work tree refuses links too and both agree. A link that leads out of the
repository has its own code, and neither kind is ever opened."""

from __future__ import annotations

import os
from pathlib import Path

from campaign_gitops.errors import Problem

FILE_TOO_LARGE = "file-too-large"
OUTSIDE = "outside-repository"
SYMLINK = "symlink"
UNREADABLE = "unreadable"
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def inside(root: Path, path: Path) -> bool:
    """Whether `path`, links and `..` resolved, is `root` or under it."""
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a link loop (3.11)
        return False
    return True


def relative(root: Path, path: Path | str) -> str:
    """`path` relative to `root`, with slashes (string slicing: pathlib's is slow at 10,000)."""
    top, full = str(root).rstrip(os.sep) + os.sep, str(path)
    if full.startswith(top):
        return full[len(top) :].replace(os.sep, "/")
    return Path(os.path.relpath(path, root)).as_posix()


def too_large(file: str, size: int, limit: int) -> Problem:
    return Problem(
        file,
        1,
        1,
        "",
        f"the file is {size:,} bytes; files may be at most {limit:,} bytes (max_file_bytes in "
        "the config): it is not read",
        FILE_TOO_LARGE,
    )


def link_problem(file: str, target: str, outside: bool) -> Problem:
    if outside:
        message = (
            f"is a link to {target!r}, outside the repository: it is not read (campaign and "
            "labels files must be files in the repository)"
        )
        return Problem(file, 1, 1, "", message, OUTSIDE)
    message = (
        f"is a link to {target!r}: campaign and labels files must be regular files (plans "
        "read them from git, which never follows a link); copy the file instead"
    )
    return Problem(file, 1, 1, "", message, SYMLINK)


def read(root: Path, path: Path | str, limit: int, file: str | None = None) -> bytes | Problem:
    """The bytes of a regular file, or the problem that keeps it unread (`file`: its name in
    problems). The caller checks that the folder holding it is inside `root` (once, not for
    each of 10,000 files). `path` may be a string: a Path costs more than the read."""
    file = file or relative(root, path)
    try:
        fd = os.open(path, os.O_RDONLY | NOFOLLOW)  # a link fails here, unopened
    except OSError as exc:
        if Path(path).is_symlink():
            return link_problem(file, _target(Path(path)), not inside(root, Path(path)))
        return _unreadable(file, exc)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            return too_large(file, size, limit)
        chunks = [os.read(fd, size + 1)]
        while chunks[-1] and sum(map(len, chunks)) <= limit:  # a short read, or it grew
            chunks.append(os.read(fd, limit + 1 - sum(map(len, chunks))))
    except OSError as exc:
        return _unreadable(file, exc)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    return too_large(file, len(data), limit) if len(data) > limit else data


def _target(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def _unreadable(file: str, exc: OSError) -> Problem:
    reason = exc.strerror or str(exc)
    return Problem(file, 1, 1, "", f"cannot read the file: {reason}", UNREADABLE)


def write_atomic(path: Path, text: str) -> None:
    """Written whole or not at all: a full disk must not leave half a campaign file behind."""
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from exc  # the file the user asked for
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
