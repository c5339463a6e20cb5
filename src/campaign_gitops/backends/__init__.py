from __future__ import annotations

from typing import TYPE_CHECKING

from campaign_gitops.errors import FatalError

if TYPE_CHECKING:
    from campaign_gitops.backends.base import Backend
    from campaign_gitops.config import Settings


def open_backend(settings: Settings) -> Backend:
    if settings.raw.backend == "local":
        from campaign_gitops.backends.local import LocalBackend

        return LocalBackend(settings.platform_path, workflow=settings.raw.creator_approver)
    if settings.raw.clevertap is None:
        raise FatalError("backend clevertap needs a [clevertap] table with account_id (and region)")
    from campaign_gitops.backends.clevertap import ClevertapBackend

    return ClevertapBackend(settings.raw.clevertap)
