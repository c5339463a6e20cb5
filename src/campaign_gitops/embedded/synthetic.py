"""Realistic, deterministic synthetic profiles for the local platform (`platform seed`)."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from campaign_gitops.embedded.audience import CITIES, GENDERS

DAY = 86_400
HISTORY_DAYS = 120
# The synthetic world keeps happening after the seed time, so `--at` can look ahead and triggered
# campaigns find users; a query at time t only ever sees events up to t.
FUTURE_DAYS = 120
CUSTOMER_TYPES = (("New", 0.40), ("Silver", 0.30), ("Gold", 0.20), ("Platinum", 0.10))
LANGUAGES = (("en", 0.5), ("hi", 0.15), ("es", 0.12), ("fr", 0.1), ("de", 0.08), ("ja", 0.05))
PLANS = (("free", 0.7), ("plus", 0.2), ("pro", 0.1))
CATEGORIES = ("Shoes", "Bags", "Electronics", "Books", "Home", "Beauty")
APP_VERSIONS = (("5.0.0", 0.2), ("5.1.0", 0.3), ("5.2.0", 0.5))
OS_VERSIONS = (("10", 0.1), ("13", 0.2), ("14", 0.3), ("17", 0.4))
DEVICES = (
    ("Apple", "iPhone15", 0.45),
    ("Samsung", "Galaxy S24", 0.3),
    ("Google", "Pixel 8", 0.1),
    ("Xiaomi", "Redmi 13", 0.15),
)
SDK_VERSIONS = (("6.0.0", 0.6), ("5.4.0", 0.4))
# event -> (mean occurrences a user over the whole span, properties)
EVENTS: dict[str, tuple[float, tuple[str, ...]]] = {
    "App Launched": (4.0, ()),
    "Product Viewed": (3.0, ("Category",)),
    "Added To Cart": (1.0, ("Cart Value", "Category")),
    "Charged": (0.5, ("Amount", "Category")),
    "App Installed": (0.15, ()),
    "Sign Up": (0.15, ()),
    "Order Shipped": (0.3, ()),
    "Flight Booked": (0.05, ()),
    "Price Dropped": (0.2, ("Percent",)),
}
SAVED_SEGMENTS: dict[str, dict[str, Any]] = {
    "High value users": {
        "user_properties": [{"name": "Lifetime Value", "op": "greater_than", "value": 500}]
    },
    "Newsletter subscribers": {"reachability": {"has_email": True, "unsubscribed_email": False}},
}


def _pick(rng: np.random.Generator, options: tuple[tuple[str, float], ...], n: int) -> Any:
    weights = np.array([w for _, w in options])
    return rng.choice(len(options), size=n, p=weights / weights.sum()).astype(np.int16)


def generate(path: Path, users: int, seed: int, now: datetime) -> dict[str, int]:
    """Write the profile store; the same (users, seed, now) always gives the same file."""
    rng = np.random.default_rng(seed)
    n = users
    city = rng.choice(len(CITIES), size=n, p=_city_weights()).astype(np.int16)
    lat = np.array([c[3] for c in CITIES])[city] + rng.normal(0, 0.08, n)
    lon = np.array([c[4] for c in CITIES])[city] + rng.normal(0, 0.08, n)
    regions = sorted({c[1] for c in CITIES})
    countries = sorted({c[2] for c in CITIES})
    device = _pick(rng, tuple((d[0], d[2]) for d in DEVICES), n)
    age = np.clip(rng.normal(34, 11, n), 16, 80).astype(np.int16)
    age[rng.random(n) < 0.1] = -1
    columns: dict[str, Any] = {
        "age": age,
        "gender": rng.choice(4, size=n, p=[0.1, 0.44, 0.44, 0.02]).astype(np.int8),
        "city": city,
        "region": np.array([regions.index(c[1]) for c in CITIES], dtype=np.int16)[city],
        "country": np.array([countries.index(c[2]) for c in CITIES], dtype=np.int16)[city],
        "lat": lat.astype(np.float32),
        "lon": lon.astype(np.float32),
        "tz": np.array([c[5] for c in CITIES], dtype=np.int16)[city],
        "has_email": rng.random(n) < 0.8,
        "has_phone": rng.random(n) < 0.7,
        "unsubscribed_email": rng.random(n) < 0.06,
        "unsubscribed_sms": rng.random(n) < 0.04,
        "app_version": _pick(rng, APP_VERSIONS, n),
        "os_version": _pick(rng, OS_VERSIONS, n),
        "device_make": device,
        "device_model": device,
        "sdk_version": _pick(rng, SDK_VERSIONS, n),
        "prop:Customer Type": _pick(rng, CUSTOMER_TYPES, n),
        "prop:Language": _pick(rng, LANGUAGES, n),
        "prop:Plan": _pick(rng, PLANS, n),
        "prop:Lifetime Value": np.round(rng.lognormal(4.5, 1.1, n), 2).astype(np.float64),
    }
    vocab: dict[str, list[str]] = {
        "city": [c[0] for c in CITIES],
        "region": regions,
        "country": countries,
        "app_version": [v for v, _ in APP_VERSIONS],
        "os_version": [v for v, _ in OS_VERSIONS],
        "device_make": [d[0] for d in DEVICES],
        "device_model": [d[1] for d in DEVICES],
        "sdk_version": [v for v, _ in SDK_VERSIONS],
        "Customer Type": [v for v, _ in CUSTOMER_TYPES],
        "Language": [v for v, _ in LANGUAGES],
        "Plan": [v for v, _ in PLANS],
        "event:Category": list(CATEGORIES),
    }
    kinds = {"Customer Type": "cat", "Language": "cat", "Plan": "cat", "Lifetime Value": "num"}
    events: dict[str, dict[str, str]] = {}
    end = now.timestamp()
    activity = rng.gamma(1.5, 1 / 1.5, n)  # some users are far more active than others
    for event, (mean, props) in EVENTS.items():
        counts = rng.poisson(mean * activity)
        user = np.repeat(np.arange(n, dtype=np.int32), counts)
        span = (HISTORY_DAYS + FUTURE_DAYS) * DAY
        ts = (end + FUTURE_DAYS * DAY - rng.random(len(user)) * span).astype(np.int64)
        order = np.argsort(ts, kind="stable")
        columns[f"ev:{event}:user"], columns[f"ev:{event}:ts"] = user[order], ts[order]
        events[event] = {}
        for prop in props:
            if prop == "Category":
                values: Any = rng.integers(0, len(CATEGORIES), len(user)).astype(np.int16)
                events[event][prop] = "cat"
            else:
                values = np.round(rng.lognormal(3.5, 1.0, len(user)), 2)
                events[event][prop] = "num"
            columns[f"ev:{event}:p:{prop}"] = values[order]
    meta = {
        "users": n,
        "seed": seed,
        "generated_at": now.isoformat(),
        "vocab": vocab,
        "kinds": kinds,
        "events": events,
        "genders": list(GENDERS),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npz")
    np.savez(partial, meta=np.array(json.dumps(meta)), **columns)
    os.replace(partial, path)  # a reader never sees half a store
    from campaign_gitops.limits.world import write_sample

    write_sample(path, columns, meta)
    return {"users": n, "events": int(sum(len(columns[f"ev:{e}:user"]) for e in EVENTS))}


def _city_weights() -> Any:
    weights = np.array([3, 2, 3, 1, 1, 1, 3, 3, 1, 2, 1, 1, 1, 3, 3, 3, 2, 1, 2, 1], dtype=float)
    return weights / weights.sum()
