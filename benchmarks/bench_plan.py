"""plan and apply over 10,000 campaigns vs a bare CSafeLoader parse of the same files, in one run.

Budgets (issue #4): a plan with no changes (after apply) <= 2.5x the bare parse; an apply of
1,000 creates <= 10 s on the local backend; peak RSS <= 600 MB."""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _gen import write_campaigns
from bench_validate import bare_parse

AT = "2026-11-23T10:00:00Z"


def cli(root: Path, *args: str) -> tuple[float, float, int]:
    """Seconds, peak RSS (MB) of the biggest child so far, exit code."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "campaign_gitops", "-C", str(root), "--at", AT, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if done.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr}")
    elapsed = time.perf_counter() - start
    return elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, done.returncode


def edit(paths: list[Path], count: int) -> None:
    for path in paths[:count]:
        text = path.read_text()
        path.write_text(text.replace("title: ", "title: Edited ", 1))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", "--count", type=int, default=10_000)
    parser.add_argument("--creates", type=int, default=1_000)
    parser.add_argument("-r", "--repeat", type=int, default=3, help="best of R")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "big"
        paths = write_campaigns(root, args.count)
        (root / "campaign-gitops.toml").write_text('backend = "local"\n')
        bare_parse(paths[:200])  # warm the page cache
        initial, _, _ = cli(root, "apply", "--auto-approve")
        bares, plans = [], []
        for _ in range(args.repeat):
            bares.append(bare_parse(paths))
            elapsed, _, code = cli(root, "plan", "--detailed-exitcode")
            assert code == 0, "the plan after apply must show no changes"
            plans.append(elapsed)
        edit(paths, 10)
        changes = [cli(root, "plan", "--detailed-exitcode") for _ in range(args.repeat)]
        assert all(code == 2 for _, _, code in changes), "10 edited files must show changes"
        changed = min(elapsed for elapsed, _, _ in changes)
        small = Path(tmp) / "creates"
        write_campaigns(small, args.creates)
        (small / "campaign-gitops.toml").write_text('backend = "local"\n')
        creates, peak, _ = cli(small, "apply", "--auto-approve")
        bare, plan = min(bares), min(plans)
    rows = [
        ("campaign files", f"{args.count:,}", ""),
        ("bare CSafeLoader parse", f"{bare:.2f} s", "1.00x"),
        (f"first apply ({args.count:,} creates)", f"{initial:.2f} s", f"{initial / bare:.2f}x"),
        ("plan, no changes", f"{plan:.2f} s", f"{plan / bare:.2f}x (budget 2.50x)"),
        ("plan, 10 files changed", f"{changed:.2f} s", f"{changed / bare:.2f}x"),
        (f"apply of {args.creates:,} creates", f"{creates:.2f} s", f"{creates / bare:.2f}x"),
        ("peak RSS (any command)", f"{peak:.0f} MB", "budget 600 MB"),
    ]
    rows[5] = (*rows[5][:2], rows[5][2] + " (budget 10 s)")
    for name, value, note in rows:
        print(f"{name:<32} {value:>10}  {note}")
    ok = plan / bare <= 2.5 and creates <= 10 and peak <= 600
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
