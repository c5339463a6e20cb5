from __future__ import annotations

from typing import TYPE_CHECKING

from campaign_gitops.errors import FatalError

if TYPE_CHECKING:
    from campaign_gitops.backends.base import Backend
    from campaign_gitops.config import Settings
    from campaign_gitops.state.base import StateStore


def open_backend(settings: Settings) -> Backend:
    if settings.raw.backend == "local":
        from campaign_gitops.backends.local import LocalBackend

        return LocalBackend(
            settings.platform_path,
            workflow=settings.raw.creator_approver,
            limits=settings.raw.global_limits,
        )
    if settings.raw.clevertap is None:
        raise FatalError("backend clevertap needs a [clevertap] table with account_id (and region)")
    from campaign_gitops.backends.clevertap import ClevertapBackend

    return ClevertapBackend(settings.raw.clevertap)


def open_snapshot(settings: Settings, state: StateStore) -> Backend:
    """The configured backend as the state store last saw it (`plan --no-refresh`): its
    capabilities, no connection and no credentials."""
    from campaign_gitops.backends.snapshot import StateSnapshot

    if settings.raw.backend == "local":
        from campaign_gitops.backends.local import LocalBackend

        return StateSnapshot(state, "local", LocalBackend.capabilities, lambda spec: [])
    if settings.raw.clevertap is None:
        raise FatalError("backend clevertap needs a [clevertap] table with account_id (and region)")
    from campaign_gitops.backends.clevertap import capabilities
    from campaign_gitops.backends.clevertap_body import unsupported

    return StateSnapshot(state, "clevertap", capabilities(settings.raw.clevertap), unsupported)
