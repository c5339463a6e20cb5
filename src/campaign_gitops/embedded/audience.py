"""The local platform's profile store and segment engine.

Profiles are columns (numpy arrays in one .npz file): a multi-criteria reach estimate over a
million users is a handful of vectorised comparisons and one bincount per event filter."""

from __future__ import annotations

import json
import math
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from campaign_gitops.errors import FatalError
from campaign_gitops.models.audience import EventFilter, Segment
from campaign_gitops.models.common import PropertyFilter, parse_duration

Mask = Any  # numpy bool arrays; numpy's stubs make every comparison Any anyway
# The built-in places of the synthetic store: city, region, country, lat, lon, UTC offset (min)
CITIES: tuple[tuple[str, str, str, float, float, int], ...] = (
    ("San Francisco", "California", "United States", 37.7749, -122.4194, -480),
    ("Los Angeles", "California", "United States", 34.0522, -118.2437, -480),
    ("New York", "New York", "United States", 40.7128, -74.0060, -300),
    ("Toronto", "Ontario", "Canada", 43.6532, -79.3832, -300),
    ("Mexico City", "CDMX", "Mexico", 19.4326, -99.1332, -360),
    ("Sao Paulo", "Sao Paulo", "Brazil", -23.5505, -46.6333, -180),
    ("London", "England", "United Kingdom", 51.5072, -0.1276, 0),
    ("Paris", "Ile-de-France", "France", 48.8566, 2.3522, 60),
    ("Versailles", "Ile-de-France", "France", 48.8049, 2.1204, 60),
    ("Berlin", "Berlin", "Germany", 52.5200, 13.4050, 60),
    ("Madrid", "Madrid", "Spain", 40.4168, -3.7038, 60),
    ("Lagos", "Lagos", "Nigeria", 6.5244, 3.3792, 60),
    ("Dubai", "Dubai", "United Arab Emirates", 25.2048, 55.2708, 240),
    ("Mumbai", "Maharashtra", "India", 19.0760, 72.8777, 330),
    ("Bengaluru", "Karnataka", "India", 12.9716, 77.5946, 330),
    ("Delhi", "Delhi", "India", 28.7041, 77.1025, 330),
    ("Singapore", "Singapore", "Singapore", 1.3521, 103.8198, 480),
    ("Jakarta", "Jakarta", "Indonesia", -6.2088, 106.8456, 420),
    ("Tokyo", "Tokyo", "Japan", 35.6762, 139.6503, 540),
    ("Sydney", "New South Wales", "Australia", -33.8688, 151.2093, 600),
)
GENDERS = ("unknown", "male", "female", "other")
LIVE_WINDOW = timedelta(days=1)  # live behavior is estimated from the last day's events


class AudienceError(FatalError):
    pass


class _Loaded(dict[str, Any]):
    """The store's columns, each read from the .npz once: an NpzFile reads an array again at
    every access, and a plan asks for the same columns once per audience."""

    def __init__(self, store: Any):
        super().__init__()
        self.store = store

    def __missing__(self, name: str) -> Any:
        self[name] = self.store[name]
        return self[name]


