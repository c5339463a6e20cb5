"""Carry out a plan: labels first, every step journaled before and after, resumable after a crash.

Resuming needs no replay: a crashed apply leaves the platform and the state store each
consistent (every write is one transaction), and the next plan sees what was done. A create that
reached the platform but not the state store shows up as a live campaign with the same id, which
the plan adopts instead of creating it twice."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import groupby
from typing import Any, cast

from campaign_gitops.backends.base import Actor, Backend, LiveCampaign
from campaign_gitops.errors import FatalError
from campaign_gitops.models import CAMPAIGN_ADAPTER, Label
from campaign_gitops.plan import (
    Adopt,
    Archive,
    Change,
    Create,
    Forget,
    LabelCreate,
    LabelDelete,
    LabelRename,
    LabelUpdate,
    Move,
    Plan,
    Publish,
    Replace,
    Stop,
    Update,
    Withdraw,
)
from campaign_gitops.state.base import JournalEntry, Managed, StateStore

log = logging.getLogger(__name__)
# Fault injection for the crash tests: SIGKILL this process at the Nth journal point.
KILL_AT_ENV = "CAMPAIGN_GITOPS_TEST_KILL_AT"


@dataclass
class Result:
    apply_id: str
    applied: list[Change] = field(default_factory=list)
    failed: list[tuple[Change, str]] = field(default_factory=list)
    not_applied: list[Change] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_applied


@dataclass(frozen=True)
class Interrupted:
    """An earlier apply that never finished: what it had done and what was in progress."""

    apply_id: str
    done: list[str]
    in_progress: list[str]


def interrupted(state: StateStore, within: Collection[str] | None = None) -> Interrupted | None:
    """The newest interrupted apply (of what `within` names, as lock names: apply_locks.py)."""
    apply_id = state.unfinished(within)
    if apply_id is None:
        return None
    entries = state.journal_of(apply_id)
    done = [e.change for e in entries if e.status == "done"]
    started = [e.change for e in entries if e.status == "started"]
    finished = {e.change for e in entries if e.status in ("done", "failed")}
    return Interrupted(apply_id, done, [c for c in started if c not in finished])


class _KillSwitch:
    def __init__(self, lock: threading.RLock) -> None:
        text = os.environ.get(KILL_AT_ENV, "")
        self.at = int(text) if text.isdigit() else None
        self.count = 0
        self.lock = lock

    def point(self) -> None:
        with self.lock:
            self.count += 1
            if self.at is not None and self.count == self.at:
                os.kill(os.getpid(), signal.SIGKILL)


class _Serialized:
    """The state store, one call at a time (its connection is shared by the apply's threads)."""

    def __init__(self, target: StateStore, lock: threading.RLock):
        self._target, self._lock = target, lock

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attribute(*args, **kwargs)

        return call


class Applier:
    def __init__(
        self,
        backend: Backend,
        state: StateStore,
        actor: Actor,
        now: datetime,
        *,
        commit: str | None = None,
        author: str | None = None,
        pull_request: int | None = None,
        merged_by: str | None = None,
        approvers: tuple[str, ...] = (),
        applied_by: str | None = None,
        dirty: tuple[str, ...] | None = None,
        continue_on_error: bool = False,
        as_creator: frozenset[str] = frozenset(),
        renamed: Mapping[str, str] | None = None,
    ):
        self.backend = backend
        self.state = state
        self.actor = actor
        self.now = now
        self.commit = commit
        self.author = author
        self.pull_request = pull_request
        self.merged_by = merged_by
        self.approvers = approvers
        self.applied_by = applied_by or actor.email  # who ran it (audit.py); the actor: CI
        self.dirty = dirty  # the files it read that were not as in `commit` (audit.py)
        self.as_creator = as_creator  # unapproved: the platform's workflow sends these for approval
        self.renamed = dict(renamed or {})  # labels.yaml's renamed_from: new name -> old
        self.continue_on_error = continue_on_error
        self.lock = threading.RLock()
        self.state = cast(StateStore, _Serialized(state, self.lock))  # one connection, many threads
        self.kill = _KillSwitch(self.lock)

    def run(self, plan: Plan, on_step: Callable[[Change, str], None] | None = None) -> Result:
        """Changes in plan order; campaign changes of one kind run side by side, up to the
        backend's concurrency (they touch different campaigns)."""
        result = Result(uuid.uuid4().hex[:12])
        failed_keys: set[tuple[str, str]] = set()
        workers = max(1, self.backend.capabilities.max_concurrency)
        steps = list(enumerate(plan.applicable, start=1))
        log.debug(
            "apply %s: %d step(s), up to %d worker(s) (%s backend)",
            result.apply_id,
            len(steps),
            workers,
            self.backend.name,
        )
        for (_, target), group in groupby(steps, key=lambda s: (s[1].ORDER, s[1].TARGET)):
            batch = list(group)
            side_by_side = workers > 1 and target == "campaign" and len(batch) > 1
            log.debug(
                "batch of %d %s %s step(s) (%d-%d): %s",
                len(batch),
                batch[0][1].KIND,
                target,
                batch[0][0],
                batch[-1][0],
                f"{min(workers, len(batch))} workers" if side_by_side else "one at a time",
            )

            def one(step: int, change: Change) -> None:
                self._step(plan, result, failed_keys, step, change, on_step)

            if workers == 1 or target != "campaign" or len(batch) == 1:
                for step, change in batch:
                    one(step, change)
            else:
                with ThreadPoolExecutor(min(workers, len(batch))) as pool:
                    for future in [pool.submit(one, step, change) for step, change in batch]:
                        future.result()
        if not any(change.TARGET == "label" for change, _ in result.failed):
            self.settle_labels(plan.labels)
        self.state.finish(result.apply_id)
        log.debug(
            "apply %s finished: %d applied, %d failed, %d not applied",
            result.apply_id,
            len(result.applied),
            len(result.failed),
            len(result.not_applied),
        )
        return result

    def _step(
        self,
        plan: Plan,
        result: Result,
        failed_keys: set[tuple[str, str]],
        step: int,
        change: Change,
        on_step: Callable[[Change, str], None] | None,
    ) -> None:
        with self.lock:
            skip = (result.failed and not self.continue_on_error) or (
                change.TARGET,
                change.key,
            ) in failed_keys  # a later step of a campaign that failed
            if skip:
                result.not_applied.append(change)
                log.debug("step %d %s: not applied (an earlier step failed)", step, change.title)
                return
        began = time.perf_counter()
        with self._journaled(result.apply_id, step, change) as outcome:
            outcome["platform_id"] = self._do(change, plan.specs.get(change.key))
        took = time.perf_counter() - began
        if outcome.get("error"):
            log.debug("step %d %s: failed in %.3f s: %s", step, change.title, took,
                      outcome["error"])  # fmt: skip
        else:
            made = outcome.get("platform_id")
            log.debug("step %d %s: done in %.3f s%s", step, change.title, took,
                      f" (platform id {made})" if made else "")  # fmt: skip
        with self.lock:
            if outcome.get("error"):
                result.failed.append((change, outcome["error"]))
                failed_keys.add((change.TARGET, change.key))
            else:
                result.applied.append(change)
            if on_step is not None:
                on_step(change, "failed" if outcome.get("error") else "done")

    def settle_labels(self, desired: dict[str, str | None]) -> None:
        """Every label in labels.yaml that is on the platform is managed; a record whose label
        is gone (renamed by an apply that crashed before recording it) is dropped, and the
        last-applied specs that still name it take its new name, as the platform's did. The
        records are read first: a label another apply creates meanwhile is then never taken for
        one whose label is gone."""
        managed = self.state.labels()
        on_platform = {label.name for label in self.backend.list_labels()}
        for new, old in self.renamed.items():
            if new in on_platform and old not in on_platform:
                self._rename_in_specs(old, new)
        for name, description in desired.items():
            if name in on_platform and (name not in managed or managed[name] != description):
                self.state.record_label(name, description)
        for name in managed:
            if name not in on_platform:
                self.state.forget_label(name)

    @contextmanager
    def _journaled(self, apply_id: str, step: int, change: Change) -> Iterator[dict[str, Any]]:
        outcome: dict[str, Any] = {}
        self.state.journal(JournalEntry(apply_id, step, change.title, "started"))
        self.kill.point()
        try:
            yield outcome
        except FatalError as exc:
            outcome["error"] = str(exc)
        except Exception as exc:  # the platform failed in a way it does not document
            outcome["error"] = f"unexpected {type(exc).__name__}: {exc}"
        self.kill.point()
        status = "failed" if outcome.get("error") else "done"
        detail = outcome.get("error", "")
        self.state.journal(
            JournalEntry(apply_id, step, change.title, status, detail, outcome.get("platform_id"))
        )
        self.kill.point()

    def _record(self, key: str, live: LiveCampaign) -> str:
        self.state.record(
            Managed(
                key,
                live.platform_id,
                live.spec,
                self.now.isoformat(),
                self.applied_by,
                self.commit,
                self.pull_request,
                author=self.author,
                merged_by=self.merged_by,
                approvers=self.approvers,
                dirty=self.dirty,
            )
        )
        return live.platform_id

    def _do(self, change: Change, spec: dict[str, Any] | None) -> str | None:
        b, actor, now = self.backend, self.actor, self.now
        if change.key in self.as_creator and change.TARGET == "campaign":
            actor = Actor(actor.email, "creator")
        match change:
            case LabelCreate():
                b.create_label(Label(name=change.key, description=change.description))
                self.kill.point()
                self.state.record_label(change.key, change.description)
            case LabelRename():
                b.rename_label(change.old, change.key)
                self.kill.point()
                self._rename_in_state(change.old, change.key)
            case LabelUpdate():
                b.update_label(Label(name=change.key, description=change.after))
                self.kill.point()
                self.state.record_label(change.key, change.after)
            case LabelDelete():
                b.delete_label(change.key)
                self.kill.point()
                self.state.forget_label(change.key)
            case Move():
                if not self.state.move(change.moved_from, change.key):
                    raise FatalError(f"the state store does not manage {change.moved_from}")
                self.kill.point()
                return self._record(change.key, b.move(change.platform_id, change.key, now=now))
            case Adopt():
                return self._record(change.key, b.get_campaign(change.platform_id, now))
            case Create() | Replace():
                if isinstance(change, Replace) and change.stop_first:
                    b.stop(change.platform_id, actor=actor, now=now)
                    self.kill.point()
                if isinstance(change, Replace) and change.archive_first:
                    b.archive(change.platform_id, actor=actor, now=now)
                    self.kill.point()
                model = CAMPAIGN_ADAPTER.validate_python(spec)
                live = b.create_campaign(
                    change.key, model, publish=change.publish, actor=actor, now=now
                )
                self.kill.point()
                return self._record(change.key, live)
            case Update():
                model = CAMPAIGN_ADAPTER.validate_python(spec)
                live = b.update_campaign(
                    change.platform_id, model, change.sections, actor=actor, now=now
                )
                self.kill.point()
                return self._record(change.key, live)
            case Withdraw():
                live = b.withdraw(change.platform_id, actor=actor, now=now)
                self.kill.point()
                return self._record(change.key, live)
            case Publish():
                live = b.publish(change.platform_id, actor=actor, now=now)
                self.kill.point()
                return self._record(change.key, live)
            case Stop():
                live = b.stop(change.platform_id, actor=actor, now=now)
                self.kill.point()
                if change.rule != "prune":
                    return self._record(change.key, live)
            case Archive():
                live = b.archive(change.platform_id, actor=actor, now=now)
                self.kill.point()
                return self._record(change.key, live)
            case Forget():
                self.state.forget(change.key)
            case _:
                raise FatalError(f"cannot apply a {change.KIND} of a {change.TARGET}")
        return None

    def _rename_in_state(self, old: str, new: str) -> None:
        """The platform renames the label inside every campaign; so must the last-applied specs,
        or the next plan would call the rename drift."""
        description = self.state.labels().get(old)
        self._rename_in_specs(old, new)
        self.state.record_label(new, description, previous=old)

    def _rename_in_specs(self, old: str, new: str) -> None:
        for managed in self.state.managed().values():
            labels = managed.spec.get("labels") or []
            if old in labels:
                spec = managed.spec | {"labels": [new if n == old else n for n in labels]}
                self.state.record(replace(managed, spec=spec))
