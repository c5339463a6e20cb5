from __future__ import annotations

from pathlib import Path

import click
import pytest

from campaign_gitops import cli
from campaign_gitops.errors import FatalError


@pytest.fixture
def boom() -> object:
    @cli.cli.command("boom-test")
    @click.option("--kind", default="bug")
    def boom_cmd(kind: str) -> None:
        if kind == "fatal":
            raise FatalError("the lock is held by ci@runner-7")
        raise RuntimeError("internal detail")

    yield boom_cmd
    cli.cli.commands.pop("boom-test")


def test_unexpected_error_without_traceback(
    boom: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["boom-test"]) == 1
    err = capsys.readouterr().err
    assert err == "error: unexpected RuntimeError: internal detail (run with -v for details)\n"


def test_unexpected_error_with_traceback_when_verbose(
    boom: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["-v", "boom-test"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_fatal_error_is_one_line(boom: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["boom-test", "--kind", "fatal"]) == 1
    assert capsys.readouterr().err == "error: the lock is held by ci@runner-7\n"


def test_usage_error_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", "--format", "xml"]) == 2
    assert "Invalid value for '--format'" in capsys.readouterr().err


def test_bad_at_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from campaign_gitops.timeutil import parse_at

    with pytest.raises(FatalError, match="not an ISO 8601 time"):
        parse_at("next tuesday")
    assert parse_at("2026-12-01T09:00:00").isoformat() == "2026-12-01T09:00:00+00:00"
    assert parse_at("2026-12-01T09:00:00+05:30").utcoffset().total_seconds() == 19800  # type: ignore[union-attr]
