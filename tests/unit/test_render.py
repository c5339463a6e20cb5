from __future__ import annotations

import json

import pytest

from campaign_gitops import render
from campaign_gitops.diff import FieldChange
from campaign_gitops.plan import APPROVAL, BLOCKED, Create, Drift, Plan, Replace, Update
from tests.helpers import at


def _plan(updates: int = 1) -> Plan:
    changes = [
        Create("new", publish=True),
        Replace("swap", platform_id="9", publish=True, sections=frozenset({"who"})),
        Update("locked", BLOCKED, reason="who locked", remedy="clone it", platform_id="2"),
        Update("pending", APPROVAL, reason="sent for approval", platform_id="3"),
    ]
    changes += [
        Update(
            f"c{i:05d}",
            platform_id=str(i),
            sections=frozenset({"what"}),
            changes=(FieldChange("what.content.body", "x" * 300, "y" * 300),),
        )
        for i in range(updates)
    ]
    drift = [Drift("c00000", "name", "A", "B", "A", "git wins")]
    return Plan(at=at("2026-11-23T10:00"), changes=changes, drift=drift, commit="a" * 40)


def test_text_uses_terraform_symbols_and_colour_only_when_asked() -> None:
    plain = render.text(_plan(), colour=False)
    assert "  + create campaign new (published)" in plain
    assert "-/+ replace campaign swap (published)" in plain
    assert "! update campaign locked []: BLOCKED" in plain and "why:    who locked" in plain
    assert "(the platform sends it for approval)" in plain and "commit aaaaaaaaaaaa" in plain
    assert 'what.content.body: "xxx' in plain and "Drift (changed on the platform" in plain
    assert "\x1b[" not in plain and "\x1b[" in render.text(_plan(), colour=True)


def test_no_color_and_non_terminals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert render.use_colour(True) and not render.use_colour(False)
    monkeypatch.setenv("NO_COLOR", "1")
    assert not render.use_colour(True)


def test_markdown_puts_blocked_and_approvals_first_and_fits_a_comment() -> None:
    small = render.markdown(_plan())
    assert small.startswith(render.MARKER)
    assert small.index("⛔ Blocked") < small.index("🔏 Needs approval") < small.index("<details>")
    big = render.markdown(_plan(updates=2000))
    assert len(big) <= render.GITHUB_COMMENT_LIMIT
    assert "more item(s) not shown" in big and "| update | 2001 |" in big  # counts stay whole


def test_json_is_the_documented_shape() -> None:
    data = json.loads(render.as_json(_plan()))
    assert data["format_version"] == 1 and data["commit"] == "a" * 40
    assert set(data) >= {"at", "env", "backend", "summary", "changes", "drift", "specs"}
    assert data["summary"]["blocked"] == 1 and data["summary"]["needs approval"] == 1
