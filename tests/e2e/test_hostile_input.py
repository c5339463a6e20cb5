"""Issue #11: what a contributor writes cannot take CI down or read outside the repository.

Each hostile file is validated by the real CLI in a subprocess whose peak RSS is measured
exactly (wait4) and whose address space is capped, so a regression fails here instead of
eating the machine. Tests never assert timings: the subprocess has a generous timeout, and the
time is printed (`pytest -s`)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.cli import inherited, run
from tests.e2e.test_github_flow import git

MAX_RSS_MB = 300
ADDRESS_SPACE = 3 * 1024**3  # a runaway allocation fails fast instead of swapping
CAMPAIGN = "name: {name}\nchannel: push\nwhat:\n  content: {{title: Hi, body: There}}\n"


@dataclass
class Measured:
    code: int
    out: str
    err: str
    rss_mb: float
    seconds: float


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def measured(*args: str, cwd: Path, timeout: float = 120.0) -> Measured:
    """The CLI in a subprocess, with its own peak RSS (not the largest of every child so far)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "campaign_gitops", *args],
            cwd=cwd,
            stdout=out,
            stderr=err,
            env={**inherited(), "NO_COLOR": "1"},
            preexec_fn=_cap_memory,
        )
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return Measured(
            proc.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            usage.ru_maxrss / 1024,
            seconds,
        )


def _laughs() -> str:
    text = CAMPAIGN.format(name="Laughs") + 'who:\n  a: &a ["lol","lol","lol","lol","lol"]\n'
    for prev, name in zip("abcdefghi", "bcdefghij", strict=True):
        text += f"  {name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]\n"
    return text


def _deep_block(levels: int) -> str:
    return "".join(" " * i + "a:\n" for i in range(levels)) + " " * levels + "b\n"


