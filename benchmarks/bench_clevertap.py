"""apply of N creates against the local CleverTap server, which enforces the Create Campaign API's
documented limit (3 requests per second) and 3 concurrent requests, with 20 ms of latency:
creates per second against `creates_per_second` (3), the busiest second, 429s, duplicates.

Budget (issue #10): at least 90% of 3 creates a second; zero 429; no failed create; no
duplicate."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fake_clevertap import ACCOUNT, CREATE, PASSCODE, FakeClevertap

RATE = 3.0  # creates_per_second, the default and the documented limit
CAMPAIGN = """name: Bench {i}
channel: push
what: {{content: {{title: Hello {i}, body: Offer {i}}}}}
when: {{delivery: on_date_time, start: 2026-12-{day:02d}T09:00:00Z}}
"""


def busiest_second(starts: list[float]) -> int:
    """The most creates that arrived within any one second."""
    return max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", "--creates", type=int, default=30)
    parser.add_argument("--latency", type=float, default=0.02)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeClevertap() as server:
        root = Path(tmp)
        (root / "campaigns").mkdir()
        for i in range(args.creates):
            text = CAMPAIGN.format(i=i, day=1 + i % 28)
            (root / "campaigns" / f"bench-{i:04d}.yaml").write_text(text)
        (root / "campaign-gitops.toml").write_text(
            f'backend = "clevertap"\n[clevertap]\naccount_id = "{ACCOUNT}"\n'
            f'base_url = "{server.url}"\n'
        )
        command = [sys.executable, "-m", "campaign_gitops", "-C", str(root),
                   "--at", "2026-11-23T10:00:00Z", "apply", "--auto-approve"]  # fmt: skip
        env = {**os.environ, "CLEVERTAP_PASSCODE": PASSCODE, "NO_COLOR": "1"}
        subprocess.run([*command[:-2], "plan"], env=env, check=True, capture_output=True)
        server.state.latency = args.latency
        server.state.log.clear()
        server.state.times.clear()
        start = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        starts = sorted(a for path, a, _ in server.state.times if path == CREATE)
        names = server.live_by_name()
    requests = len(server.state.times)
    span = starts[-1] - starts[0]
    achieved = (len(starts) - 1) / span  # start to start: the pace itself
    duplicates = sum(len(v) - 1 for v in names.values())
    rows = [
        ("creates asked", f"{args.creates}", f"latency {args.latency * 1000:.0f} ms"),
        ("requests", f"{requests}", f"{len(starts)} creates, {requests - len(starts)} reads"),
        ("apply, start-up included", f"{elapsed:.2f} s", f"creates took {span:.2f} s"),
        ("create throughput", f"{achieved:.2f} /s", f"{achieved / RATE:.0%} of {RATE:g} /s "
         "(budget 90%)"),
        ("busiest second", f"{busiest_second(starts)}", f"creates (limit {RATE:g})"),
        ("429 answers", f"{server.state.throttled}", f"peak in flight {server.state.peak}"),
        ("campaigns created", f"{server.state.creates}", f"duplicates {duplicates}"),
    ]  # fmt: skip
    for name, value, note in rows:
        print(f"{name:<28} {value:>12}  {note}")
    ok = done.returncode == 0 and achieved >= 0.9 * RATE and duplicates == 0
    ok = ok and server.state.throttled == 0 and server.state.creates == args.creates
    print("within budget" if ok else f"OVER BUDGET\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
