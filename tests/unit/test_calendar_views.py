"""The calendar's pure parts: sends in a window, SMS segments, previews."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from campaign_gitops.views.calendar import day_starts, sends, status_of
from campaign_gitops.views.previews import (
    MAX_HTML,
    MAX_MESSAGES,
    Budget,
    drawn,
    sms_count,
    spend,
)
from tests.helpers import at, spec

START, END = at("2026-12-01T00:00:00"), at("2026-12-31T00:00:00")


def _times(campaign: object, statuses: dict[str, str] | None = None, **kw: object) -> list[str]:
    found = sends({"c": campaign}, statuses or {}, START, END, UTC, **kw)  # type: ignore[dict-item]
    return [s.at.isoformat() if s.until is None else f"{s.at:%d}-{s.until:%d}" for s in found]


def test_one_off_and_dates_in_the_window_only() -> None:
    once = spec(when={"delivery": "on_date_time", "start": "2026-12-03T09:00:00+01:00"})
    assert _times(once) == ["2026-12-03T08:00:00+00:00"]
    later = spec(when={"delivery": "on_date_time", "start": "2027-01-03T09:00:00Z"})
    assert _times(later) == []
    dates = spec(
        when={
            "delivery": "multiple_dates",
            "dates": ["2027-01-02T10:00:00Z", "2026-12-02T10:00:00Z", "2026-12-30T23:59:00Z"],
        }
    )
    assert _times(dates) == ["2026-12-02T10:00:00+00:00", "2026-12-30T23:59:00+00:00"]


def test_recurring_runs_respect_start_end_and_cadence() -> None:
    weekly = spec(
        when={
            "delivery": "recurring",
            "start": "2026-11-01T10:00:00Z",
            "end": "2026-12-20T00:00:00Z",
            "recurring": {"every": 2, "unit": "week", "on": ["tue"], "at": "10:00"},
        }
    )
    # every other week from the week of 1 November (a Sunday: its Monday is 26 October)
    assert _times(weekly) == ["2026-12-08T10:00:00+00:00"]
    monthly = spec(
        when={
            "delivery": "recurring",
            "start": "2026-01-31T08:00:00Z",
            "recurring": {"unit": "month", "day_of_month": 31, "at": "08:00"},
        }
    )
    assert _times(monthly) == []  # 31 December is outside [1 Dec, 31 Dec 00:00)
    daily = spec(
        when={
            "delivery": "recurring",
            "start": "2026-12-29T07:00:00Z",
            "recurring": {"unit": "day", "at": "07:00"},
        }
    )
    assert _times(daily) == ["2026-12-29T07:00:00+00:00", "2026-12-30T07:00:00+00:00"]


def test_triggered_campaigns_are_bands() -> None:
    action = spec(
        when={
            "delivery": "action",
            "start": "2026-12-05T00:00:00Z",
            "end": "2026-12-10T00:00:00Z",
            "trigger": {"event": "Charged"},
        }
    )
    assert _times(action) == ["05-10"]
    no_start = spec(when={"delivery": "api"})
    now = at("2026-12-15T12:00:00")
    assert _times(no_start, now=now) == ["15-31"]  # new: from when apply publishes it
    assert _times(no_start, {"c": "running"}, now=now) == ["01-31"]  # live: all along
    assert _times(no_start, {"c": "stopped"}, now=now) == ["01-15"]  # nothing after a stop


def test_now_campaigns_send_when_published() -> None:
    now_spec = spec(when={"delivery": "now"})
    t = at("2026-12-10T10:00:00")
    assert _times(now_spec, now=t) == ["2026-12-10T10:00:00+00:00"]
    assert _times(now_spec, {"c": "completed"}, now=t) == []
    assert _times(now_spec, now=at("2027-02-01T00:00:00")) == []


def test_finished_campaigns_send_nothing_after_now() -> None:
    daily = spec(
        when={
            "delivery": "recurring",
            "start": "2026-12-01T07:00:00Z",
            "recurring": {"unit": "day", "at": "07:00"},
        }
    )
    t = at("2026-12-03T12:00:00")
    assert len(_times(daily, {"c": "stopped"}, now=t)) == 3
    assert len(_times(daily, {"c": "archived"}, now=t)) == 3
    assert len(_times(daily, {"c": "running"}, now=t)) == 30
    stopped_file = spec(state="stopped", when=daily.when.model_dump(mode="json"))
    assert _times(stopped_file, now=t) == []  # never on the platform: nothing at all


def test_status_of_prefers_the_platform() -> None:
    assert status_of(spec(), None) == "new"
    assert status_of(spec(state="draft"), None) == "draft"
    assert status_of(spec(state="stopped"), None) == "stopped"
    assert status_of(spec(state="draft"), "running") == "running"


def test_sends_are_in_the_window_timezone_and_ordered() -> None:
    tz = ZoneInfo("Asia/Kolkata")
    a = spec(when={"delivery": "on_date_time", "start": "2026-12-02T00:00:00Z"})
    b = spec(when={"delivery": "on_date_time", "start": "2026-12-01T20:00:00Z"})
    c = spec(when={"delivery": "on_date_time", "start": "2026-12-01T20:00:00Z"})
    found = sends({"b": b, "a": a, "c": c}, {}, START, END, tz)
    assert [s.campaign_id for s in found] == ["b", "c", "a"]
    assert found[0].at.isoformat() == "2026-12-02T01:30:00+05:30"
    assert found[0].campaign.status == "new"


def test_day_starts_follow_daylight_saving() -> None:
    paris = ZoneInfo("Europe/Paris")
    days = day_starts(date(2027, 3, 27), 3, paris)
    hours = [(days[i + 1].timestamp() - days[i].timestamp()) / 3600 for i in range(3)]
    assert hours == [24, 23, 24]
    assert days[0] == datetime(2027, 3, 26, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # an extension character counts two
        ("€" * 81, "GSM-7", 162, 2),
        ("a" * 152 + "€" + "a" * 10, "GSM-7", 164, 2),
        ("a" * 152 + "[" + "a" * 152, "GSM-7", 306, 3),  # a part never splits "[" in two
        ("é" * 70, "GSM-7", 70, 1),  # é is in the basic set
        ("ы" * 70, "UCS-2", 70, 1),
        ("ы" * 71, "UCS-2", 71, 2),
        ("ы" * 134, "UCS-2", 134, 2),
        ("ы" * 135, "UCS-2", 135, 3),
        ("😀" * 35, "UCS-2", 70, 1),  # a surrogate pair: two units
        ("a" * 66 + "😀" + "a" * 67, "UCS-2", 135, 3),  # never split between parts
    ],
)
def test_sms_segments(text: str, encoding: str, units: int, segments: int) -> None:
    count = sms_count(text)
    assert (count.encoding, count.units, count.segments) == (encoding, units, segments)
    assert count.characters == len(text)


def test_previews_per_type() -> None:
    ab = spec(
        type="ab_test",
        what={
            "variants": [
                {"name": "A", "split": 30, "content": {"title": "a", "body": "b"}},
                {"name": "B", "split": 70, "content": {"title": "c", "body": "d"}},
            ]
        },
    )
    shown = drawn(ab)
    assert shown.layout == "variants"
    assert [p.heading for p in shown.items] == ["Variant A · 30%", "Variant B · 70%"]
    email = spec(
        channel="email",
        what={"content": {"subject": "S", "body": "<p>plain <b>bold</b></p>", "sender_name": "N"}},
    )
    (item,) = drawn(email).items
    assert item.srcdoc == "<p>plain <b>bold</b></p>"  # HTML-like: shown as HTML, in a sandbox
    text = spec(
        channel="email", what={"content": {"subject": "S", "body": "a & b", "sender_name": "N"}}
    )
    (item,) = drawn(text).items
    assert item.srcdoc is not None and "a &amp; b" in item.srcdoc and "<pre" in item.srcdoc


def test_preview_html_keeps_layout_and_nothing_that_reaches_the_network() -> None:
    """An allow-list (nh3): inline style stays; link, iframe, meta, base and URLs other than
    data: go, so that opening the page looks up no host (a preconnect or a frame did)."""
    body = (
        '<link rel="preconnect" href="https://a.invalid"><iframe src="https://b.invalid">'
        '</iframe><base href="http://c.invalid"><meta http-equiv="refresh" content="0">'
        '<table style="color:red"><tr><td>cell</td></tr></table>'
        '<img src="https://d.invalid/x.png"><img src="data:image/png;base64,AA">'
        '<a href="https://e.invalid">link</a><script>alert(1)</script>'
    )
    email = spec(
        channel="email", what={"content": {"subject": "S", "body": body, "sender_name": "N"}}
    )
    (item,) = drawn(email).items
    assert item.srcdoc == (
        '<table style="color:red"><tbody><tr><td>cell</td></tr></tbody></table>'
        '<img><img src="data:image/png;base64,AA"><a>link</a>'
    )


def test_a_file_cannot_make_the_page_huge() -> None:
    """One megabyte body repeated by aliases a hundred times: at most MAX_MESSAGES previews,
    each cut at MAX_HTML, and the page's budget for all of them."""
    big = "<p>" + ">" * 1_000_000 + "</p>"
    messages = [{"value": n, "content": {"subject": "s", "body": big, "sender_name": "x"}}
                for n in range(99)]  # fmt: skip
    campaign = spec(channel="email", type="user_property",
                    what={"by_property": {"property": "p", "messages": messages}})  # fmt: skip
    budget = Budget(html=MAX_HTML * 5)
    shown = spend(drawn(campaign), budget)
    assert (len(shown.items), shown.more) == (MAX_MESSAGES, 99 - MAX_MESSAGES)
    framed = [p for p in shown.items if p.srcdoc is not None]
    assert len(framed) == 5 and all(len(p.srcdoc or "") == MAX_HTML for p in framed)
    assert framed[0].note == f"the HTML is cut at {MAX_HTML:,} characters"
    assert shown.items[5].note and shown.items[5].note.startswith("not drawn: the page draws")
    assert shown.items[0].fields["body"].endswith("characters)")  # the text shown is cut too


def test_a_row_draws_at_most_max_marks() -> None:
    """20,000 dates a file may hold would make a page no browser opens: the first MAX_MARKS
    are drawn, and the row says how many there are."""
    from datetime import timedelta

    from campaign_gitops.views.calendar_page import MAX_MARKS, Window, build, draw

    dates = [(START + timedelta(minutes=20 * n)).isoformat() for n in range(1500)]
    many = spec(when={"delivery": "multiple_dates", "dates": dates})
    found = sends({"c": many}, {}, START, END, UTC)
    days = day_starts(START.date(), 30, UTC)
    page = build({"c": draw("c", many)}, {}, found, Window(days[0], days[-1], days, "UTC", START),
                 backend="local")  # fmt: skip
    (row,) = page["rows"]
    assert len(found) == 1500 and len(row.marks) == MAX_MARKS
    assert row.count == f"1500 sends in the window (the first {MAX_MARKS:,} drawn)"
