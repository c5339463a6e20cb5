"""The plan: small change records with a sort order and a `.data` dict for JSON and checksums."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from campaign_gitops.diff import FieldChange

FORMAT_VERSION = 2  # 2: bound to the account and endpoint, with a hash over its content


class Verdict(StrEnum):
    """What may become of a change; a `str`, so JSON and comparisons with strings see the word."""

    OK = "ok"  # applied
    APPROVAL = "approval"  # applied, and the platform sends it for approval
    BLOCKED = "blocked"  # discarded: the rules forbid it
    MANUAL = "manual"  # not applied: finished by hand (`campaign-gitops ack`)


OK, APPROVAL, BLOCKED, MANUAL = Verdict.OK, Verdict.APPROVAL, Verdict.BLOCKED, Verdict.MANUAL


def checksum(data: Any) -> str:
    """Of a file's text (desired specs: any edit of the file makes a saved plan stale), or of
    JSON data."""
    text = data if isinstance(data, str) else json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Change:
    KIND: ClassVar[str] = ""
    ORDER: ClassVar[int] = 0
    SYMBOL: ClassVar[str] = "~"
    TARGET: ClassVar[str] = "campaign"

    key: str
    verdict: Verdict = OK
    reason: str = ""
    remedy: str = ""
    rule: str = ""
    drift: bool = False
    review: tuple[str, ...] = ()  # why the approval policy wants a reviewer's approval
    reach: int | None = None  # estimated audience (plan --estimate)

    @property
    def sort_key(self) -> tuple[int, str]:
        return (self.ORDER, self.key)

    @property
    def applicable(self) -> bool:
        return self.verdict in (OK, APPROVAL)

    @property
    def title(self) -> str:
        return f"{self.KIND.replace('_', ' ')} {self.TARGET} {self.key}"

    @property
    def clears(self) -> tuple[str, ...]:
        """Fields the platform has and the file omits, whose values the change removes."""
        changes: tuple[FieldChange, ...] = getattr(self, "changes", ())
        return tuple(c.path for c in changes if c.clears)

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.KIND, "target": self.TARGET}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Verdict):
                value = value.value  # the plain word, whatever writes the data out
            elif isinstance(value, tuple) and value and isinstance(value[0], FieldChange):
                value = [v.data() for v in value]
            elif isinstance(value, (tuple, frozenset)):
                value = sorted(value) if isinstance(value, frozenset) else list(value)
            out[f.name] = value
        out["clears"] = list(self.clears)  # derived: not read back
        return out


@dataclass(frozen=True)
class CampaignChange(Change):
    """A change of a campaign the platform has (`platform_id`: its id there)."""

    platform_id: str = ""


@dataclass(frozen=True)
class LabelCreate(Change):
    KIND, ORDER, SYMBOL, TARGET = "create", 10, "+", "label"
    description: str | None = None


@dataclass(frozen=True)
class LabelRename(Change):
    KIND, ORDER, SYMBOL, TARGET = "rename", 11, "~", "label"
    old: str = ""


@dataclass(frozen=True)
class LabelUpdate(Change):
    KIND, ORDER, SYMBOL, TARGET = "update", 12, "~", "label"
    before: str | None = None
    after: str | None = None

    @property
    def clears(self) -> tuple[str, ...]:
        return ("description",) if self.before is not None and self.after is None else ()


@dataclass(frozen=True)
class Move(CampaignChange):
    """`moved_from: OLD` in the file of a new id: the live campaign and its record follow."""

    KIND, ORDER, SYMBOL = "move", 15, "~"
    moved_from: str = ""

    @property
    def title(self) -> str:
        return f"move campaign {self.moved_from} -> {self.key}"


@dataclass(frozen=True)
class Adopt(CampaignChange):
    KIND, ORDER, SYMBOL = "adopt", 20, "<="


@dataclass(frozen=True)
class Stop(CampaignChange):
    """`state: stopped`, or `--prune` of a removed file."""

    KIND, ORDER, SYMBOL = "stop", 25, "-"


@dataclass(frozen=True)
class Create(Change):
    KIND, ORDER, SYMBOL = "create", 30, "+"
    publish: bool = False


@dataclass(frozen=True)
class Replace(CampaignChange):
    """A change the live status forbids, made by stopping the campaign (when it is live) and
    creating a clone under the same id; only with `on_locked_change: replace` or --allow-replace."""

    KIND, ORDER, SYMBOL = "replace", 35, "-/+"
    publish: bool = False
    stop_first: bool = True
    archive_first: bool = False  # a draft or rejected one: archived, or its id stays taken
    sections: frozenset[str] = frozenset()
    changes: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class Withdraw(CampaignChange):
    """`state: draft` of a campaign pending approval: the request is withdrawn, before any edit
    of the same plan is made (to the draft it becomes)."""

    KIND, ORDER, SYMBOL = "withdraw", 38, "~"


@dataclass(frozen=True)
class Update(CampaignChange):
    KIND, ORDER, SYMBOL = "update", 40, "~"
    sections: frozenset[str] = frozenset()
    changes: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class Publish(CampaignChange):
    KIND, ORDER, SYMBOL = "publish", 50, "~"


@dataclass(frozen=True)
class Archive(CampaignChange):
    KIND, ORDER, SYMBOL = "archive", 60, "-"


@dataclass(frozen=True)
class Forget(CampaignChange):
    KIND, ORDER, SYMBOL = "forget", 70, "."


@dataclass(frozen=True)
class LabelDelete(Change):
    KIND, ORDER, SYMBOL, TARGET = "delete", 80, "-", "label"


CHANGE_TYPES: dict[tuple[str, str], type[Change]] = {
    (c.TARGET, c.KIND): c
    for c in (
        LabelCreate,
        LabelRename,
        LabelUpdate,
        Move,
        Adopt,
        Stop,
        Create,
        Replace,
        Withdraw,
        Update,
        Publish,
        Archive,
        Forget,
        LabelDelete,
    )
}


@dataclass(frozen=True)
class Drift:
    """A live campaign edited outside git: its value now, as last applied, and as desired."""

    campaign: str
    path: str
    last_applied: Any
    live: Any
    desired: Any
    resolution: str  # "git wins", "ignored (ignore_changes)", "kept: blocked"

    def data(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "path": self.path,
            "last_applied": self.last_applied,
            "live": self.live,
            "desired": self.desired,
            "resolution": self.resolution,
        }


def _reason(text: str) -> str:
    return "reach" if "reach" in text else text


def file_hash(data: dict[str, Any]) -> str:
    """Over everything a plan file says but its version and this hash: an edit shows."""
    return checksum({k: v for k, v in data.items() if k not in ("format_version", "hash")})


@dataclass
class Plan:
    at: datetime
    changes: list[Change] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)
    commit: str | None = None
    env: str = "default"
    backend: str = "local"
    desired_checksums: dict[str, str] = field(default_factory=dict)
    live_versions: dict[str, int] = field(default_factory=dict)
    specs: dict[str, dict[str, Any]] = field(default_factory=dict)
    labels: dict[str, str | None] = field(default_factory=dict)  # desired: name -> description
    approvers: list[str] = field(default_factory=list)
    # approval.codeowners: campaign -> each of its files -> the file's CODEOWNERS owners
    owners: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    refresh_only: bool = False
    # --target: a partial plan of these campaigns (ids, id globs, paths); empty: every campaign
    targets: list[str] = field(default_factory=list)
    refreshed: bool = True  # False: live values are the state store's last-applied specs
    notices: list[str] = field(default_factory=list)  # e.g. a policy change in a pull request
    account: str | None = None  # the platform account (CleverTap's account id)
    endpoint: str | None = None  # where the backend's requests go
    # limits/review.py: the global-limits forecast and the blast radius against [safety]
    limits: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.changes.sort(key=lambda c: c.sort_key)

    def _with(self, verdict: Verdict) -> list[Change]:
        return [] if self.refresh_only else [c for c in self.changes if c.verdict == verdict]

    @property
    def blocked(self) -> list[Change]:
        return self._with(BLOCKED)

    @property
    def manual(self) -> list[Change]:
        return self._with(MANUAL)

    @property
    def approvals(self) -> list[Change]:
        return self._with(APPROVAL)

    @property
    def applicable(self) -> list[Change]:
        return [] if self.refresh_only else [c for c in self.changes if c.applicable]

    @property
    def reviews(self) -> list[Change]:
        """Changes the approval policy wants approved on the pull request."""
        return [c for c in self.applicable if c.review]

    @property
    def unsafe(self) -> list[str]:
        """The `[safety]` thresholds the plan is over, unless --force was given."""
        blast = self.limits.get("blast") or {}
        return [] if blast.get("forced") else list(blast.get("over", []))

    @property
    def has_changes(self) -> bool:
        return bool(self.applicable)

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for change in self.applicable:
            name = f"{change.KIND}" if change.TARGET == "campaign" else f"label {change.KIND}"
            counts[name] = counts.get(name, 0) + 1
        return counts | {
            "blocked": len(self.blocked),
            "manual": len(self.manual),
            "needs approval": len({c.key for c in self.approvals + self.reviews}),
            "drift": len(self.drift),
        }

    def reviewed(self) -> list[list[Any]]:
        """What a reviewer approves: each change's target, kind, key, verdict, approval reasons,
        what it does (sections, publish) and the spec it sends (by checksum: an approval covers
        the content, not only the kind of change). Reach reasons count as "reach": the number is
        an estimate of the moment (`approval.max_reach_growth` judges its growth)."""
        return sorted(
            [c.TARGET, c.KIND, c.key, c.verdict, sorted(_reason(r) for r in c.review),
             sorted(getattr(c, "sections", ())), getattr(c, "publish", None),
             checksum(self.specs[c.key]) if c.key in self.specs else None]
            for c in self.changes
        )  # fmt: skip

    def review_digest(self) -> str:
        return checksum(self.reviewed())

    def content_hash(self) -> str:
        """Over what an apply would do, and where: a saved plan applies only while a fresh plan
        has the same hash, and a file whose content does not match its hash was edited."""
        return checksum(
            {
                "changes": self.reviewed(),
                "specs": self.specs,
                "labels": self.labels,
                "account": self.account,
                "endpoint": self.endpoint,
                "backend": self.backend,
                "env": self.env,
            }
        )

    def data(self) -> dict[str, Any]:
        data = self._data()
        return {"format_version": FORMAT_VERSION, "hash": file_hash(data), **data}

    def _data(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "commit": self.commit,
            "env": self.env,
            "backend": self.backend,
            "refresh_only": self.refresh_only,
            **({"targets": self.targets} if self.targets else {}),
            "summary": self.summary(),
            "changes": [c.data() for c in self.changes],
            "drift": [d.data() for d in self.drift],
            "desired_checksums": self.desired_checksums,
            "live_versions": self.live_versions,
            "specs": self.specs,
            "labels": self.labels,
            "approvers": self.approvers,
            "owners": self.owners,
            "refreshed": self.refreshed,
            "notices": self.notices,
            "account": self.account,
            "endpoint": self.endpoint,
            "review_digest": self.review_digest(),
            **({"limits": self.limits} if self.limits else {}),
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Plan:
        changes: list[Change] = []
        for raw in data["changes"]:
            kind = CHANGE_TYPES[(raw["target"], raw["kind"])]
            values = {k: v for k, v in raw.items() if k not in ("kind", "target", "clears")}
            if "verdict" in values:
                values["verdict"] = Verdict(values["verdict"])
            if "review" in values:
                values["review"] = tuple(values["review"])
            if "sections" in values:
                values["sections"] = frozenset(values["sections"])
            if "changes" in values:
                values["changes"] = tuple(FieldChange(**c) for c in values["changes"])
            changes.append(kind(**values))
        return cls(
            at=datetime.fromisoformat(data["at"]),
            changes=changes,
            drift=[Drift(**d) for d in data["drift"]],
            commit=data.get("commit"),
            env=data.get("env", "default"),
            backend=data.get("backend", "local"),
            desired_checksums=data["desired_checksums"],
            live_versions=data["live_versions"],
            specs=data["specs"],
            labels=data.get("labels", {}),
            approvers=data.get("approvers", []),
            owners=data.get("owners", {}),
            refresh_only=data.get("refresh_only", False),
            targets=list(data.get("targets", [])),
            refreshed=data.get("refreshed", True),
            notices=list(data.get("notices", [])),
            account=data.get("account"),
            endpoint=data.get("endpoint"),
            limits=data.get("limits", {}),
        )


def stale_items(saved: Plan, fresh: Plan) -> list[str]:
    """Why a saved plan may no longer be applied: each item names what moved since."""
    items: list[str] = []
    for key, before in sorted(saved.desired_checksums.items()):
        now = fresh.desired_checksums.get(key)
        if now is None:
            items.append(f"desired changed: campaign {key} is no longer in the files")
        elif now != before:
            items.append(f"desired changed: campaign {key} (its file changed since the plan)")
    for key in sorted(set(fresh.desired_checksums) - set(saved.desired_checksums)):
        items.append(f"desired changed: campaign {key} is new since the plan")
    for key, version in sorted(saved.live_versions.items()):
        now_version = fresh.live_versions.get(key)
        if now_version != version:
            items.append(
                f"live changed: campaign {key} (platform version {version} -> {now_version})"
            )
    for key in sorted(set(fresh.live_versions) - set(saved.live_versions)):
        items.append(f"live changed: campaign {key} appeared on the platform")
    # what moved explains why changes differ; without it, every change gone or new is named
    old = {(c.TARGET, c.KIND, c.key): c for c in saved.changes}
    new = {(c.TARGET, c.KIND, c.key): c for c in fresh.changes}
    verdicts, differences = [], []
    for ident, change in sorted(old.items()):
        later = new.get(ident)
        if later is not None and later.verdict != change.verdict:
            what = "discarded" if later.verdict == BLOCKED else f"now {later.verdict}"
            verdicts.append(
                f"time-dependent verdict changed: {change.title} was {change.verdict} at "
                f"{saved.at.isoformat(timespec='seconds')} and is {what} at "
                f"{fresh.at.isoformat(timespec='seconds')}: {later.reason or 'see the new plan'}"
            )
        elif later is None:
            differences.append(f"the plan no longer holds: {change.title} is not needed any more")
    for ident, change in sorted(new.items()):
        if ident not in old:
            differences.append(f"the plan no longer holds: {change.title} is needed now")
    return items + verdicts + ([] if items else differences)
