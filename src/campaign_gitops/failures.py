"""The failures a user can meet and fix that arrive as library exceptions (a full disk, a
read-only folder, a damaged SQLite file, a lost database connection): what the top-level
handler says instead of "unexpected". Known failures are raised as FatalError where they
happen; this maps the ones that can surface anywhere."""

from __future__ import annotations

import errno
import os
import sys

REMEDIES = {
    errno.ENOSPC: "the disk is full: free some space, then run the command again",
    errno.EDQUOT: "the disk quota is used up: free some space, then run the command again",
    errno.EROFS: "the file system is read-only: run from a writable copy of the repository",
    errno.EACCES: "permission denied: check the permissions of the file and its folder for "
    "this user",
    errno.EPERM: "operation not permitted: check the permissions of the file and its folder "
    "for this user",
    errno.ENOENT: "it does not exist",
    errno.EISDIR: "it is a folder, not a file",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.ENAMETOOLONG: "the file name is too long",
    errno.ELOOP: "too many levels of links",
    errno.EFBIG: "the file is larger than this system allows: free some space or raise the limit",
}


def explain(exc: BaseException) -> str | None:
    """A message for a foreseeable failure, or None for a bug."""
    sqlite3 = sys.modules.get("sqlite3")
    if sqlite3 is not None and isinstance(exc, sqlite3.Error):
        from campaign_gitops.sqlite_util import explain as sqlite_explain

        known = sqlite_explain(exc)
        return str(known) if known is not None else None
    if isinstance(exc, OSError) and exc.errno in REMEDIES:
        names = [n for n in (exc.filename, exc.filename2) if n is not None]
        if not names:
            return f"a file operation failed: {REMEDIES[exc.errno]}"
        return f"cannot use {' -> '.join(os.fsdecode(n) for n in names)}: {REMEDIES[exc.errno]}"
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(exc, psycopg.OperationalError):
        reason = (str(exc).strip().splitlines() or ["no reason given"])[0]
        return (
            f"lost the connection to the PostgreSQL state store: {reason}. Run the command "
            "again when the server is reachable (an interrupted apply resumes from its journal)"
        )
    return None
