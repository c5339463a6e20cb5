"""GitHub Actions output: workflow commands escaped by the runner's own rules, a stop-commands
block for output that carries campaign data, and markdown for the step summary.

The runner acts on a line that starts with `::` (after leading blanks) and on `##[command]`
anywhere in a line, on stdout and stderr alike; see "Workflow commands for GitHub Actions".
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, redirect_stderr
from pathlib import Path
from typing import Any, TextIO, cast

_DATA = {"%": "%25", "\r": "%0D", "\n": "%0A"}
_PROPERTY = _DATA | {":": "%3A", ",": "%2C"}
_BACKTICKS = re.compile(r"`+")
_LINE_BREAK = re.compile(r"(\r\n|\r|\n)")
_LEADING_COLONS = re.compile(r"^(\s*):(?=:)")


def in_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def escape_data(text: str) -> str:
    """A command's message: the runner unescapes %0D, %0A and %25."""
    return "".join(_DATA.get(ch, ch) for ch in text)


def escape_property(text: str) -> str:
    """A command's property value: also `:` and `,`, which end the property list."""
    return "".join(_PROPERTY.get(ch, ch) for ch in text)


def command(name: str, message: str, **properties: object) -> str:
    """`::name k=v,k=v::message`, one line whatever the message and values hold."""
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def defang(text: str) -> str:
    """`text` with no line the runner takes for a command: a space splits a line's leading
    `::` and every `##[`. Visible on purpose: the runner matches with .NET's culture-aware
    StartsWith/IndexOf, which may skip zero-width characters."""
    parts = _LINE_BREAK.split(text)
    return "".join(
        part if index % 2 else _LEADING_COLONS.sub(r"\1: ", part).replace("##[", "# #[")
        for index, part in enumerate(parts)
    )


class _Defanged:
    """A text stream that writes whole lines to `target`, defanged; anything else it is asked
    (encoding, isatty, ...) the target answers."""

    def __init__(self, target: TextIO):
        self._target = target
        self._partial = ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        lines, newline, self._partial = (self._partial + text).rpartition("\n")
        if newline:
            self._target.write(defang(lines + newline))
        return len(text)

    def flush(self) -> None:
        self._target.flush()

    def finish(self) -> None:
        self._target.write(defang(self._partial))
        self._partial = ""
        self._target.flush()


def annotations_only(argv: Sequence[str] | None) -> bool:
    """`validate --format github`: its output is annotations made by command(), which must
    act; any other command's output may quote campaign data."""
    args = list(sys.argv[1:] if argv is None else argv)
    pairs = zip(args, [*args[1:], ""], strict=True)
    github = any(a == "--format=github" or (a, b) == ("--format", "github") for a, b in pairs)
    return github and "validate" in args


def _log_stream() -> TextIO:
    """stdout, the runner's pipe, unless the step redirected it to a file or /dev/null: then it
    never reaches the log and the marker lines would corrupt the data written there, so
    stderr."""
    try:
        fd = sys.stdout.fileno()
        mode = os.fstat(fd).st_mode
    except (OSError, ValueError, AttributeError):
        return sys.stdout
    to_log = stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or os.isatty(fd)
    return sys.stdout if to_log else sys.stderr


@contextmanager
def stop_commands() -> Iterator[str]:
    """No line printed inside can act as a workflow command: the runner ignores commands until
    it sees `::<token>::`, and the token is random, so data cannot guess it. Yields the token.

    The runner reads stdout and stderr through separate pipes, in no fixed order against each
    other, so a stderr line could reach it before the stop or after the resume: stderr is
    defanged line by line instead."""
    token = secrets.token_hex(16)
    stream = _log_stream()
    stream.write(f"::stop-commands::{token}\n")
    stream.flush()
    errors = _Defanged(sys.stderr)
    try:
        with redirect_stderr(cast(TextIO, errors)):
            yield token
    finally:
        errors.finish()
        sys.stdout.flush()
        stream.write(f"::{token}::\n")
        stream.flush()


def fence(text: str, info: str = "") -> str:
    """A fenced code block no line of `text` can close: its fence is longer than any run of
    backticks in it."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    marks = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"{marks}{info}\n{body}{marks}\n"


def step_summary(title: str, text: str) -> bool:
    """Appends `### title` and `text` as a code block to $GITHUB_STEP_SUMMARY when it is set.
    `title` is the caller's own words, `text` may hold anything. True when written."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    with Path(path).open("a", encoding="utf-8") as out:
        out.write(f"### {title}\n\n{fence(text)}\n")
    return True
