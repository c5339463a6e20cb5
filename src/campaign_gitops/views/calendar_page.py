"""The calendar page: one self-contained HTML file (inline CSS and JS, nothing fetched) of every
campaign's sends in a window, with its messages. jinja2 with autoescape: every campaign text
is user input and stays text; the page's policy (CSP) runs only its own script, by hash."""

from __future__ import annotations

import base64
import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from campaign_gitops.models import CampaignBase
from campaign_gitops.models.schedule import When
from campaign_gitops.views.calendar import NEW, Send, status_of
from campaign_gitops.views.previews import Budget, Previews, drawn, spend

STATUSES: dict[str, str] = {
    NEW: "in the files, not on the platform: apply creates it",
    "draft": "a draft: sends nothing until published",
    "scheduled": "published, its first send is ahead",
    "pending_approval": "waits for an approver",
    "rejected": "rejected by an approver",
    "running": "sending",
    "awaiting_next_run": "between two runs",
    "stopped": "stopped: sends nothing more",
    "completed": "completed",
    "archived": "archived: read-only, sends nothing",
}
DND_SHADE = "rgba(99,102,241,.16)"
WEEKEND = (5, 6)
# up to this many HTML previews (email bodies, custom HTML) the page holds their frames; past
# it, the page's script makes each frame near the viewport (Chromium takes 20 s and more to
# make 1,500 frames at once)
EAGER_FRAMES = 200

# marks drawn on one row: a file's 20,000 dates a year would make a page no browser opens
MAX_MARKS = 1_000


@dataclass(frozen=True)
class Window:
    start: datetime  # midnight of the first day, in the page's timezone
    end: datetime  # midnight after the last day
    days: Sequence[datetime]  # each day's midnight, and `end`
    tz_name: str
    at: datetime  # the evaluation time (--at)


@dataclass(frozen=True)
class Drawn:
    """One campaign as the page draws it, made where its file is checked (loader.Then, in a
    worker process when there are many): its facts and schedule (its sends depend on the
    platform's status: drawn in the command's process), and its messages, as HTML when none
    is a frame, else as data (the budget of frame HTML, and whether frames are made at once,
    are the whole page's)."""

    id: str
    name: str
    channel: str
    type: str
    state: str
    labels: tuple[str, ...]
    when: When
    schedule: str
    layout: str
    previews_html: str  # "" when `framed`
    framed: Previews | None = None


def draw(campaign_id: str, spec: CampaignBase) -> Drawn:
    shown = drawn(spec)
    framed = any(item.srcdoc is not None for item in shown.items)
    return Drawn(
        campaign_id,
        spec.name,
        spec.channel,
        spec.type,
        spec.state,
        tuple(spec.labels),
        spec.when,
        schedule_text(spec),
        shown.layout,
        "" if framed else _previews_html(shown, eager=True),
        shown if framed else None,
    )


@dataclass
class Row:
    id: str
    name: str
    channel: str
    type: str
    status: str
    labels: tuple[str, ...]
    labels_json: str
    schedule: str
    dnd: str | None
    dnd_class: str | None  # the track's class drawing its DND hours
    layout: str
    previews: Markup
    marks: list[str] = field(default_factory=list)
    count: str = ""
    first: datetime | None = None

    @property
    def track(self) -> Markup:
        return Markup("".join(self.marks))  # numbers and fixed names only: nothing to escape


def _pct(window: Window, t: datetime) -> float:
    """Where a time is drawn. By timestamps: two times of one zone subtract as wall clocks,
    an hour off across a daylight-saving change."""
    start = window.start.timestamp()
    span = window.end.timestamp() - start
    return max(0.0, min(100.0, (t.timestamp() - start) / span * 100))


def _when(t: datetime) -> str:
    return t.strftime("%a %d %b %Y %H:%M")


def _minutes(clock: str) -> int:
    return int(clock[:2]) * 60 + int(clock[3:])


