"""The embedded platform: campaigns and labels in a SQLite file, the seeds' lifecycle enforced.

Statuses are derived from recorded facts and the caller's clock (lifecycle.py); every edit,
publish, stop and archive is judged by rules.py, and refused as the dashboard refuses it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Mapping
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from campaign_gitops.backends.base import (
    Actor,
    Backend,
    Capabilities,
    ListFilter,
    LiveCampaign,
    PlatformError,
    ReportRow,
)
from campaign_gitops.backends.local_schema import prepare
from campaign_gitops.errors import FatalError
from campaign_gitops.lifecycle import Facts, Live, Schedule, live_state
from campaign_gitops.limits.config import GlobalLimits
from campaign_gitops.models import CHANNELS, MAX_LABELS, CampaignBase, Label
from campaign_gitops.models.common import LABEL_FORBIDDEN
from campaign_gitops.rules import Outcome, Situation, judge_edit, judge_operation
from campaign_gitops.sqlite_util import PLATFORM, connect, immediate

PLATFORM_ID_OFFSET = 1_457_000_000  # ids shaped like the real platform's
IDS_A_QUERY = 500  # bound parameters a statement (SQLite allows 999 in old builds)


def _platform_id(pk: int) -> str:
    return str(PLATFORM_ID_OFFSET + pk)


def _pk(platform_id: str) -> int:
    try:
        return int(platform_id) - PLATFORM_ID_OFFSET
    except ValueError:
        return -1


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class LocalBackend(Backend):
    name = "local"
    capabilities = Capabilities(channels=frozenset(CHANNELS), max_concurrency=1)

    def __init__(self, path: Path, *, workflow: bool = False, limits: GlobalLimits | None = None):
        self.path = path
        self.workflow = workflow
        self.limits = limits  # the account's global campaign limits, enforced in its runs
        self._applied: Mapping[str, dict[str, Any]] = {}  # share()
        self.db = connect(path, kind=PLATFORM)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA foreign_keys=ON")
        prepare(self.db, path)

    def close(self) -> None:
        self.db.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self.db)

    # -- reading -------------------------------------------------------------------------

    def _facts(self, row: sqlite3.Row) -> Facts:
        return Facts(
            created_at=datetime.fromisoformat(row["created_at"]),
            updated_at=datetime.fromisoformat(row["updated_at"]),
            published_at=_dt(row["published_at"]),
            approval=row["approval"],
            approval_at=_dt(row["approval_at"]),
            stopped_at=_dt(row["stopped_at"]),
            archived_at=_dt(row["archived_at"]),
        )

    def _live(
        self, row: sqlite3.Row, labels: tuple[str, ...], now: datetime, with_spec: bool = True
    ) -> LiveCampaign:
        state = self._state(row, now)
        return LiveCampaign(
            platform_id=_platform_id(row["pk"]),
            id=row["key"],
            name=row["name"],
            channel=row["channel"],
            type=row["type"],
            delivery=row["delivery"],
            status=state.status,
            archived=state.archived,
            spec=self._spec(row) if with_spec else {},
            scheduled_at=state.scheduled_at,
            last_active=state.last_active,
            created_by=row["created_by"],
            labels=labels,
            version=row["version"],
            has_run=state.has_run,
        )

    def share(self, applied: Mapping[str, dict[str, Any]]) -> None:
        self._applied = applied

    def _spec(self, row: sqlite3.Row) -> dict[str, Any]:
        spec: dict[str, Any] = orjson.loads(row["spec"])
        applied = self._applied.get(_platform_id(row["pk"]))
        return applied if applied == spec else spec

    def _state(self, row: sqlite3.Row, now: datetime) -> Live:
        return live_state(self._facts(row), Schedule.from_json(orjson.loads(row["schedule"])), now)

    def _labels_of(self, pk: int | None = None) -> dict[int, tuple[str, ...]]:
        out: dict[int, list[str]] = {}
        query = "SELECT campaign_pk, label FROM campaign_labels"
        where = " WHERE campaign_pk = ?" if pk is not None else ""
        rows = self.db.execute(query + where + " ORDER BY campaign_pk, label", (pk,)[: bool(where)])
        for found, label in rows:
            out.setdefault(found, []).append(label)
        return {found: tuple(v) for found, v in out.items()}

    def campaigns_of(
        self, now: datetime, ids: Collection[str], platform_ids: Collection[str] = ()
    ) -> list[LiveCampaign]:
        """By key and primary key, a few hundred a query: a partial plan reads only its own."""
        rows: dict[int, sqlite3.Row] = {}
        for column, values in (("key", sorted(ids)), ("pk", sorted(map(_pk, platform_ids)))):
            for start in range(0, len(values), IDS_A_QUERY):
                chunk = values[start : start + IDS_A_QUERY]
                marks = ",".join("?" * len(chunk))
                for row in self.db.execute(
                    f"SELECT * FROM campaigns WHERE {column} IN ({marks})", chunk
                ):
                    rows[row["pk"]] = row
        pks = sorted(rows)
        labels: dict[int, list[str]] = {}
        for start in range(0, len(pks), IDS_A_QUERY):
            chunk = pks[start : start + IDS_A_QUERY]
            for pk, label in self.db.execute(
                "SELECT campaign_pk, label FROM campaign_labels WHERE campaign_pk IN "
                f"({','.join('?' * len(chunk))}) ORDER BY campaign_pk, label",
                chunk,
            ):
                labels.setdefault(pk, []).append(label)
        found = [self._live(rows[pk], tuple(labels.get(pk, ())), now) for pk in pks]
        return sorted(found, key=lambda c: c.id)

    def list_campaigns(
        self, now: datetime, where: ListFilter | None = None, with_spec: bool = True
    ) -> list[LiveCampaign]:
        where = where or ListFilter()
        clauses, params = [], []
        for column in ("channel", "type", "created_by", "delivery"):
            values = getattr(where, column)
            if values:
                clauses.append(f"{column} IN ({','.join('?' * len(values))})")
                params.extend(values)
        if where.label:
            clauses.append(
                "pk IN (SELECT campaign_pk FROM campaign_labels WHERE label IN "
                f"({','.join('?' * len(where.label))}))"
            )
            params.extend(where.label)
        sql = "SELECT * FROM campaigns" + (" WHERE " + " AND ".join(clauses) if clauses else "")
        labels = self._labels_of()
        found = (
            self._live(row, labels.get(row["pk"], ()), now, with_spec)
            for row in self.db.execute(sql + " ORDER BY key", params)
        )
        return [c for c in found if where.matches(c)]

    def _row(self, platform_id: str) -> sqlite3.Row:
        row = self.db.execute(
            "SELECT * FROM campaigns WHERE pk = ?", (_pk(platform_id),)
        ).fetchone()
        if row is None:
            raise PlatformError(f"no campaign with id {platform_id}")
        return row  # type: ignore[no-any-return]

    def get_campaign(self, platform_id: str, now: datetime) -> LiveCampaign:
        row = self._row(platform_id)
        return self._live(row, self._labels_of(row["pk"]).get(row["pk"], ()), now)

    def _situation(self, row: sqlite3.Row, actor: Actor, now: datetime) -> Situation:
        state = self._state(row, now)
        return Situation(
            state.status,
            state.archived,
            self.workflow,
            actor.role,
            state.has_run,
            state.scheduled_at,
        )

    # -- writing -------------------------------------------------------------------------

    def _check_labels(self, spec: CampaignBase) -> None:
        known = {r[0] for r in self.db.execute("SELECT name FROM labels")}
        missing = [name for name in spec.labels if name not in known]
        if missing:
            raise PlatformError(f"unknown label(s): {', '.join(missing)}; create them first")

    def _set_labels(self, pk: int, labels: list[str]) -> None:
        self.db.execute("DELETE FROM campaign_labels WHERE campaign_pk = ?", (pk,))
        self.db.executemany(
            "INSERT INTO campaign_labels VALUES (?, ?)", [(pk, name) for name in labels]
        )

    def create_campaign(
        self, campaign_id: str, spec: CampaignBase, *, publish: bool, actor: Actor, now: datetime
    ) -> LiveCampaign:
        with self.transaction():
            for row in self.db.execute("SELECT * FROM campaigns WHERE key = ?", (campaign_id,)):
                state = self._state(row, now)
                if not state.archived and state.status not in ("stopped", "completed"):
                    # a stopped clone's id may be reused (replace); a live one's never
                    raise PlatformError(f"a campaign with id {campaign_id!r} already exists")
            self._check_labels(spec)
            cursor = self.db.execute(
                "INSERT INTO campaigns (key, name, channel, type, delivery, spec, schedule, "
                "created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    campaign_id,
                    spec.name,
                    spec.channel,
                    spec.type,
                    spec.when.delivery,
                    _spec_json(spec),
                    json.dumps(Schedule.from_when(spec.when).to_json()),
                    actor.email,
                    now.isoformat(),
                    now.isoformat(),
                ),
            )
            pk = cursor.lastrowid
            assert pk is not None
            self._set_labels(pk, spec.labels)
            if publish:
                self._publish(pk, actor, now)
        return self.get_campaign(_platform_id(pk), now)

    def update_campaign(
        self,
        platform_id: str,
        spec: CampaignBase,
        sections: frozenset[str],
        *,
        actor: Actor,
        now: datetime,
    ) -> LiveCampaign:
        with self.transaction():
            row = self._row(platform_id)
            if spec.channel != row["channel"]:
                raise PlatformError(
                    "the channel of a campaign never changes after creation", "channel"
                )
            verdict = judge_edit(self._situation(row, actor, now), sections, now)
            if not verdict.allowed:
                raise PlatformError(f"campaign {row['key']}: {verdict.reason}", verdict.rule.key)
            self._check_labels(spec)
            self._settle(row, now)
            approval, approval_at = row["approval"], row["approval_at"]
            published = row["published_at"]
            if verdict.outcome is Outcome.APPROVAL:
                approval, approval_at = "pending", now.isoformat()
            elif row["approval"] != "none" and actor.role == "approver":
                # "edit ... and approve the campaign" / "and publish": the edit publishes it
                approval, approval_at = "none", None
                published = published or now.isoformat()
            self.db.execute(
                "UPDATE campaigns SET name = ?, type = ?, delivery = ?, spec = ?, schedule = ?, "
                "updated_at = ?, approval = ?, approval_at = ?, published_at = ?, "
                "version = version + 1 WHERE pk = ?",
                (
                    spec.name,
                    spec.type,
                    spec.when.delivery,
                    _spec_json(spec),
                    json.dumps(Schedule.from_when(spec.when).to_json()),
                    now.isoformat(),
                    approval,
                    approval_at,
                    published,
                    row["pk"],
                ),
            )
            self._set_labels(row["pk"], spec.labels)
        return self.get_campaign(platform_id, now)

    def _publish(self, pk: int, actor: Actor, now: datetime) -> None:
        if self.workflow and actor.role == "creator":
            self.db.execute(
                "UPDATE campaigns SET approval = 'pending', approval_at = ?, "
                "version = version + 1 WHERE pk = ?",
                (now.isoformat(), pk),
            )
        else:
            self.db.execute(
                "UPDATE campaigns SET published_at = COALESCE(published_at, ?), approval = 'none', "
                "approval_at = NULL, version = version + 1 WHERE pk = ?",
                (now.isoformat(), pk),
            )

    def _operate(
        self, platform_id: str, operation: str, actor: Actor, now: datetime
    ) -> sqlite3.Row | None:
        row = self._row(platform_id)
        rule = judge_operation(operation, self._situation(row, actor, now))  # type: ignore[arg-type]
        if rule.result == "refused":
            raise PlatformError(
                f"cannot {operation} campaign {row['key']}: {rule.reason}", f"{operation}-refused"
            )
        if rule.result != "allowed":
            return None
        self._settle(row, now)
        return row

    def _settle(self, row: sqlite3.Row, now: datetime) -> None:
        """Before a write at `now`: the runs due by then happen under the facts they ran with,
        and those a read at a later time recorded ahead are dropped (runs.settle)."""
        if row["published_at"] is not None:
            from campaign_gitops.embedded.runs import settle

            settle(self, row, now)

    def publish(self, platform_id: str, *, actor: Actor, now: datetime) -> LiveCampaign:
        with self.transaction():
            row = self._operate(platform_id, "publish", actor, now)
            if row is not None:
                if row["approval"] == "pending" and actor.role == "creator" and self.workflow:
                    pass  # already waiting for the approver
                else:
                    self._publish(row["pk"], actor, now)
        return self.get_campaign(platform_id, now)

    def reject(self, platform_id: str, *, actor: Actor, now: datetime) -> LiveCampaign:
        with self.transaction():
            row = self._row(platform_id)
            if not self.workflow or actor.role != "approver" or row["approval"] != "pending":
                raise PlatformError(
                    "only an approver rejects a campaign pending approval", "reject"
                )
            self._settle(row, now)
            self.db.execute(
                "UPDATE campaigns SET approval = 'rejected', approval_at = ?, "
                "version = version + 1 WHERE pk = ?",
                (now.isoformat(), row["pk"]),
            )
        return self.get_campaign(platform_id, now)

    def move(self, platform_id: str, campaign_id: str, *, now: datetime) -> LiveCampaign:
        with self.transaction():  # the id is ours, kept beside the name: it is not a name edit
            self.db.execute(
                "UPDATE campaigns SET key = ? WHERE pk = ?", (campaign_id, _pk(platform_id))
            )
        return self.get_campaign(platform_id, now)

    def withdraw(self, platform_id: str, *, actor: Actor, now: datetime) -> LiveCampaign:
        with self.transaction():
            row = self._operate(platform_id, "withdraw", actor, now)
            if row is not None:  # it never ran: no publication stands
                self.db.execute(
                    "UPDATE campaigns SET approval = 'none', approval_at = NULL, "
                    "published_at = NULL, version = version + 1 WHERE pk = ?",
                    (row["pk"],),
                )
        return self.get_campaign(platform_id, now)

    def review(self, campaign_id: str, *, approve: bool, now: datetime) -> LiveCampaign:
        """The dashboard's approver deciding on a campaign pending approval (by its id in the
        files), for demos and tests: what no file or API call of ours does."""
        rows = self.db.execute(
            "SELECT pk FROM campaigns WHERE key = ? ORDER BY pk DESC", (campaign_id,)
        ).fetchall()
        pending = [r for r in rows if self.get_campaign(_platform_id(r["pk"]), now).status
                   == "pending_approval"]  # fmt: skip
        if not pending:
            raise PlatformError(f"no campaign {campaign_id!r} is pending approval", "review")
        platform_id = _platform_id(pending[0]["pk"])
        approver = Actor("approver@dashboard", "approver")
        if approve:
            return self.publish(platform_id, actor=approver, now=now)
        return self.reject(platform_id, actor=approver, now=now)

    def stop(self, platform_id: str, *, actor: Actor, now: datetime) -> LiveCampaign:
        return self._record(platform_id, "stop", "stopped_at", actor, now)

    def archive(self, platform_id: str, *, actor: Actor, now: datetime) -> LiveCampaign:
        return self._record(platform_id, "archive", "archived_at", actor, now)

    def _record(
        self, platform_id: str, operation: str, column: str, actor: Actor, now: datetime
    ) -> LiveCampaign:
        """Stop and archive: judged by the operations table, recorded as a fact with its time."""
        with self.transaction():
            row = self._operate(platform_id, operation, actor, now)
            if row is not None:
                self.db.execute(
                    f"UPDATE campaigns SET {column} = ?, version = version + 1 WHERE pk = ?",
                    (now.isoformat(), row["pk"]),
                )
        return self.get_campaign(platform_id, now)

    # -- labels --------------------------------------------------------------------------

    def list_labels(self) -> list[Label]:
        rows = self.db.execute("SELECT name, description FROM labels ORDER BY name")
        return [Label(name=n, description=d) for n, d in rows]

    @staticmethod
    def _check_label_name(name: str) -> None:
        bad = sorted({ch for ch in name if ch in LABEL_FORBIDDEN})
        if bad or not name:
            raise PlatformError(
                f"label {name!r} may not contain {' '.join(bad) or 'nothing'}", "label-characters"
            )

    def create_label(self, label: Label) -> None:
        self._check_label_name(label.name)
        with self.transaction():
            count = self.db.execute("SELECT COUNT(*) FROM labels").fetchone()[0]
            if count >= MAX_LABELS:
                raise PlatformError(
                    f"the account has {count} labels; at most {MAX_LABELS}", "label-limit"
                )
            try:
                self.db.execute("INSERT INTO labels VALUES (?, ?)", (label.name, label.description))
            except sqlite3.IntegrityError as exc:
                raise PlatformError(f"label {label.name!r} already exists") from exc

    def update_label(self, label: Label) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE labels SET description = ? WHERE name = ?", (label.description, label.name)
            )

    def rename_label(self, old: str, new: str) -> None:
        self._check_label_name(new)
        with self.transaction():
            try:
                cursor = self.db.execute("UPDATE labels SET name = ? WHERE name = ?", (new, old))
            except sqlite3.IntegrityError as exc:
                raise PlatformError(f"label {new!r} already exists") from exc
            if cursor.rowcount == 0:
                raise PlatformError(f"no label named {old!r}")
            self._rewrite_spec_labels(old, new)

    def _rewrite_spec_labels(self, old: str, new: str) -> None:
        rows = self.db.execute(
            "SELECT c.pk, c.spec FROM campaigns c JOIN campaign_labels l ON l.campaign_pk = c.pk "
            "WHERE l.label = ?",
            (new,),
        ).fetchall()
        for pk, spec_text in rows:
            spec = json.loads(spec_text)
            spec["labels"] = [new if name == old else name for name in spec.get("labels", [])]
            self.db.execute("UPDATE campaigns SET spec = ? WHERE pk = ?", (json.dumps(spec), pk))

    def delete_label(self, name: str) -> None:
        with self.transaction():
            used = self.db.execute(
                "SELECT COUNT(*) FROM campaign_labels WHERE label = ?", (name,)
            ).fetchone()[0]
            if used:
                raise PlatformError(f"label {name!r} is used by {used} campaign(s)", "label-in-use")
            self.db.execute("DELETE FROM labels WHERE name = ?", (name,))

    # -- audience and reports ------------------------------------------------------------

    def profiles_path(self) -> Path:
        return self.path.with_suffix(".profiles.npz")

    def estimate_reach(self, spec: CampaignBase, now: datetime) -> int:
        from campaign_gitops.embedded.audience import Audience

        audience = Audience.open(self.profiles_path(), self.saved_segments())
        return audience.estimate(spec.who.segment, now)

    def reach_hint(self) -> str | None:
        from campaign_gitops.embedded.audience import Audience

        try:
            if Audience.open(self.profiles_path()).size:
                return None
        except FatalError:  # a damaged store: the estimates have said so
            return None
        return (
            "reach ≈ 0 means nothing yet: the local platform has no users. Run "
            "`campaign-gitops platform seed` to fill its profile store"
        )

    def saved_segments(self) -> dict[str, Any]:
        rows = self.db.execute("SELECT name, segment FROM saved_segments")
        return {name: json.loads(text) for name, text in rows}

    def report(self, now: datetime, where: ListFilter | None = None) -> list[ReportRow]:
        from campaign_gitops.embedded.runs import run_due, totals

        campaigns = self.list_campaigns(
            now, where or ListFilter(archived="include"), with_spec=False
        )
        run_due(self, now)
        sums = totals(self.db, now)
        rows = []
        for c in campaigns:
            pk = _pk(c.platform_id)
            row = ReportRow(
                c.id, c.name, c.channel, c.type, c.status, c.delivery, c.labels, c.created_by
            )
            rows.append(replace(row, **sums[pk]) if pk in sums else row)
        return rows


def _spec_json(spec: CampaignBase) -> str:
    return json.dumps(spec.spec_data())
