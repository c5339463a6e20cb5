"""The pull request comment's chart of the next 14 days (views/gantt.py): the sends of the
campaigns a plan creates or changes, as a mermaid gantt block, with names made plain."""

from __future__ import annotations

from pathlib import Path

from campaign_gitops.views.gantt import MAX_ROWS, section
from tests.unit.test_planner import World, desired, doc

ONCE = {"delivery": "on_date_time", "start": "2026-11-25T09:00:00Z"}
DAILY = {"delivery": "recurring", "start": "2026-11-24T08:00:00Z",
         "recurring": {"every": 1, "unit": "day", "at": "08:00"}}  # fmt: skip


def test_sends_of_the_changed_campaigns_in_a_mermaid_block(tmp_path: Path) -> None:
    world = World(tmp_path)
    plan = world.plan(
        desired(
            {
                "sale": doc(name="Winter sale", when=ONCE),
                "digest": doc(name="Daily digest", when=DAILY),
                "welcome": doc(),  # triggered from 2026-12-01: a band
            }
        )
    )
    lines = section(plan, calendar_url="https://github.com/o/r/actions/runs/1/artifacts/2")
    text = "\n".join(lines)
    assert lines[:3] == ["#### Next 14 days", "", "```mermaid"]
    assert "  [sale] Winter sale :milestone, 2026-11-25 09:00, 0m" in lines
    # 14 daily runs from 2026-11-24 08:00 in the 14 days from 2026-11-23 10:00: one bar
    assert "  [digest] Daily digest (14 sends) :2026-11-24 08:00, 2026-12-07 09:00" in lines
    assert "  [welcome] Welcome :2026-12-01 09:00, 2026-12-07 10:00" in lines
    assert lines.count("  section push") == 1
    assert "[calendar page](https://github.com/o/r/actions/runs/1/artifacts/2)" in text


def test_a_name_cannot_break_out_of_the_chart(tmp_path: Path) -> None:
    world = World(tmp_path)
    hostile = "x```\n<script>alert(1)</script> : crit, #; %%"
    plan = world.plan(desired({"sale": doc(name=hostile.replace("\n", " "), when=ONCE)}))
    lines = section(plan, calendar_url="javascript:alert(1)")
    [task] = [line for line in lines if "[sale]" in line]
    assert task == "  [sale] x script alert(1) /script crit, :milestone, 2026-11-25 09:00, 0m"
    assert "javascript" not in "\n".join(lines) and lines.count("```") == 1


def test_nothing_to_draw_and_many_rows(tmp_path: Path) -> None:
    world = World(tmp_path)
    late = {"delivery": "on_date_time", "start": "2027-02-01T09:00:00Z"}
    lines = section(world.plan(desired({"sale": doc(when=late)})))
    assert lines == [
        "#### Next 14 days",
        "",
        "No send of a changed campaign in the next 14 days.",
        "",
    ]
    many = {f"c{n:02}": doc(name=f"C {n}", when=ONCE) for n in range(MAX_ROWS + 5)}
    lines = section(world.plan(desired(many)))
    assert sum("[c" in line for line in lines) == MAX_ROWS
    assert lines[-2] == "5 more rows are not drawn."


def test_a_name_that_is_a_mermaid_keyword_stays_a_task(tmp_path: Path) -> None:
    """A line that starts with a keyword is read as that directive (a campaign named
    "Excludes weekends" would vanish and cut the weekends from the chart): every task line
    starts with its id in brackets."""
    world = World(tmp_path)
    names = ["Excludes weekends", "Title all approved", "dateFormat YYYY", "Click x call a()",
             "2026-12-25 Xmas push", "Includes free shipping", "Weekday deals"]  # fmt: skip
    plan = world.plan(desired({f"c{n}": doc(name=name, when=ONCE) for n, name in enumerate(names)}))
    tasks = [line for line in section(plan) if ":milestone" in line]
    assert len(tasks) == len(names)
    assert all(line.startswith("  [c") for line in tasks), tasks


def test_a_chart_label_keeps_no_bidirectional_control_nor_invisible_character() -> None:
    from campaign_gitops.views.gantt import _label

    assert _label("Sale \u202eneve\u202c ends\u200b!") == "Sale neve ends !"
