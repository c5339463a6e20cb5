"""The model behind the reconciler's invariant test (test_invariant.py): a campaigns repository
in a temporary folder, written from what the model holds, the real tool run on it in this process
(Workspace and commands; a killed apply through the CLI), and a person doing in the dashboard what
the plan asks. After each successful apply it checks that a plan at the same time has no change,
that no id has more than one live platform campaign (the managed one), and that the state store
lost nothing; a blocked plan must leave everything as it was, and the model then takes the
remedy."""

from __future__ import annotations

import io
import os
import shutil
import signal
import tempfile
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from campaign_gitops.applying.applier import KILL_AT_ENV
from campaign_gitops.backends.base import ListFilter
from campaign_gitops.backends.clevertap_body import split_name
from campaign_gitops.backends.local import LocalBackend
from campaign_gitops.commands.ack import ack
from campaign_gitops.commands.apply import apply
from campaign_gitops.commands.plan import exit_code
from campaign_gitops.config import Settings, load_settings
from campaign_gitops.errors import FatalError
from campaign_gitops.plan import Create, Plan, Replace, Update
from campaign_gitops.state import open_state
from campaign_gitops.state.base import Managed
from campaign_gitops.workspace import PlanRequest, Workspace
from tests.e2e.cli import run
from tests.fake_clevertap import ACCOUNT, PASSCODE, STOP, FakeClevertap, Server

T0 = datetime(2026, 11, 23, 10, tzinfo=UTC)
IDS = ("a", "b", "c", "d")
LABELS = ("Promo", "News", "Sale", "Winter")
MAX_KILLS = 2  # per sequence: a killed apply is a CLI process (about a second)
# the report channel a person picks in the dashboard for each of our channels
DASHBOARD_CHANNEL = {"push": "push", "sms": "sms", "web_popup": "web_pop_up"}
ENV = {"CLEVERTAP_PASSCODE": PASSCODE}
LIVE_STATUSES = ("scheduled", "running")  # the stand-in's statuses of a campaign not yet over
SEEN: Counter[str] = Counter()  # what the sequences did, for a look at their coverage


def event(what: str) -> None:
    SEEN[what] += 1


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class Doc:
    """One campaign file as the model writes it."""

    name: str
    channel: str
    delivery: str
    start: datetime
    title: str = "Hello"
    tier: str = "Gold"
    labels: list[str] = field(default_factory=list)
    state: str = "active"
    archived: bool = False
    replace: bool = False
    moved_from: str | None = None

    def data(self) -> dict[str, Any]:
        content = {
            "push": {"title": self.title, "body": "Twenty percent off"},
            "sms": {"body": self.title},
            "web_popup": {"title": self.title},
        }[self.channel]
        when: dict[str, Any] = {"delivery": self.delivery}
        if self.delivery in ("on_date_time", "action"):
            when["start"] = _iso(self.start)
        if self.delivery == "action":
            when["trigger"] = {"event": "App Installed"}
        if self.delivery == "multiple_dates":
            when["dates"] = [_iso(self.start), _iso(self.start + timedelta(days=2))]
        out: dict[str, Any] = {
            "name": self.name,
            "channel": self.channel,
            "labels": self.labels,
            "state": self.state,
            "who": {
                "segment": {
                    "user_properties": [{"name": "Tier", "op": "equals", "value": self.tier}]
                }
            },
            "what": {"content": content},
            "when": when,
        }
        if self.archived:
            out["archived"] = True
        if self.replace:
            out["on_locked_change"] = "replace"
        if self.moved_from:
            out["moved_from"] = self.moved_from
        return out

    def first(self, now: datetime) -> datetime:
        return now if self.delivery == "now" else self.start


@dataclass
class Seen:
    """What must survive an apply: the managed ids and the acknowledgements."""

    managed: dict[str, Managed]
    acks: int