HOSTILE = {
    "billion-laughs": (_laughs(), "alias-expansion"),
    "many-aliases": (
        CAMPAIGN.format(name="&n Aliases") + "labels: [" + ", ".join(["*n"] * 100_000) + "]\n",
        "too-many-aliases",
    ),
    "recursive-alias": ("a: &a [*a, *a]\n" + CAMPAIGN.format(name="R"), "recursive-alias"),
    "deep-flow": ("labels: " + "[" * 200_000 + "]" * 200_000 + "\n", "too-deep"),
    "deep-block": (_deep_block(1_400), "too-deep"),
    "many-documents": (CAMPAIGN.format(name="Docs") + "---\n" * 200_000, "too-many-documents"),
    "many-values": ("labels: [1" + ",1" * 400_000 + "]\n", "too-many-nodes"),
    "huge-file": (CAMPAIGN.format(name="Huge") + "#" * (3 * 1024 * 1024) + "\n", "file-too-large"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_file_is_refused_in_bounded_memory(name: str, repo: Path) -> None:
    text, code = HOSTILE[name]
    (repo / "campaigns" / "x").mkdir()
    (repo / "campaigns" / "x" / f"{name}.yaml").write_text(text)
    done = measured("validate", cwd=repo)
    print(f"{name}: {len(text):,} bytes refused in {done.seconds:.2f} s, {done.rss_mb:.0f} MB")
    assert done.code == 1, done.err
    assert f"campaigns/x/{name}.yaml:" in done.out and f"[{code}]" in done.out
    assert "Traceback" not in done.err and "Traceback" not in done.out
    assert done.rss_mb < MAX_RSS_MB


def test_limits_hold_in_a_plan_at_a_git_ref(repo: Path) -> None:
    """CI plans a pull request at its head commit: git blobs get the same limits."""
    (repo / ".gitignore").write_text(".campaign-gitops/\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "dana@example.com")
    git(repo, "config", "user.name", "Dana")
    (repo / "campaigns" / "laughs.yaml").write_text(_laughs())
    (repo / "campaigns" / "huge.yaml").write_text("#" * (2 * 1024 * 1024))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "hostile")
    git(repo, "rm", "-q", "campaigns/laughs.yaml", "campaigns/huge.yaml")
    done = measured("plan", "--ref", "HEAD", "--no-refresh", cwd=repo)
    assert done.code == 1
    assert "campaigns/laughs.yaml:" in done.err and "[alias-expansion]" in done.err
    assert "campaigns/huge.yaml:1:1:" in done.err and "[file-too-large]" in done.err
    assert done.rss_mb < MAX_RSS_MB


# -- the repository boundary --------------------------------------------------------------


SECRET = "top-secret-line: do not print me"


@pytest.fixture
def secret(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A YAML file outside the repository (`repo` is its own temporary folder) that must
    never be read."""
    path = tmp_path_factory.mktemp("outside") / "secret.yaml"
    path.write_text(SECRET + "\n")
    return path


def test_links_in_the_work_tree_are_refused_unread(repo: Path, secret: Path) -> None:
    (repo / "campaigns" / "x").mkdir()
    (repo / "campaigns" / "x" / "passwd.yaml").symlink_to("/etc/passwd")
    (repo / "campaigns" / "x" / "secret.yaml").symlink_to(secret)
    (repo / "campaigns" / "x" / "twin.yaml").symlink_to("../onboarding/welcome-push.yaml")
    done = run("validate", cwd=repo)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert any(
        line.startswith("campaigns/x/passwd.yaml:1:1:") and "[outside-repository]" in line
        for line in lines
    )
    assert any(
        line.startswith("campaigns/x/secret.yaml:1:1:") and "[outside-repository]" in line
        for line in lines
    )
    assert any(
        line.startswith("campaigns/x/twin.yaml:1:1:") and "[symlink]" in line for line in lines
    )
    assert "root:" not in done.stdout and SECRET not in done.stderr + done.stdout


def test_labels_file_through_a_link_is_refused(repo: Path, secret: Path) -> None:
    (repo / "labels.yaml").unlink()
    (repo / "labels.yaml").symlink_to(secret)
    done = run("validate", cwd=repo)
    assert done.returncode == 1
    assert "labels.yaml:1:1: is a link to" in done.stdout
    assert "[outside-repository]" in done.stdout
    assert SECRET not in done.stderr + done.stdout
    assert "unknown-label" not in done.stdout  # the labels are unknown, not missing


def test_config_paths_outside_the_repository_are_refused(repo: Path, secret: Path) -> None:
    (repo / "inside").symlink_to(secret.parent)
    (repo / "campaign-gitops.toml").write_text(
        'backend = "local"\n'
        'campaigns_dir = "../outside"\n'
        f'labels_file = "{secret}"\n'
        'platform = "inside/platform.db"\n'
        'state = "../state.db"\n'
        "\n[environments.staging]\n"
        'state = "/tmp/staging-state.db"\n'
        'platform = ".campaign-gitops/staging.db"\n'
    )
    done = run("validate", cwd=repo)
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if "[outside-repository]" in line]
    assert [": ".join(line.split(": ", 2)[:2]) for line in lines] == [
        "campaign-gitops.toml:2:1: campaigns_dir",
        "campaign-gitops.toml:3:1: labels_file",
        "campaign-gitops.toml:4:1: platform",
        "campaign-gitops.toml:5:1: state",
        "campaign-gitops.toml:8:1: environments.staging.state",
    ]
    assert SECRET not in done.stderr
    assert not (repo.parent / "state.db").exists()


def test_a_state_store_elsewhere_is_the_operators_choice(repo: Path, tmp_path: Path) -> None:
    """CAMPAIGN_GITOPS_STATE is set by whoever runs the tool, not by the repository."""
    elsewhere = tmp_path / "team" / "state.db"
    done = run("state", "list", cwd=repo, env={"CAMPAIGN_GITOPS_STATE": str(elsewhere)})
    assert done.returncode == 0, done.stderr
    assert elsewhere.exists()


def test_links_in_git_are_never_followed(repo: Path, secret: Path) -> None:
    (repo / ".gitignore").write_text(".campaign-gitops/\n")
    (repo / "campaigns" / "x").mkdir()
    (repo / "campaigns" / "x" / "passwd.yaml").symlink_to("/etc/passwd")
    (repo / "campaigns" / "x" / "up.yaml").symlink_to("../../../outside/secret.yaml")
    (repo / "campaigns" / "x" / "twin.yaml").symlink_to("../onboarding/welcome-push.yaml")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "dana@example.com")
    git(repo, "config", "user.name", "Dana")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "links")
    assert git(repo, "ls-files", "-s", "campaigns/x/passwd.yaml").startswith("120000")
    done = run("plan", "--ref", "HEAD", "--no-refresh", cwd=repo)
    assert done.returncode == 1
    err = done.stderr
    assert "campaigns/x/passwd.yaml:1:1: is a link to '/etc/passwd'" in err
    assert "campaigns/x/up.yaml:1:1:" in err and err.count("[outside-repository]") == 2
    assert "campaigns/x/twin.yaml:1:1:" in err and "[symlink]" in err
    assert "root:" not in err and SECRET not in err


def test_a_linked_campaigns_folder_in_git_is_refused(repo: Path) -> None:
    (repo / ".gitignore").write_text(".campaign-gitops/\n")
    (repo / "campaign-gitops.toml").write_text('backend = "local"\ncampaigns_dir = "linked"\n')
    (repo / "linked").symlink_to("campaigns")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "dana@example.com")
    git(repo, "config", "user.name", "Dana")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "linked folder")
    assert run("validate", cwd=repo).returncode == 0  # inside the repository: allowed
    done = run("plan", "--ref", "HEAD", "--no-refresh", cwd=repo)
    assert done.returncode == 1
    assert "linked:1:1: is a link to 'campaigns'" in done.stderr and "[symlink]" in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("clone", "welcome-push", "../../escape"),
        ("clone", "../welcome-push", "copy"),
        ("import", "Bad_Id"),
        ("state", "show", "../../etc/passwd"),
        ("clone", "welcome-push", "x" * 200),
    ],
    ids=["clone-new", "clone-source", "import", "state-show", "too-long"],
)
def test_ids_on_the_command_line_are_checked(repo: Path, args: tuple[str, ...]) -> None:
    done = run(*args, cwd=repo)
    assert done.returncode == 2
    assert "is not a campaign id" in done.stderr and "[a-z0-9][a-z0-9-]*" in done.stderr
    assert "Traceback" not in done.stderr and "unexpected" not in done.stderr
    assert not list(repo.parent.rglob("escape.yaml"))


def test_import_dir_outside_the_campaigns_folder_is_refused(repo: Path) -> None:
    done = run("import", "--dir", "../../elsewhere", cwd=repo)
    assert done.returncode == 2
    assert "--dir '../../elsewhere' leads outside campaigns/" in done.stderr


def test_bidirectional_and_invisible_characters_show_as_escapes_in_apply_output(
    repo: Path,
) -> None:
    """A label named to read one way and be another: the plan, each step's line and the
    outcome show the escapes, never the characters themselves."""
    tricky = "Sale \u202eevil\u202c\u2062\U000e0041"
    with (repo / "labels.yaml").open("a") as labels:
        labels.write(f'  - name: "{tricky}"\n    description: looks harmless\n')
    done = run("--at", "2026-11-23T10:00:00Z", "apply", "--auto-approve", cwd=repo)
    assert done.returncode == 0, done.stderr
    out = done.stdout + done.stderr
    for ch in ("\u202e", "\u202c", "\u2062", "\U000e0041"):
        assert ch not in out
    assert "+ create label Sale \\u202eevil\\u202c\\u2062\\U000e0041: done" in out