@dataclass
class Audience:
    columns: dict[str, Any]  # name -> array (loaded lazily from the .npz)
    meta: dict[str, Any]
    saved: dict[str, Any]

    @classmethod
    def open(cls, path: Path, saved: dict[str, Any] | None = None) -> Audience:
        if not path.exists():
            return cls({}, {"users": 0, "vocab": {}, "kinds": {}, "events": {}}, saved or {})
        try:
            store = np.load(path, allow_pickle=False)
            meta = json.loads(str(store["meta"]))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise FatalError(
                f"the profile store {path} is damaged ({exc}): `campaign-gitops platform seed` "
                "writes it again"
            ) from None
        return cls(_Loaded(store), meta, saved or {})

    @property
    def size(self) -> int:
        return int(self.meta["users"])

    def _all(self, value: bool = True) -> Mask:
        return np.full(self.size, value, dtype=bool)

    # -- columns ------------------------------------------------------------------------

    def _categorical(self, column: str, vocab_key: str, test: Any) -> Mask:
        vocab = self.meta["vocab"].get(vocab_key, [])
        # a table of the codes (np.isin sorts the column): codes shifted by one, so that a
        # missing value (-1) and any code past the vocabulary land on a False end
        table = np.zeros(len(vocab) + 2, dtype=bool)
        table[[code + 1 for code, value in enumerate(vocab) if test(value)]] = True
        return table.take(self.columns[column] + 1, mode="clip")

    def _property(self, column: str, kind: str, vocab_key: str, f: PropertyFilter) -> Mask:
        op, value = f.op, f.value
        if kind == "num":
            values = self.columns[column]
            known = ~np.isnan(values)
            if op in ("exists", "not_exists"):
                return known if op == "exists" else ~known
            if op in ("contains", "not_contains"):
                return self._all(op == "not_contains")
            return known & _numeric(values, op, value)

        def test(item: str) -> bool:
            return _scalar_matches(item, op, value)

        if op == "not_exists":
            return self.columns[column] < 0
        return self._categorical(column, vocab_key, test)

    def _user_property(self, f: PropertyFilter) -> Mask:
        kind = self.meta["kinds"].get(f.name)
        if kind is None:
            return self._all(f.op in ("not_exists", "not_equals", "not_in", "not_contains"))
        return self._property(f"prop:{f.name}", kind, f.name, f)

    # -- events -------------------------------------------------------------------------

    def _span(self, event: str, start: datetime | None, end: datetime) -> tuple[int, int]:
        ts = self.columns[f"ev:{event}:ts"]
        # whole seconds, as the column holds: a float would convert the column at every call
        lo = (
            0 if start is None else int(np.searchsorted(ts, np.int64(math.ceil(start.timestamp()))))
        )
        return lo, int(np.searchsorted(ts, np.int64(math.floor(end.timestamp())), side="right"))

    def event_counts(self, f: EventFilter | str, start: datetime | None, end: datetime) -> Any:
        event = f if isinstance(f, str) else f.event
        if event not in self.meta["events"]:
            return np.zeros(self.size, dtype=np.int64)
        lo, hi = self._span(event, start, end)
        users = self.columns[f"ev:{event}:user"][lo:hi]
        if not isinstance(f, str) and f.properties:
            keep = np.ones(hi - lo, dtype=bool)
            kinds = self.meta["events"][event]
            for prop in f.properties:
                if prop.name not in kinds:
                    keep &= prop.op in ("not_exists", "not_equals", "not_in")
                    continue
                column = self.columns[f"ev:{event}:p:{prop.name}"][lo:hi]
                keep &= _event_property(
                    column, kinds[prop.name], self.meta["vocab"].get(f"event:{prop.name}", []), prop
                )
            users = users[keep]
        return np.bincount(users, minlength=self.size)

    def _did(self, f: EventFilter, now: datetime) -> Mask:
        start = now - parse_duration(f.within) if f.within else None
        counts = self.event_counts(f, start, now)
        if f.count is None:
            return counts >= 1
        n = f.count.value
        return {"at_least": counts >= n, "at_most": counts <= n, "exactly": counts == n}[f.count.op]

    def _constant(self, did: list[EventFilter], prop: str, now: datetime) -> Mask:
        """Users who did every `did` event with one same value of `prop` (event property
        values share one vocabulary, so their codes compare across events): a user x value
        presence table per event, AND-ed across events."""
        values = len(self.meta["vocab"].get(f"event:{prop}", []))
        common: Any = np.ones((self.size, max(values, 1)), dtype=bool)
        for f in did:
            if prop not in self.meta["events"].get(f.event, {}):
                return self._all(False)
            start = now - parse_duration(f.within) if f.within else None
            lo, hi = self._span(f.event, start, now)
            seen = np.zeros_like(common)
            seen[
                self.columns[f"ev:{f.event}:user"][lo:hi],
                self.columns[f"ev:{f.event}:p:{prop}"][lo:hi],
            ] = True
            common &= seen
        return common.any(axis=1)

    # -- segments -----------------------------------------------------------------------

    def mask(self, segment: Segment, now: datetime) -> Mask:
        if segment.saved is not None:
            if segment.saved not in self.saved:
                raise AudienceError(f"no saved segment named {segment.saved!r} on the platform")
            return self.mask(Segment.model_validate(self.saved[segment.saved]), now)
        mask = self._all()
        past = segment.past_behavior
        if past is not None:
            for f in past.did:
                mask &= self._did(f, now)
            for f in past.did_not:
                mask &= ~self._did(f, now)
            if segment.constant_property is not None:
                mask &= self._constant(past.did, segment.constant_property.property, now)
        for live in segment.live_behavior:
            f = EventFilter(event=live.event, properties=live.properties)
            mask &= self.event_counts(f, now - LIVE_WINDOW, now) >= 1
        for prop in segment.user_properties:
            mask &= self._user_property(prop)
        demo = segment.demographics
        if demo is not None:
            if demo.age is not None:
                age = self.columns["age"]
                mask &= age >= 0
                if demo.age.min is not None:
                    mask &= age >= demo.age.min
                if demo.age.max is not None:
                    mask &= age <= demo.age.max
            if demo.gender is not None:
                mask &= self.columns["gender"] == GENDERS.index(demo.gender)
        geo = segment.geography
        if geo is not None:
            for column in ("country", "region", "city"):
                wanted = getattr(geo, column)
                if wanted is not None:
                    mask &= self._categorical(column, column, lambda v, w=wanted: v == w)
        if segment.geo_radius:
            near = self._all(False)
            for place in segment.geo_radius:
                lat, lon = place.lat, place.lon
                if lat is None or lon is None:
                    lat, lon = city_position(place.city or "")
                near |= self._within_km(lat, lon, place.radius_km)
            mask &= near
        reach = segment.reachability
        if reach is not None:
            for column in ("has_email", "has_phone", "unsubscribed_email", "unsubscribed_sms"):
                wanted = getattr(reach, column)
                if wanted is not None:
                    mask &= self.columns[column] == wanted
        app = segment.app_fields
        if app is not None:
            for column in (
                "app_version",
                "device_make",
                "device_model",
                "os_version",
                "sdk_version",
            ):
                wanted = getattr(app, column)
                if wanted is not None:
                    mask &= self._categorical(column, column, lambda v, w=wanted: v == w)
        return mask

    def _within_km(self, lat: float, lon: float, km: float) -> Mask:
        # no point farther in latitude than the distance can be within it: the haversine
        # runs over the users of that band only (a hundredth of the store, not all of it)
        band = math.degrees(km / 6371.0) + 1e-3
        lats = self.columns["lat"]
        near = np.flatnonzero((lats >= lat - band) & (lats <= lat + band))
        lat1, lon1 = math.radians(lat), math.radians(lon)
        lat2 = np.radians(lats[near].astype(np.float64))
        lon2 = np.radians(self.columns["lon"][near].astype(np.float64))
        a = (
            np.sin((lat2 - lat1) / 2) ** 2
            + math.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
        )
        within = self._all(False)
        within[near[2 * 6371.0 * np.arcsin(np.sqrt(a)) <= km]] = True
        return within

    def reachable(self, channel: str) -> Mask:
        """Who a message on `channel` can reach: an email address or a phone number, not
        unsubscribed from it; every user for the app and web channels."""
        if channel == "email":
            return self.columns["has_email"] & ~self.columns["unsubscribed_email"]
        if channel in ("sms", "whatsapp"):
            return self.columns["has_phone"] & ~self.columns["unsubscribed_sms"]
        return self._all()

    def estimate(self, segment: Segment, now: datetime) -> int:
        if self.size == 0:
            return 0
        return int(self.mask(segment, now).sum())


