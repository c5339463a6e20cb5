"""validate, plan and apply over 10,000 campaigns vs a bare CSafeLoader parse of the same files,
and two concurrent disjoint applies on PostgreSQL vs one, all in one run (issue #12).

The repository is a git repository: the generated files are committed on `main` and applied to
the local platform; a branch then edits 10 files (in 10 team folders) and commits, and
`plan --changed-since main` plans those (checked: its changes are the full plan's). Times are
the best of R runs, start-up included; the bare parse is measured between them (these machines
are noisy). Peak memory is measured per command, in a run of its own, sampled every 10 ms: the
most the command's processes (itself and its workers) held at once, as summed PSS (a page
shared by forked workers counted once, split between them: the memory the command takes) and
as summed RSS (a shared page counted in each: an upper bound); and the largest single
process's peak RSS, from wait4. The budget holds for the summed PSS and the largest process.

Budgets (issue #12): cold `validate` <= 1.2x the bare parse (goal 0.8x), a no-change plan
<= 1.5x (goal 1.0x), a `--changed-since` plan over 10 changed files <= 0.3x (goal 0.1x), peak
memory of validate and of both plans <= 300 MB; (issue #4) an apply of 1,000 creates <= 10 s.
Two disjoint applies at once (bench_apply_concurrency.py: 500 creates each on a PostgreSQL state
store; best of 5 rounds, each one apply then two, since two processes need both cores free)
take at most 1.5x one (one lock for the whole store: 2.0x). Exit 1 when a figure is over
budget, or could not be measured.

    python benchmarks/bench_plan.py [-n 10000] [-r 3] [--creates 1000] [--applies 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _gen import write_campaigns
from bench_apply_concurrency import timings
from bench_validate import bare_parse

AT = "2026-11-23T10:00:00Z"
MB = 1024 * 1024
PAGE = os.sysconf("SC_PAGE_SIZE")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


@dataclass
class Run:
    seconds: float
    code: int
    tree_mb: float = 0.0  # peak of the summed RSS of the command and its workers (sampled)
    tree_pss_mb: float = 0.0  # peak of their summed PSS (sampled)
    process_mb: float = 0.0  # the largest single process's peak RSS (wait4)


def _command(root: Path, args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "campaign_gitops", "-C", str(root), "--at", AT, *args]


def _check(args: Sequence[str], code: int, err: str) -> None:
    if code not in (0, 2):
        raise SystemExit(f"{' '.join(args)} failed ({code}): {err}")


def cli(root: Path, *args: str) -> Run:
    """One command, timed."""
    start = time.perf_counter()
    done = subprocess.run(
        _command(root, args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    elapsed = time.perf_counter() - start
    _check(args, done.returncode, done.stderr)
    return Run(elapsed, done.returncode)


def _tree_memory(pid: int) -> tuple[int, int]:
    """Bytes of RSS and of PSS of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    rss = pss = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, ()))
        try:
            with open(f"/proc/{current}/smaps_rollup", "rb") as handle:
                for line in handle:
                    if line.startswith(b"Rss:"):
                        rss += int(line.split()[1]) * 1024
                    elif line.startswith(b"Pss:"):
                        pss += int(line.split()[1]) * 1024
        except (OSError, IndexError, ValueError):
            pass
    return rss, pss


