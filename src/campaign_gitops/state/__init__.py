"""Which state store `state` names. Recognised: a postgres(ql):// URL or a libpq key=value string
(PostgreSQL), or a path ending in .db, .sqlite or .sqlite3 (SQLite, relative to the repository).
Anything else is refused in CI, where a mistyped or empty secret would otherwise become a local
file that dies with the runner (and may be named after the secret); locally any other path is
still a SQLite file. The value is never printed: it may be a password."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from campaign_gitops.config import STATE_ENV, env_state, in_ci
from campaign_gitops.errors import FatalError

if TYPE_CHECKING:
    from campaign_gitops.config import Settings
    from campaign_gitops.state.base import StateStore

URL_SCHEMES = ("postgresql://", "postgres://")
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
KEY_VALUE = re.compile(r"\s*[A-Za-z_]+\s*=")  # libpq's form starts with `keyword =`


def is_postgres(target: str) -> bool:
    return target.startswith(URL_SCHEMES) or KEY_VALUE.match(target) is not None


def _refusal(target: str, environ: Mapping[str, str]) -> str | None:
    """Why `target` (not PostgreSQL) cannot be a SQLite path here; None when it can."""
    source = STATE_ENV if env_state(environ) is not None else "`state` in the config"
    if not target:
        hint = " (in CI: is the secret defined and readable by this job?)" if in_ci(environ) else ""
        return f"{source} is empty{hint}"
    if "://" in target:
        why = f"is a {target.partition('://')[0]}:// URL: only postgresql:// is supported"
    elif "=" in target:
        why = "has '=' but is not a libpq key=value string (keyword=value ...)"
    elif not target.endswith(SQLITE_SUFFIXES) and in_ci(environ):
        why = (
            "is neither a postgresql:// URL, a libpq key=value string nor a SQLite path ending "
            f"in {', '.join(SQLITE_SUFFIXES)}: in CI that is refused rather than written to a "
            "local file"
        )
    else:
        return None
    return f"{source} {why} (the value is not shown: it may be a secret)"


def open_state(settings: Settings) -> StateStore:
    target = settings.raw.state.strip()
    if is_postgres(target):
        from campaign_gitops.state.postgres import PostgresState

        return PostgresState(target, export_dir=settings.root / ".campaign-gitops")
    refusal = _refusal(target, os.environ)
    if refusal:
        raise FatalError(refusal)
    from campaign_gitops.state.sqlite import SqliteState

    return SqliteState(settings.root / target)
