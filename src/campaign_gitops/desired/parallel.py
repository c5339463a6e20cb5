"""Checking many campaign files on every core: each worker process parses and validates a chunk
of files (filecheck.py) and sends back what the checks across files need, in the files' order,
so problems come out the same with one process or many.

`CAMPAIGN_GITOPS_JOBS` (or the global `--jobs`) sets the number of processes: 1 checks in the
command's own process, 0 or unset uses every core the process may run on. Fewer files than
`THRESHOLD` are always checked in the command's process: starting workers would cost more."""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import Any

from campaign_gitops.desired.filecheck import Checked, Source, Then, check_campaign
from campaign_gitops.errors import FatalError

JOBS_ENV = "CAMPAIGN_GITOPS_JOBS"
log = logging.getLogger(__name__)
THRESHOLD = 400  # files; below it one process is faster than starting workers
CHUNKS_PER_WORKER = 8  # smaller chunks balance the load; larger ones cost fewer round trips


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def jobs() -> int:
    """The number of processes `CAMPAIGN_GITOPS_JOBS` asks for (0 or unset: every core)."""
    text = os.environ.get(JOBS_ENV, "").strip()
    if not text:
        return cores()
    try:
        count = int(text)
    except ValueError:
        count = -1
    if count < 0:
        raise FatalError(
            f"{JOBS_ENV}={text!r}: a number of processes (1: no workers, 0: all cores)"
        )
    return count or cores()


def _start() -> None:
    """A worker's set-up: its heap is short-lived parse trees, so the collector only costs
    time; the validator is built once per worker (inherited when the worker is forked)."""
    from campaign_gitops import schema

    gc.disable()
    schema.validator("campaign")


def _check(source: Source, then: Then | None = None) -> Checked:
    return check_campaign(source, for_transfer=True, then=then)


def _check_only(source: Source) -> Checked:
    checked = check_campaign(source, for_transfer=True)
    checked.data = None  # nothing to send back but the verdict
    return checked


def _context() -> Any:
    """fork where the platform has it and this process runs one thread (a forked worker
    starts in milliseconds, with the modules and the validator already loaded); spawn
    elsewhere."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def check_campaigns(
    sources: Sequence[Source],
    workers: int | None = None,
    models: bool = True,
    then: Then | None = None,
) -> Iterator[Checked]:
    """Each source's check, in order. A valid file comes with what `then` made of its model
    (`made`); else from worker processes with its document (`data`; none without `models`),
    from this process with its model (`spec`)."""
    count = jobs() if workers is None else workers
    count = min(count, max(1, len(sources) // (THRESHOLD // 2)))
    if count <= 1 or len(sources) < THRESHOLD:
        log.debug("checking %d campaign files in this process (no workers)", len(sources))
        for source in sources:
            yield check_campaign(source, then=then)
        return
    chunk = max(16, min(256, len(sources) // (count * CHUNKS_PER_WORKER)))
    context = _context()
    log.debug(
        "checking %d campaign files in %d worker processes (%s, chunks of %d)",
        len(sources),
        count,
        context.get_start_method(),
        chunk,
    )
    with ProcessPoolExecutor(count, mp_context=context, initializer=_start) as pool:
        task = partial(_check, then=then) if models else _check_only
        yield from pool.map(task, sources, chunksize=chunk)
