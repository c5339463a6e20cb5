"""Secrets never printed, through the CLI: the CleverTap passcode (a newline from `echo` into a
secret store included), a PostgreSQL password in any connection-string form, and a state value
that is not a recognised store (in CI: an error, never a file named after the value)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.e2e.cli import run
from tests.fake_clevertap import ACCOUNT, PASSCODE, FakeClevertap
from tests.postgres_server import PostgresServer

T0 = "2026-11-23T10:00:00Z"
LOCAL = {"CI": "", "GITHUB_ACTIONS": ""}  # the suite itself may run in Actions
IN_CI = {"CI": "true", "GITHUB_ACTIONS": ""}
PUSH = """name: Sale
channel: push
what: {content: {title: Hello, body: Twenty percent off}}
when: {delivery: on_date_time, start: "2026-12-01T09:00:00Z"}
"""


@pytest.fixture
def server() -> Iterator[FakeClevertap]:
    with FakeClevertap() as fake:
        yield fake


def _clevertap_repo(root: Path, server: FakeClevertap) -> Path:
    (root / "campaigns").mkdir(parents=True)
    (root / "labels.yaml").write_text("labels: []\n")
    (root / "campaign-gitops.toml").write_text(
        f'backend = "clevertap"\n\n[clevertap]\naccount_id = "{ACCOUNT}"\n'
        f'base_url = "{server.url}"\ntimeout = 2\n'
    )
    (root / "campaigns" / "sale.yaml").write_text(PUSH)
    return root


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _printed(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


@pytest.mark.parametrize(
    ("passcode", "where"),
    [
        (PASSCODE + "\n", "a trailing newline"),
        (PASSCODE + "\r\n", "a trailing newline"),
        (" " + PASSCODE, "at its start"),
        (PASSCODE[:12] + " " + PASSCODE[12:], "inside it"),
    ],
)
def test_a_passcode_with_whitespace_is_refused_unprinted(
    server: FakeClevertap, tmp_path: Path, passcode: str, where: str
) -> None:
    root = _clevertap_repo(tmp_path, server)
    done = run("-v", "--at", T0, "plan", cwd=root, env={"CLEVERTAP_PASSCODE": passcode})
    assert done.returncode == 1, _printed(done)
    assert f"error: CLEVERTAP_PASSCODE has whitespace ({where}); store the secret without a " in (
        done.stderr
    )
    assert "9f8e7d" not in _printed(done)  # the passcode's tail, in any escaped form
    assert server.state.times == []  # refused before any request


def test_a_valid_passcode_is_never_printed(server: FakeClevertap, tmp_path: Path) -> None:
    root = _clevertap_repo(tmp_path, server)
    env = {"CLEVERTAP_PASSCODE": PASSCODE}
    runs = [run("-v", "--at", T0, *args, cwd=root, env=env) for args in
            (["plan"], ["apply", "--auto-approve"], ["list"])]  # fmt: skip
    assert [r.returncode for r in runs] == [0, 0, 0], [_printed(r) for r in runs]
    assert "DEBUG httpcore" in _printed(runs[0])  # -v did log the transport
    server.state.faults.errors = 10  # an error path, with a traceback
    failed = run("-v", "--at", T0, "list", cwd=root, env=env)
    assert failed.returncode == 1 and "Traceback" in failed.stderr
    for r in [*runs, failed]:
        assert PASSCODE not in _printed(r)


def test_the_filter_masks_records_of_child_loggers_and_their_exceptions(tmp_path: Path) -> None:
    """A logger's filter misses records its children propagate; the handlers' filter does not.
    The secret shows up raw, stripped, escaped by repr and percent-encoded."""
    script = textwrap.dedent(
        """
        import logging
        from campaign_gitops import redact

        redact.configure_logging(verbose=True)
        redact.secret("pa ss\\n")
        logging.getLogger("httpcore.http11").debug("headers %r", [(b"X-Passcode", b"pa ss\\n")])
        logging.getLogger("psycopg.pool.x").warning("url postgresql://u:pa%20ss@h/db")
        try:
            raise ValueError("bad value 'pa ss\\n'")
        except ValueError:
            logging.getLogger("campaign_gitops.deep").exception("failed for %s", "pa ss")
        print(redact.text("error: pa ss"))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    printed = _printed(done)
    assert "pa ss" not in printed and "pa%20ss" not in printed, printed
    assert "headers [(b'X-Passcode', b'***')]" in printed
    assert "failed for ***" in printed and "ValueError: bad value '***'" in printed
    assert "error: ***" in done.stdout


def _local_repo(root: Path) -> Path:
    (root / "campaigns").mkdir(parents=True)
    (root / "labels.yaml").write_text("labels: []\n")
    (root / "campaign-gitops.toml").write_text('backend = "local"\n')
    return root


def _files(root: Path) -> set[Path]:
    return set(root.rglob("*"))


