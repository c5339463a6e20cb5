"""What each campaign's messages look like, as data for the calendar page: one preview per
message (A/B variants and per-property messages side by side), SMS counted as carriers count
it. Drawing them is the template's (templates/calendar.html.j2); every text stays text there."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
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
# a pull request's file is any bytes: aliases can repeat one megabyte body a hundred times, and
# the page must stay one a reviewer's browser opens
MAX_MESSAGES = 12  # previews drawn per campaign; the others are counted
MAX_TEXT = 2_000  # characters of one text field shown
MAX_HTML = 100_000  # characters of one message's HTML drawn
PAGE_HTML = 20_000_000  # characters of HTML drawn in all the page's frames
# what a preview's HTML keeps (nh3, an allow-list): layout and inline style; no element that
# reaches the network (link, iframe, object, meta, base...) and no URL but data: ones
_ATTRIBUTES = {
    "*": {"style", "class", "align", "valign", "width", "height", "bgcolor", "border", "dir"},
    "img": {"src", "alt"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}


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
    note: str | None = None  # what was cut or not drawn


@dataclass
class Budget:
    """Characters of HTML the page's frames may still hold."""

    html: int = PAGE_HTML


@dataclass(frozen=True)
class Previews:
    layout: Literal["single", "variants", "by_property"]
    items: tuple[Preview, ...]
    more: int = 0  # messages not drawn (past MAX_MESSAGES)


def spend(shown: Previews, budget: Budget) -> Previews:
    """The previews with the HTML of their frames taken from the page's budget, in order: a
    frame past it is not drawn (the page's other campaigns took it)."""
    items = list(shown.items)
    for index, item in enumerate(items):
        if item.srcdoc is None:
            continue
        if len(item.srcdoc) > budget.html:
            note = f"not drawn: the page draws at most {PAGE_HTML:,} characters of message HTML"
            items[index] = replace(item, srcdoc=None, note=note)
        else:
            budget.html -= len(item.srcdoc)
    return replace(shown, items=tuple(items))


def drawn(spec: CampaignBase) -> Previews:
    """Each message drawn, before the page's budget of frame HTML (spend)."""
    what = spec.what
    layout: Literal["single", "variants", "by_property"] = "single"
    messages: list[tuple[Any, str | None]] = [(what.content, None)]
    if what.variants:
        layout = "variants"
        messages = [(v.content, f"Variant {v.name} · {v.split}%") for v in what.variants]
    elif what.by_property is not None:
        by = what.by_property
        layout = "by_property"
        messages = [(m.content, f"{by.property} = {_scalar(m.value)}") for m in by.messages]
        if by.fallback is not None:
            messages.append((by.fallback, f"{by.property}: any other value"))
    items = [_preview(spec.channel, c, h) for c, h in messages[:MAX_MESSAGES]]
    return Previews(layout, tuple(items), max(0, len(messages) - MAX_MESSAGES))


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _preview(channel: str, content: Any, heading: str | None) -> Preview:
    raw: dict[str, Any] = content.model_dump(mode="json", by_alias=True, exclude_none=True)
    srcdoc, note = None, None
    key = HTML_FIELD.get(channel)
    if key is not None and raw.get(key):
        srcdoc = _document(str(raw[key]))
        if len(srcdoc) > MAX_HTML:
            srcdoc, note = srcdoc[:MAX_HTML], f"the HTML is cut at {MAX_HTML:,} characters"
    sms = sms_count(raw["body"]) if channel == "sms" else None
    return Preview(channel, heading, _cut(raw), srcdoc, sms, note)


def _cut(value: Any) -> Any:
    """Every text shown at most MAX_TEXT characters long."""
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return f"{value[:MAX_TEXT]}… ({len(value):,} characters)"
    if isinstance(value, dict):
        return {k: _cut(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut(v) for v in value]
    return value


def _document(body: str) -> str:
    """The iframe's document: HTML through an allow-list (the sandbox runs no script, and the
    page's policy loads nothing, but a link or a frame would still look up its host), a text
    body as preformatted text."""
    if _LOOKS_LIKE_HTML.search(body):
        import nh3

        return nh3.clean(
            body, attributes=_ATTRIBUTES, url_schemes={"data"}, url_relative="deny", link_rel=None
        )
    return f'<pre style="white-space:pre-wrap;font:14px sans-serif">{html.escape(body)}</pre>'
