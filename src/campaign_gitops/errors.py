from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

from campaign_gitops.ci import command

PathPart = str | int


class FatalError(Exception):
    """A user-facing error: printed without a traceback, exit code 1."""

    exit_code = 1


class ConfigError(FatalError):
    pass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the user's input, with where it is."""

    file: str
    line: int = 0
    col: int = 0
    path: str = ""
    message: str = ""
    code: str = field(default="invalid", compare=False)

    def render(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}:{self.col}"
        subject = f" {self.path}:" if self.path else ""
        return f"{where}:{subject} {self.message} [{self.code}]"

    def github(self) -> str:
        text = (f"{self.path}: " if self.path else "") + f"{self.message} [{self.code}]"
        return command("error", text, file=self.file, line=self.line or 1, col=self.col or 1)


class ValidationFailed(FatalError):
    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems)
        super().__init__(f"{len(self.problems)} problem(s) found")


def dotted(path: Sequence[PathPart]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def render_problems(problems: Sequence[Problem], fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"problems": [asdict(p) for p in problems]}, indent=2)
    if fmt == "github":
        return "\n".join(p.github() for p in problems)
    lines = [p.render() for p in problems]
    lines.append(f"{len(problems)} problem(s) found")
    return "\n".join(lines)
