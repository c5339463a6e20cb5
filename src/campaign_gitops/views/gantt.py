"""The next days of a plan's sending campaigns as a mermaid gantt chart, for the pull-request
comment: GitHub draws a ```mermaid block, and the calendar page (an artifact of the run) has the
rest. A campaign name is user input: only plain characters reach the chart, so a name can neither
end the block nor break mermaid's `name : fields` syntax."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, timedelta

from pydantic import ValidationError

from campaign_gitops.models import CAMPAIGN_ADAPTER, CampaignBase
from campaign_gitops.plan import BLOCKED, Create, Plan, Replace
from campaign_gitops.views.calendar import NEW, Send, sends

DAYS = 14
MAX_ROWS = 30  # a comment, not the calendar
MAX_MARKS = 3  # more sends of one campaign are drawn as one bar from the first to the last
_PLAIN = re.compile(r"[^\w .,()\[\]/&+!?'-]")
_TIME = "%Y-%m-%d %H:%M"
_URL = re.compile(r"https://[\w./%?=&#:~+-]+")  # the workflow's artifact link, nothing else


def _label(text: str) -> str:
    return " ".join(_PLAIN.sub(" ", text).split())[:60] or "campaign"


def _specs(plan: Plan) -> dict[str, CampaignBase]:
    specs: dict[str, CampaignBase] = {}
    for key, data in plan.specs.items():
        try:
            specs[key] = CAMPAIGN_ADAPTER.validate_python(data)
        except ValidationError:
            continue  # a spec the plan carries was valid when planned; a saved one may not be
    return specs


def _rows(found: Sequence[Send], blocked: set[str]) -> list[tuple[str, str, str]]:
    """(section, task line, sort key) of each campaign: its sends as milestones, or one bar."""
    by_campaign: dict[str, list[Send]] = {}
    for send in found:
        by_campaign.setdefault(send.campaign_id, []).append(send)
    rows = []
    for key, items in by_campaign.items():
        campaign = items[0].campaign
        # "[id]" first: mermaid reads a line starting with a keyword (title, excludes,
        # includes, weekday, dateFormat, click...) as that directive, whatever case
        name = f"[{_label(key)}] {_label(campaign.name)}"
        tags = "crit, " if key in blocked else ""
        section = _label(campaign.channel)
        for item in items if len(items) <= MAX_MARKS and items[0].until is None else []:
            line = f"{name} :{tags}milestone, {item.at:{_TIME}}, 0m"
            rows.append((section, line, f"{item.at:{_TIME}}"))
        if len(items) > MAX_MARKS or items[0].until is not None:
            last = items[-1]
            end = last.until or last.at + timedelta(hours=1)
            what = "" if items[0].until is not None else f" ({len(items)} sends)"
            line = f"{name}{what} :{tags}{items[0].at:{_TIME}}, {end:{_TIME}}"
            rows.append((section, line, f"{items[0].at:{_TIME}}"))
    return rows


def section(plan: Plan, calendar_url: str | None = None, days: int = DAYS) -> list[str]:
    """The comment's "next days" section: the sends of the campaigns the plan creates or
    changes, from the plan's time, in UTC."""
    specs = _specs(plan)
    made = {c.key for c in plan.changes if isinstance(c, Create | Replace)}
    # a campaign the plan does not create is on the platform already: its `now` send is past
    statuses = {key: NEW if key in made else "scheduled" for key in specs}
    start = plan.at.astimezone(UTC)
    found = sends(specs, statuses, start, start + timedelta(days=days), UTC, now=start)
    blocked = {c.key for c in plan.changes if c.verdict == BLOCKED}
    rows = sorted(_rows(found, blocked), key=lambda row: (row[0], row[2]))
    out = [f"#### Next {days} days", ""]
    url = calendar_url if calendar_url and _URL.fullmatch(calendar_url) else None
    link = f" The whole calendar: [calendar page]({url})." if url else ""
    if not rows:
        return [*out, f"No send of a changed campaign in the next {days} days.{link}", ""]
    shown = rows[:MAX_ROWS]
    out += [
        "```mermaid",
        "gantt",
        f"  title Sends of the changed campaigns from {start:%Y-%m-%d %H:%M} UTC",
        "  dateFormat YYYY-MM-DD HH:mm",
        "  axisFormat %d %b",
        "  todayMarker off",
    ]
    current = None
    for name, line, _ in shown:
        if name != current:
            out.append(f"  section {name}")
            current = name
        out.append(f"  {line}")
    out += ["```", ""]
    more = len(rows) - len(shown)
    tail = f"{more} more rows are not drawn." if more else ""
    if tail or link:
        out += [f"{tail}{link}".strip(), ""]
    return out
