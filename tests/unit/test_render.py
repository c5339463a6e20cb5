from __future__ import annotations

import json
import re

import pytest

from campaign_gitops.diff import FieldChange
from campaign_gitops.plan import APPROVAL, BLOCKED, Create, Drift, Plan, Replace, Update
from campaign_gitops.views import render
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
    assert data["format_version"] == 2 and data["commit"] == "a" * 40
    assert set(data) >= {"at", "env", "backend", "summary", "changes", "drift", "specs"}
    assert data["summary"]["blocked"] == 1 and data["summary"]["needs approval"] == 1


def _hostile() -> Plan:
    key = "k\n::error::title"
    changes = [
        Create("c\u2028::add-mask::x", publish=True),
        Update(
            key,
            BLOCKED,
            reason="why\n::warning::reason with <details> and @octocat",
            remedy="set `on_locked_change: replace`\r\n::error::remedy",
            platform_id="1",
        ),
        Update(
            "u",
            APPROVAL,
            platform_id="2",
            review=("publishes `x`\x85::error::review",),
            changes=(
                FieldChange("what.content.key_values.a\n```\n::error::boom", "x\x85y", "```` z"),
            ),
        ),
    ]
    drift = [Drift("d", "name</summary>\n::error::drift", "A\u2029", "@team", "A", "git wins")]
    return Plan(at=at("2026-11-23T10:00"), changes=changes, drift=drift, approvers=["carol\n::x::"])


@pytest.mark.parametrize("colour", [False, True])
def test_text_never_lets_a_user_string_start_a_line(colour: bool) -> None:
    out = render.text(_hostile(), colour=colour)
    assert out.splitlines() == out.split("\n")  # no \r, \x85, \u2028, ... inside a line
    assert not [line for line in out.split("\n") if line.lstrip().startswith("::")]
    assert "create campaign c\\u2028::add-mask::x" in out
    assert "update campaign k\\n::error::title" in out
    assert 'what.content.key_values.a\\n```\\n::error::boom: "x\\x85y" -> "```` z"' in out
    assert "remedy: set `on_locked_change: replace`\\r\\n::error::remedy" in out


def test_markdown_escapes_user_strings_for_their_context() -> None:
    md = render.markdown(_hostile())
    assert md.splitlines() == md.rstrip("\n").split("\n")
    lines = md.split("\n")
    assert not [line for line in lines if line.lstrip().startswith("::")]
    # outside code blocks the only html is ours: user text cannot open or close an element,
    # nor mention anyone
    outside = re.sub(r"(?ms)^(`{3,})\n.*?^\1\n", "", md)
    assert outside.count("<details>") == 2 and outside.count("</summary>") == 2
    assert "&lt;details&gt;" in outside and "name&lt;/summary&gt;" in outside
    assert "@&#8203;octocat" in outside and "@" not in outside.replace("@&#8203;", "")
    # a title is a code span its backticks cannot close; our own `code` stays code
    assert "- `update campaign k\\n::error::title`: why\\\\n::warning::reason with &lt;" in md
    assert "Remedy: set `on_locked_change: replace`\\\\r\\\\n::error::remedy." in md
    # field changes sit in a fence longer than any backtick run in them
    block = md[md.index("<details><summary><code>~ update campaign u</code>") :]
    fence_line = block.split("\n")[2]
    assert fence_line == "`````"
    assert block.count("\n`````\n") == 2 and "a\\n```\\n::error::boom" in block


def test_markdown_helpers() -> None:
    assert render.md_code("a`b") == "``a`b``" and render.md_code("`x`") == "`` `x` ``"
    assert render.md_text("[x](y) | *b* <i>") == "\\[x\\](y) \\| \\*b\\* &lt;i&gt;"
    assert render.md_html('<a href="x">@me') == "&lt;a href=&quot;x&quot;&gt;@&#8203;me"
    assert render.md_prose("set `a: b` now") == "set `a: b` now"


def test_bidirectional_controls_and_invisible_characters_are_shown_as_escapes() -> None:
    """A name that reads one way and is another ("Trojan Source": an override reverses what
    follows it; a zero-width space makes two names look equal) is shown as what it holds; the
    joiners of emoji and the marks of RTL text stay as they are."""
    tricky = "Sale \u202eneve\u202c ends\u200b"
    family, hebrew = "family \U0001f468\u200d\U0001f469", "\u05e9\u05dc\u05d5\u05dd\u200f!"
    plan = Plan(
        at=at("2026-11-23T10:00"),
        changes=[
            Update(
                "u",
                APPROVAL,
                platform_id="2",
                reason=f"renames {tricky}",
                changes=(
                    FieldChange("name", "Sale", tricky),
                    FieldChange("labels", family, hebrew),
                ),
            )
        ],
    )
    for out in (render.text(plan, colour=False), render.markdown(plan)):
        assert "\u202e" not in out and "\u202c" not in out and "\u200b" not in out
        assert "\\u202eneve\\u202c ends\\u200b" in out.replace("\\\\", "\\")
        assert family in out and hebrew in out


def test_every_format_character_is_escaped_but_the_joiners_and_rtl_marks() -> None:
    from campaign_gitops.models.common import printable, printable_lines

    hidden = "\u2062\u2063\u2064\xad\u180e\u061c\u206a\ufff9\ufffb\U000e0041"
    assert printable(f"a{hidden}b") == (
        "a\\u2062\\u2063\\u2064\\xad\\u180e\\u061c\\u206a\\ufff9\\ufffb\\U000e0041b"
    )
    kept = "\u200c\u200d\u200e\u200f \u05e9 \U0001f468\u200d\U0001f469 caf\xe9"
    assert printable(kept) == kept
    assert printable_lines("one \u202e\ntwo\r") == "one \\u202e\ntwo\\r"
