"""One apply of some campaigns in a process of its own (the apply command with the plan limited
to those ids, as `--target` does), for the concurrency tests:

    python -m tests.e2e.locked_apply ROOT AT LOCK_TIMEOUT [--meet DIR N] [--stall DIR K] ID...

`--meet DIR N`: once its locks are held (the applier starts), write DIR/held-<pid> and wait
until N such files exist (or DIR/go does): N appliers meet only if they hold their locks at the
same time. `--stall DIR K`: after K steps, write DIR/stalled-<pid> and wait there to be killed.
Prints the exit code's line the CLI would, and exits with the command's code."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from campaign_gitops.applying.applier import Applier
from campaign_gitops.commands.apply import apply
from campaign_gitops.config import load_settings
from campaign_gitops.errors import FatalError
from campaign_gitops.timeutil import parse_at
from campaign_gitops.workspace import PlanRequest


def _wait_for(done: Any, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the other appliers")
        time.sleep(0.05)


def _meet(folder: Path, count: int) -> None:
    run = Applier.run

    def meeting(self: Applier, *args: Any, **kwargs: Any) -> Any:
        (folder / f"held-{os.getpid()}").touch()
        _wait_for(lambda: len(list(folder.glob("held-*"))) >= count or (folder / "go").exists())
        return run(self, *args, **kwargs)

    Applier.run = meeting  # type: ignore[method-assign]


def _stall(folder: Path, after: int) -> None:
    do = Applier._do
    steps = [0]

    def stalling(self: Applier, *args: Any, **kwargs: Any) -> Any:
        if steps[0] == after:
            (folder / f"stalled-{os.getpid()}").touch()
            time.sleep(3600)
        steps[0] += 1
        return do(self, *args, **kwargs)

    Applier._do = stalling  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    root, at, timeout, *rest = argv
    while rest and rest[0].startswith("--"):
        option, folder, number, *rest = rest
        (_meet if option == "--meet" else _stall)(Path(folder), int(number))
    request = PlanRequest(parse_at(at), only=frozenset(rest))
    try:
        return apply(
            load_settings(Path(root)),
            request,
            None,
            auto_approve=True,
            continue_on_error=False,
            lock_timeout=float(timeout),
        )
    except FatalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
