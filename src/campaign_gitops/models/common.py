from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError


class Strict(BaseModel):
    """Unknown keys are errors: a typo must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=True)


def fail(code: str, message: str, field: str | None = None, **ctx: Any) -> PydanticCustomError:
    """A cross-field error with a stable code; `field` names the child it points at."""
    return PydanticCustomError(code, message, {"field": field, **ctx} if field else ctx or None)


NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=False)]
DURATION_RE = r"^[1-9][0-9]*(m|h|d|w)$"
Duration = Annotated[
    str,
    Field(pattern=DURATION_RE, description="A span: a number and a unit m, h, d or w (10m, 1d)."),
]
ClockTime = Annotated[
    str,
    Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="Time of day, HH:MM (24 h)"),
]
Identifier = Annotated[
    str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=128, description="lowercase id")
]
# The seed: labels "cannot start with or contain the following symbols: ", \, %, >, <, and !"
# (the seed renders the quote as a typographic one, so both forms are refused).
LABEL_FORBIDDEN = '"\u201c\u201d\\%><!'
LABEL_PATTERN = r'^[^"\u201c\u201d\\%><!]+$'
LabelName = Annotated[
    str,
    Field(
        pattern=LABEL_PATTERN,
        max_length=200,
        description='A message label; may not contain " \\ % > < !',
    ),
]

_UNITS = {
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}


def parse_duration(text: str) -> timedelta:
    match = re.fullmatch(DURATION_RE, text)
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    return int(text[:-1]) * _UNITS[text[-1]]


Operator = Literal[
    "equals",
    "not_equals",
    "contains",
    "not_contains",
    "greater_than",
    "less_than",
    "between",
    "exists",
    "not_exists",
    "in",
    "not_in",
]
Scalar = str | int | float | bool


class PropertyFilter(Strict):
    name: NonEmpty
    op: Operator = "equals"
    value: Scalar | list[Scalar] | None = None

    @model_validator(mode="after")
    def _value_fits_operator(self) -> PropertyFilter:
        if self.op in ("exists", "not_exists"):
            if self.value is not None:
                raise fail("filter-value", f"operator {self.op} takes no value", "value")
        elif self.op in ("between",):
            if not (isinstance(self.value, list) and len(self.value) == 2):
                raise fail("filter-value", "operator between takes a list of two values", "value")
        elif self.op in ("in", "not_in"):
            if not (isinstance(self.value, list) and self.value):
                raise fail("filter-value", f"operator {self.op} takes a non-empty list", "value")
        elif self.value is None or isinstance(self.value, list):
            raise fail("filter-value", f"operator {self.op} takes one value", "value")
        return self
