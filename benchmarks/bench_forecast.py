"""The global-limits forecast's cost (issue #13): a plan over 1,000,000 synthetic users with
`[global_limits]` vs the same plan without, in one run.

The repository's own campaigns (every channel and delivery) are applied to a local platform
seeded with N users; then C new campaigns are added (daily pushes, emails and an SMS to
overlapping audiences), and the plan of those creates is timed with and without limits (push,
email and all-channel limits and a dwell time: every live campaign is in some limit's scope).
Both plans compute the blast radius; only the second forecasts, on the sample of every k-th
user that `platform seed` writes beside a store of more than 100,000 users; a third figure is
the forecast over every user (a store seeded before samples existed; no budget). Times are the
best of R runs each, taken alternately, start-up included (these machines are noisy). Budget:
the plan with limits <= 1.2x the plan without. Exit 1 when over budget or not measured.

    python benchmarks/bench_forecast.py [-n 1000000] [-r 3] [-c 5]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_plan import Run, Table, best

REPO = Path(__file__).resolve().parents[1]
AT = "2026-12-01T08:00:00Z"  # the examples' schedules start around now: most run this week
LIMITS = '[global_limits]\npush = "3/day"\nemail = "2/day"\nall = "10/7d"\ndwell = "30m"\n'
CHANNELS = ("push", "email", "push", "sms", "push", "email")


def _campaign(i: int) -> str:
    channel = CHANNELS[i % len(CHANNELS)]
    content = {
        "push": "{title: Deal, body: Today only}",
        "email": "{subject: Deal, body: Today only, sender_name: Shop}",
        "sms": "{body: Today only}",
    }[channel]
    plan = ("free", "plus", "pro")[i % 3]
    return (
        f"name: Forecast {i}\nchannel: {channel}\nlabels: [Promotions]\n"
        f"who: {{segment: {{user_properties: [{{name: Plan, op: equals, value: {plan}}}]}}}}\n"
        f"what: {{content: {content}}}\n"
        "when:\n  delivery: recurring\n  start: '2026-12-01T00:00:00Z'\n"
        f"  recurring: {{every: 1, unit: day, at: '{9 + i % 10:02d}:00'}}\n"
    )


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "campaign_gitops", "-C", str(root), "--at", AT, *args]
    return subprocess.run(command, capture_output=True, text=True)


def cli(root: Path, *args: str) -> Run:
    """One command at AT, timed (bench_plan's runs at its own time)."""
    start = time.perf_counter()
    done = _run(root, *args)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return Run(elapsed, done.returncode)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--users", type=int, default=1_000_000)
    parser.add_argument("-r", "--repeat", type=int, default=3, help="best of R")
    parser.add_argument("-c", "--creates", type=int, default=5, help="new campaigns planned")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(REPO / "campaigns", root / "campaigns")
        shutil.copy(REPO / "labels.yaml", root / "labels.yaml")
        config = root / "campaign-gitops.toml"
        config.write_text('backend = "local"\n')
        cli(root, "platform", "seed", "--users", str(args.users), "--seed", "1")
        cli(root, "apply", "--auto-approve")
        for i in range(args.creates):
            (root / "campaigns" / f"forecast-{i}.yaml").write_text(_campaign(i))
        without, with_limits = [], []
        for _ in range(args.repeat):
            config.write_text('backend = "local"\n')
            without.append(cli(root, "plan", "--detailed-exitcode"))
            config.write_text('backend = "local"\n\n' + LIMITS)
            with_limits.append(cli(root, "plan", "--detailed-exitcode"))
        # a store seeded before samples existed: the forecast runs over every user
        (root / ".campaign-gitops" / "platform.profiles.sample.npz").unlink()
        unsampled = [cli(root, "plan", "--detailed-exitcode") for _ in range(args.repeat)]
        done = _run(root, "plan", "--format", "json")
        if done.returncode != 0:
            raise SystemExit(f"plan --format json failed: {done.stderr}")
        limits = json.loads(done.stdout).get("limits", {})
    forecast = limits.get("forecast", {}).get("changes", {})
    pushed = sum(p["users"] for days in forecast.values() for p in days)
    base, forecasted = best(without).seconds, best(with_limits).seconds
    table = Table()
    table.add("synthetic users", f"{args.users:,}", "", "")
    table.add("new campaigns planned", f"{args.creates}", "", "")
    table.add("changes pushing users past a limit", f"{len(forecast)}", "", "")
    table.add("users pushed past a limit (all days)", f"{pushed:,}", "", "")
    table.add("blast radius: users reached", f"{limits.get('blast', {}).get('reach', 0):,}", "", "")
    table.time("plan without [global_limits]", base, base)
    table.time("plan with [global_limits] (forecast)", forecasted, base, 1.2)
    table.time("  the same, forecast over every user (no sample)", best(unsampled).seconds, base)
    if not forecast:
        table.add("forecast", "nothing forecast", "", "", within=False)
    return table.print()


if __name__ == "__main__":
    raise SystemExit(main())
