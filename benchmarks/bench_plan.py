"""validate, plan and apply over 10,000 campaigns vs a bare CSafeLoader parse of the same files,
and two concurrent disjoint applies on PostgreSQL vs one, all in one run (issue #12).

The repository is a git repository: the generated files are committed on `main` and applied to
the local platform; a branch then edits 10 files and commits, and `plan --changed-since main`
plans those. Times are the best of R runs, start-up included; the bare parse is measured
between them (these machines are noisy). Peak memory is measured per command, in a run of its
own: the most the command's processes (itself and its workers) held at once, sampled every
10 ms, summed RSS (shared pages counted in each process: an upper bound), and the largest
single process's RSS from wait4.

Budgets (issue #12): cold `validate` <= 1.2x the bare parse (goal 0.8x), a no-change plan
<= 1.5x (goal 1.0x), a `--changed-since` plan over 10 changed files <= 0.3x (goal 0.1x), peak
memory of validate and plan <= 300 MB; (issue #4) an apply of 1,000 creates <= 10 s. Two
disjoint applies at once take at most 1.5x one (one lock for the whole store: 2.0x). Exit 1
when a figure is over budget.

    python benchmarks/bench_plan.py [-n 10000] [-r 3] [--creates 1000] [--applies 1000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _gen import write_campaigns  # noqa: E402
from bench_apply_concurrency import concurrent_applies  # noqa: E402
from bench_validate import bare_parse  # noqa: E402

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


def _tree_rss(pid: int) -> int:
    """Bytes of RSS of a process and all its descendants, from /proc."""
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
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, ()))
        try:
            with open(f"/proc/{current}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            pass
    return total


def measured(root: Path, *args: str) -> Run:
    """One command, its memory measured (not timed: the sampling costs CPU)."""
    proc = subprocess.Popen(
        _command(root, args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    finished = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not finished.wait(0.01):
            peak = max(peak, _tree_rss(proc.pid))

    sampler = threading.Thread(target=sample)
    sampler.start()
    assert proc.stderr is not None
    err = proc.stderr.read()  # until the command closes it (no deadlock on a full pipe)
    _, status, usage = os.wait4(proc.pid, 0)
    finished.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    _check(args, proc.returncode, err)
    return Run(0.0, proc.returncode, peak / MB, usage.ru_maxrss / 1024)


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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", "--count", type=int, default=10_000)
    parser.add_argument("--creates", type=int, default=1_000)
    parser.add_argument("--applies", type=int, default=1_000, help="campaigns of the two applies")
    parser.add_argument("--changed", type=int, default=10, help="files a branch changes")
    parser.add_argument("-r", "--repeat", type=int, default=3, help="best of R")
    args = parser.parse_args()
    rows: list[tuple[str, str, str, str]] = []  # figure, value, ratio, budget
    over: list[str] = []

    def row(name: str, seconds: float, bare: float, budget: float | None = None) -> None:
        ratio = seconds / bare
        note = f"<= {budget:.2f}x" if budget is not None else ""
        if budget is not None and ratio > budget:
            over.append(name)
            note += " OVER"
        rows.append((name, f"{seconds:.2f} s", f"{ratio:.2f}x", note))

    def memory(name: str, run: Run, budget: float | None) -> None:
        note = f"<= {budget:.0f} MB" if budget is not None else ""
        if budget is not None and run.tree_mb > budget:
            over.append(name)
            note += " OVER"
        value = f"{run.tree_mb:.0f} MB"
        rows.append((name, value, f"largest process {run.process_mb:.0f} MB", note))

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
        small = Path(tmp) / "creates"
        write_campaigns(small, args.creates)
        (small / "campaign-gitops.toml").write_text('backend = "local"\n')
        creates = cli(small, "apply", "--auto-approve")
    bare = min(bares)
    validate, plan, changed = best(validates), best(plans), best(changes)
    rows.append(("campaign files", f"{args.count:,}", "", ""))
    row("bare CSafeLoader parse (one core)", bare, bare)
    row("validate (cold)", validate.seconds, bare, 1.2)
    row("plan, no changes (after apply)", plan.seconds, bare, 1.5)
    row(f"plan --changed-since, {args.changed} files changed", changed.seconds, bare, 0.3)
    row(f"first apply ({args.count:,} creates)", first.seconds, bare)
    row(f"apply of {args.creates:,} creates", creates.seconds, bare)
    if creates.seconds > 10:
        over.append("apply of creates")
        rows[-1] = (*rows[-1][:3], "<= 10 s OVER")
    else:
        rows[-1] = (*rows[-1][:3], "<= 10 s")
    memory("peak memory: validate", validate_memory, 300)
    memory("peak memory: plan, no changes", plan_memory, 300)
    memory("peak memory: plan --changed-since", since_memory, 300)
    pairs = concurrent_applies(args.applies, args.repeat)
    if len(pairs) == 2:
        one, two = (float(value.split()[0]) for _, value, _ in pairs)
        rows.append((pairs[0][0], pairs[0][1], "1.00x", ""))
        ratio = two / one
        note = "<= 1.50x (one store lock: 2.00x)"
        if ratio > 1.5:
            over.append("concurrent applies")
            note += " OVER"
        rows.append((pairs[1][0], pairs[1][1], f"{ratio:.2f}x of one", note))
    else:
        rows.extend((name, value, note, "") for name, value, note in pairs)
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for name, value, ratio, note in rows:
        print(f"{name:<{widths[0]}}  {value:>{widths[1]}}  {ratio:<{widths[2]}}  {note}")
    print("within budget" if not over else "OVER BUDGET: " + ", ".join(over))
    return 0 if not over else 1


if __name__ == "__main__":
    raise SystemExit(main())
