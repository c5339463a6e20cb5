from campaign_gitops.models.campaign import (
    CAMPAIGN_ADAPTER,
    CAMPAIGN_MODELS,
    MAX_LABELS,
    SECTIONS,
    CampaignBase,
    Label,
    LabelsFile,
)
from campaign_gitops.models.content import CHANNELS

__all__ = [
    "CAMPAIGN_ADAPTER",
    "CAMPAIGN_MODELS",
    "CHANNELS",
    "MAX_LABELS",
    "SECTIONS",
    "CampaignBase",
    "Label",
    "LabelsFile",
]
