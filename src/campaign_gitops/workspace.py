"""One environment's desired state, platform and state store, opened lazily, and its plan."""

from __future__ import annotations

import getpass
import logging
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from itertools import chain
from typing import Any

from campaign_gitops.acks import seen_through_state
from campaign_gitops.approval.owners import CodeOwners, Owned, in_work_tree
from campaign_gitops.approval.policy import Estimate, annotate, with_reach
from campaign_gitops.backends import open_backend, open_snapshot
from campaign_gitops.backends.base import Actor, Backend, ListFilter, LiveCampaign
from campaign_gitops.closing import Closing
from campaign_gitops.config import Settings
from campaign_gitops.desired.filecheck import Then
from campaign_gitops.desired.loader import Desired, campaign_files, gc_paused, read_configured
from campaign_gitops.desired.selection import Selection
from campaign_gitops.errors import FatalError
from campaign_gitops.gitrepo import CommitInfo, GitError, Repo
from campaign_gitops.models import CAMPAIGN_ADAPTER
from campaign_gitops.plan import Plan, checksum
from campaign_gitops.planning.moves import newest, with_known_specs
from campaign_gitops.planning.planner import Live, Options, make_plan
from campaign_gitops.state import open_state
from campaign_gitops.state.base import Managed, StateStore
from campaign_gitops.suggest import did_you_mean

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanRequest:
    at: datetime
    allow_replace: bool = False
    prune: bool = False
    refresh_only: bool = False
    only: frozenset[str] | None = None
    estimate: bool = False
    force: bool = False  # a plan over a [safety] threshold goes ahead (--force)


