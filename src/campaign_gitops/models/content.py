"""What each channel sends: one content model per channel, required fields per channel."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from campaign_gitops.models.common import (
    KeyValues,
    Line,
    NonEmpty,
    NonEmptyText,
    Strict,
    Text,
    fail,
)


class _HtmlTemplate(Strict):
    template: str
    html: Text | None = None

    @model_validator(mode="after")
    def _custom_html_has_html(self) -> _HtmlTemplate:
        if self.template == "custom_html" and not self.html:
            raise fail("html-required", "template custom_html needs html", "html")
        return self


class Button(Strict):
    text: NonEmpty
    action: Literal["deep_link", "url", "close", "dismiss"] = "close"
    url: Line | None = None


class PushContent(Strict):
    title: NonEmpty = Field(max_length=256)
    body: NonEmptyText = Field(max_length=4000)
    subtitle: Line | None = None
    deep_link: Line | None = None
    image_url: Line | None = None
    sound: Line | None = None
    android_channel: Line | None = Field(None, description="Android notification channel id")
    ios_badge: int | None = Field(None, ge=0)
    ttl_hours: int | None = Field(None, ge=1, le=672)
    key_values: KeyValues = Field(default_factory=dict)


class InAppContent(_HtmlTemplate):
    template: Literal[
        "cover", "interstitial", "half_interstitial", "header", "footer", "alert", "custom_html"
    ] = "interstitial"
    title: Line | None = None
    body: Text | None = None
    image_url: Line | None = None
    html: Text | None = Field(None, description="Required when template is custom_html")
    buttons: list[Button] = Field(default_factory=list, max_length=3)
    frequency: Literal["once", "every_time", "once_per_session"] = "once"


class AppInboxContent(Strict):
    template: Literal["simple", "message_icon", "carousel", "image_carousel"] = "simple"
    title: NonEmpty
    body: Text | None = None
    image_url: Line | None = None
    deep_link: Line | None = None
    tags: list[NonEmpty] = Field(default_factory=list, max_length=2)
    expires_in_days: int = Field(30, ge=1, le=60)
    buttons: list[Button] = Field(default_factory=list, max_length=3)


class EmailContent(Strict):
    subject: NonEmpty = Field(max_length=500)
    body: NonEmptyText = Field(description="HTML or text body")
    sender_name: NonEmpty
    from_address: Line | None = Field(None, description="Sender email address")
    reply_to: Line | None = None
    preheader: Line | None = None
    provider: Line | None = Field(None, description="Email service provider nick name")


class SmsContent(Strict):
    body: NonEmptyText = Field(max_length=1600)
    sender_id: Line | None = None
    provider: Line | None = Field(None, description="SMS provider nick name")
    template_id: Line | None = Field(None, description="Regulatory (DLT) template id")


class WhatsAppContent(Strict):
    template: NonEmpty = Field(description="Approved WhatsApp template name")
    language: str = Field(min_length=1, pattern=r"^[a-z]{2}(_[A-Z]{2})?$")
    variables: list[Line] = Field(default_factory=list)
    provider: Line | None = None


class WebPushContent(Strict):
    title: NonEmpty
    body: NonEmptyText
    url: NonEmpty = Field(description="Page opened on click")
    icon_url: Line | None = None
    image_url: Line | None = None


class WebPopupContent(_HtmlTemplate):
    template: Literal["box", "banner", "interstitial", "image_only", "custom_html"] = "box"
    title: Line | None = None
    body: Text | None = None
    image_url: Line | None = None
    html: Text | None = None
    buttons: list[Button] = Field(default_factory=list, max_length=2)
    position: Literal["top", "bottom", "center"] = "center"


class WebExitIntentContent(Strict):
    title: NonEmpty
    body: Text | None = None
    image_url: Line | None = None
    html: Text | None = None
    buttons: list[Button] = Field(default_factory=list, max_length=2)


class NativeDisplayContent(Strict):
    template: Literal["simple", "carousel", "image_only", "custom_kv"] = "simple"
    title: Line | None = None
    body: Text | None = None
    image_url: Line | None = None
    key_values: KeyValues = Field(default_factory=dict)


class WebNativeDisplayContent(Strict):
    selector: NonEmpty = Field(description="CSS selector of the element the content replaces")
    template: Literal["banner", "carousel", "custom_html", "custom_kv"] = "banner"
    html: Text | None = None
    image_url: Line | None = None
    key_values: KeyValues = Field(default_factory=dict)


PayloadField = Literal[
    "email", "identity", "clevertap_id", "phone", "name", "profile_properties", "push_tokens"
]


class WebhookContent(Strict):
    endpoint: NonEmpty = Field(description="Name of the webhook endpoint set up in the account")
    fields: list[PayloadField] = Field(["identity"])
    key_values: KeyValues = Field(default_factory=dict)


class FacebookAudienceContent(Strict):
    ad_account: NonEmpty
    audience: NonEmpty = Field(description="Custom audience name")
    match_keys: list[Literal["email", "phone", "mobile_ad_id"]] = Field(["email"], min_length=1)


class GoogleAdsContent(Strict):
    customer_id: str = Field(min_length=1, pattern=r"^[0-9]{3}-?[0-9]{3}-?[0-9]{4}$")
    audience: NonEmpty = Field(description="Customer match user list name")
    match_keys: list[Literal["email", "phone", "mobile_ad_id"]] = Field(["email"], min_length=1)


class TikTokAudienceContent(Strict):
    advertiser_id: NonEmpty
    audience: NonEmpty
    match_keys: list[Literal["email", "phone", "mobile_ad_id"]] = Field(["email"], min_length=1)


class SegmentExportContent(Strict):
    fields: list[PayloadField] = Field(["identity"], min_length=1)
    key_values: KeyValues = Field(default_factory=dict)


Content = (
    PushContent
    | InAppContent
    | AppInboxContent
    | EmailContent
    | SmsContent
    | WhatsAppContent
    | WebPushContent
    | WebPopupContent
    | WebExitIntentContent
    | NativeDisplayContent
    | WebNativeDisplayContent
    | WebhookContent
    | FacebookAudienceContent
    | GoogleAdsContent
    | TikTokAudienceContent
    | SegmentExportContent
)

CONTENT_BY_CHANNEL: dict[str, type[Strict]] = {
    "push": PushContent,
    "in_app": InAppContent,
    "app_inbox": AppInboxContent,
    "email": EmailContent,
    "sms": SmsContent,
    "whatsapp": WhatsAppContent,
    "web_push": WebPushContent,
    "web_popup": WebPopupContent,
    "web_exit_intent": WebExitIntentContent,
    "native_display": NativeDisplayContent,
    "web_native_display": WebNativeDisplayContent,
    "webhook": WebhookContent,
    "facebook_audience": FacebookAudienceContent,
    "google_ads": GoogleAdsContent,
    "tiktok_audience": TikTokAudienceContent,
    "segment_export": SegmentExportContent,
}
CHANNELS = tuple(CONTENT_BY_CHANNEL)
