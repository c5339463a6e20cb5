"""What each campaign's messages look like, as data for the calendar page: one preview per
message (A/B variants and per-property messages side by side), SMS counted as carriers count
it. Drawing them is the template's (templates/calendar.html.j2); every text stays text there."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any, Literal

from campaign_gitops.models import CampaignBase

# GSM 03.38: the basic character set (one septet each) and its extension table (an escape
# septet and one more: two each). Anything else makes the whole message UCS-2.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
GSM7_SINGLE, GSM7_PART = 160, 153  # a concatenated part gives 7 septets to its header
UCS2_SINGLE, UCS2_PART = 70, 67
# channels whose HTML is drawn in a sandboxed iframe
HTML_FIELD = {
    "email": "body",
    "in_app": "html",
    "web_popup": "html",
    "web_exit_intent": "html",
    "web_native_display": "html",
}
_LOOKS_LIKE_HTML = re.compile(r"<[A-Za-z!/]")


@dataclass(frozen=True)
class SmsCount:
    encoding: Literal["GSM-7", "UCS-2"]
    characters: int  # as the user typed them
    units: int  # septets (GSM-7, an extension character is two) or UTF-16 code units (UCS-2)
    segments: int
    single: int  # the most one message holds
    per_part: int  # the most each part of a longer message holds

    @property
    def summary(self) -> str:
        part = "segment" if self.segments == 1 else "segments"
        return (
            f"{self.characters} characters, {self.encoding} ({self.units} of {self.single} "
            f"in one; {self.per_part} a part when longer): {self.segments} {part}"
        )


def sms_count(text: str) -> SmsCount:
    """Characters, encoding and segments of an SMS body. A part never splits an extension
    character's two septets, nor a UTF-16 surrogate pair, which can take one more part than
    the plain division."""
    gsm = all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)
    if gsm:
        weights = [2 if c in GSM7_EXTENSION else 1 for c in text]
        single, part = GSM7_SINGLE, GSM7_PART
    else:
        weights = [2 if ord(c) > 0xFFFF else 1 for c in text]
        single, part = UCS2_SINGLE, UCS2_PART
    units = sum(weights)
    if units <= single:
        segments = 1 if text else 0
    else:
        segments, room = 1, part
        for weight in weights:
            if weight > room:
                segments, room = segments + 1, part
            room -= weight
    return SmsCount("GSM-7" if gsm else "UCS-2", len(text), units, segments, single, part)


@dataclass(frozen=True)
class Preview:
    """One message as its channel shows it."""

    channel: str
    heading: str | None  # "Variant A · 50%", "Customer Type = Gold"; None for a single message
    fields: dict[str, Any]  # the content's fields, as in the file
    srcdoc: str | None = None  # HTML drawn in a sandboxed iframe (email body, custom HTML)
    sms: SmsCount | None = None


@dataclass(frozen=True)
class Previews:
    layout: Literal["single", "variants", "by_property"]
    items: tuple[Preview, ...]


def previews(spec: CampaignBase) -> Previews:
    what = spec.what
    if what.variants:
        items = [
            _preview(spec.channel, v.content, f"Variant {v.name} · {v.split}%")
            for v in what.variants
        ]
        return Previews("variants", tuple(items))
    if what.by_property is not None:
        by = what.by_property
        items = [
            _preview(spec.channel, m.content, f"{by.property} = {_scalar(m.value)}")
            for m in by.messages
        ]
        if by.fallback is not None:
            items.append(_preview(spec.channel, by.fallback, f"{by.property}: any other value"))
        return Previews("by_property", tuple(items))
    return Previews("single", (_preview(spec.channel, what.content, None),))


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _preview(channel: str, content: Any, heading: str | None) -> Preview:
    fields: dict[str, Any] = content.model_dump(mode="json", by_alias=True, exclude_none=True)
    srcdoc = None
    key = HTML_FIELD.get(channel)
    if key is not None and fields.get(key):
        srcdoc = _document(str(fields[key]))
    sms = sms_count(fields["body"]) if channel == "sms" else None
    return Preview(channel, heading, fields, srcdoc, sms)


def _document(body: str) -> str:
    """The iframe's document: HTML as it is (the sandbox runs no script of it), a text body
    as preformatted text."""
    if _LOOKS_LIKE_HTML.search(body):
        return body
    return f'<pre style="white-space:pre-wrap;font:14px sans-serif">{html.escape(body)}</pre>'
