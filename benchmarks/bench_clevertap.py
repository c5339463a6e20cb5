"""apply of 300 creates against the local CleverTap server with 50 ms latency and its limit of 3
concurrent requests: achieved throughput against the maximum (3 / latency), 429s, duplicates.

Budget (issue #6): at least 85% of the maximum; no failed create; no duplicate."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fake_clevertap import ACCOUNT, PASSCODE, FakeClevertap

CAMPAIGN = """name: Bench {i}
channel: push
what: {{content: {{title: Hello {i}, body: Offer {i}}}}}
when: {{delivery: on_date_time, start: 2026-12-{day:02d}T09:00:00Z}}
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", "--creates", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.05)
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
        creates = [(a, b) for path, a, b in server.state.times if path.endswith("create.json")]
        names = server.live_by_name()
    requests = len(server.state.times)
    maximum = 3 / args.latency
    window = max(b for _, b in creates) - min(a for a, _ in creates)
    achieved = len(creates) / window
    duplicates = sum(len(v) - 1 for v in names.values())
    rows = [
        ("creates asked", f"{args.creates}", ""),
        ("requests", f"{requests}", f"{len(creates)} creates, {requests - len(creates)} lists"),
        ("apply, start-up included", f"{elapsed:.2f} s", f"creates took {window:.2f} s"),
        ("create throughput", f"{achieved:.1f} /s", f"{achieved / maximum:.0%} of 3 / latency = "
         f"{maximum:.0f} /s (budget 85%)"),
        ("429 answers", f"{server.state.throttled}", f"peak in flight {server.state.peak}"),
        ("campaigns created", f"{len(creates)}", f"duplicates {duplicates}"),
    ]  # fmt: skip
    for name, value, note in rows:
        print(f"{name:<28} {value:>12}  {note}")
    ok = done.returncode == 0 and achieved >= 0.85 * maximum and duplicates == 0
    ok = ok and len(names) == args.creates
    print("within budget" if ok else f"OVER BUDGET\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
