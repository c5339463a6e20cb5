"""Issue #11: hypothesis mutates the repository's own campaign files, its labels and a config
(bytes, lines, indentation, keys, values, types, unicode); whatever comes out, loading ends in a
desired state or in problems that each carry a code and a location, never in another exception.

In-process through the loader (what `validate` runs), not through the CLI: about 2,200 mutated
documents a run of the suite. `make fuzz` selects the long profile
(CAMPAIGN_GITOPS_FUZZ=long: 50 times as many)."""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaign_gitops.config import parse_config
from campaign_gitops.desired.loader import Source, build, decode
from campaign_gitops.errors import Problem, ValidationFailed

REPO = Path(__file__).resolve().parents[2]
CAMPAIGNS = {
    p.relative_to(REPO).as_posix(): p.read_bytes()
    for p in sorted((REPO / "campaigns").rglob("*.yaml"))
}
LABELS = (REPO / "labels.yaml").read_bytes()
LABELS_SOURCE = Source("labels.yaml", LABELS.decode())
CONFIG = b"""backend = "local"
campaigns_dir = "campaigns"
labels_file = "labels.yaml"
state = ".campaign-gitops/state.db"
creator_approver = false
estimate = true
max_file_bytes = 1048576

[approval]
approvers = ["carol", "acme/marketing"]
required_for = ["new_campaign", "reach"]
reach_above = 5000

[filters.live-push]
channel = ["push"]
status = ["running", "scheduled"]

[environments.production]
backend = "clevertap"
state = "postgresql://cg@db.internal/state"

[environments.production.clevertap]
account_id = "W9R-486-4W5Z"
region = "in1"
"""
CODE = re.compile(r"[a-z0-9_]+(?:-[a-z0-9_]+)*")
CONFIG_CODE = re.compile(r"(config|toml)(-[a-z0-9]+)+")  # the tool's own codes, kebab-case
PROFILES = {"suite": 1, "long": 50}
SCALE = PROFILES[os.environ.get("CAMPAIGN_GITOPS_FUZZ", "suite")]
SEEN: Counter[str] = Counter()  # documents tried, by test (printed with -s)


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples * SCALE,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# -- mutations ----------------------------------------------------------------------------

KEYS = ["id", "name", "channel", "type", "labels", "state", "archived", "goal", "who", "what",
        "when", "segment", "content", "delivery", "start", "end", "variants", "split", "title",
        "body", "event", "within", "<<", "? ", "- ", "", "0", "on", "yes"]  # fmt: skip
SCALARS = st.one_of(
    st.sampled_from(
        [
            "null",
            "~",
            "true",
            "no",
            "0x1F",
            "0o17",
            "1e999",
            ".nan",
            "-.inf",
            "2026-13-45T99:00:00Z",
            "2026-12-01T09:00:00",
            "12:30",
            "1_000",
            "'",
            '"',
            "&a x",
            "*a",
            "*missing",
            "!!int x",
            "!!binary aGk=",
            "!!timestamp 2026-01-01",
            "!!python/object:os.system x",
            "!custom x",
            "|",
            ">-",
            "[",
            "]",
            "{",
            "}",
            "{a: 1}",
            "[1, [2, [3]]]",
            "- x",
            "%TAG ! x",
            "---",
            "...",
            "#",
            "@x",
            "`x",
            "9" * 5000,
            "x" * 300,
        ]
    ),
    st.integers().map(str),
    st.floats(allow_nan=True).map(repr),
    st.text(max_size=30),
)
UNICODE = st.sampled_from(
    [
        "\ufeff",
        "\u200b",
        "\u202e",
        "\x00",
        "\x07",
        "\x1b[31m",
        "\x85",
        "\u2028",
        "\ud7ff",
        "\U0001f600",
        "é",
        "\t",
        "\r",
        "\r\n",
        "\\",
        '"',
        "'",
        "\xa0",
        "\u0301",
        "𝔘",
    ]
)


