"""A plan as text (Terraform's symbols), markdown (pull-request comments) and JSON."""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Sequence
from typing import Any

import click

from campaign_gitops.acks import command as ack_command
from campaign_gitops.ci import fence
from campaign_gitops.diff import ABSENT
from campaign_gitops.limits import render as limits_view
from campaign_gitops.models.common import printable
from campaign_gitops.plan import (
    APPROVAL,
    BLOCKED,
    MANUAL,
    Change,
    Create,
    Drift,
    LabelRename,
    LabelUpdate,
    Plan,
    Publish,
    Replace,
    Update,
)

GITHUB_COMMENT_LIMIT = 65_535
COLOURS = {"+": "green", "~": "yellow", "-": "red", "-/+": "magenta", "<=": "cyan", ".": "blue"}
VALUE_WIDTH = 120


def use_colour(stream_is_tty: bool) -> bool:
    """Colour on a terminal unless NO_COLOR is set (https://no-color.org)."""
    return stream_is_tty and not os.environ.get("NO_COLOR")


def _value(value: Any) -> str:
    text = value if value == ABSENT else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"


def _detail(change: Change) -> str:
    return _what(change) + clears_note(change)


def _what(change: Change) -> str:
    reach = f"reach ≈ {change.reach:,}" if change.reach is not None else ""
    if isinstance(change, Create | Replace):
        state = "published" if change.publish else "as a draft"
        return f" ({state}, {reach})" if reach else f" ({state})"
    if isinstance(change, Update):
        return f" [{', '.join(sorted(change.sections))}]" + (f" ({reach})" if reach else "")
    return ""


CLEARS_SHOWN = 3


def clears_note(change: Change) -> str:
    """A field the platform has and the file omits is removed on the platform: said up front,
    ` (clears description)`, never only as a `-> <absent>` among the field lines."""
    paths = change.clears
    if not paths:
        return ""
    more = len(paths) - CLEARS_SHOWN
    shown = ", ".join(paths[:CLEARS_SHOWN]) + (f" and {more} more" if more > 0 else "")
    return f" (clears {shown})"


def _headline(plan: Plan) -> str:
    parts = [f"at {plan.at.isoformat(timespec='seconds')}", f"backend {plan.backend}"]
    if plan.env != "default":
        parts.insert(0, f"env {plan.env}")
    if plan.commit:
        parts.append(f"commit {plan.commit[:12]}")
    return ", ".join(parts)


def preamble(plan: Plan) -> list[str]:
    """What to know before reading the changes: where they would go, where live values come
    from, and what of a pull request does not apply to its own plan."""
    lines = list(plan.notices) + limits_view.notes(plan)
    if plan.targets:
        lines.append(partial_line(plan.targets))
    if plan.endpoint and plan.backend == "clevertap" and not _official(plan.endpoint):
        lines.append(f"endpoint: {plan.endpoint} (not a CleverTap host: base_url is set)")
    if not plan.refreshed:
        lines.append(
            "not refreshed from the platform: live values are the state store's last-applied "
            "specs; the apply on main refreshes and judges every change again"
        )
    return lines


def partial_line(targets: list[str]) -> str:
    """Terraform's warning for -target: what was planned is not all there is."""
    shown = ", ".join(targets[:5]) + (
        f", ... ({len(targets) - 5} more)" if len(targets) > 5 else ""
    )
    return (
        f"partial plan: {len(targets)} target(s) ({shown}); other campaigns not planned. "
        "Plan without --target to see every change"
    )


def _official(endpoint: str) -> bool:
    from urllib.parse import urlsplit

    from campaign_gitops.config import HOSTS

    return urlsplit(endpoint).hostname in HOSTS.values()


def summary_line(plan: Plan) -> str:
    counts = plan.summary()
    if plan.refresh_only:
        return f"Refresh only: {counts['drift']} drift item(s); nothing will change."
    if not plan.has_changes and not counts["blocked"] and not counts["manual"]:
        drift = f" ({counts['drift']} drift item(s) ignored)" if counts["drift"] else ""
        return f"No changes. The platform matches the files.{drift}"
    notes = ("blocked", "manual", "needs approval", "drift")
    shown = [
        f"{n} label(s) to {k[6:]}" if k.startswith("label ") else f"{n} to {k}"
        for k, n in counts.items()
        if n and k not in notes
    ]
    extra = [f"{counts[k]} {k}" for k in notes if counts[k]]
    return "Plan: " + ", ".join(shown + extra) + "."


