from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from campaign_gitops.embedded import synthetic
from campaign_gitops.embedded.audience import Audience, AudienceError
from campaign_gitops.models.audience import Segment
from tests.helpers import at

NOW = at("2026-11-23T12:00:00")
DAY = 86_400


def tiny() -> Audience:
    """Six users whose answers are known by heart.

    0: Paris, 30, female, Platinum, LTV 900, email; launched the app 2 days ago, charged Shoes
    1: Versailles (17 km from Paris), 45, male, Gold, LTV 50, phone; charged Shoes and viewed Shoes
    2: London, 22, female, New, LTV 5, email unsubscribed; launched the app 20 days ago
    3: Bengaluru, unknown age, other, Silver, LTV nan; viewed Bags, charged Shoes
    4: San Francisco, 38, female, Platinum, LTV 1200, email+phone, os 17, app 5.2.0
    5: New York, 60, male, New, no email, no phone; nothing
    """
    now = NOW.timestamp()

    def events(rows: list[tuple[int, float, int]]) -> dict[str, Any]:
        rows = sorted(rows, key=lambda r: -r[1])  # oldest first: timestamps ascend
        return {
            "user": np.array([r[0] for r in rows], dtype=np.int32),
            "ts": np.array([int(now - r[1] * DAY) for r in rows], dtype=np.int64),
            "cat": np.array([r[2] for r in rows], dtype=np.int16),
        }

    launched = events([(0, 2, 0), (2, 20, 0), (4, 1, 0), (4, 3, 0)])
    charged = events([(0, 5, 0), (1, 10, 0), (3, 1, 0)])
    viewed = events([(1, 11, 0), (3, 2, 1)])
    cities = ["Paris", "Versailles", "London", "Bengaluru", "San Francisco", "New York"]
    columns: dict[str, Any] = {
        "age": np.array([30, 45, 22, -1, 38, 60], dtype=np.int16),
        "gender": np.array([2, 1, 2, 3, 2, 1], dtype=np.int8),
        "city": np.arange(6, dtype=np.int16),
        "region": np.array([0, 0, 1, 2, 3, 4], dtype=np.int16),
        "country": np.array([0, 0, 1, 2, 3, 3], dtype=np.int16),
        "lat": np.array([48.8566, 48.8049, 51.5072, 12.9716, 37.7749, 40.7128], dtype=np.float32),
        "lon": np.array([2.3522, 2.1204, -0.1276, 77.5946, -122.4194, -74.006], dtype=np.float32),
        "tz": np.array([60, 60, 0, 330, -480, -300], dtype=np.int16),
        "has_email": np.array([1, 0, 1, 1, 1, 0], dtype=bool),
        "has_phone": np.array([0, 1, 0, 1, 1, 0], dtype=bool),
        "unsubscribed_email": np.array([0, 0, 1, 0, 0, 0], dtype=bool),
        "unsubscribed_sms": np.zeros(6, dtype=bool),
        "app_version": np.array([0, 0, 0, 0, 1, 0], dtype=np.int16),
        "os_version": np.array([0, 0, 0, 0, 1, 0], dtype=np.int16),
        "device_make": np.zeros(6, dtype=np.int16),
        "device_model": np.zeros(6, dtype=np.int16),
        "sdk_version": np.zeros(6, dtype=np.int16),
        "prop:Customer Type": np.array([3, 2, 0, 1, 3, 0], dtype=np.int16),
        "prop:Lifetime Value": np.array([900, 50, 5, np.nan, 1200, 0], dtype=np.float64),
    }
    for name, ev in (("App Launched", launched), ("Charged", charged), ("Product Viewed", viewed)):
        columns[f"ev:{name}:user"], columns[f"ev:{name}:ts"] = ev["user"], ev["ts"]
        if name != "App Launched":
            columns[f"ev:{name}:p:Category"] = ev["cat"]
    meta = {
        "users": 6,
        "vocab": {
            "city": cities,
            "region": ["Ile-de-France", "England", "Karnataka", "California", "New York"],
            "country": ["France", "United Kingdom", "India", "United States"],
            "app_version": ["5.0.0", "5.2.0"],
            "os_version": ["14", "17"],
            "device_make": ["Apple"],
            "device_model": ["iPhone15"],
            "sdk_version": ["6.0.0"],
            "Customer Type": ["New", "Silver", "Gold", "Platinum"],
            "event:Category": ["Shoes", "Bags"],
        },
        "kinds": {"Customer Type": "cat", "Lifetime Value": "num"},
        "events": {
            "App Launched": {},
            "Charged": {"Category": "cat"},
            "Product Viewed": {"Category": "cat"},
        },
    }
    saved = {
        "Big spenders": {
            "user_properties": [{"name": "Lifetime Value", "op": "greater_than", "value": 500}]
        }
    }
    return Audience(columns, meta, saved)


def who(segment: dict[str, Any]) -> list[int]:
    mask = tiny().mask(Segment.model_validate(segment), NOW)
    return [int(i) for i in np.flatnonzero(mask)]