def _lines(text: str) -> list[str]:
    return text.split("\n")


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """One to three mutations of a document's bytes."""
    data = original
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(
                ["byte", "line", "indent", "key", "value", "type", "unicode", "truncate"]
            )
        )
        if kind == "byte":
            at = draw(st.integers(0, max(0, len(data) - 1)))
            new = draw(st.binary(min_size=0, max_size=4))
            data = data[:at] + new + data[at + draw(st.integers(0, 3)) :]
            continue
        if kind == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
            continue
        text = data.decode("utf-8", errors="replace")
        lines = _lines(text)
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        line = lines[i] if lines else ""
        if kind == "line":
            action = draw(st.sampled_from(["delete", "duplicate", "swap", "insert"]))
            if action == "delete":
                del lines[i : i + 1]
            elif action == "duplicate":
                lines.insert(i, line)
            elif action == "swap":
                j = draw(st.integers(0, max(0, len(lines) - 1)))
                lines[i], lines[j] = lines[j], lines[i]
            else:
                lines.insert(i, draw(st.text(max_size=40)))
        elif kind == "indent":
            stripped = line.lstrip(" ")
            pad = draw(st.sampled_from([" ", "\t", "  "])) * draw(st.integers(0, 12))
            lines[i] = pad + stripped
        elif kind == "key" and ":" in line:
            key, _, rest = line.partition(":")
            indent = key[: len(key) - len(key.lstrip())]
            lines[i] = indent + draw(st.one_of(st.sampled_from(KEYS), st.text(max_size=12)))
            lines[i] += ":" + rest
        elif kind in ("value", "type") and ":" in line:
            key, _, _ = line.partition(":")
            value = (
                draw(SCALARS)
                if kind == "value"
                else draw(
                    st.sampled_from(["[]", "{}", "[a, b]", "{x: 1}", "1", "true", "null", "''"])
                )
            )
            lines[i] = f"{key}: {value}"
        elif kind == "unicode":
            at = draw(st.integers(0, len(line)))
            lines[i] = line[:at] + draw(UNICODE) + line[at:]
        data = "\n".join(lines).encode("utf-8", errors="surrogatepass")
    return data


# -- what must hold -----------------------------------------------------------------------


def _located(problems: list[Problem], files: set[str]) -> None:
    assert problems, "ValidationFailed without a problem"
    for problem in problems:
        rendered = problem.render()
        assert CODE.fullmatch(problem.code), rendered
        assert problem.file in files, rendered
        assert problem.line >= 1 and problem.col >= 1, rendered


def _load(file: str, data: bytes, labels: Source | None = LABELS_SOURCE) -> None:
    try:
        source = decode(file, data)
        build([source], labels)
    except ValidationFailed as exc:
        _located(exc.problems, {file, "labels.yaml"})


@pytest.mark.parametrize("file", sorted(CAMPAIGNS))
def test_mutated_campaign_files(file: str) -> None:
    @fuzz_settings(70)
    @given(mutated(CAMPAIGNS[file]))
    def check(data: bytes) -> None:
        SEEN["campaign"] += 1
        _load(file, data)

    check()


@fuzz_settings(400)
@given(mutated(LABELS), st.sampled_from(sorted(CAMPAIGNS)))
def test_mutated_labels_file(data: bytes, campaign: str) -> None:
    SEEN["labels"] += 1
    try:
        labels = decode("labels.yaml", data)
        build([decode(campaign, CAMPAIGNS[campaign])], labels)
    except ValidationFailed as exc:
        _located(exc.problems, {campaign, "labels.yaml"})


@fuzz_settings(400)
@given(mutated(CONFIG), st.sampled_from(["campaign-gitops.toml", "pyproject.toml"]))
def test_mutated_config(data: bytes, name: str) -> None:
    SEEN["config"] += 1
    text = data.decode("utf-8", errors="replace")
    if name == "pyproject.toml":
        text = "[tool.campaign-gitops]\n" + re.sub(r"(?m)^\[", "[tool.campaign-gitops.", text)
    try:
        parse_config(name, text)
    except ValidationFailed as exc:
        _located(exc.problems, {name})
        for problem in exc.problems:
            assert CONFIG_CODE.fullmatch(problem.code), problem.render()


def test_the_suite_fuzzes_at_least_2000_documents() -> None:
    examples = 70 * len(CAMPAIGNS) + 400 + 400
    assert examples >= 2000
    print(f"fuzzing {examples * SCALE:,} documents a run; tried so far here: {dict(SEEN)}")