def _dnd_rule(name: str, start: str, end: str, days: int) -> str:
    """The CSS of a DND window: its hours of every day as one repeating background (one rule
    per distinct window, whatever the number of campaigns and days)."""
    a, b = _minutes(start) / 14.4, _minutes(end) / 14.4  # percent of a day
    clear = "transparent"
    if a < b:
        stops = f"{clear} 0 {a:.2f}%, {DND_SHADE} {a:.2f}% {b:.2f}%, {clear} {b:.2f}%"
    else:
        stops = f"{DND_SHADE} 0 {b:.2f}%, {clear} {b:.2f}% {a:.2f}%, {DND_SHADE} {a:.2f}%"
    return (
        f".{name} {{ background-image: linear-gradient(to right, {stops}); "
        f"background-size: calc(100% / {days}) 100%; }}"
    )


def schedule_text(spec: CampaignBase) -> str:
    w = spec.when
    d = w.delivery
    if d == "now":
        text = "when published"
    elif d == "on_date_time":
        text = f"once, {_when(w.start)} ({w.start.tzname() or 'UTC'})" if w.start else "once"
    elif d == "multiple_dates":
        text = f"on {len(w.dates)} dates"
    elif d == "recurring" and w.recurring is not None:
        r = w.recurring
        unit = r.unit if r.every == 1 else f"{r.every} {r.unit}s"
        on = f" on {', '.join(r.on)}" if r.on else ""
        day = f" on day {r.day_of_month}" if r.day_of_month else ""
        text = f"every {unit}{on}{day} at {r.at}"
    elif d == "action" and w.trigger is not None:
        text = f"when {w.trigger.event} happens"
    elif d == "inaction" and w.trigger is not None and w.inaction is not None:
        then = f"{w.inaction.event} within {w.inaction.within}"
        text = f"when {w.trigger.event} is not followed by {then}"
    elif d == "date_property" and w.date_property is not None:
        p = w.date_property
        offset = f"{p.offset} " if p.offset else ""
        text = f"{offset}{p.relation} {p.property} at {p.at}"
    else:
        text = "on API calls"
    if w.preferences.user_timezone:
        text += ", in each user's timezone"
    if w.preferences.best_time:
        text += ", at each user's best time"
    if w.end is not None:
        text += f", until {_when(w.end)}"
    return text


# one element per send, as small as it can be (a year of a daily campaign is 365 of them):
# the row's class gives the colour, the page's script the time on hover (from the position)
MARK = {"run": '<i style="left:{:.4f}%"></i>', "once": '<i style="left:{:.4f}%"></i>'}
MARK |= {"date": '<i class="d" style="left:{:.4f}%"></i>'}
MARK |= {"on_publish": '<i class="p" style="left:{:.4f}%"></i>'}
BAND = '<b style="left:{:.4f}%;width:{:.4f}%"></b>'


def _mark(window: Window, s: Send) -> str:
    left = _pct(window, s.at)
    if s.until is not None:
        return BAND.format(left, _pct(window, s.until) - left)
    return MARK[s.kind].format(left)


