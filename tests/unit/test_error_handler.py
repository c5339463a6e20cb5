from __future__ import annotations

import errno
from pathlib import Path

import click
import pytest

from campaign_gitops import __version__, cli
from campaign_gitops.errors import FatalError


@pytest.fixture
def boom() -> object:
    @cli.cli.command("boom-test")
    @click.option("--kind", default="bug")
    def boom_cmd(kind: str) -> None:
        if kind == "fatal":
            raise FatalError("the lock is held by ci@runner-7")
        if kind == "interrupt":
            raise KeyboardInterrupt
        if kind == "disk-full":
            raise OSError(errno.ENOSPC, "No space left on device", "plan.json")
        raise RuntimeError("internal detail")

    yield boom_cmd
    cli.cli.commands.pop("boom-test")


def test_unexpected_error_without_traceback(
    boom: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["boom-test"]) == 3
    err = capsys.readouterr().err
    assert err == (
        f"error: campaign-gitops {__version__}: unexpected error: RuntimeError: internal detail; "
        "rerun with -v for a traceback\n"
    )


def test_unexpected_error_with_traceback_when_verbose(
    boom: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["-v", "boom-test"]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "rerun with -v" not in err


def test_fatal_error_is_one_line(boom: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["boom-test", "--kind", "fatal"]) == 1
    assert capsys.readouterr().err == "error: the lock is held by ci@runner-7\n"


def test_usage_error_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", "--format", "xml"]) == 2
    assert "Invalid value for '--format'" in capsys.readouterr().err


def test_usage_error_with_detailed_exitcode_is_1(capsys: pytest.CaptureFixture[str]) -> None:
    """2 means changes there, as in Terraform; after `--` the flag is a value, not the flag."""
    assert cli.main(["plan", "--format", "xml", "--detailed-exitcode"]) == 1
    assert cli.main(["plan", "-detailed-exitcode", "--format", "xml"]) == 1
    assert cli.main(["clone", "--", "x", "--detailed-exitcode"]) == 2
    assert "Invalid value for '--format'" in capsys.readouterr().err


def test_interrupt_exit_code(boom: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["boom-test", "--kind", "interrupt"]) == 130
    # click turns the KeyboardInterrupt into Abort, after ending the line the ^C was on
    assert capsys.readouterr().err == "\nInterrupted.\n"


def test_known_failure_is_1_not_unexpected(
    boom: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["boom-test", "--kind", "disk-full"]) == 1
    assert capsys.readouterr().err == (
        "error: cannot use plan.json: the disk is full: free some space, then run the command "
        "again\n"
    )


def test_bad_at_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from campaign_gitops.timeutil import parse_at

    with pytest.raises(FatalError, match="not an ISO 8601 time"):
        parse_at("next tuesday")
    assert parse_at("2026-12-01T09:00:00").isoformat() == "2026-12-01T09:00:00+00:00"
    assert parse_at("2026-12-01T09:00:00+05:30").utcoffset().total_seconds() == 19800  # type: ignore[union-attr]