def text(plan: Plan, colour: bool) -> str:
    # Every line passes through printable() before colour is added: no string from a file or
    # the platform can start a line of its own.
    def paint(s: str, symbol: str, bold: bool = False) -> str:
        s = printable(s)
        return click.style(s, fg=COLOURS.get(symbol), bold=bold) if colour else s

    lines = [printable(f"campaign-gitops plan ({_headline(plan)})"), ""]
    if preamble(plan):
        lines += [printable(f"Note: {note}") for note in preamble(plan)] + [""]
    if plan.refresh_only:
        lines += ["Refresh only: drift is reported, no change is planned.", ""]
    for change in [] if plan.refresh_only else plan.changes:
        symbol = change.SYMBOL
        if change.verdict in (BLOCKED, MANUAL):
            mark, word = ("!", "BLOCKED") if change.verdict == BLOCKED else ("?", "MANUAL")
            lines.append(paint(f"  {mark} {change.title}{_detail(change)}: {word}", "-", bold=True))
            lines.append(printable(f"      why:    {change.reason}"))
            lines.append(printable(f"      remedy: {change.remedy}"))
            if change.verdict == MANUAL and change.TARGET == "campaign":
                lines.append(printable(f"      once done: {ack_command(change, plan.env)}"))
        else:
            note = "  (the platform sends it for approval)" if change.verdict == APPROVAL else ""
            lines.append(paint(f"  {symbol:>3} {change.title}{_detail(change)}", symbol) + note)
            if change.reason:
                lines.append(printable(f"      {change.reason}"))
            if change.review:
                lines.append(printable(f"      {review_note(change, plan)}"))
        lines += [printable(f"      {line}") for line in limits_view.forecast_lines(plan, change)]
        lines += [printable(f"      {line}") for line in _field_lines(change)]
    if plan.drift:
        lines += ["", "Drift (changed on the platform, not in git):"]
        lines += [printable(_drift_line(d)) for d in plan.drift]
    if lines[-1]:
        lines.append("")
    lines.append(summary_line(plan))
    blast = limits_view.blast_line(plan)
    lines += [printable(blast)] if blast else []
    return "\n".join(lines)


def _field_lines(change: Change) -> list[str]:
    """Each changed value, before -> after (a label's rename: its name)."""
    if isinstance(change, LabelRename):
        return [f"name: {_value(change.old)} -> {_value(change.key)}"]
    if isinstance(change, LabelUpdate):
        before, after = (ABSENT if v is None else v for v in (change.before, change.after))
        return [f"description: {_value(before)} -> {_value(after)}"]
    return [
        f"{fc.path}: {_value(fc.before)} -> {_value(fc.after)}"
        for fc in getattr(change, "changes", ())
    ]


def review_note(change: Change, plan: Plan) -> str:
    """Whose approval the change needs: the policy's approvers, and (approval.codeowners) one
    owner of each of its files."""
    who = [", ".join(plan.approvers)] if plan.approvers else []
    who += [
        f"an owner of {path} ({', '.join(listed)})"
        for path, listed in plan.owners.get(change.key, {}).items()
    ]
    return f"needs approval from {' and '.join(who)}: {'; '.join(change.review)}"


def _drift_line(d: Drift) -> str:
    return (
        f"  ~ {d.campaign} {d.path}: last applied {_value(d.last_applied)}, "
        f"live {_value(d.live)}, desired {_value(d.desired)} -> {d.resolution}"
    )


def as_json(plan: Plan) -> str:
    return json.dumps(plan.data(), indent=2, default=str)


MARKER = "<!-- campaign-gitops plan -->"
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_BACKTICKS = re.compile(r"`+")


def md_text(text: str) -> str:
    """A string from a file or the platform, as markdown text: one line, no html, no markdown
    structure (links, images, emphasis, table cells, code), no @mention."""
    escaped = _MD_SPECIAL.sub(r"\\\1", html.escape(printable(text), quote=False))
    return escaped.replace("@", "@&#8203;")


def md_html(text: str) -> str:
    """The same, inside raw html (a <summary>), where markdown is not parsed."""
    return html.escape(printable(text)).replace("@", "@&#8203;")