@pytest.mark.parametrize(
    ("segment", "users"),
    [
        ({}, [0, 1, 2, 3, 4, 5]),
        ({"saved": "Big spenders"}, [0, 4]),
        ({"past_behavior": {"did": [{"event": "App Launched", "within": "7d"}]}}, [0, 4]),
        (
            {
                "past_behavior": {
                    "did": [{"event": "App Launched", "count": {"op": "at_least", "value": 2}}]
                }
            },
            [4],
        ),
        ({"past_behavior": {"did_not": [{"event": "Charged", "within": "30d"}]}}, [2, 4, 5]),
        (
            {
                "past_behavior": {
                    "did": [
                        {
                            "event": "Product Viewed",
                            "properties": [{"name": "Category", "op": "equals", "value": "Bags"}],
                        }
                    ]
                }
            },
            [3],
        ),
        (
            {
                "past_behavior": {"did": [{"event": "Charged"}, {"event": "Product Viewed"}]},
                "constant_property": {"property": "Category"},
            },
            [1],
        ),
        ({"live_behavior": [{"event": "App Launched"}]}, [4]),  # a day ago, the edge included
        ({"live_behavior": [{"event": "Charged"}]}, [3]),
        (
            {
                "user_properties": [
                    {"name": "Customer Type", "op": "in", "value": ["Gold", "Platinum"]}
                ]
            },
            [0, 1, 4],
        ),
        (
            {"user_properties": [{"name": "Lifetime Value", "op": "between", "value": [10, 1000]}]},
            [0, 1],
        ),
        ({"user_properties": [{"name": "Lifetime Value", "op": "not_exists"}]}, [3]),
        ({"user_properties": [{"name": "Unknown Prop", "op": "equals", "value": 1}]}, []),
        ({"demographics": {"age": {"min": 25, "max": 40}, "gender": "female"}}, [0, 4]),
        ({"demographics": {"age": {"max": 30}}}, [0, 2]),
        ({"geography": {"country": "United States"}}, [4, 5]),
        ({"geography": {"country": "France", "city": "Paris"}}, [0]),
        ({"geo_radius": [{"city": "Paris", "radius_km": 10}]}, [0]),
        ({"geo_radius": [{"city": "Paris", "radius_km": 20}]}, [0, 1]),
        (
            {
                "geo_radius": [
                    {"lat": 51.5, "lon": -0.12, "radius_km": 5},
                    {"city": "Bengaluru", "radius_km": 1},
                ]
            },
            [2, 3],
        ),
        ({"reachability": {"has_email": True, "unsubscribed_email": False}}, [0, 3, 4]),
        ({"app_fields": {"os_version": "17", "app_version": "5.2.0"}}, [4]),
    ],
)
def test_every_filter_kind(segment: dict[str, Any], users: list[int]) -> None:
    assert who(segment) == users


def test_live_behavior_sees_the_last_day() -> None:
    audience = tiny()
    segment = Segment.model_validate({"live_behavior": [{"event": "Charged"}]})
    assert audience.estimate(segment, NOW) == 1
    assert audience.estimate(segment, NOW + timedelta(hours=2)) == 0  # user 3 charged 26 h before
    assert audience.estimate(segment, NOW - timedelta(days=1, hours=1)) == 0  # not yet


def test_time_is_a_parameter() -> None:
    audience = tiny()
    segment = Segment.model_validate(
        {"past_behavior": {"did": [{"event": "App Launched", "within": "1d"}]}}
    )
    assert audience.estimate(segment, NOW) == 1
    assert audience.estimate(segment, NOW - timedelta(days=2)) == 2  # users 0 and 4 then


def test_unknown_saved_segment_and_city_are_clear_errors() -> None:
    with pytest.raises(AudienceError, match="no saved segment named 'Nope'"):
        who({"saved": "Nope"})
    with pytest.raises(AudienceError, match="no coordinates for city 'Atlantis'"):
        who({"geo_radius": [{"city": "Atlantis", "radius_km": 3}]})


def test_an_empty_store_estimates_zero(tmp_path: Path) -> None:
    assert Audience.open(tmp_path / "none.npz").estimate(Segment(), NOW) == 0


def test_seed_is_deterministic_and_realistic(tmp_path: Path) -> None:
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    synthetic.generate(first, 3000, seed=5, now=NOW)
    synthetic.generate(second, 3000, seed=5, now=NOW)
    assert first.read_bytes() == second.read_bytes()
    audience = Audience.open(first, synthetic.SAVED_SEGMENTS)
    everyone = audience.estimate(Segment(), NOW)
    india = audience.estimate(Segment.model_validate({"geography": {"country": "India"}}), NOW)
    buyers = audience.estimate(
        Segment.model_validate({"past_behavior": {"did": [{"event": "Charged", "within": "30d"}]}}),
        NOW,
    )
    assert everyone == 3000 and 300 < india < 1500 and 50 < buyers < 1500
    assert audience.estimate(Segment(saved="High value users"), NOW) > 0