@pytest.mark.parametrize(
    ("state", "secret"),
    [
        ("postgresql://u@127.0.0.1:{port}/db?password=qs-pw-4711&sslmode=disable", "qs-pw-4711"),
        ("postgresql://u:p%40ss-4711@127.0.0.1:{port}/db", "p@ss-4711"),
        ("postgres://u:pw-4711@127.0.0.1:{port}/db?password=other-4712", "other-4712"),
    ],
)
def test_a_postgres_url_password_is_masked(tmp_path: Path, state: str, secret: str) -> None:
    root = _local_repo(tmp_path)
    url = state.format(port=_closed_port())
    for env in ({"CAMPAIGN_GITOPS_STATE": url, **LOCAL}, {"CAMPAIGN_GITOPS_STATE": url, **IN_CI}):
        done = run("-v", "state", "list", cwd=root, env=env)
        assert done.returncode == 1
        assert "error: cannot reach the PostgreSQL state store at postgres" in done.stderr
        assert ":***@" in done.stderr or "password=***" in done.stderr
        for form in (secret, secret.replace("@", "%40"), "pw-4711"):
            assert form not in _printed(done), done.stderr


def test_a_key_value_string_is_postgres_and_never_a_file(tmp_path: Path) -> None:
    root = _local_repo(tmp_path)
    port = _closed_port()
    state = f"host=127.0.0.1 port={port} dbname=x user=u password=kv-pw-4711"
    before = _files(root)
    for env in (
        {"CAMPAIGN_GITOPS_STATE": state, **LOCAL},
        {"CAMPAIGN_GITOPS_STATE": state, **IN_CI},
    ):
        done = run("-v", "state", "list", cwd=root, env=env)
        assert done.returncode == 1
        assert "error: cannot reach the PostgreSQL state store at " in done.stderr
        assert f'connection to server at "127.0.0.1", port {port} failed' in done.stderr
        assert "password=***" in done.stderr and "kv-pw-4711" not in _printed(done)
    assert _files(root) == before


def test_a_key_value_string_reaches_postgres(repo: Path, postgres: PostgresServer) -> None:
    url = postgres.new_database()
    state = make_conninfo("", **conninfo_to_dict(url), password="kv-pw-4712")
    env = {"CAMPAIGN_GITOPS_STATE": state, **LOCAL}
    applied = run("--at", T0, "apply", "--auto-approve", cwd=repo, env=env)
    assert applied.returncode == 0, applied.stderr
    (repo / "campaign-gitops.toml").write_text(f'backend = "local"\nstate = "{url}"\n')
    managed = json.loads(run("state", "list", "--format", "json", cwd=repo, env=LOCAL).stdout)
    assert len(managed) > 0  # applied into that database, not into a file
    assert not (repo / ".campaign-gitops" / "state.db").exists()
    assert "kv-pw-4712" not in _printed(applied)


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ("", "CAMPAIGN_GITOPS_STATE is empty (in CI: is the secret defined"),
        ("  \n", "CAMPAIGN_GITOPS_STATE is empty (in CI: is the secret defined"),
        ("hunter2-4711", "CAMPAIGN_GITOPS_STATE is neither a postgresql:// URL"),
        ("state/campaigns", "CAMPAIGN_GITOPS_STATE is neither a postgresql:// URL"),
        ("mysql://u:pw-4711@h/db", "CAMPAIGN_GITOPS_STATE is a mysql:// URL"),
        ("./a b=4711.db", "CAMPAIGN_GITOPS_STATE has '=' but is not a libpq key=value string"),
        ("hunter=2 4711", "the PostgreSQL state store's connection string cannot be parsed"),
    ],
)
def test_an_empty_or_unrecognised_state_in_ci_is_an_error(
    tmp_path: Path, state: str, message: str
) -> None:
    root = _local_repo(tmp_path)
    before = _files(root)
    for ci in ({"CI": "true", "GITHUB_ACTIONS": ""}, {"CI": "", "GITHUB_ACTIONS": "true"}):
        done = run("state", "list", cwd=root, env={"CAMPAIGN_GITOPS_STATE": state, **ci})
        assert done.returncode == 1, _printed(done)
        assert done.stderr.startswith(f"error: {message}"), done.stderr
        assert "Traceback" not in done.stderr
        assert "4711" not in _printed(done)
    assert _files(root) == before


def test_the_default_state_works_in_ci_and_locally(tmp_path: Path) -> None:
    root = _local_repo(tmp_path)
    for env in (IN_CI, LOCAL, {"CAMPAIGN_GITOPS_STATE": "", **LOCAL}):  # empty locally: unset
        done = run("state", "list", cwd=root, env=env)
        assert done.returncode == 0, done.stderr
    assert (root / ".campaign-gitops" / "state.db").exists()
    elsewhere = {"CAMPAIGN_GITOPS_STATE": "team/state.sqlite3", **IN_CI}
    assert run("state", "list", cwd=root, env=elsewhere).returncode == 0
    assert (root / "team" / "state.sqlite3").exists()