def build(
    campaigns: Mapping[str, Drawn],
    statuses: Mapping[str, str],
    all_sends: Sequence[Send],
    window: Window,
    *,
    backend: str,
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """The template's data: one row per campaign (those sending first, in the order of their
    first send), the filters, the legend."""
    ndays = len(window.days) - 1
    rows: dict[str, Row] = {}
    budget = Budget()
    framed = {cid: spend(c.framed, budget) for cid, c in campaigns.items() if c.framed is not None}
    frames = sum(1 for shown in framed.values() for p in shown.items if p.srcdoc is not None)
    eager = frames <= EAGER_FRAMES
    dnd_classes: dict[tuple[str, str], str] = {}
    for cid, c in campaigns.items():
        dnd = c.when.preferences.dnd
        if dnd is not None:
            dnd_class = dnd_classes.setdefault((dnd.from_, dnd.to), f"dnd{len(dnd_classes)}")
        shown = framed.get(cid)
        rows[cid] = Row(
            id=cid,
            name=c.name,
            channel=c.channel,
            type=c.type,
            status=status_of(c, statuses.get(cid)),
            labels=c.labels,
            labels_json=json.dumps(list(c.labels), ensure_ascii=False),
            schedule=c.schedule,
            dnd=f"DND {dnd.from_}–{dnd.to} ({dnd.mode})" if dnd else None,
            dnd_class=dnd_class if dnd else None,
            layout=c.layout,
            # drawn by jinja with autoescape, here or where the campaign was read
            previews=Markup(c.previews_html if shown is None else _previews_html(shown, eager)),
        )
    counts: dict[str, int] = defaultdict(int)
    bands = set()
    for s in all_sends:
        row = rows.get(s.campaign.id)
        if row is None:
            continue
        if len(row.marks) < MAX_MARKS:
            row.marks.append(_mark(window, s))
        row.first = row.first or s.at
        if s.until is None:
            counts[row.id] += 1
        else:
            bands.add(row.id)
    for cid, row in rows.items():
        n = counts.get(cid, 0)
        row.count = (
            "sends on events in the window"
            if cid in bands
            else f"{n} send{'' if n == 1 else 's'} in the window"
        ) + (f" (the first {MAX_MARKS:,} drawn)" if n > MAX_MARKS else "")
    far = window.end + timedelta(days=1)
    ordered = sorted(rows.values(), key=lambda r: (r.first or far, r.name.casefold(), r.id))
    labels = sorted({lb for r in ordered for lb in r.labels}, key=str.casefold)
    label_values = [(lb, lb) for lb in labels]
    if any(not r.labels for r in ordered):
        label_values.append(("", "(no label)"))
    present = {r.status for r in ordered}
    days = []
    for k, midnight in enumerate(window.days[:-1]):
        left, right = _pct(window, midnight), _pct(window, window.days[k + 1])
        css = " we" if midnight.weekday() in WEEKEND else ""
        if midnight.date() == window.at.astimezone(midnight.tzinfo).date():
            css += " today"
        top = midnight.strftime("%b") if k == 0 or midnight.day == 1 else midnight.strftime("%a")[0]
        days.append(
            {
                "left": f"{left:.3f}",
                "width": f"{right - left:.3f}",
                "css": css,
                "title": midnight.strftime("%A %d %B %Y"),
                "top": top,
                "number": midnight.day,
            }
        )
    last = window.days[-1] - timedelta(days=1)
    now_left = _pct(window, window.at) if window.start <= window.at < window.end else None
    return {
        "title": f"Campaign calendar, {window.start:%d %b %Y} – {last:%d %b %Y}",
        "window": f"{window.start:%a %d %b %Y} to {last:%a %d %b %Y} ({ndays} days)",
        "tz": window.tz_name,
        "start_ms": int(window.start.timestamp() * 1000),
        "end_ms": int(window.end.timestamp() * 1000),
        "at": window.at.isoformat(timespec="seconds"),
        "backend": backend,
        "total_campaigns": len(ordered),
        "total_sends": sum(counts.values()),
        "bands": len(bands),
        "legend": [(s, t) for s, t in STATUSES.items() if s in present],
        "notes": list(notes),
        "filters": [
            ("channel", "Channel", [(c, c) for c in sorted({r.channel for r in ordered})]),
            ("label", "Label", label_values),
            ("status", "Status", [(s, s.replace("_", " ")) for s in STATUSES if s in present]),
        ],
        "days": days,
        "now_left": f"{now_left:.3f}" if now_left is not None else None,
        "rows": ordered,
        # from clock times the model checked (HH:MM): no campaign text
        "dnd_css": Markup(
            "\n".join(_dnd_rule(name, a, b, ndays) for (a, b), name in dnd_classes.items())
        ),
    }


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("campaign_gitops.views", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _script() -> tuple[str, str]:
    text = resources.files("campaign_gitops.views").joinpath("templates/calendar.js").read_text()
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return text, f"sha256-{digest}"


def _previews_html(shown: Previews, eager: bool) -> str:
    """A campaign's messages drawn; `eager`: frames made at once, else as the page's script
    makes them near the viewport."""
    template = _environment().get_template("previews.html.j2")
    return template.render(previews=shown, eager_frames=eager)


def render(page: dict[str, Any]) -> str:
    script, digest = _script()
    template = _environment().get_template("calendar.html.j2")
    return template.render(page=page, script=Markup(script), script_hash=digest)
