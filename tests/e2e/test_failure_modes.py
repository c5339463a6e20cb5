"""Issue #11: every foreseeable failure, triggered for real, ends with a message that names the
file (or the server) and says what to do, and exit 1 (2 for bad command-line usage); never
"unexpected", never a traceback without -v.

Permissions do not stop root: the cases that need them (an unreadable file, a read-only folder)
run the CLI as `nobody`, without capabilities, when the suite runs as root. The full disk is a
64 KiB tmpfs, filled up, in a mount namespace of the CLI's own (`unshare --mount`, as root);
where that is impossible, RLIMIT_FSIZE stands in (a write past it fails with EFBIG, which SQLite
reports as an I/O error: the message is the same advice)."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.e2e.cli import inherited, run
from tests.postgres_server import PostgresServer

NOBODY = 65534
ROOT = os.geteuid() == 0
# As root, `nobody` runs in a mount namespace of its own where the folder hiding the interpreter
# (pyenv's under /root, mode 700) is replaced by a tmpfs holding only the interpreter's prefix,
# then drops every capability: chmod then binds it as it binds any user.
AS_NOBODY = """set -e
keep=$(mktemp -d)
mount --bind "$CG_BASE" "$keep"
if [ -n "$CG_HIDDEN" ]; then
  mount -t tmpfs -o mode=755,size=1m tmpfs "$CG_HIDDEN"
  mkdir -p "$CG_BASE"
  mount --bind "$keep" "$CG_BASE"
