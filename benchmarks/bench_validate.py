"""validate vs a bare CSafeLoader parse of the same files, in one run (best of 3 each).

Budget (issue #2): validate <= 2.0x the bare parse; peak RSS <= 400 MB."""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from _gen import write_campaigns


def bare_parse(paths: list[Path]) -> float:
    start = time.perf_counter()
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            yaml.load(handle, Loader=yaml.CSafeLoader)
    return time.perf_counter() - start


def run_validate(root: Path) -> tuple[float, float]:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "campaign_gitops", "-C", str(root), "validate"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return elapsed, peak_mb


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", "--count", type=int, default=10_000)
    parser.add_argument("-r", "--repeat", type=int, default=3, help="best of R, interleaved")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = write_campaigns(root, args.count)
        lines = sum(p.read_text().count("\n") for p in paths) / len(paths)
        bare_parse(paths[:200])  # warm the page cache
        bares, validates = [], []
        for _ in range(args.repeat):
            bares.append(bare_parse(paths))
            elapsed, peak = run_validate(root)
            validates.append(elapsed)
        bare, validate = min(bares), min(validates)
    ratio = validate / bare
    rows = [
        ("campaign files", f"{args.count:,}", f"{lines:.0f} lines each"),
        ("bare CSafeLoader parse", f"{bare:.2f} s", "1.00x"),
        ("campaign-gitops validate", f"{validate:.2f} s", f"{ratio:.2f}x (budget 2.00x)"),
        ("validate peak RSS", f"{peak:.0f} MB", "budget 400 MB"),
    ]
    for name, value, note in rows:
        print(f"{name:<28} {value:>12}  {note}")
    ok = ratio <= 2.0 and peak <= 400
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
