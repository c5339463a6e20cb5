"""The Who: segment filters, control group, targeting cap."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from campaign_gitops.models.common import (
    Duration,
    NonEmpty,
    PropertyFilter,
    Strict,
    fail,
    fail_all,
)


class Count(Strict):
    op: Literal["at_least", "at_most", "exactly"] = "at_least"
    value: int = Field(ge=0)


class EventFilter(Strict):
    event: NonEmpty
    within: Duration | None = Field(None, description="Look-back window, e.g. 7d")
    count: Count | None = None
    properties: list[PropertyFilter] = Field(default_factory=list)


class PastBehavior(Strict):
    did: list[EventFilter] = Field(default_factory=list)
    did_not: list[EventFilter] = Field(default_factory=list)

    @model_validator(mode="after")
    def _something(self) -> PastBehavior:
        if not self.did and not self.did_not:
            raise fail("empty-filter", "past_behavior needs at least one did or did_not event")
        return self


class LiveBehavior(Strict):
    event: NonEmpty
    properties: list[PropertyFilter] = Field(default_factory=list)


class Range(Strict):
    min: int | None = Field(None, ge=0, le=150)
    max: int | None = Field(None, ge=0, le=150)

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is None and self.max is None:
            raise fail("empty-filter", "age needs min or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise fail("range-order", "min must not exceed max", "max")
        return self


class Demographics(Strict):
    age: Range | None = None
    gender: Literal["male", "female", "other"] | None = None


class Geography(Strict):
    country: NonEmpty | None = None
    region: NonEmpty | None = None
    city: NonEmpty | None = None


class GeoRadius(Strict):
    city: NonEmpty | None = None
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    radius_km: float = Field(gt=0, le=1000)

    @model_validator(mode="after")
    def _place(self) -> GeoRadius:
        if (self.lat is None) != (self.lon is None):
            raise fail("geo-radius-place", "give both lat and lon, or neither", "lat")
        if self.city is None and self.lat is None:
            raise fail("geo-radius-place", "geo_radius needs a city or lat and lon")
        return self


class Reachability(Strict):
    has_email: bool | None = None
    has_phone: bool | None = None
    unsubscribed_email: bool | None = None
    unsubscribed_sms: bool | None = None


class AppFields(Strict):
    app_version: NonEmpty | None = None
    device_make: NonEmpty | None = None
    device_model: NonEmpty | None = None
    os_version: NonEmpty | None = None
    sdk_version: NonEmpty | None = None


class ConstantProperty(Strict):
    property: NonEmpty = Field(description="Event property held constant across the did events")


class Segment(Strict):
    saved: NonEmpty | None = Field(None, description="A saved segment; excludes ad-hoc criteria")
    past_behavior: PastBehavior | None = None
    live_behavior: list[LiveBehavior] = Field(default_factory=list)
    user_properties: list[PropertyFilter] = Field(default_factory=list)
    demographics: Demographics | None = None
    geography: Geography | None = None
    geo_radius: list[GeoRadius] = Field(default_factory=list)
    reachability: Reachability | None = None
    app_fields: AppFields | None = None
    constant_property: ConstantProperty | None = None

    @model_validator(mode="after")
    def _saved_or_adhoc(self) -> Segment:
        adhoc = [
            name for name in type(self).model_fields if name != "saved" and getattr(self, name)
        ]
        errors = []
        if self.saved and adhoc:
            message = (
                f"a saved segment cannot be combined with ad-hoc criteria ({', '.join(adhoc)})"
            )
            errors.append(fail("saved-and-adhoc", message, "saved"))
        if self.constant_property and (
            self.past_behavior is None or len(self.past_behavior.did) < 2
        ):
            message = "constant_property needs at least two past_behavior.did events"
            errors.append(fail("constant-property-events", message, "constant_property"))
        fail_all("Segment", errors)
        return self


class ControlGroup(Strict):
    percent: float | None = Field(None, gt=0, lt=100)
    custom: NonEmpty | None = Field(None, description="Name of a custom control group")

    @model_validator(mode="after")
    def _one(self) -> ControlGroup:
        if (self.percent is None) == (self.custom is None):
            raise fail("control-group", "control_group needs exactly one of percent or custom")
        return self


class TargetingCap(Strict):
    limit: int | None = Field(None, ge=1, description="Most users messaged per `per`")
    per: Literal["run", "day", "campaign"] = "campaign"
    safety_limit: int | None = Field(
        None, ge=1, description="The campaign does not run when more users qualify than this"
    )

    @model_validator(mode="after")
    def _something(self) -> TargetingCap:
        if self.limit is None and self.safety_limit is None:
            raise fail("empty-targeting-cap", "targeting_cap needs limit or safety_limit")
        return self


class Who(Strict):
    segment: Segment = Field(default_factory=Segment, description="Empty: all users")
    control_group: ControlGroup | None = None
    targeting_cap: TargetingCap | None = None
