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
    raise FatalError(f"backend {settings.raw.backend!r} is not available in this version")
