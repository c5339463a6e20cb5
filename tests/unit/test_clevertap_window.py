"""The clevertap backend's listing window: report.json and list.json need a date range."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.unit.test_retry_after import _clevertap


def test_the_listing_window_always_holds_the_next_400_days(monkeypatch: pytest.MonkeyPatch) -> None:
    """report.json needs a date range: the window spans the files' and records' schedules and
    the next 400 days, so that a campaign made in the dashboard for an id is seen whatever date
    its file says now (make fuzz found one missed once the file's date had moved); 400 days
    back as well only when an id is new to the state store or a campaign has no date."""
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    ahead, back = 20280105, 20251027  # now + 400 days, now - 400 days

    def window(*dates: str, searching: bool = False) -> tuple[int, int]:
        backend = _clevertap(monkeypatch)
        backend.focus([{"when": {"start": d}} for d in dates] or [{}], searching=searching)
        found = backend._window(now)
        backend.close()
        return found

    assert window("2026-12-10T09:00:00Z", "2026-12-20T09:00:00Z") == (20261201, ahead)
    assert window("2026-01-05T09:00:00Z") == (20260105, ahead)  # a record's past schedule
    assert window("2029-03-01T09:00:00Z") == (20261201, 20290301)
    assert window("2026-12-10T09:00:00Z", searching=True) == (back, ahead)
    assert window() == (back, ahead)  # undated: a campaign delivered "now" lies in the past
