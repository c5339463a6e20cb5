from __future__ import annotations

from typing import TYPE_CHECKING

from campaign_gitops.errors import FatalError

if TYPE_CHECKING:
    from campaign_gitops.config import Settings
    from campaign_gitops.state.base import StateStore


def open_state(settings: Settings) -> StateStore:
    """SQLite by default (a path); PostgreSQL (a postgresql:// URL) is not built yet (issue #4)."""
    target = settings.raw.state
    if target.startswith(("postgresql://", "postgres://")):
        raise FatalError("a PostgreSQL state store is not available in this version yet")
    from campaign_gitops.state.sqlite import SqliteState

    return SqliteState(settings.root / target)