class Reconciler(RuleBasedStateMachine):
    BACKEND = "local"
    fake: FakeClevertap | None = None  # the CleverTap stand-in, shared by a test's sequences

    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix=f"invariant-{self.BACKEND}-"))
        self.at = T0
        self.files: dict[str, Doc] = {}
        self.labels: dict[str, str | None] = {"Promo": None}
        self.renamed_from: dict[str, str] = {}
        self.kills = 0
        self.serial = 0
        self.dirty = False  # files changed since the last successful apply
        (self.root / "campaigns").mkdir()
        config = 'backend = "local"\n'
        if self.clevertap:
            assert self.fake is not None
            self.fake.state = Server(now=T0)  # a new account for each sequence
            config = (
                f'backend = "clevertap"\n\n[clevertap]\naccount_id = "{ACCOUNT}"\n'
                f'base_url = "{self.fake.url}"\ntimeout = 5\n'
            )
        (self.root / "campaign-gitops.toml").write_text(config)
        self._write_labels()

    def teardown(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def clevertap(self) -> bool:
        return self.BACKEND == "clevertap"

    # -- the files ------------------------------------------------------------------------

    def _write_labels(self) -> None:
        items = []
        for name, description in self.labels.items():
            item: dict[str, Any] = {"name": name}
            if description:
                item["description"] = description
            if name in self.renamed_from:
                item["renamed_from"] = self.renamed_from[name]
            items.append(item)
        (self.root / "labels.yaml").write_text(yaml.safe_dump({"labels": items}, sort_keys=False))
        self.dirty = True

    def _write(self, key: str) -> None:
        path = self.root / "campaigns" / f"{key}.yaml"
        self.dirty = True
        if key in self.files:
            path.write_text(yaml.safe_dump(self.files[key].data(), sort_keys=False))
        else:
            path.unlink(missing_ok=True)

    def _name(self, key: str) -> str:
        self.serial += 1
        return f"Campaign {key} {self.serial}"

    def _some_labels(self) -> st.SearchStrategy[list[str]]:
        if not self.labels:
            return st.just([])
        return st.lists(st.sampled_from(sorted(self.labels)), unique=True, max_size=2)

    @initialize(data=st.data(), count=st.integers(1, 3))
    def start_with_campaigns(self, data: st.DataObject, count: int) -> None:
        for _ in range(count):
            self.add(data)
        self.apply_now()

    def _free_ids(self) -> list[str]:
        """Ids no file has, nor names as the id it moved from."""
        moved = {doc.moved_from for doc in self.files.values()}
        return [k for k in IDS if k not in self.files and k not in moved]

    @precondition(lambda self: self._free_ids())
    @rule(data=st.data())
    def add(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(self._free_ids()), label="id")
        channels = ["push", "push", "sms", "web_popup"]
        states = ["active"] * 4 + ([] if self.clevertap else ["draft"])
        self.files[key] = Doc(
            name=self._name(key),
            channel=data.draw(st.sampled_from(channels), label="channel"),
            delivery=data.draw(
                st.sampled_from(
                    ["now", "on_date_time", "on_date_time", "multiple_dates", "action"]
                ),
                label="delivery",
            ),
            start=self.at + timedelta(hours=data.draw(st.integers(1, 96), label="in hours")),
            labels=data.draw(self._some_labels(), label="labels"),
            state=data.draw(st.sampled_from(states), label="state"),
            replace=data.draw(st.booleans(), label="replace"),
        )
        self._write(key)

    @precondition(lambda self: self.files)
    @rule(data=st.data())
    def edit(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.files)), label="id")
        doc = self.files[key]
        what = data.draw(
            st.sampled_from(["title", "tier", "name", "start", "labels", "replace", "state"]),
            label="edit",
        )
        if what == "title":
            doc.title = f"Offer {self._name(key)}"
        elif what == "tier":
            doc.tier = "Silver" if doc.tier == "Gold" else "Gold"
        elif what == "name":
            doc.name = self._name(key)
        elif what == "start":
            doc.start = self.at + timedelta(hours=data.draw(st.integers(-12, 96), label="hours"))
        elif what == "labels":
            doc.labels = data.draw(self._some_labels(), label="labels")
        elif what == "replace":
            doc.replace = not doc.replace
        elif not self.clevertap:  # drafts: the stand-in has none
            doc.state = "draft" if doc.state == "active" else "active"
        self._write(key)

    @precondition(lambda self: self.files and self._free_ids())
    @rule(data=st.data())
    def move(self, data: st.DataObject) -> None:
        """A renamed file that says `moved_from`: its live campaign follows."""
        old = data.draw(st.sampled_from(sorted(self.files)), label="moved id")
        new = data.draw(st.sampled_from(self._free_ids()), label="to id")
        self.files[new] = self.files.pop(old)
        self.files[new].moved_from = old
        self._write(old)
        self._write(new)

    @precondition(lambda self: self.files)
    @rule(data=st.data(), how=st.sampled_from(["stop", "archive", "stop and archive", "remove"]))
    def retire(self, data: st.DataObject, how: str) -> None:
        key = data.draw(st.sampled_from(sorted(self.files)), label="id")
        if how == "remove":
            del self.files[key]
        if "stop" in how:
            self.files[key].state = "stopped"
        if "archive" in how:
            self.files[key].archived = True
        self._write(key)

    def _free_labels(self) -> list[str]:
        """Names neither listed nor the old name of a rename not applied yet."""
        return [n for n in LABELS if n not in self.labels and n not in self.renamed_from.values()]

    @rule(data=st.data(), what=st.sampled_from(["add", "describe", "rename", "drop"]))
    def edit_labels(self, data: st.DataObject, what: str) -> None:
        free = self._free_labels()
        if what == "add" and free:
            self.labels[data.draw(st.sampled_from(free), label="new label")] = None
        elif not self.labels:
            return
        elif what == "describe":
            name = data.draw(st.sampled_from(sorted(self.labels)), label="label")
            self.labels[name] = f"About {name.lower()} {self._name('label')}"
        elif what == "rename" and free:
            self._rename_label(
                data.draw(st.sampled_from(sorted(self.labels)), label="old"),
                data.draw(st.sampled_from(free), label="new"),
            )
        elif what == "drop":
            used = {n for doc in self.files.values() for n in doc.labels}
            name = data.draw(st.sampled_from(sorted(self.labels)), label="label")
            if name in used:
                return
            del self.labels[name]
            self.renamed_from.pop(name, None)
        self._write_labels()

    def _rename_label(self, old: str, new: str) -> None:
        """labels.yaml says `renamed_from`, and every file using it takes the new name."""
        self.labels = {(new if n == old else n): d for n, d in self.labels.items()}
        self.renamed_from = {(new if n == old else n): o for n, o in self.renamed_from.items()}
        self.renamed_from[new] = self.renamed_from.get(old, old)
        for key, doc in self.files.items():
            if old in doc.labels:
                doc.labels = [new if n == old else n for n in doc.labels]
                self._write(key)

    @rule(hours=st.sampled_from([1, 2, 6, 24, 72]))
    def time_passes(self, hours: int) -> None:
        self.at += timedelta(hours=hours)
        if self.fake is not None and self.clevertap:
            self.fake.state.now = self.at

    # -- the tool -------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return load_settings(self.root).for_env(None).with_environ(os.environ)

    def plan(self) -> Plan:
        workspace = Workspace(self.settings)
        try:
            return workspace.plan(PlanRequest(self.at))
        finally:
            workspace.close()

    def seen(self) -> Seen:
        state = open_state(self.settings)
        try:
            return Seen(state.managed(), len(state.acks()))
        finally:
            state.close()

    def platform(self) -> list[tuple[str, str | None, str, bool]]:
        """Every platform campaign: (platform id, id if it names one, status, archived)."""
        if self.clevertap:
            assert self.fake is not None
            s = self.fake.state
            return sorted(
                (str(pid), split_name(c["body"]["name"])[1], s.status(c), False)
                for pid, c in s.campaigns.items()
            )
        backend = LocalBackend(self.root / ".campaign-gitops" / "platform.db")
        try:
            found = backend.list_campaigns(self.at, ListFilter(archived="include"))
        finally:
            backend.close()
        return sorted((c.platform_id, c.id, c.status, c.archived) for c in found)

    @rule()
    def apply_now(self) -> None:
        seen, platform = self.seen(), self.platform()
        out = io.StringIO()
        try:
            with redirect_stdout(out), redirect_stderr(out):
                code = apply(
                    self.settings,
                    PlanRequest(self.at),
                    None,
                    auto_approve=True,
                    continue_on_error=False,
                    lock_timeout=10,
                )
        except FatalError as exc:
            assert "blocked by the platform's rules; nothing was applied" in str(exc), (
                f"the apply failed: {exc}\n{out.getvalue()}"
            )
            assert (self.seen(), self.platform()) == (seen, platform), "a blocked apply acted"
            event("apply: blocked")
            self._take_remedies(self.plan())
            return
        assert code == 0, f"the apply failed:\n{out.getvalue()}"
        for line in out.getvalue().splitlines():
            if line.endswith(": done"):
                event("applied: " + " ".join(line.split()[1:3]))
        self._check(seen)

    @rule()
    def apply_again(self) -> None:  # applies are half of what happens to a repository
        self.apply_now()

    @precondition(lambda self: self.dirty and self.kills < MAX_KILLS)
    @rule(point=st.integers(1, 9))  # an apply of one or two changes has about ten points
    def apply_killed(self, point: int) -> None:
        self.kills += 1
        done = run(
            "--at",
            _iso(self.at),
            "apply",
            "--auto-approve",
            cwd=self.root,
            env={KILL_AT_ENV: str(point), **ENV},
        )
        assert done.returncode in (0, 1, -signal.SIGKILL), done.stdout + done.stderr
        event(f"killed apply: exit {done.returncode}")
        assert "Traceback" not in done.stderr, done.stderr
        if done.returncode == 1:
            assert "blocked by the platform's rules" in done.stderr, done.stdout + done.stderr

    def _take_remedies(self, plan: Plan) -> None:
        """What a person does with a blocked plan: opt into replace where the remedy offers
        it, keep a label that campaigns outside git use, else remove the campaign's file."""
        for change in plan.blocked:
            if change.TARGET == "label":
                self.labels.setdefault(change.key, None)
                # a rename onto a label the platform has merges into it: undone with the delete
                self.renamed_from = {
                    new: old for new, old in self.renamed_from.items() if old != change.key
                }
                self._write_labels()
            elif change.key in self.files:
                doc = self.files[change.key]
                if "on_locked_change: replace" in change.remedy and not doc.replace:
                    doc.replace = True
                else:
                    del self.files[change.key]
                self._write(change.key)

    def _check(self, before: Seen) -> None:
        plan = self.plan()
        shown = [(c.KIND, c.key, c.verdict) for c in plan.changes if c.verdict != "manual"]
        assert exit_code(plan, detailed=True) == 0, f"changes after a successful apply: {shown}"
        # labels the API cannot set on a campaign that can no longer change are reported as
        # kept on the clevertap backend; nothing else edits the platform behind the files
        drift = [d for d in plan.drift if not (self.clevertap and d.path.startswith("labels"))]
        assert not drift, f"drift after a successful apply: {drift}"
        if not self.clevertap:
            assert not plan.manual, plan.manual
        state = open_state(self.settings)
        try:
            managed, acks = state.managed(), state.acks()
            assert state.unfinished() is None, "the apply did not finish its journal"
            if not self.clevertap:
                assert set(state.labels()) == set(self.labels)
        finally:
            state.close()
        lost = [k for k in before.managed if k in self.files and k not in managed]
        assert not lost, f"managed campaigns lost from the state store: {lost}"
        assert len(acks) >= before.acks, "acknowledgements lost"
        assert set(managed) <= set(self.files), "a removed file's campaign is still managed"
        self.renamed_from.clear()  # applied: renamed_from has done its work
        self._write_labels()
        self._one_campaign_per_id(managed)
        self.dirty = False

    def _one_campaign_per_id(self, managed: dict[str, Managed]) -> None:
        """No id has two live platform campaigns, and a file's live one is the managed one."""
        # a campaign made by hand without the id marker belongs to an id while it is managed
        owner = {m.platform_id: key for key, m in managed.items()}
        live: dict[str, list[str]] = {}
        for platform_id, named, status, archived in self.platform():
            key = owner.get(platform_id) or named  # a moved campaign keeps its old marker
            if key is not None and status not in ("stopped", "completed") and not archived:
                live.setdefault(key, []).append(platform_id)
        for key, ids in live.items():
            assert len(ids) == 1, f"{key} has {len(ids)} live platform campaigns: {ids}"
            if key in self.files:
                assert key in managed and managed[key].platform_id == ids[0], (
                    f"{key}'s live platform campaign {ids[0]} is not the managed one"
                )

    # -- a person in the dashboard --------------------------------------------------------

    def _dashboard_stop(self, platform_id: str) -> None:
        assert self.fake is not None
        with self.fake.lock:
            self.fake.route(STOP, {"id": int(platform_id)})

    def _dashboard_edit(self, platform_id: str, sections: frozenset[str], doc: Doc) -> None:
        """What the stand-in shows of an edit made in the dashboard: labels, and the name and
        start the campaign lists with (it holds no content)."""
        assert self.fake is not None
        if "labels" in sections:
            self.fake.set_labels(int(platform_id), *doc.labels)
        with self.fake.lock:
            campaign = self.fake.state.campaigns[int(platform_id)]
            if "when" in sections:
                campaign["at"] = doc.first(self.at)
            if "name" in sections:
                marker = split_name(campaign["body"]["name"])[1]
                campaign["body"]["name"] = f"{doc.name} [{marker}]" if marker else doc.name

    @precondition(lambda self: self.clevertap)
    @rule(data=st.data())
    def finish_manual(self, data: st.DataObject) -> None:
        """A person does a manual change the plan shows, in the dashboard, and acknowledges it
        when the platform cannot show it was done."""
        assert self.fake is not None
        plan = self.plan()
        manual: dict[str, list[Any]] = {}
        for change in plan.manual:
            if change.TARGET == "campaign":
                manual.setdefault(change.key, []).append(change)
        if not manual:
            return
        key = data.draw(st.sampled_from(sorted(manual)), label="manual id")
        first = [c for c in plan.applicable if c.key == key and c.KIND != "adopt"]
        if first:  # the dashboard refuses the manual step until apply has made these
            with pytest.raises(FatalError, match=f"{key}: apply first: "):
                ack(self.settings, self.at, key, "1", "too early", "model", False)
            event("ack refused: apply first")
            return
        doc = self.files[key]
        platform_id: str | None = None
        replaced = False
        for change in manual[key]:
            if isinstance(change, Create | Replace):
                if isinstance(change, Replace) and change.stop_first:
                    self._dashboard_stop(change.platform_id)
                replaced = isinstance(change, Replace)
                marked = data.draw(st.booleans(), label="named with the id marker")
                name = f"{doc.name} [{key}]" if marked else f"{doc.name} (made by hand)"
                made = self.fake.dashboard(
                    name, DASHBOARD_CHANNEL[doc.channel], doc.first(self.at), tuple(doc.labels)
                )
                platform_id = str(made)
            elif isinstance(change, Update):
                self._dashboard_edit(change.platform_id, change.sections, doc)
        after = self.plan()
        if any(c.key == key for c in after.manual):
            event(f"acknowledged: {', '.join(sorted({c.KIND for c in manual[key]}))}")
            out = io.StringIO()
            with redirect_stdout(out):
                code = ack(self.settings, self.at, key, platform_id, "by hand", "model", replaced)
            assert code == 0 and "Acknowledged" in out.getvalue()
            after = self.plan()
        left = [
            (c.KIND, c.verdict)
            for c in after.changes
            if c.key == key and c.verdict in ("manual", "blocked")
        ]
        assert not [kind for kind, verdict in left if verdict == "manual"], (
            f"{key} still shows {left} after the dashboard work and its acknowledgement"
        )

    @invariant()
    def files_match_the_model(self) -> None:
        on_disk = {p.stem for p in (self.root / "campaigns").glob("*.yaml")}
        assert on_disk == set(self.files)