fi
exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all "$@"
"""


def _hidden_folder() -> str:
    """The highest folder above the interpreter that others cannot enter ('' when none)."""
    base = Path(sys.base_prefix).resolve()
    closed = [p for p in [base, *base.parents] if not p.stat().st_mode & 0o001]
    return str(closed[-1]) if closed else ""


def _nobody_env() -> dict[str, str]:
    return {"CG_BASE": str(Path(sys.base_prefix).resolve()), "CG_HIDDEN": _hidden_folder()}


def _nobody_works() -> str:
    """'' when the CLI can run as an unprivileged user here, else why not."""
    if not ROOT:
        return ""
    if shutil.which("unshare") is None or shutil.which("setpriv") is None:
        return "needs unshare and setpriv (util-linux) to run the CLI as an unprivileged user"
    probe = subprocess.run(
        ["unshare", "--mount", "sh", "-c", AS_NOBODY, "sh", sys.executable, "-c",
         "import os, campaign_gitops; print(os.getuid())"],
        capture_output=True, text=True, env={**os.environ, **_nobody_env()},
    )  # fmt: skip
    if probe.returncode != 0 or probe.stdout.strip() != str(NOBODY):
        return f"cannot run the CLI as nobody here: {probe.stderr.strip()[:200]}"
    return ""


NOBODY_BLOCKED = _nobody_works()


def _unshare_works() -> bool:
    if not ROOT or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--mount", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
    )
    return probe.returncode == 0


TMPFS = _unshare_works()


@dataclass
class Case:
    name: str
    setup: Callable[[Path], list[str]]  # prepares the repository, returns the arguments
    code: int
    expected: tuple[str, ...]
    runner: str = "plain"  # plain | nobody | full


def _config(root: Path, text: str) -> None:
    (root / "campaign-gitops.toml").write_text('backend = "local"\n' + text)


def _applied(root: Path) -> None:
    done = run("apply", "--auto-approve", cwd=root)
    assert done.returncode == 0, done.stderr


def truncated_state(root: Path) -> list[str]:
    _applied(root)
    state = root / ".campaign-gitops" / "state.db"
    for extra in ("-wal", "-shm"):
        Path(str(state) + extra).unlink(missing_ok=True)
    with state.open("r+b") as handle:
        handle.truncate(state.stat().st_size // 3)
    return ["plan"]


def garbage_platform(root: Path) -> list[str]:
    (root / ".campaign-gitops").mkdir()
    (root / ".campaign-gitops" / "platform.db").write_bytes(b"not a database at all " * 400)
    return ["list"]


def foreign_state(root: Path) -> list[str]:
    (root / ".campaign-gitops").mkdir()
    db = sqlite3.connect(root / ".campaign-gitops" / "state.db")
    db.execute("CREATE TABLE invoices (id INTEGER)")
    db.commit()
    db.close()
    return ["state", "list"]


def damaged_profiles(root: Path) -> list[str]:
    (root / ".campaign-gitops").mkdir()
    (root / ".campaign-gitops" / "platform.profiles.npz").write_bytes(b"PK\x03\x04 truncated")
    return ["--at", "2026-12-01T00:00:00Z", "plan", "--estimate"]


def read_only_folder(root: Path) -> list[str]:
    root.chmod(0o555)
    return ["plan"]


def read_only_campaigns(root: Path) -> list[str]:
    (root / "campaigns" / "onboarding").chmod(0o555)
    return ["clone", "welcome-push", "welcome-push-2"]


def unreadable_campaign(root: Path) -> list[str]:
    (root / "campaigns" / "onboarding" / "welcome-push.yaml").chmod(0)
    return ["validate"]


def unreadable_config(root: Path) -> list[str]:
    (root / "campaign-gitops.toml").chmod(0)
    return ["validate"]


def full_disk_plan_file(root: Path) -> list[str]:
    return ["plan", "--out", str(root / "full" / "plan.json")]


def full_disk_state(root: Path) -> list[str]:
    return ["apply", "--auto-approve"]


def missing_config_file(root: Path) -> list[str]:
    return ["--config", str(root / "nope.toml"), "validate"]


def config_names_missing_folder(root: Path) -> list[str]:
    _config(root, 'campaigns_dir = "campaing"\n')
    return ["validate"]


def bad_id(root: Path) -> list[str]:
    return ["clone", "welcome-push", "../../escape"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_unreachable(root: Path) -> list[str]:
    _config(root, f'state = "postgresql://cg:pw-4711@127.0.0.1:{_closed_port()}/state"\n')
    return ["state", "list"]


FULL_STATE = "cannot use the state store .campaign-gitops/state.db: database or disk is full"
CASES = [
    Case(
        "corrupt state store",
        truncated_state,
        1,
        (
            "error: the state store .campaign-gitops/state.db is damaged",
            "`campaign-gitops state import FILE`",
            "the next plan adopts the live campaigns",
        ),
    ),
    Case(
        "corrupt platform",
        garbage_platform,
        1,
        (
            "error: the local platform .campaign-gitops/platform.db is damaged (file is not a "
            "database)",
            "`campaign-gitops platform seed`",
        ),
    ),
    Case(
        "foreign SQLite file",
        foreign_state,
        1,
        (
            "error: .campaign-gitops/state.db is a SQLite database of something else (its "
            "tables: invoices), not the state store: nothing was written to it",
        ),
    ),
    Case(
        "damaged profile store",  # an estimate is advice: the plan goes on, and says why not
        damaged_profiles,
        0,
        ("platform.profiles.npz is damaged", "`campaign-gitops platform seed` writes it again"),
    ),
    Case(
        "read-only folder",
        read_only_folder,
        1,
        ("error: cannot use the ", ".campaign-gitops/", "Permission denied", "writable"),
        "nobody",
    ),
    Case(
        "read-only campaigns folder",
        read_only_campaigns,
        1,
        ("campaigns/onboarding/welcome-push-2.yaml: permission denied",),
        "nobody",
    ),
    Case(
        "unreadable campaign file",
        unreadable_campaign,
        1,
        (
            "campaigns/onboarding/welcome-push.yaml:1:1: cannot read the file: Permission "
            "denied [unreadable]",
        ),
        "nobody",
    ),
    Case(
        "unreadable config file",
        unreadable_config,
        1,
        ("error: cannot read the config file", "campaign-gitops.toml: Permission denied"),
        "nobody",
    ),
    Case(
        "full disk: a plan file",
        full_disk_plan_file,
        1,
        ("full/plan.json: ", "the disk is full") if TMPFS else ("cannot use the ", "free space"),
        "full",
    ),
    Case(
        "full disk: the state store",
        full_disk_state,
        1,
        (FULL_STATE,) if TMPFS else ("cannot use the ", "free space"),
        "full",
    ),
    Case(
        "config file missing",
        missing_config_file,
        1,
        ("error: --config ", "nope.toml: no such file"),
    ),
    Case(
        "config names a missing folder",
        config_names_missing_folder,
        1,
        (
            "campaign-gitops.toml:2:1: campaigns_dir: 'campaing' does not exist",
            "[config-missing-path]",
        ),
    ),
    Case(
        "an id that is a path",
        bad_id,
        2,
        ("error: '../../escape' is not a campaign id (NEW_ID)", "[a-z0-9][a-z0-9-]*"),
    ),
    Case(
        "PostgreSQL unreachable",
        postgres_unreachable,
        1,
        (
            "error: cannot reach the PostgreSQL state store at",
            "(host 127.0.0.1, port ",
            "Check that",
        ),
    ),
]


@pytest.fixture
def world_repo() -> Iterator[Path]:
    """A copy of the campaigns that `nobody` can reach (pytest's tmp_path is root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="cg-failure-"))
    folder.chmod(0o755)
    root = folder / "repo"
    shutil.copytree(REPO / "campaigns", root / "campaigns")
    shutil.copy(REPO / "labels.yaml", root / "labels.yaml")
    _config(root, "")
    try:
        yield root
    finally:
        for path in [folder, *folder.rglob("*")]:
            if not path.is_symlink():
                path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(folder)


def _file_size_limit() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failing write, not a killed process
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, 16 * 1024))


