"""Issue #17: one YAML dialect. What the tool writes reads back equal, in every reader.

Property tests (hypothesis) over strings a YAML 1.1 or 1.2 reader could take for something else
(numbers in any base, booleans of both versions, nulls, dates, times, indicators, multi-line and
unicode text):

1. `yamlio.dump` of any such string reads back equal with the tool's reader (`yamlio.load`, YAML
   1.2's core schema), with PyYAML's plain `safe_load` (YAML 1.1, as most editors and scripts)
   and with ruamel.yaml's (YAML 1.2): the dialects agree on everything the tool writes.
2. A campaign spec made of them, written by `campaign_yaml.to_yaml` (what `import` and `clone`
   write) and its labels appended by `campaign_yaml.add_labels`, is read back by the repository's
   loader (`read_worktree`, what `validate` runs) as the same spec.
3. `yamledit.add_labels` on labels files of the shapes people write keeps every entry, comment,
   other key and line of the file, appends the new names in order, and adds nothing the second
   time.

Then one plain example for each "Why" bullet of the issue.

The suite runs a few hundred examples (a few seconds); CAMPAIGN_GITOPS_FUZZ=long runs 50 times as
many, as in test_fuzz.py.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from campaign_gitops import campaign_yaml, yamledit, yamlio
from campaign_gitops.desired.loader import read_worktree
from campaign_gitops.models import CAMPAIGN_ADAPTER, Label
from campaign_gitops.models.common import LABEL_PATTERN, LINE_PATTERN, TEXT_PATTERN

PROFILES = {"suite": 1, "long": 50}
SCALE = PROFILES[os.environ.get("CAMPAIGN_GITOPS_FUZZ", "suite")]


def dialect_settings(examples: int) -> settings:
    return settings(
        max_examples=examples * SCALE,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


# -- strings a reader could take for something else ------------------------------------------

TRICKY = [
    # numbers in any base, of YAML 1.1 or 1.2 (or an integer with a leading zero: refused)
    "0", "012", "09", "-012", "+07", "0o17", "0x1F", "0b101", "1e3", "1E-3", "1_000", "+1",
    "-0", ".5", "1.", "1.5", "-1.5e+3", "190:20:30", "1:30:00", "1_0.5", ".inf", "-.Inf",
    "+.INF", ".NaN", ".nan",
    # booleans and nulls of both versions
    "yes", "Yes", "YES", "No", "no", "on", "On", "OFF", "off", "y", "Y", "n", "N", "true",
    "False", "TRUE", "~", "null", "Null", "NULL",
    # dates and times (YAML 1.1 timestamps and sexagesimal numbers)
    "2026-12-01", "2026-12-01T09:00:00Z", "2026-12-01 09:00:00.5 +05:30", "09:00", "23:59",
    # YAML 1.1's value and merge keys; indicators and whitespace
    "=", "<<", "", " ", " lead", "trail ", "#x", "x #y", "a: b", "a:b", "- x", "-", "?", "? x",
    ":", "[x]", "{x}", "[", "}", "*a", "&a", "!t", "!!int 1", "%x", "@x", "`x", "|", ">",
    "'", '"', "'x'", '"x"', ",", "x,y", "---", "...", "\\", "\\n",
    # multi-line text
    "line one\nline two\n", "line one\nline two", "a\n\n", "\n", "\n\nx", "  indented\nx\n",
    "x\n  indented\n", "trailing \nspace\n", "tab\there\n", "crlf\r\nline", "#not a comment\nx\n",
    "- item\n- item\n", "key: value\n", "|\n", "x\n---\ny\n", "x\n...\n",
    # unicode
    "é ü 漢字 😀 𝔘", "\xa0nbsp", "zero\u200bwidth", "\u202eRTL", "\ufeffBOM", "e\u0301",
    "\u2028", "a\u2029b", "\x85", "line\x85next", "\x00", "\x07bell", "\x1b[31m", "\x7f",
]  # fmt: skip

# Every Unicode scalar value except the surrogates: a campaign file is UTF-8, which cannot hold
# a lone surrogate, so no file the tool writes or reads has one. Control characters stay in:
# the writer escapes them, and the schemas refuse them where a field forbids them.
CHARS = st.characters(blacklist_categories=["Cs"])
TEXT = st.text(CHARS, max_size=20)


@st.composite
def tricky(draw: st.DrawFn) -> str:
    """A token, arbitrary text, or a few of both glued together."""
    part = st.one_of(st.sampled_from(TRICKY), TEXT)
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.sampled_from(TRICKY))
    if kind == 1:
        return draw(TEXT)
    glue = draw(st.sampled_from(["", " ", "\n", ": ", " #", ", "]))
    return glue.join(draw(st.lists(part, min_size=2, max_size=3)))


def matching(pattern: str, min_size: int = 0, max_size: int = 200) -> st.SearchStrategy[str]:
    """Tricky strings a schema field takes: without the characters its pattern (`^[^...]*$`)
    forbids, cut to its length."""
    inner = re.fullmatch(r"\^\[\^(.*)\][*+]\$", pattern)
    assert inner is not None, pattern
    forbidden = re.compile(f"[{inner[1]}]")
    return (
        tricky()
        .map(lambda value: forbidden.sub("", value)[:max_size])
        .filter(lambda value: len(value) >= min_size)
    )


LINE = matching(LINE_PATTERN)  # one line of text (titles, keys, names of things)
NON_EMPTY = matching(LINE_PATTERN, min_size=1)
NAME = matching(LINE_PATTERN, min_size=1, max_size=256)
TEXT_FIELD = matching(TEXT_PATTERN, min_size=1, max_size=1600)  # bodies, descriptions
LABEL = matching(LABEL_PATTERN, min_size=1, max_size=200)


def _typed(value: Any) -> str:
    """JSON text in which a string, a number and a boolean differ (Python has 1 == 1.0 == True,
    so `==` alone would not see `"1"` or `true` come back as a number); numbers compare by value
    (the writer writes 10.0 as 10)."""

    def numbers(item: Any) -> Any:
        if isinstance(item, dict):
            return {k: numbers(v) for k, v in item.items()}
        if isinstance(item, list):
            return [numbers(v) for v in item]
        if isinstance(item, int | float) and not isinstance(item, bool):
            return float(item) + 0.0  # and -0.0 is 0
        return item

    return json.dumps(numbers(value), sort_keys=True, ensure_ascii=False)


_RUAMEL_12 = YAML(typ="safe", pure=True)  # a YAML 1.2 reader other than ours


def _ruamel_load(text: str) -> Any:
    return _RUAMEL_12.load(io.StringIO(text))


# -- 1. strings ------------------------------------------------------------------------------


@dialect_settings(200)
@given(tricky())
def test_every_string_reads_back_equal_in_yaml_1_1_and_1_2(value: str) -> None:
    data = {"k": value, "l": [value, value], "m": {value: value}}
    text = yamlio.dump(data)
    assert _typed(yamlio.load(text)) == _typed(data), text
    assert _typed(yaml.safe_load(text)) == _typed(data), text  # YAML 1.1
    assert _typed(_ruamel_load(text)) == _typed(data), text  # YAML 1.2
    assert text.encode("utf-8")  # a file can hold it


@pytest.mark.parametrize("value", [t for t in TRICKY if yamlio.ambiguous(t)])
def test_ambiguous_strings_are_written_quoted(value: str) -> None:
    assert yamlio.dump({"k": value})[3] in ("'", '"')


# -- 2. campaign specs -----------------------------------------------------------------------

SCALAR = st.one_of(
    LINE,
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
START = "2026-12-01T09:00:00Z"


def _distinct(strategy: st.SearchStrategy[str], max_size: int) -> st.SearchStrategy[list[str]]:
    return st.lists(strategy, max_size=max_size, unique=True)


@st.composite
def content(draw: st.DrawFn, channel: str) -> dict[str, Any]:
    if channel == "push":
        out: dict[str, Any] = {"title": draw(NAME), "body": draw(TEXT_FIELD)}
        if draw(st.booleans()):
            keys = draw(_distinct(LINE, 3))
            out["key_values"] = {k: draw(matching(TEXT_PATTERN)) for k in keys}
        if draw(st.booleans()):
            out["subtitle"] = draw(LINE)
        return out
    if channel == "sms":
        out = {"body": draw(TEXT_FIELD)}
        if draw(st.booleans()):
            out["sender_id"] = draw(LINE)
        return out
    out = {"subject": draw(NAME), "body": draw(TEXT_FIELD), "sender_name": draw(NON_EMPTY)}
    if draw(st.booleans()):
        out["preheader"] = draw(LINE)
    return out


@st.composite
def property_filter(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(st.sampled_from(["equals", "contains", "in", "exists"]))
    out: dict[str, Any] = {"name": draw(NON_EMPTY), "op": op}
    if op == "in":
        out["value"] = draw(st.lists(SCALAR, min_size=1, max_size=3))
    elif op != "exists":
        out["value"] = draw(SCALAR)
    return out


@st.composite
def segment(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["all", "saved", "adhoc"]))
    if kind == "all":
        return {}
    if kind == "saved":
        return {"saved": draw(NON_EMPTY)}
    event = {"event": draw(NON_EMPTY), "within": draw(st.sampled_from(["7d", "1w", "10m"]))}
    return {
        "past_behavior": {"did": [event]},
        "user_properties": draw(st.lists(property_filter(), max_size=2)),
        "geography": {"country": draw(NON_EMPTY)},
    }


@st.composite
def what(draw: st.DrawFn, channel: str, kind: str) -> dict[str, Any]:
    if kind == "ab_test":
        names = draw(st.lists(NON_EMPTY, min_size=2, max_size=2, unique=True))
        return {
            "variants": [
                {"name": name, "split": 50, "content": draw(content(channel))} for name in names
            ]
        }
    if kind == "user_property":
        messages = [
            {"value": draw(SCALAR), "content": draw(content(channel))}
            for _ in range(draw(st.integers(1, 2)))
        ]
        return {"by_property": {"property": draw(NON_EMPTY), "messages": messages}}
    return {"content": draw(content(channel))}


@st.composite
def when(draw: st.DrawFn) -> dict[str, Any]:
    clock = st.sampled_from(["00:00", "09:00", "09:30", "12:30", "23:59"])
    delivery = draw(st.sampled_from(["action", "on_date_time", "recurring"]))
    out: dict[str, Any] = {"delivery": delivery, "start": START}
    if delivery == "action":
        out["trigger"] = {"event": draw(NON_EMPTY)}
    if delivery == "recurring":
        out["recurring"] = {"unit": "day", "at": draw(clock)}
    if draw(st.booleans()):
        out["preferences"] = {"dnd": {"from": draw(clock), "to": draw(clock)}}
    return out


@st.composite
def campaign(draw: st.DrawFn) -> dict[str, Any]:
    channel = draw(st.sampled_from(["push", "sms", "email"]))
    kind = draw(st.sampled_from(["single_message", "single_message", "ab_test", "user_property"]))
    spec: dict[str, Any] = {
        "name": draw(NAME),
        "channel": channel,
        "type": kind,
        "labels": draw(_distinct(LABEL, 3)),
        "state": draw(st.sampled_from(["draft", "active", "stopped"])),
        "who": {"segment": draw(segment())},
        "what": draw(what(channel, kind)),
        "when": draw(when()),
    }
    if draw(st.booleans()):
        spec["description"] = draw(matching(TEXT_PATTERN, max_size=1000))
    if draw(st.booleans()):
        spec["goal"] = {"event": draw(NON_EMPTY), "within": "1d"}
    return spec


@dialect_settings(75)
@given(campaign(), st.sampled_from(["c0.yaml", "deep/er/c0.yaml"]))
def test_campaign_files_read_back_as_the_spec_written(spec: dict[str, Any], where: str) -> None:
    written = CAMPAIGN_ADAPTER.validate_python(spec)  # a spec the loader accepts, or none
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "campaigns" / where
        path.parent.mkdir(parents=True)
        text = campaign_yaml.to_yaml(spec, path, root)
        path.write_text(text, encoding="utf-8")
        labels = [Label(name=name) for name in written.labels]
        added = campaign_yaml.add_labels(root / "labels.yaml", labels)
        desired = read_worktree(root, root / "campaigns", root / "labels.yaml")
    assert added == written.labels
    assert [label.name for label in desired.labels] == written.labels
    read = desired.campaigns["c0"].spec
    assert _typed(read.spec_data()) == _typed(written.spec_data()), text
    assert read == written
    # and what a YAML 1.1 tool sees is the same data, with the timestamps as text
    assert _typed(yaml.safe_load(text)) == _typed(yamlio.load(text)), text


# -- 3. labels files -------------------------------------------------------------------------

MODELINE = "# yaml-language-server: $schema=schemas/labels.schema.json\n"
SHAPES: dict[str, str | None] = {
    "empty list": MODELINE + "labels: []\n",
    "block list with comments": MODELINE
    + "# The account's labels\n"
    + "labels:\n"
    + "  # lifecycle\n"
    + "  - name: Onboarding  # the first week\n"
    + "    description: New users\n"
    + "  - name: 'yes'\n"
    + '  - name: "012"\n'
    + "    # a comment in an entry\n"
    + "    description: |\n"
    + "      Two lines\n"
    + "      of text\n"
    + "# at the end\n",
    "key after the list": "labels:\n"
    + "  - name: Sale\n"
    + "    description: Offers\n"
    + "owner: growth  # who reviews\n"
    + "reviewed: '2026-12-01'\n",
    "indentless": "labels:\n- name: Onboarding\n- name: '09:00'\n  description: Morning\n",
    "four spaces": "labels:\n"
    + "    - name: Onboarding\n"
    + "      description: New users\n"
    + "    - name: 'on'\n"
    + "meta:\n"
    + "    owner: growth\n",
    "flow list of maps": "labels: [{name: Onboarding}, {name: 'off', description: x}]  # flow\n",
    "flow list on lines": "labels: [\n  {name: A},  # first\n  {name: '1e3'},\n]\n",
    "labels null": MODELINE + "# none yet\nlabels:\n",
    "labels tilde": "labels: ~\nowner: growth\n",
    "no labels key": "# only a comment\nowner: growth\n",
    "missing file": None,
}
BLOCK = {"block list with comments", "key after the list", "indentless", "four spaces"}


def _comments(text: str) -> list[str]:
    """Each comment of a file the shapes above hold: from `#` (none is inside a string)."""
    return [line[line.index("#") :] for line in text.splitlines() if "#" in line]


def _entries(data: Any) -> list[Any]:
    labels = data.get("labels") if isinstance(data, dict) else None
    return list(labels or [])


NEW_LABEL = st.builds(
    Label, name=LABEL, description=st.none() | matching(TEXT_PATTERN, max_size=300)
)


@dialect_settings(75)
@given(st.sampled_from(sorted(SHAPES)), st.lists(NEW_LABEL, max_size=5))
def test_label_appends_keep_the_file(shape: str, new: list[Label]) -> None:
    original = SHAPES[shape]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "labels.yaml"
        if original is not None:
            path.write_text(original, encoding="utf-8")
        before = yamlio.load(original or yamledit.NEW_LABELS_FILE) or {}
        old = _entries(before)
        known = [entry["name"] for entry in old]
        # known names and names given twice are skipped (the first one given is added)
        wanted = new + [Label(name=name) for name in known[:1]] + new[:1]
        first = {label.name: label for label in reversed(wanted)}
        expected = [first[name] for name in dict.fromkeys(label.name for label in wanted)]
        expected = [label for label in expected if label.name not in known]

        added = yamledit.add_labels(path, wanted)
        if not expected:  # nothing to add: the file is left alone (and not created)
            assert added == []
            assert (path.read_text("utf-8") if path.exists() else None) == original
            return
        text = path.read_text("utf-8")
        again = yamledit.add_labels(path, wanted)
        assert again == []
        assert path.read_text("utf-8") == text  # byte for byte

    assert added == [label.name for label in expected]
    after = yamlio.load(text)
    entries = _entries(after)
    assert entries[: len(old)] == old, text
    new_entries = [label.model_dump(exclude_none=True) for label in expected]
    assert _typed(entries[len(old) :]) == _typed(new_entries), text
    assert all(type(entry["name"]) is str for entry in entries)
    # a YAML 1.1 tool reads the same file
    assert _typed(yaml.safe_load(text)) == _typed(after), text
    # other keys unchanged and in their order; `labels` added last when the file had none
    others = {k: v for k, v in before.items() if k != "labels"}
    assert {k: v for k, v in after.items() if k != "labels"} == others
    assert [k for k in after if k != "labels"] == list(others)
    for comment in _comments(original or yamledit.NEW_LABELS_FILE):
        assert comment in text, (comment, text)
    if shape in BLOCK:  # each line of the file is still there, in order, as it was written
        lines = iter(text.splitlines())
        for line in original.splitlines():  # type: ignore[union-attr]
            assert any(line == out for out in lines), (line, text)


# -- the "Why", one example each -----------------------------------------------------


def test_leading_zero_09_is_refused_with_its_code_and_place() -> None:
    with pytest.raises(yamlio.YamlSyntaxError) as info:
        yamlio.load("percent: 09")
    error = info.value
    assert (error.code, error.line, error.col) == ("ambiguous-number", 1, 10)
    assert 'write 9 or "09"' in error.message


def test_leading_zero_012_is_refused_not_read_as_octal_10() -> None:
    with pytest.raises(yamlio.YamlSyntaxError) as info:
        yamlio.load("who:\n  control_group:\n    percent: 012\n")
    error = info.value
    assert (error.code, error.line, error.col) == ("ambiguous-number", 3, 14)
    assert 'write 12 or "012"' in error.message
    assert "octal 10" in error.message  # says why: what a YAML 1.1 reader makes of it


def test_quoted_leading_zero_and_plain_numbers_still_read() -> None:
    assert yamlio.load('a: "012"\nb: 12\nc: 0\nd: -7\ne: 0o17\n') == {
        "a": "012",
        "b": 12,
        "c": 0,
        "d": -7,
        "e": 15,
    }


@pytest.mark.parametrize("name", ["1e3", "0o17", "012", "yes", "2026-12-01", "09:00", "~"])
def test_campaign_named_like_a_number_reads_back_as_its_name(tmp_path: Path, name: str) -> None:
    spec = {
        "name": name,
        "channel": "push",
        "what": {"content": {"title": name, "body": name}},
        "when": {"delivery": "on_date_time", "start": START},
    }
    path = tmp_path / "campaigns" / "c0.yaml"
    path.parent.mkdir()
    text = campaign_yaml.to_yaml(spec, path, tmp_path)
    path.write_text(text, encoding="utf-8")
    read = read_worktree(tmp_path, tmp_path / "campaigns", tmp_path / "labels.yaml")
    content = read.campaigns["c0"].spec.what.content
    assert read.campaigns["c0"].spec.name == name
    assert (content.title, content.body) == (name, name)
    assert yaml.safe_load(text)["name"] == name  # and to a YAML 1.1 reader


@pytest.mark.parametrize(
    "original",
    [
        "labels: []\n",
        "labels:\n  - name: Sale\n    description: Offers\nowner: growth\n",
        "labels:\n  - name: Sale\n    description: Offers\n",
    ],
    ids=["after an empty list", "with a key after the list", "with a key after a name"],
)
def test_label_appends_leave_a_file_that_parses(tmp_path: Path, original: str) -> None:
    path = tmp_path / "labels.yaml"
    path.write_text(original, encoding="utf-8")
    labels = [Label(name=name) for name in ("Onboarding", "on", "1e3")]
    assert campaign_yaml.add_labels(path, labels) == [
        "Onboarding",
        "on",
        "1e3",
    ]
    names = [entry["name"] for entry in yamlio.load(path.read_text("utf-8"))["labels"]]
    assert names[-3:] == ["Onboarding", "on", "1e3"]
