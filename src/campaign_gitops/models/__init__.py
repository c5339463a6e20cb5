from campaign_gitops.models.campaign import (
    CAMPAIGN_ADAPTER,
    MAX_LABELS,
    SECTIONS,
    CampaignBase,
    Label,
    LabelsFile,
    campaign_model,
)
from campaign_gitops.models.content import CHANNELS

__all__ = [
    "CAMPAIGN_ADAPTER",
    "CHANNELS",
    "MAX_LABELS",
    "SECTIONS",
    "CampaignBase",
    "Label",
    "LabelsFile",
    "campaign_model",
]
