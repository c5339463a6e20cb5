"""The values the dashboard's campaign filters take (`list`, `report` and saved filters):
a value outside them matches no campaign, so it is refused, never an empty answer."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import get_args

from campaign_gitops.models import CHANNELS
from campaign_gitops.models.campaign import CampaignType
from campaign_gitops.models.schedule import Delivery
from campaign_gitops.rules import STATUSES

# created_by and label take the platform's own values
CHOICES: dict[str, tuple[str, ...]] = {
    "channel": CHANNELS,
    "type": get_args(CampaignType),
    "status": STATUSES,
    "delivery": get_args(Delivery),
}


def unknown(values: Iterable[str], choices: Iterable[str], what: str) -> str | None:
    """Why `values` are refused (naming the valid ones, and the nearest to a typo), or None."""
    valid = list(choices)
    wrong = [value for value in values if value not in valid]
    if not wrong:
        return None
    near = difflib.get_close_matches(wrong[0], valid, n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    shown = ", ".join(map(repr, wrong))
    verb = "is not" if len(wrong) == 1 else "are not"
    listing = ", ".join(valid) if valid else "none"
    return f"{shown} {verb} {what}{hint}; valid: {listing}"