def _run(case: Case, args: list[str], root: Path, env: dict[str, str]) -> tuple[int, str]:
    command = [sys.executable, "-m", "campaign_gitops", *args]
    environ = {**inherited(), "NO_COLOR": "1", "HOME": str(root), **env}
    if case.runner == "full" and TMPFS:
        # a full 64 KiB tmpfs over the folder the command writes to, in a namespace of its own
        target = root / "full" if "--out" in args else root / ".campaign-gitops"
        target.mkdir(exist_ok=True)
        script = (
            'mount -t tmpfs -o size=64k tmpfs "$0" && '
            '(head -c 1048576 /dev/zero > "$0/filler" 2>/dev/null; true) && exec "$@"'
        )
        command = ["unshare", "--mount", "sh", "-c", script, str(target), *command]
    if case.runner == "nobody" and ROOT:
        command = ["unshare", "--mount", "sh", "-c", AS_NOBODY, "sh", *command]
        environ.update(_nobody_env())
        # `nobody` cannot write a coverage data file where the suite's are: not measured
        environ = {k: v for k, v in environ.items() if not k.startswith("COVERAGE_")}
    preexec = _file_size_limit if case.runner == "full" and not TMPFS else None
    if case.runner == "full" and not TMPFS:
        (root / "full").mkdir(exist_ok=True)
    done = subprocess.run(
        command,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
        preexec_fn=preexec,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_a_foreseeable_failure_says_what_to_do(case: Case, world_repo: Path) -> None:
    if case.runner == "nobody" and NOBODY_BLOCKED:
        pytest.skip(f"root ignores permissions, and {NOBODY_BLOCKED}")
    args = case.setup(world_repo)
    code, output = _run(case, args, world_repo, {})
    print(f"{case.name}: exit {code}\n{output}")
    assert code == case.code, output
    for expected in case.expected:
        assert expected in output, output
    assert "Traceback" not in output and "unexpected" not in output
    assert "pw-4711" not in output


def test_postgres_refusing_the_login(world_repo: Path, postgres: PostgresServer) -> None:
    """The test server trusts every known role: an unknown one is what it refuses."""
    url = f"postgresql://ghost:pw-4711@127.0.0.1:{postgres.port}/postgres"
    _config(world_repo, f'state = "{url}"\n')
    done = run("state", "list", cwd=world_repo)
    assert done.returncode == 1
    assert f"(host 127.0.0.1, port {postgres.port})" in done.stderr
    assert 'role "ghost" does not exist' in done.stderr
    assert "The server refused the login" in done.stderr
    assert "pw-4711" not in done.stderr and "Traceback" not in done.stderr


def test_verbose_shows_the_traceback_of_a_mapped_failure(world_repo: Path) -> None:
    garbage_platform(world_repo)
    done = run("-v", "list", cwd=world_repo)
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "is damaged" in done.stderr
