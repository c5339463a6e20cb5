"""A plan as text (Terraform's symbols), markdown (pull-request comments) and JSON."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from campaign_gitops.plan import (
    APPROVAL,
    BLOCKED,
    MANUAL,
    Change,
    Create,
    Drift,
    Plan,
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
    text = value if value == "<absent>" else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"


def _detail(change: Change) -> str:
    reach = f"reach ≈ {change.reach:,}" if change.reach is not None else ""
    if isinstance(change, Create | Replace):
        state = "published" if change.publish else "as a draft"
        return f" ({state}, {reach})" if reach else f" ({state})"
    if isinstance(change, Update):
        return f" [{', '.join(sorted(change.sections))}]" + (f" ({reach})" if reach else "")
    return ""


def _headline(plan: Plan) -> str:
    parts = [f"at {plan.at.isoformat(timespec='seconds')}", f"backend {plan.backend}"]
    if plan.env != "default":
        parts.insert(0, f"env {plan.env}")
    if plan.commit:
        parts.append(f"commit {plan.commit[:12]}")
    return ", ".join(parts)


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
    def paint(s: str, symbol: str, bold: bool = False) -> str:
        return click.style(s, fg=COLOURS.get(symbol), bold=bold) if colour else s

    lines = [f"campaign-gitops plan ({_headline(plan)})", ""]
    if plan.refresh_only:
        lines += ["Refresh only: drift is reported, no change is planned.", ""]
    for change in [] if plan.refresh_only else plan.changes:
        symbol = change.SYMBOL
        if change.verdict in (BLOCKED, MANUAL):
            mark, word = ("!", "BLOCKED") if change.verdict == BLOCKED else ("?", "MANUAL")
            lines.append(paint(f"  {mark} {change.title}{_detail(change)}: {word}", "-", bold=True))
            lines.append(f"      why:    {change.reason}")
            lines.append(f"      remedy: {change.remedy}")
        else:
            note = "  (the platform sends it for approval)" if change.verdict == APPROVAL else ""
            lines.append(paint(f"  {symbol:>3} {change.title}{_detail(change)}", symbol) + note)
            if change.reason:
                lines.append(f"      {change.reason}")
            if change.review:
                lines.append(f"      {review_note(change, plan)}")
        for fc in getattr(change, "changes", ()):
            lines.append(f"      {fc.path}: {_value(fc.before)} -> {_value(fc.after)}")
    if plan.drift:
        lines += ["", "Drift (changed on the platform, not in git):"]
        lines += [_drift_line(d) for d in plan.drift]
    if lines[-1]:
        lines.append("")
    lines.append(summary_line(plan))
    return "\n".join(lines)


def review_note(change: Change, plan: Plan) -> str:
    return f"needs approval from {', '.join(plan.approvers)}: {'; '.join(change.review)}"


def _drift_line(d: Drift) -> str:
    return (
        f"  ~ {d.campaign} {d.path}: last applied {_value(d.last_applied)}, "
        f"live {_value(d.live)}, desired {_value(d.desired)} -> {d.resolution}"
    )


def as_json(plan: Plan) -> str:
    return json.dumps(plan.data(), indent=2, default=str)


MARKER = "<!-- campaign-gitops plan -->"


def markdown(plan: Plan, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    counts = plan.summary()
    head = [MARKER, f"### campaign-gitops plan ({_headline(plan)})", ""]
    head += ["| change | count |", "|---|---:|"]
    head += [f"| {k} | {n} |" for k, n in counts.items() if n] or ["| none | 0 |"]
    head += ["", f"**{summary_line(plan)}**", ""]
    blocked = [c for c in plan.changes if c.verdict == BLOCKED]
    if blocked:
        head.append("#### ⛔ Blocked")
        head += [f"- `{c.title}`: {c.reason}. Remedy: {c.remedy}." for c in blocked]
        head.append("")
    manual = [c for c in plan.changes if c.verdict == MANUAL]
    if manual:
        head.append("#### ✋ Manual: the platform's API cannot do these")
        head += [f"- `{c.title}`: {c.reason}. Remedy: {c.remedy}." for c in manual]
        head.append("")
    approvals = [c for c in plan.changes if c.verdict == APPROVAL or c.review]
    if approvals:
        head.append("#### 🔏 Needs approval")
        for c in approvals:
            notes = [review_note(c, plan)] if c.review else []
            if c.verdict == APPROVAL:
                notes.append(c.reason or "the platform sends it for approval")
            head.append(f"- `{c.title}`: {'; '.join(notes)}")
        head.append("")
    blocks = [_md_change(c) for c in plan.changes if c.verdict not in (BLOCKED, MANUAL)]
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


def _md_change(change: Change) -> str:
    note = " (needs approval)" if change.verdict == APPROVAL or change.review else ""
    title = f"<code>{change.SYMBOL} {change.title}</code>{_detail(change)}{note}"
    details = [
        f"{fc.path}: {_value(fc.before)} -> {_value(fc.after)}"
        for fc in getattr(change, "changes", ())
    ]
    if not details:
        return f"- {title}"
    body = "\n".join(details).replace("```", "ʼʼʼ")
    return f"<details><summary>{title}</summary>\n\n```\n{body}\n```\n</details>\n"


def _md_drift(d: Drift) -> str:
    return (
        f"<details><summary>drift: {d.campaign} {d.path}</summary>\n\n"
        f"```\n{_drift_line(d)}\n```\n</details>\n"
    )
