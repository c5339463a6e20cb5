"""The When: delivery kinds, cadence, triggers and delivery preferences."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field, model_validator

from campaign_gitops.models.common import (
    ClockTime,
    Duration,
    NonEmpty,
    PropertyFilter,
    Strict,
    fail,
    fail_all,
)

Delivery = Literal[
    "now",
    "on_date_time",
    "multiple_dates",
    "recurring",
    "action",
    "inaction",
    "date_property",
    "api",
]
SCHEDULED: frozenset[str] = frozenset({"now", "on_date_time", "multiple_dates", "recurring"})
TRIGGERED: frozenset[str] = frozenset({"action", "inaction", "date_property", "api"})
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class Recurring(Strict):
    every: int = Field(1, ge=1, le=365)
    unit: Literal["day", "week", "month"]
    on: list[Weekday] = Field(default_factory=list, description="Weekdays (unit: week)")
    day_of_month: int | None = Field(None, ge=1, le=31, description="Day (unit: month)")
    at: ClockTime

    @model_validator(mode="after")
    def _cadence(self) -> Recurring:
        errors = []
        if self.unit == "week" and not self.on:
            errors.append(fail("recurring-cadence", "a weekly cadence needs `on` weekdays", "on"))
        if self.unit != "week" and self.on:
            message = "`on` weekdays only go with unit: week"
            errors.append(fail("recurring-cadence", message, "on"))
        if self.unit == "month" and self.day_of_month is None:
            message = "a monthly cadence needs day_of_month"
            errors.append(fail("recurring-cadence", message, "day_of_month"))
        if self.unit != "month" and self.day_of_month is not None:
            message = "day_of_month only goes with unit: month"
            errors.append(fail("recurring-cadence", message, "day_of_month"))
        fail_all("Recurring", errors)
        return self


class Trigger(Strict):
    event: NonEmpty
    properties: list[PropertyFilter] = Field(default_factory=list)


class Inaction(Strict):
    event: NonEmpty = Field(description="The event the user must NOT do")
    within: Duration


class DateProperty(Strict):
    event: NonEmpty | None = Field(None, description="Event carrying the date (else a profile)")
    property: NonEmpty
    relation: Literal["before", "on", "after"] = "on"
    offset: Duration | None = None
    at: ClockTime = "09:00"

    @model_validator(mode="after")
    def _offset(self) -> DateProperty:
        if (self.relation == "on") != (self.offset is None):
            raise fail(
                "date-property-offset",
                "relation before/after needs an offset; relation on takes none",
                "offset",
            )
        return self


class Dnd(Strict):
    from_: ClockTime = Field(alias="from")
    to: ClockTime
    mode: Literal["delay", "discard"] = "delay"

    model_config = Strict.model_config | {"populate_by_name": True}


class Preferences(Strict):
    dnd: Dnd | None = None
    user_timezone: bool = False
    best_time: bool = False
    cutoff: ClockTime | None = Field(None, description="Stop delivering after this time of day")
    ignore_global_limits: bool = False
    respect_frequency_caps: bool = True


class When(Strict):
    delivery: Delivery
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    dates: list[AwareDatetime] = Field(default_factory=list)
    recurring: Recurring | None = None
    trigger: Trigger | None = None
    inaction: Inaction | None = None
    date_property: DateProperty | None = None
    preferences: Preferences = Field(default_factory=Preferences)

    @model_validator(mode="after")
    def _delivery_fits(self) -> When:
        """Every check of the delivery; one that depends on another's field runs only when
        that one passed."""
        d = self.delivery
        errors = []
        if self.start and self.end and self.end <= self.start:
            errors.append(fail("end-before-start", "end must be after start", "end"))
        if d == "now" and self.start:
            errors.append(fail("start-with-now", "delivery now takes no start", "start"))
        if d in ("on_date_time", "recurring") and self.start is None:
            errors.append(fail("start-required", f"delivery {d} needs a start", "start"))
        if d == "multiple_dates":
            if len(self.dates) < 2:
                message = "multiple_dates needs at least two dates"
                errors.append(fail("dates-required", message, "dates"))
            elif len(set(self.dates)) != len(self.dates):
                errors.append(fail("dates-duplicate", "dates must be distinct", "dates"))
            if self.end and self.dates and max(self.dates) >= self.end:
                errors.append(fail("end-before-start", "end must be after every date", "end"))
        elif self.dates:
            message = "dates only go with delivery multiple_dates"
            errors.append(fail("dates-unexpected", message, "dates"))
        if (d == "recurring") != (self.recurring is not None):
            if self.recurring is None:
                message = "delivery recurring needs a cadence"
                errors.append(fail("recurring-cadence", message, "recurring"))
            else:
                message = "recurring only goes with delivery recurring"
                errors.append(fail("recurring-unexpected", message, "recurring"))
        if d in ("action", "inaction") and self.trigger is None:
            message = f"delivery {d} needs a trigger event"
            errors.append(fail("trigger-required", message, "trigger"))
        if d not in ("action", "inaction") and self.trigger is not None:
            message = "trigger only goes with action or inaction"
            errors.append(fail("trigger-unexpected", message, "trigger"))
        if (d == "inaction") != (self.inaction is not None):
            message = "delivery inaction needs `inaction` (event, within), and only it takes one"
            errors.append(fail("inaction-required", message, "inaction"))
        if (d == "date_property") != (self.date_property is not None):
            message = "delivery date_property needs `date_property`, and only it takes one"
            errors.append(fail("date-property-required", message, "date_property"))
        prefs = self.preferences
        if prefs.user_timezone and prefs.best_time:
            message = "user_timezone and best_time exclude each other"
            errors.append(fail("timezone-and-best-time", message, "preferences"))
        if (prefs.user_timezone or prefs.best_time or prefs.cutoff) and d not in SCHEDULED - {
            "now"
        }:
            message = (
                "user_timezone, best_time and cutoff only go with a scheduled delivery "
                "(on_date_time, multiple_dates, recurring)"
            )
            errors.append(fail("scheduled-preference", message, "preferences"))
        fail_all("When", errors)
        return self


class Goal(Strict):
    event: NonEmpty
    within: Duration = Field(description="Funnel conversion time, e.g. 1d")
    filters: list[PropertyFilter] = Field(default_factory=list)
    revenue_property: NonEmpty | None = None
