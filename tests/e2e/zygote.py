"""A process that has imported the CLI once and forks a child for each call (tests/e2e/cli.py).

Each call is still a process of its own, as a user's is: its own working directory, environment
(exactly the one asked for), standard streams (stdin empty, stdout and stderr to files), exit code
and signals; the CLI runs from `main()` as `python -m campaign_gitops` runs it, and the child exits
through the interpreter's own shutdown. Only the imports are not paid again: measured, about two
thirds of a call's CPU, and the suite makes about a thousand calls. The zygote itself runs nothing
of the CLI, so no cache or state of one call reaches another.

Requests and answers are JSON lines on stdin and stdout: {args, cwd, env, out, err} -> {pid},
then {code} (negative: the signal that ended it, as subprocess reports it)."""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from typing import Any, NoReturn

PRELOAD = (
    "campaign_gitops.cli",
    "campaign_gitops.commands.ack",
    "campaign_gitops.commands.apply",
    "campaign_gitops.commands.approve",
    "campaign_gitops.commands.fmt",
    "campaign_gitops.commands.imports",
    "campaign_gitops.commands.init",
    "campaign_gitops.commands.plan",
    "campaign_gitops.commands.platform",
    "campaign_gitops.commands.schema",
    "campaign_gitops.commands.show",
    "campaign_gitops.commands.state",
    "campaign_gitops.commands.validate",
    "campaign_gitops.backends.clevertap",
    "campaign_gitops.backends.local",
    "campaign_gitops.state.sqlite",
    "campaign_gitops.state.postgres",
    "campaign_gitops.github",
    "campaign_gitops.gitrepo",
    "git",
)


def _preload() -> None:
    for name in PRELOAD:
        importlib.import_module(name)


def _child(request: dict[str, Any]) -> NoReturn:
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()
    for fd, path, flags in (
        (0, os.devnull, os.O_RDONLY),
        (1, request["out"], os.O_WRONLY),  # FIFOs: pipes, as a subprocess has
        (2, request["err"], os.O_WRONLY),
    ):
        opened = os.open(path, flags, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    sys.argv = [sys.argv[0], *request["args"]]
    from campaign_gitops.cli import main

    raise SystemExit(main())


def _answer(data: dict[str, Any]) -> None:
    os.write(1, (json.dumps(data) + "\n").encode())


def serve() -> None:
    _preload()
    for line in sys.stdin.buffer:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request)  # never returns: its SystemExit ends the child
        _answer({"pid": pid})
        _, status = os.waitpid(pid, 0)
        _answer({"code": os.waitstatus_to_exitcode(status)})


if __name__ == "__main__":
    serve()
