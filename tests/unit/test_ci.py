from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from campaign_gitops import ci
from campaign_gitops.errors import Problem

HOSTILE = "100% done\r\n::error::x, file=a:b\n##[add-mask]y"


def runner_parse(line: str) -> tuple[str, dict[str, str], str] | None:
    """The runner's `::` parser (ActionCommand.TryParseV2): name, properties, message."""
    line = line.lstrip()
    if not line.startswith("::") or line.find("::", 2) < 0:
        return None
    end = line.find("::", 2)
    name, _, props = line[2:end].partition(" ")
    properties = {}
    for pair in filter(None, props.split(",")):
        key, _, value = pair.partition("=")
        properties[key] = unescape(value, ("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","))
    return name, properties, unescape(line[end + 2 :], ("%0D", "\r"), ("%0A", "\n"))


def unescape(text: str, *pairs: tuple[str, str]) -> str:
    for escaped, plain in (*pairs, ("%25", "%")):
        text = text.replace(escaped, plain)
    return text


def test_a_command_is_one_line_the_runner_reads_back_exactly() -> None:
    line = ci.command("error", HOSTILE, file=HOSTILE, line=3)
    assert "\n" not in line and "\r" not in line
    assert line.startswith("::error file=100%25 done%0D%0A%3A%3Aerror%3A%3Ax%2C file=a%3Ab")
    assert runner_parse(line) == ("error", {"file": HOSTILE, "line": "3"}, HOSTILE)
    assert ci.command("endgroup", "") == "::endgroup::"


def test_problem_github_keeps_its_format_and_escapes_the_file() -> None:
    plain = Problem("campaigns/x.yaml", 9, 8, "when.end", "end must be after start", "e")
    assert plain.github() == (
        "::error file=campaigns/x.yaml,line=9,col=8::when.end: end must be after start [e]"
    )
    odd = Problem("a,line=1:b.yaml", 0, 0, "", "x\n::warning::y", "c")
    assert odd.github() == "::error file=a%2Cline=1%3Ab.yaml,line=1,col=1::x%0A::warning::y [c]"
    assert runner_parse(odd.github()) == (
        "error",
        {"file": "a,line=1:b.yaml", "line": "1", "col": "1"},
        "x\n::warning::y [c]",
    )


def test_stop_commands_brackets_stdout_with_a_fresh_token_and_defangs_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with ci.stop_commands() as token:
        click.echo("::error::from data")
        click.echo("  ::warning::on stderr, which the runner reads on its own pipe", err=True)
        sys.stderr.write("a ##[add-mask]x\r::error::y\n::notice::")
    with ci.stop_commands() as other:
        pass
    out, err = capsys.readouterr()
    assert re.fullmatch(r"[0-9a-f]{32}", token) and other != token
    assert out.splitlines() == [
        f"::stop-commands::{token}",
        "::error::from data",
        f"::{token}::",
        f"::stop-commands::{other}",
        f"::{other}::",
    ]
    assert err.splitlines() == [
        "  : :warning::on stderr, which the runner reads on its own pipe",
        "a # #[add-mask]x",
        ": :error::y",
        ": :notice::",  # a partial line is written, defanged, when the block ends
    ]


@pytest.mark.parametrize(
    "text", ["::error::x", " \t::set-output name=a::b", "x ##[error]y", "::::", "###[warning]z"]
)
def test_defanged_lines_are_no_commands(text: str) -> None:
    assert runner_parse(text) or "##[" in text
    safe = ci.defang(text)
    assert runner_parse(safe) is None and "##[" not in safe
    assert safe.replace(" ", "").replace("\t", "") == text.replace(" ", "").replace("\t", "")


def test_stop_commands_resumes_after_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RuntimeError), ci.stop_commands() as token:
        raise RuntimeError("boom")
    assert capsys.readouterr().out.splitlines()[-1] == f"::{token}::"


def test_stdout_redirected_to_a_file_keeps_only_its_data(tmp_path: Path) -> None:
    code = "from campaign_gitops import ci\nwith ci.stop_commands():\n    print('{\"a\": 1}')\n"
    out = tmp_path / "out.json"
    with out.open("w") as stdout:
        done = subprocess.run(
            [sys.executable, "-c", code], stdout=stdout, stderr=subprocess.PIPE, text=True
        )
    assert done.returncode == 0
    assert out.read_text() == '{"a": 1}\n'
    stop, resume = done.stderr.splitlines()
    assert stop.startswith("::stop-commands::") and resume == f"::{stop.split('::')[2]}::"


@pytest.mark.parametrize(
    ("text", "fence"),
    [("", "```"), ("plain", "```"), ("a ``` b\n````", "`````"), ("`" * 7, "`" * 8)],
)
def test_fence_is_longer_than_any_backtick_run(text: str, fence: str) -> None:
    block = ci.fence(text)
    assert block.startswith(fence + "\n") and block.endswith("\n" + fence + "\n")
    assert block.count(fence) == 2
    inner = block.splitlines()[1:-1]
    assert all(not line.strip().startswith(fence) for line in inner)


def test_step_summary_appends_only_when_actions_gives_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert not ci.step_summary("t", "x")
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert ci.step_summary("first", "a\n```\nb")
    assert ci.step_summary("second", "c")
    assert summary.read_text() == (
        "### first\n\n````\na\n```\nb\n````\n\n### second\n\n```\nc\n```\n\n"
    )


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["validate", "--format", "github"], True),
        (["-C", "repo", "validate", "--format=github", "--env", "prod"], True),
        (["validate"], False),
        (["validate", "--format", "json"], False),
        (["plan", "--format", "markdown"], False),
    ],
)
def test_only_validate_with_github_format_prints_bare_annotations(
    argv: list[str], expected: bool
) -> None:
    assert ci.annotations_only(argv) is expected
