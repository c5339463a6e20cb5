from __future__ import annotations

import atexit
import io
import json
import locale
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

# a suite that itself runs in GitHub Actions must not hand its own runner to the CLI under test
NOT_INHERITED = ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_EVENT_PATH", "CI")
TIMEOUT = 120.0
ROOT = Path(__file__).resolve().parents[2]


def inherited() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}


class _Zygote:
    """This test process's zygote (tests/e2e/zygote.py): started on first use, one call at a
    time; a call made while it is busy (from another thread) runs as a plain subprocess."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None
        self.folder = Path(tempfile.mkdtemp(prefix="cli-zygote-"))

    def _started(self) -> subprocess.Popen[bytes]:
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.e2e.zygote"],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=inherited(),
            )
            atexit.register(self._stop, self.process)
        return self.process

    @staticmethod
    def _stop(process: subprocess.Popen[bytes]) -> None:
        """End of input: the zygote exits on its own, saving its coverage data if measured."""
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()

    def _read(self, process: subprocess.Popen[bytes], timeout: float) -> dict[str, Any]:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        line = process.stdout.readline() if ready else b""
        if not line:
            raise TimeoutError
        answer: dict[str, Any] = json.loads(line)
        return answer

    def run(self, args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
        """The child's stdout and stderr are pipes, as a subprocess's are (the CLI tells a pipe
        from a file): FIFOs this process holds open at both ends, so that it reads them as the
        child writes and none ever reads as closed."""
        process = self._started()
        assert process.stdin is not None and process.stdout is not None
        paths = [self.folder / "out", self.folder / "err"]
        for path in paths:
            if not path.exists():
                os.mkfifo(path, 0o600)
        fds = [os.open(path, os.O_RDWR | os.O_NONBLOCK) for path in paths]
        chunks: dict[int, list[bytes]] = {fd: [] for fd in fds}
        try:
            request = {"args": args, "cwd": str(cwd), "env": env}
            request |= {"out": str(paths[0]), "err": str(paths[1])}
            process.stdin.write(json.dumps(request).encode() + b"\n")
            process.stdin.flush()
            pid = self._read(process, 30)["pid"]
            deadline = time.monotonic() + TIMEOUT
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    os.kill(pid, signal.SIGKILL)
                    self._read(process, 30)
                    raise subprocess.TimeoutExpired(args, TIMEOUT)
                ready, _, _ = select.select([*fds, process.stdout], [], [], left)
                for fd in fds:
                    if fd in ready:
                        _drain(fd, chunks[fd])
                if process.stdout in ready:
                    code = int(self._read(process, 30)["code"])
                    break
            for fd in fds:  # what the child wrote before it exited
                _drain(fd, chunks[fd])
        finally:
            for fd in fds:
                os.close(fd)
        out, err = (_text(b"".join(chunks[fd])) for fd in fds)
        return code, out, err


def _drain(fd: int, into: list[bytes]) -> None:
    while True:
        try:
            data = os.read(fd, 1 << 16)
        except BlockingIOError:
            return
        into.append(data)


def _text(data: bytes) -> str:
    """As subprocess's text mode decodes: the locale's encoding, universal newlines."""
    stream = io.TextIOWrapper(io.BytesIO(data), encoding=locale.getpreferredencoding(False))
    return stream.read()


ZYGOTE = _Zygote()


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real CLI in a process of its own, as a user or CI runs it (`python -m
    campaign_gitops`), forked from a zygote that has imported it already."""
    environ = {**inherited(), "NO_COLOR": "1", **(env or {})}
    command = [sys.executable, "-m", "campaign_gitops", *args]
    if os.environ.get("CAMPAIGN_GITOPS_NO_ZYGOTE") or not ZYGOTE.lock.acquire(blocking=False):
        return subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, env=environ
        )
    try:
        code, out, err = ZYGOTE.run(list(args), Path(cwd), environ)
    finally:
        ZYGOTE.lock.release()
    return subprocess.CompletedProcess(command, code, out, err)