@dataclass
class Workspace(Closing):
    settings: Settings
    ref: str | None = None  # read the desired state from this commit, not the work tree
    _opened: list[Backend | StateStore] = field(default_factory=list)
    target_notices: list[str] = field(default_factory=list)  # shown with the plan

    @cached_property
    def desired(self) -> Desired:
        """Every campaign in the files; with a `selection`, the selected ones only, and only
        their files parsed and validated (selection.py)."""
        s = self.settings
        pick = self.selection.pick if self.selection is not None else None
        if self.ref is None:
            desired = read_configured(s, pick=pick, then=self.then)
        else:
            desired = self.repo.desired_at(
                self.ref,
                s.raw.campaigns_dir,
                s.raw.labels_file,
                s.raw.max_file_bytes,
                pick,
                then=self.then,
            )
        return self.selection.restrict(desired) if self.selection is not None else desired

    def select(self, selection: Selection) -> None:
        """Plan only these campaigns (reading only what they need); before `desired` is read."""
        self.selection = selection
        self.__dict__.pop("desired", None)

    def target(self, targets: Sequence[str]) -> frozenset[str]:
        """`--target`: campaign ids, id globs, paths under the campaigns folder. The ids to
        plan (PlanRequest.only): the selected files' and the state store's."""
        s = self.settings
        self.select(Selection.of_targets(targets, s.root, s.raw.campaigns_dir))
        assert self.selection is not None
        managed = self.state.managed_ids()
        only = self.selection.only(self.desired, managed)
        for name in sorted(self.selection.ids - only):  # a typo plans nothing, silently else
            hint = did_you_mean(name, [*self._all_ids(), *managed])
            self.target_notices.append(f"--target {name} matches no campaign{hint}")
        return only

    def _all_ids(self) -> list[str]:
        """Every campaign file's id by its name, for suggestions only (nothing is read)."""
        files = campaign_files(self.settings.root / self.settings.raw.campaigns_dir)
        return sorted({os.path.splitext(os.path.basename(f))[0] for f in files})

    @cached_property
    def repo(self) -> Repo:
        return Repo(self.settings.root)

    @cached_property
    def head(self) -> CommitInfo | None:
        """The commit the desired state comes from: `ref`, or the checked-out one if any."""
        if self.ref is not None:
            return self.repo.resolve(self.ref)
        try:
            return self.repo.resolve("HEAD")
        except GitError:
            return None

    def changed_since(self, base: str) -> frozenset[str]:
        """Campaign ids to plan for `--changed-since`: files changed between `base` and the
        ref (or HEAD), and campaigns that use a label that changed."""
        s = self.settings
        changed = self.repo.changed(
            base, self.ref or "HEAD", s.raw.campaigns_dir, s.raw.labels_file
        )
        self.select(Selection(frozenset(changed.ids), labels=frozenset(changed.labels)))
        return frozenset(changed.ids) | self.desired.campaigns.keys()

    refresh: bool = True  # False: live values from the state store, the platform untouched
    shared_state: StateStore | None = None  # a store already open (and locked) by the caller
    # approval.codeowners: CODEOWNERS from where the policy was read (a pull request's base);
    # None: the work tree's
    codeowners: CodeOwners | None = None
    selection: Selection | None = None  # a partial plan's campaigns (select())
    then: Then | None = None  # desired.made: what it makes of each campaign, and no models

    @cached_property
    def backend(self) -> Backend:
        if not self.refresh:
            return open_snapshot(self.settings, self.state)
        backend = open_backend(self.settings)
        self._opened.append(backend)
        return backend

    @cached_property
    def state(self) -> StateStore:
        if self.shared_state is not None:
            return self.shared_state
        state = open_state(self.settings)
        self._opened.append(state)
        return state

    @property
    def commit(self) -> str | None:
        return self.head.sha if self.head else None

    @property
    def actor(self) -> Actor:
        return Actor(self.settings.raw.created_by, self.settings.raw.role)

    @property
    def holder(self) -> str:
        """Who holds the lock, for the message a waiting apply shows."""
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        return f"{user}@{socket.gethostname()}"

    def plan(self, request: PlanRequest) -> Plan:
        # the heap holds every desired and live spec, and no cycles: the collector's full
        # passes over it would cost more than the planning itself
        with gc_paused():
            return self._plan(request)

    def _plan(self, request: PlanRequest) -> Plan:
        desired = self.desired
        backend = self.backend
        only = request.only
        if only is None and self.selection is not None:
            only = self.selection.only(desired, self.state.managed_ids())
        managed = self.state.managed(ids=only)
        # an id the state store does not know, among the planned ones: a partial plan that
        # counted the others would look wider than the whole plan and see what it does not
        planned = desired.campaigns.keys() if only is None else desired.campaigns.keys() & only
        # lazily: only a backend that lists by schedule window reads them
        backend.focus(
            chain(
                (m.spec for m in managed.values()),
                (doc.spec.spec_data() for doc in desired.campaigns.values()),
            ),
            searching=not planned <= managed.keys(),
        )
        backend.share({m.platform_id: m.spec for m in managed.values()})
        if only is None:
            campaigns = backend.list_campaigns(request.at, ListFilter(archived="include"))
        else:
            campaigns = self._campaigns_of(request.at, only, managed, desired)
        if not backend.capabilities.reads_specs:
            campaigns = with_known_specs(campaigns, managed, desired)
            campaigns = seen_through_state(campaigns, managed, self.state.acks(), request.at)
            backend.remember(campaigns)
        live = Live(campaigns, backend.list_labels())
        log.debug(
            "desired %d campaigns, %d labels; live %d campaigns, %d labels (%s backend%s); "
            "managed %d campaigns (state store)%s",
            len(desired.campaigns),
            len(desired.labels),
            len(live.campaigns),
            len(live.labels),
            backend.name,
            "" if self.refresh else ", not refreshed: from the state store",
            len(managed),
            "" if only is None else f"; partial plan of {len(only)} id(s)",
        )
        options = Options(
            at=request.at,
            workflow=self.settings.raw.creator_approver,
            role=self.settings.raw.role,
            allow_replace=request.allow_replace,
            prune=request.prune,
            refresh_only=request.refresh_only,
            only=only,
            caps=backend.capabilities,
            unsupported=backend.unsupported,
        )
        plan = make_plan(desired, live, managed, self.state.labels(), options)
        policy = self.settings.raw.approval
        wants_reach = request.estimate or self.settings.raw.estimate
        estimate = (
            self._estimator(request) if wants_reach or "reach" in policy.required_for else None
        )
        annotate(plan, policy, newest(live.campaigns), estimate, self._owned())
        if wants_reach and estimate is not None:
            plan.changes = [with_reach(c, plan.specs.get(c.key), estimate) for c in plan.changes]
            hint = backend.reach_hint() if any(c.reach is not None for c in plan.changes) else None
            plan.notices += [hint] if hint else []
        self._limits(plan, request, estimate, frozenset(managed))
        plan.commit = self.commit
        plan.env = self.settings.env
        plan.backend = backend.name
        plan.refreshed = self.refresh
        plan.account = self.settings.account
        plan.endpoint = self.settings.endpoint
        plan.targets = list(self.selection.targets) if self.selection is not None else []
        plan.notices.extend(self.target_notices)
        return plan

    def _limits(
        self, plan: Plan, request: PlanRequest, estimate: Estimate | None, managed: frozenset[str]
    ) -> None:
        """The global-limits forecast and the blast radius (limits/review.py)."""
        from campaign_gitops.limits.review import Context, review

        raw = self.settings.raw
        everyone = len(self.state.managed_ids()) if raw.safety.max_changed_percent else None
        if raw.safety.max_reach is not None and estimate is None:
            estimate = self._estimator(request)
        review(plan, Context(raw.global_limits, raw.safety, self.backend, self.desired, managed,
                             everyone, request.at, request.force, estimate))  # fmt: skip

    def _campaigns_of(
        self, at: datetime, only: frozenset[str], managed: dict[str, Managed], desired: Desired
    ) -> list[LiveCampaign]:
        """A partial plan's live campaigns: its own (by id, and by the platform id the state
        store maps each to), and every campaign keeping a label that labels.yaml dropped (a
        label's delete is blocked while any campaign keeps it)."""
        backend = self.backend
        numbers = [m.platform_id for m in managed.values()]
        campaigns = backend.campaigns_of(at, only, numbers)
        dropped = set(self.state.labels()) - {label.name for label in desired.labels}
        if dropped and backend.capabilities.labels:
            seen = {c.platform_id for c in campaigns}
            keeping = ListFilter(label=sorted(dropped), archived="include")
            campaigns += [
                c for c in backend.list_campaigns(at, keeping) if c.platform_id not in seen
            ]
        return campaigns

    def _owned(self) -> Owned | None:
        if not self.settings.raw.approval.codeowners:
            return None
        table = self.codeowners or in_work_tree(self.settings.root)
        return table.owned(self.desired, lambda: self.repo, self.ref, self.settings)

    def _estimator(self, request: PlanRequest) -> Estimate:
        """Reach estimates, one per distinct spec within a run."""
        cache: dict[str, int | None] = {}

        def estimate(spec: dict[str, Any]) -> int | None:
            key = checksum(spec)
            if key not in cache:
                try:
                    model = CAMPAIGN_ADAPTER.validate_python(spec)
                    cache[key] = self.backend.estimate_reach(model, request.at)
                except FatalError as exc:
                    log.warning("reach estimate failed: %s", exc)
                    cache[key] = None
            return cache[key]

        return estimate

    def close(self) -> None:
        for opened in reversed(self._opened):
            opened.close()
        self._opened.clear()