def measured(root: Path, *args: str) -> Run:
    """One command, its memory measured (not timed: the sampling costs CPU)."""
    proc = subprocess.Popen(
        _command(root, args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    peak = peak_pss = 0
    finished = threading.Event()

    def sample() -> None:
        nonlocal peak, peak_pss
        while not finished.wait(0.01):
            rss, pss = _tree_memory(proc.pid)
            peak, peak_pss = max(peak, rss), max(peak_pss, pss)

    sampler = threading.Thread(target=sample)
    sampler.start()
    assert proc.stderr is not None
    err = proc.stderr.read()  # until the command closes it (no deadlock on a full pipe)
    _, status, usage = os.wait4(proc.pid, 0)
    finished.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    _check(args, proc.returncode, err)
    return Run(0.0, proc.returncode, peak / MB, peak_pss / MB, usage.ru_maxrss / 1024)


def git(root: Path, *args: str) -> None:
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env)


def edit(paths: list[Path], count: int) -> list[Path]:
    """`count` files spread over the team folders, each a new title."""
    step = max(1, len(paths) // count)
    edited = [paths[min(len(paths) - 1, k * step + k % 20)] for k in range(count)]
    for path in edited:
        text = path.read_text()
        path.write_text(text.replace("title: ", "title: Edited ", 1))
    return edited


def best(runs: list[Run]) -> Run:
    return min(runs, key=lambda run: run.seconds)


def planned_changes(root: Path, *args: str) -> list[Any]:
    """The changes of a plan, from its JSON."""
    done = subprocess.run(
        _command(root, ("plan", "--format", "json", *args)), capture_output=True, text=True
    )
    _check(("plan", *args), done.returncode, done.stderr)
    changes: list[Any] = json.loads(done.stdout)["changes"]
    return changes


class Table:
    """Rows of figure, value, ratio and budget; what is over budget."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []
        self.over: list[str] = []

    def add(self, name: str, value: str, ratio: str, budget: str, within: bool = True) -> None:
        if not within:
            self.over.append(name)
            budget += " OVER"
        self.rows.append((name, value, ratio, budget))

    def time(self, name: str, seconds: float, bare: float, budget: float | None = None) -> None:
        ratio = seconds / bare
        note = f"<= {budget:.2f}x" if budget is not None else ""
        self.add(name, f"{seconds:.2f} s", f"{ratio:.2f}x", note, budget is None or ratio <= budget)

    def memory(self, name: str, run: Run, budget: float) -> None:
        detail = f"largest process {run.process_mb:.0f} MB; RSS summed {run.tree_mb:.0f} MB"
        within = max(run.tree_pss_mb, run.process_mb) <= budget
        self.add(name, f"{run.tree_pss_mb:.0f} MB", detail, f"<= {budget:.0f} MB", within)

    def print(self) -> int:
        widths = [max(len(row[i]) for row in self.rows) for i in range(4)]
        for name, value, ratio, note in self.rows:
            line = f"{name:<{widths[0]}}  {value:>{widths[1]}}  {ratio:<{widths[2]}}  {note}"
            print(line.rstrip())
        print("within budget" if not self.over else "OVER BUDGET: " + "; ".join(self.over))
        return 1 if self.over else 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", "--count", type=int, default=10_000)
    parser.add_argument("--creates", type=int, default=1_000)
    parser.add_argument("--applies", type=int, default=1_000, help="campaigns of the two applies")
    parser.add_argument("--changed", type=int, default=10, help="files a branch changes")
    parser.add_argument("-r", "--repeat", type=int, default=3, help="best of R")
    parser.add_argument(
        "--rounds", type=int, default=5, help="best of N rounds of the concurrent applies"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "big"
        paths = write_campaigns(root, args.count)
        (root / "campaign-gitops.toml").write_text('backend = "local"\n')
        (root / ".gitignore").write_text(".campaign-gitops/\n")
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "campaigns")
        bare_parse(paths[:200])  # warm the page cache
        first = cli(root, "apply", "--auto-approve")
        bares, validates, plans = [], [], []
        for _ in range(args.repeat):
            bares.append(bare_parse(paths))
            validates.append(cli(root, "validate"))
            plans.append(cli(root, "plan", "--detailed-exitcode"))
        assert all(run.code == 0 for run in plans), "the plan after apply must show no changes"
        validate_memory = measured(root, "validate")
        plan_memory = measured(root, "plan", "--detailed-exitcode")
        git(root, "checkout", "-q", "-b", "edits")
        edit(paths, args.changed)
        git(root, "commit", "-q", "-am", "edits")
        since = ("plan", "--detailed-exitcode", "--changed-since", "main")
        changes = [cli(root, *since) for _ in range(args.repeat)]
        assert all(run.code == 2 for run in changes), "the changed files must show changes"
        since_memory = measured(root, *since)
        partial = planned_changes(root, "--changed-since", "main")
        assert len(partial) == args.changed, f"{len(partial)} changes for {args.changed} files"
        assert partial == planned_changes(root), "the partial plan must be the full plan's"
        small = Path(tmp) / "creates"
        write_campaigns(small, args.creates)
        (small / "campaign-gitops.toml").write_text('backend = "local"\n')
        creates = cli(small, "apply", "--auto-approve")
    concurrent = timings(args.applies, args.rounds)
    bare = min(bares)
    table = Table()
    table.add("campaign files", f"{args.count:,}", "", "")
    table.time("bare CSafeLoader parse (one core)", bare, bare)
    table.time("validate (cold)", best(validates).seconds, bare, 1.2)
    table.time("plan, no changes (after apply)", best(plans).seconds, bare, 1.5)
    table.time(
        f"plan --changed-since, {args.changed} files changed", best(changes).seconds, bare, 0.3
    )
    table.time(f"first apply ({args.count:,} creates)", first.seconds, bare)
    seconds = creates.seconds
    ratio = f"{seconds / bare:.2f}x"
    table.add(
        f"apply of {args.creates:,} creates", f"{seconds:.2f} s", ratio, "<= 10 s", seconds <= 10
    )
    table.memory("peak memory (PSS): validate", validate_memory, 300)
    table.memory("peak memory (PSS): plan, no changes", plan_memory, 300)
    table.memory("peak memory (PSS): plan --changed-since", since_memory, 300)
    half = f"{args.applies // 2:,}"
    if isinstance(concurrent, str):
        table.add("two concurrent disjoint applies", "skipped", concurrent, "", within=False)
    else:
        one, two = concurrent
        table.add(f"apply of {half} creates, PostgreSQL state", f"{one:.2f} s", "1.00x", "")
        table.add(
            f"two applies of {half} disjoint creates at once",
            f"{two:.2f} s",
            f"{two / one:.2f}x of one",
            "<= 1.50x (one lock for the store: 2.00x)",
            two / one <= 1.5,
        )
    return table.print()


if __name__ == "__main__":
    raise SystemExit(main())
