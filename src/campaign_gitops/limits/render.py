"""The words of `plan.limits`: the forecast under each change, the blast radius under the
summary, and what the plan is over. Plain text; views/render.py escapes it for each format."""

from __future__ import annotations

from typing import Any

from campaign_gitops.plan import Change, Plan

SHOWN_DAYS = 7  # lines a change shows; the JSON has every day
TOP_COLLISIONS = 5  # campaigns named a day; the JSON has them all


def _line(pushed: dict[str, Any], about: str = "") -> str:
    ranked = sorted(pushed["collides"].items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"{key} ({n:,})" for key, n in ranked[:TOP_COLLISIONS])
    more = len(ranked) - TOP_COLLISIONS
    shown += f" and {more} more" if more > 0 else ""
    with_whom = f", colliding with {shown}" if shown else ""
    users = f"{about}{pushed['users']:,} user(s)"
    return f"{pushed['day']}: {users} past {pushed['limit']}{with_whom}"


def _about(plan: Plan) -> str:
    """Figures of a sample of the users are estimates."""
    return "≈ " if (plan.limits.get("forecast") or {}).get("sample") else ""


def forecast_lines(plan: Plan, change: Change) -> list[str]:
    """Under a change: the days its forecast pushes users past a global limit."""
    forecast = plan.limits.get("forecast") or {}
    pushed = (forecast.get("changes") or {}).get(change.key, [])
    if not pushed or change.TARGET != "campaign":
        return []
    lines = [f"warning: global limits: {_line(p, _about(plan))}" for p in pushed[:SHOWN_DAYS]]
    if len(pushed) > SHOWN_DAYS:
        lines.append(f"warning: global limits: ... {len(pushed) - SHOWN_DAYS} more day(s)")
    return lines


def notes(plan: Plan) -> list[str]:
    """Before the changes: a forecast the backend cannot make, a plan over [safety]."""
    out = []
    forecast = plan.limits.get("forecast") or {}
    if forecast and not forecast.get("available", True):
        out.append(f"global limits: no forecast: {forecast.get('why', 'the backend cannot tell')}")
    blast = plan.limits.get("blast") or {}
    for reason in blast.get("over", []):
        if blast.get("forced"):
            out.append(f"over the safety thresholds, going ahead (--force): {reason}")
        else:
            out.append(f"REFUSED (plan and apply with --force to go ahead): {reason}")
    return out


def blast_line(plan: Plan) -> str | None:
    """Under the summary: whom the changes reach, together and the largest."""
    blast = plan.limits.get("blast")
    if not blast:
        return None
    reach, largest = blast.get("reach"), blast.get("largest")
    if reach is None:
        what = f"reach unknown ({blast.get('why', 'the backend cannot tell')})"
    else:
        bound = "" if blast.get("exact", True) else "at most "
        what = f"{bound}{reach:,} user(s) reached by the changes together"
        if largest is not None:
            what += f"; the largest, {largest['key']}, reaches {largest['reach']:,}"
    changed = (
        f"; {blast['changed']} of {blast['managed']} managed campaign(s) changed "
        f"({blast['changed_percent']}%)"
        if blast.get("managed") and blast.get("changed")
        else ""
    )
    return f"Blast radius: {what}{changed}."


def markdown_items(plan: Plan) -> list[tuple[str, str]]:
    """(change title, forecast text) for the pull request's comment."""
    forecast = plan.limits.get("forecast") or {}
    found = forecast.get("changes") or {}
    titles = {c.key: c.title for c in plan.changes if c.TARGET == "campaign"}
    items = []
    for key, pushed in sorted(found.items()):
        days = "; ".join(_line(p, _about(plan)) for p in pushed[:SHOWN_DAYS])
        more = f"; ... {len(pushed) - SHOWN_DAYS} more day(s)" if len(pushed) > SHOWN_DAYS else ""
        items.append((titles.get(key, key), days + more))
    return items
