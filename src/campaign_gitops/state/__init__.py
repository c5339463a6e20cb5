from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from campaign_gitops.config import Settings
    from campaign_gitops.state.base import StateStore


def open_state(settings: Settings) -> StateStore:
    """SQLite by default (a path, relative to the repository); PostgreSQL for a URL."""
    target = settings.raw.state
    if target.startswith(("postgresql://", "postgres://")):
        from campaign_gitops.state.postgres import PostgresState

        return PostgresState(target)
    from campaign_gitops.state.sqlite import SqliteState

    return SqliteState(settings.root / target)