def md_code(text: str) -> str:
    """An inline code span no backtick in `text` can close."""
    text = printable(text)
    marks = "`" * (max((len(r) for r in _BACKTICKS.findall(text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{marks}{pad}{text}{pad}{marks}"


def md_prose(text: str) -> str:
    """Our own sentences, whose `backticked` parts are code, with data inside: each part
    escaped as what it is."""
    parts = text.split("`")
    return "".join(md_code(p) if i % 2 else md_text(p) for i, p in enumerate(parts) if p)


def markdown(plan: Plan, limit: int = GITHUB_COMMENT_LIMIT, extra: Sequence[str] = ()) -> str:
    """The plan comment; `extra`: markdown lines shown before the changes (the next days)."""
    counts = plan.summary()
    head = [MARKER, f"### campaign-gitops plan ({md_text(_headline(plan))})", ""]
    head += [f"> **{md_text(note)}**" for note in preamble(plan)]
    head += [f"Review digest: `{plan.review_digest()}`", ""]
    head += ["| change | count |", "|---|---:|"]
    head += [f"| {k} | {n} |" for k, n in counts.items() if n] or ["| none | 0 |"]
    head += ["", f"**{summary_line(plan)}**", ""]
    blast = limits_view.blast_line(plan)
    head += [md_text(blast), ""] if blast else []
    blocked = [c for c in plan.changes if c.verdict == BLOCKED]
    if blocked:
        head.append("#### ⛔ Blocked")
        head += [_md_item(c.title, c.reason, c.remedy) for c in blocked]
        head.append("")
    forecast = limits_view.markdown_items(plan)
    if forecast:
        head.append("#### ⚠️ Global limits: users pushed past them")
        head += [_md_item(title, text) for title, text in forecast]
        head.append("")
    manual = [c for c in plan.changes if c.verdict == MANUAL]
    if manual:
        head.append("#### ✋ Manual: the platform's API cannot do these")
        head += [_md_item(c.title, c.reason, c.remedy, _md_ack(c, plan)) for c in manual]
        head.append("")
    approvals = [c for c in plan.changes if c.verdict == APPROVAL or c.review]
    if approvals:
        head.append("#### 🔏 Needs approval")
        for c in approvals:
            notes = [review_note(c, plan)] if c.review else []
            if c.verdict == APPROVAL:
                notes.append(c.reason or "the platform sends it for approval")
            head.append(_md_item(c.title, "; ".join(notes)))
        head.append("")
    head += extra
    blocks = [
        _md_change(c, plan.specs.get(c.key))
        for c in plan.changes
        if c.verdict not in (BLOCKED, MANUAL)
    ]
    blocks += [_md_drift(d) for d in plan.drift]
    out = "\n".join(head)
    for index, block in enumerate(blocks):
        rest = len(blocks) - index
        tail = (
            f"\n_… {rest} more item(s) not shown: a comment holds at most {limit:,} characters;"
            " the plan file has them all._\n"
        )
        if len(out) + len(block) + len(tail) + 1 > limit:
            return out + tail
        out += "\n" + block
    return out


def _md_item(title: str, reason: str, remedy: str | None = None, then: str = "") -> str:
    tail = "" if remedy is None else f". Remedy: {md_prose(remedy)}."
    return f"- {md_code(title)}: {md_prose(reason)}{tail}{then}"


def _md_ack(change: Change, plan: Plan) -> str:
    if change.TARGET != "campaign":
        return ""
    return f" Once done: {md_code(ack_command(change, plan.env))}"


def _md_change(change: Change, spec: dict[str, Any] | None = None) -> str:
    note = " (needs approval)" if change.verdict == APPROVAL or change.review else ""
    name, detail = f"{change.SYMBOL} {change.title}", _detail(change)
    details = _field_lines(change)
    if spec is not None and isinstance(change, Create | Replace | Publish):
        # what a new or newly published campaign sends, whole: an approval covers it all
        details += json.dumps(spec, indent=2, ensure_ascii=False, default=str).splitlines()
    if not details:
        return f"- <code>{md_text(name)}</code>{md_text(detail)}{note}"
    # <details> starts an html block: markdown is not parsed up to the blank line
    title = f"<code>{md_html(name)}</code>{md_html(detail)}{note}"
    body = fence("\n".join(printable(line) for line in details))
    return f"<details><summary>{title}</summary>\n\n{body}</details>\n"


def _md_drift(d: Drift) -> str:
    summary = md_html(f"drift: {d.campaign} {d.path}")
    body = fence(printable(_drift_line(d)))
    return f"<details><summary>{summary}</summary>\n\n{body}</details>\n"
