"""Two applies of disjoint campaigns at once against one, on a PostgreSQL state store (issue #12).

Each apply is `campaign-gitops apply --target campaigns/team-NN ...` creating half of the
generated campaigns (teams 00-09, and 10-19), start-up included; the labels exist first. A ratio
near 1.0x means the two ran side by side; 2.0x is what one lock for the whole store gives (the
second waits for the first). Every round starts from an empty platform and a new database, and the
figures are the best of R rounds. Needs PostgreSQL's binaries (`make postgres`).

    python benchmarks/bench_apply_concurrency.py [-n 1000] [-r 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from _gen import write_campaigns  # noqa: E402

AT = "2026-11-23T10:00:00Z"


def _apply(root: Path, teams: range) -> subprocess.Popen[str]:
    targets = [f"--target=campaigns/team-{team:02d}" for team in teams]
    command = ["-C", str(root), "--at", AT, "apply", "--auto-approve", "--lock-timeout", "10m"]
    return _run([sys.executable, "-m", "campaign_gitops", *command, *targets])


def _labels(root: Path) -> subprocess.Popen[str]:
    """An apply of no campaign: the labels only (this script, as `--labels ROOT`)."""
    return _run([sys.executable, __file__, "--labels", str(root)])


def _run(command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _finished(*procs: subprocess.Popen[str]) -> None:
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"an apply failed: {err}")


def _world(folder: Path, url: str, count: int) -> Path:
    """Campaign files in 20 team folders, their labels applied."""
    write_campaigns(folder, count)
    (folder / "campaign-gitops.toml").write_text(f'backend = "local"\nstate = "{url}"\n')
    _finished(_labels(folder))
    return folder


def _timed(*procs: subprocess.Popen[str]) -> float:
    start = time.perf_counter()
    _finished(*procs)
    return time.perf_counter() - start


def timings(count: int = 1_000, repeat: int = 3) -> tuple[float, float] | str:
    """Seconds of one apply of count/2 creates and of two disjoint ones at once (best of
    `repeat` each); or why they could not be measured."""
    try:
        from tests.postgres_server import PostgresServer

        server = PostgresServer().start()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        return f"no PostgreSQL: {exc}"
    singles, pairs = [], []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in range(repeat):
                root = _world(Path(tmp) / f"one{n}", server.new_database(), count)
                singles.append(_timed(_apply(root, range(10))))
                root = _world(Path(tmp) / f"two{n}", server.new_database(), count)
                pairs.append(_timed(_apply(root, range(10)), _apply(root, range(10, 20))))
    finally:
        server.stop()
    return min(singles), min(pairs)


def concurrent_applies(count: int = 1_000, repeat: int = 3) -> list[tuple[str, str, str]]:
    """Rows: one apply of count/2 creates, two disjoint ones at once, and their ratio."""
    measured = timings(count, repeat)
    if isinstance(measured, str):
        return [("two concurrent disjoint applies", "skipped", measured)]
    one, two = measured
    half = f"{count // 2:,}"
    return [
        (f"apply of {half} creates (PostgreSQL state)", f"{one:.2f} s", "1.00x"),
        (f"two applies of {half} disjoint creates at once", f"{two:.2f} s", f"{two / one:.2f}x"),
    ]


def _labels_main(root: str) -> int:
    from campaign_gitops.commands.apply import apply
    from campaign_gitops.config import load_settings
    from campaign_gitops.timeutil import parse_at
    from campaign_gitops.workspace import PlanRequest

    request = PlanRequest(parse_at(AT), only=frozenset())
    settings = load_settings(Path(root))
    return apply(
        settings, request, None, auto_approve=True, continue_on_error=False, lock_timeout=60
    )


def main() -> int:
    if sys.argv[1:2] == ["--labels"]:
        return _labels_main(sys.argv[2])
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", "--count", type=int, default=1_000)
    parser.add_argument("-r", "--repeat", type=int, default=3, help="best of R")
    args = parser.parse_args()
    for name, value, note in concurrent_applies(args.count, args.repeat):
        print(f"{name:<48} {value:>10}  {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