def city_position(city: str) -> tuple[float, float]:
    for name, _region, _country, lat, lon, _tz in CITIES:
        if name.lower() == city.lower():
            return lat, lon
    raise AudienceError(
        f"the local platform has no coordinates for city {city!r}; give lat and lon instead"
    )


def _scalar_matches(item: Any, op: str, value: Any) -> bool:
    if op == "equals":
        return str(item) == str(value)
    if op == "not_equals":
        return str(item) != str(value)
    if op == "contains":
        return str(value) in str(item)
    if op == "not_contains":
        return str(value) not in str(item)
    if op in ("in", "not_in"):
        inside = str(item) in {str(v) for v in value}
        return inside if op == "in" else not inside
    if op == "exists":
        return True
    try:
        number = float(item)
    except (TypeError, ValueError):
        return False
    if op == "greater_than":
        return number > float(value)
    if op == "less_than":
        return number < float(value)
    if op == "between":
        return float(value[0]) <= number <= float(value[1])
    return False


def _numeric(values: Any, op: str, value: Any) -> Mask:
    if op == "equals":
        return values == float(value)
    if op == "not_equals":
        return values != float(value)
    if op == "greater_than":
        return values > float(value)
    if op == "less_than":
        return values < float(value)
    if op == "between":
        return (values >= float(value[0])) & (values <= float(value[1]))
    if op in ("in", "not_in"):
        inside = np.isin(values, np.array([float(v) for v in value]))
        return inside if op == "in" else ~inside
    return np.zeros(len(values), dtype=bool)


def _event_property(column: Any, kind: str, vocab: list[str], f: PropertyFilter) -> Mask:
    if kind == "num":
        if f.op in ("exists", "not_exists"):
            known = ~np.isnan(column)
            return known if f.op == "exists" else ~known
        return _numeric(column, f.op, f.value)
    allowed = [code for code, item in enumerate(vocab) if _scalar_matches(item, f.op, f.value)]
    return np.isin(column, np.array(allowed, dtype=np.int32))
