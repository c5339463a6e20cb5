from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError


class Strict(BaseModel):
    """Unknown keys are errors: a typo must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=True)

    def model_post_init(self, context: Any, /) -> None:
        # A plan holds 26 models a campaign, each with the set of the fields its file named:
        # 70 MB of sets at 10,000 campaigns, of a few dozen distinct ones. Frozen models never
        # add to theirs (a copy copies it first), so equal ones are shared.
        named = self.__pydantic_fields_set__
        shared = _FIELDS_SETS.setdefault(frozenset(named), named)
        if shared is not named:
            object.__setattr__(self, "__pydantic_fields_set__", shared)


_FIELDS_SETS: dict[frozenset[str], set[str]] = {}


def fail(code: str, message: str, field: str | None = None, **ctx: Any) -> PydanticCustomError:
    """A cross-field error with a stable code; `field` names the child it points at."""
    return PydanticCustomError(code, message, {"field": field, **ctx} if field else ctx or None)


def fail_all(title: str, errors: list[PydanticCustomError]) -> None:
    """Raises every error a validator found (checks of unrelated fields must not hide each
    other); nothing when there is none."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        details = [InitErrorDetails(type=error, loc=(), input=None) for error in errors]
        raise ValidationError.from_exception_data(title, details)


# Control characters: C0 (tab and line feed among them), DEL, C1 (U+0085 NEL among them) and
# the Unicode line and paragraph separators. Terminals, logs and the Actions runner take several
# of them for line breaks, so a value holding one could forge a line of output.
CONTROL_CLASS = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
CONTROL_RE = re.compile(f"[{CONTROL_CLASS}]")
# Accepted in text, escaped wherever a value is shown to a reviewer: every format character
# (Unicode category Cf): the bidirectional embeddings, overrides, isolates and the Arabic letter
# mark, which reorder what follows them on screen ("Trojan Source"), and the invisible ones (the
# zero-width space, word joiner, invisible operators, soft hyphen, tag characters...), which make
# two different names look the same or hide text. The zero-width (non-)joiners (emoji, Persian)
# and the left-to-right and right-to-left marks of RTL text are shown as they are.
SHOWN_FORMAT = "\u200c\u200d\u200e\u200f"
TEXT_ALLOWS = "\t\n\r"
LINE_PATTERN = rf"^[^{CONTROL_CLASS}]*$"
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]*$"
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def control_character(text: str, allowed: str = "") -> str | None:
    """The first control character of `text` that is not in `allowed`."""
    return next((m[0] for m in CONTROL_RE.finditer(text) if m[0] not in allowed), None)


def _escape(ch: str) -> str:
    code = ord(ch)
    if code > 0xFFFF:
        return f"\\U{code:08x}"
    return _ESCAPES.get(ch) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def printable(text: str) -> str:
    """`text` with its control characters written as escapes (\\n, \\x1b, \\u2028): one line,
    however it was made; and its format characters, bidirectional controls and invisible ones
    (\\u202e, \\u200b): what is shown is what is there."""
    text = CONTROL_RE.sub(lambda match: _escape(match[0]), text)
    if text.isascii():
        return text
    return "".join(
        _escape(ch)
        if ch >= "\xad" and unicodedata.category(ch) == "Cf" and ch not in SHOWN_FORMAT
        else ch
        for ch in text
    )


def printable_lines(text: str) -> str:
    """A message of several lines, each made printable (its line breaks kept)."""
    return "\n".join(printable(line) for line in text.split("\n"))


# Single-line fields (names, ids, labels, titles, subjects, urls, keys, ...) refuse every control
# character, tab included; multi-line text (bodies, html, descriptions, key_values values) may
# hold tabs and line breaks.
Line = Annotated[str, StringConstraints(pattern=LINE_PATTERN)]
Text = Annotated[str, StringConstraints(pattern=TEXT_PATTERN)]
NonEmpty = Annotated[str, StringConstraints(min_length=1, pattern=LINE_PATTERN)]
NonEmptyText = Annotated[str, StringConstraints(min_length=1, pattern=TEXT_PATTERN)]
KeyValues = Annotated[
    dict[Line, Text],
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": {"pattern": LINE_PATTERN},
            "additionalProperties": {"type": "string", "pattern": TEXT_PATTERN},
        }
    ),
]
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
LABEL_PATTERN = rf'^[^"\u201c\u201d\\%><!{CONTROL_CLASS}]+$'
LabelName = Annotated[
    str,
    Field(
        pattern=LABEL_PATTERN,
        max_length=200,
        description='A message label; may not contain " \\ % > < ! or control characters',
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
Scalar = Line | int | float | bool


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
