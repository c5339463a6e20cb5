"""The CleverTap backend over its REST API (../shared/clevertap-api.md). httpx and the passcode
stay inside this module: the passcode is sent in one header and never appears in a message.

Transport discipline: at most `max_concurrency` requests in flight; 429 backs off with jitter
and retries (nothing was done); list, result, estimates and stop (idempotent) retry on 5xx and
timeouts; a create is never blindly retried: after an ambiguous failure the campaigns of its
schedule window are listed and matched by name and marker before creating again."""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from campaign_gitops import redact
from campaign_gitops.backends.base import (
    Actor,
    Backend,
    Capabilities,
    ListFilter,
    LiveCampaign,
    PlatformError,
    ReportRow,
)
from campaign_gitops.backends.clevertap_body import (
    TARGET_MODES,
    split_name,
    to_body,
    unsupported,
)
from campaign_gitops.config import ClevertapConfig
from campaign_gitops.errors import FatalError
from campaign_gitops.models import CampaignBase, Label
from campaign_gitops.rules import STATUSES

log = logging.getLogger(__name__)
PASSCODE_ENV = "CLEVERTAP_PASSCODE"
RETRIES_429 = 12
RETRIES = 4
WINDOW = timedelta(days=400)  # listed around now when nothing narrower is known


class Ambiguous(Exception):
    """The request may or may not have been carried out (timeout, connection dropped, 5xx)."""


def capabilities(config: ClevertapConfig) -> Capabilities:
    return Capabilities(
        update=False, drafts=False, labels=False, archive=False, estimate=True,
        reports=True, approval_workflow=False, channels=frozenset(TARGET_MODES),
        max_concurrency=config.max_concurrency, reads_specs=False,
    )  # fmt: skip


def _passcode() -> str:
    passcode = os.environ.get(PASSCODE_ENV, "")
    if not passcode:
        raise FatalError(f"set {PASSCODE_ENV} to the account's passcode (a CI secret)")
    redact.secret(passcode)
    if any(c.isspace() for c in passcode):  # httpx would put it, escaped, in its error
        raise FatalError(
            f"{PASSCODE_ENV} has whitespace ({_where_space(passcode)}); "
            "store the secret without a trailing newline"
        )
    return passcode


def _where_space(passcode: str) -> str:
    end = "a trailing newline" if passcode.endswith("\n") else "at its end"
    places = [
        ("at its start", passcode[0].isspace()),
        ("inside it", any(c.isspace() for c in passcode.strip())),
        (end, passcode[-1].isspace()),
    ]
    return ", ".join(name for name, found in places if found)


class ClevertapBackend(Backend):
    name = "clevertap"

    def __init__(self, config: ClevertapConfig):
        passcode = _passcode()
        base = config.url
        self.capabilities = capabilities(config)
        self.slots = threading.BoundedSemaphore(config.max_concurrency)
        self.client = httpx.Client(
            base_url=base.rstrip("/"),
            timeout=config.timeout,
            headers={
                "X-CleverTap-Account-Id": config.account_id,
                "X-CleverTap-Passcode": passcode,
                "Content-Type": "application/json",
            },
        )
        self.windows: set[tuple[int, int]] = set()
        self.throttled = 0  # 429s seen, for the benchmark

    def close(self) -> None:
        self.client.close()

    # -- transport -----------------------------------------------------------------------

    def _post(self, path: str, body: dict[str, Any], *, safe: bool) -> dict[str, Any]:
        """One call; `safe`: may be repeated after an ambiguous failure (raises Ambiguous
        otherwise). A 429 is always retried: the platform did nothing."""
        throttles = failures = 0
        while True:
            try:
                with self.slots:
                    response = self.client.post(path, json=body)
            except httpx.TimeoutException:
                failure = "timed out"
            except httpx.TransportError as exc:
                failure = f"connection failed ({type(exc).__name__})"
            else:
                if response.status_code == 429:
                    throttles += 1
                    self.throttled += 1
                    if throttles > RETRIES_429:
                        raise PlatformError(f"CleverTap {path}: still throttled (429)")
                    time.sleep(random.uniform(0.02, 0.05 * 2 ** min(throttles, 5)))
                    continue
                if response.status_code < 500:
                    return self._answer(path, response)
                failure = f"HTTP {response.status_code}"
            failures += 1
            if not safe:
                raise Ambiguous(failure)
            if failures >= RETRIES:
                raise PlatformError(f"CleverTap {path}: {failure}, {failures} times")
            time.sleep(random.uniform(0.05, 0.2 * 2**failures))

    @staticmethod
    def _answer(path: str, response: httpx.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code != 200:
            message = data.get("error") or response.reason_phrase
            raise PlatformError(f"CleverTap {path}: HTTP {response.status_code} {message}")
        if not isinstance(data, dict) or data.get("status") != "success":
            message = data.get("error", "no message") if isinstance(data, dict) else data
            code = f" (code {data['code']})" if isinstance(data, dict) and "code" in data else ""
            raise PlatformError(f"CleverTap {path} failed: {message}{code}")
        return data

    # -- reading -------------------------------------------------------------------------

    def focus(self, specs: Iterable[dict[str, Any]]) -> None:
        days = [_day(d) for spec in specs for d in _dates(spec)]
        if days:
            self.windows.add((min(days), max(days)))

    def _listing(self, now: datetime) -> dict[str, dict[str, Any]]:
        windows = self.windows or {(_day(now - WINDOW), _day(now + WINDOW))}
        found: dict[str, dict[str, Any]] = {}
        for start, end in sorted(windows):
            found |= self._listing_between(start, end)
        return found

    def _live(self, item: dict[str, Any]) -> LiveCampaign:
        name, key = split_name(str(item.get("name", "")))
        status = str(item.get("status", "scheduled")).lower()
        scheduled = _parse_on(item.get("scheduled_on"))
        return LiveCampaign(
            platform_id=str(item["id"]), id=key or f"clevertap-{item['id']}", name=name,
            channel="unknown", type="single_message", delivery="on_date_time",
            status=status if status in STATUSES else "scheduled", archived=False, spec={},
            scheduled_at=scheduled, last_active=scheduled or datetime.now(UTC),
            created_by="", labels=(), version=hash((status, name)) & 0xFFFFFFF,
            has_run=status in ("running", "completed"),
        )  # fmt: skip

    def list_campaigns(
        self, now: datetime, where: ListFilter | None = None, with_spec: bool = True
    ) -> list[LiveCampaign]:
        where = where or ListFilter()
        return [c for c in map(self._live, self._listing(now).values()) if where.matches(c)]

    def get_campaign(self, platform_id: str, now: datetime) -> LiveCampaign:
        item = self._listing(now).get(platform_id)
        if item is None:
            raise PlatformError(f"no campaign with id {platform_id} in the listed windows")
        return self._live(item)

    # -- writing -------------------------------------------------------------------------

    def unsupported(self, spec: dict[str, Any]) -> list[str]:
        return unsupported(spec)

    def create_campaign(
        self, campaign_id: str, spec: CampaignBase, *, publish: bool, actor: Actor, now: datetime
    ) -> LiveCampaign:
        data = spec.spec_data()
        problems = unsupported(data)
        if problems or not publish:
            raise PlatformError(f"campaign {campaign_id}: the API cannot express {problems}")
        body = to_body(data, campaign_id, now)
        start, end = _window(data, now)
        for _ in range(RETRIES):
            try:
                made = self._post("/1/targets/create.json", body, safe=False)
            except Ambiguous as exc:
                landed = self._find(body["name"], start, end)
                if landed is not None:
                    log.info("create of %s landed despite %s", campaign_id, exc)
                    return self._with_spec(landed, data)
                log.info("create of %s did not land (%s); creating again", campaign_id, exc)
                continue
            except PlatformError as exc:
                raise PlatformError(f"campaign {campaign_id}: {exc}") from None
            item = {"id": made["id"], "name": body["name"], "status": "scheduled",
                    "scheduled_on": _first_on(body)}  # fmt: skip
            return self._with_spec(item, data)
        raise PlatformError(f"campaign {campaign_id}: create kept failing; nothing was created")

    def _listing_between(self, start: int, end: int) -> dict[str, dict[str, Any]]:
        data = self._post("/1/targets/list.json", {"from": start, "to": end}, safe=True)
        return {str(item["id"]): item for item in data.get("targets") or []}

    def _find(self, name: str, start: int, end: int) -> dict[str, Any] | None:
        """A campaign of this window with this exact name (it carries the id marker) that is not
        stopped: the create landed. The plan creates an id only when no such campaign exists
        (a replace stops the old one first), so there is no other it could be."""
        for item in self._listing_between(start, end).values():
            if item.get("name") == name and item.get("status") != "stopped":
                return item
        return None

    def _with_spec(self, item: dict[str, Any], spec: dict[str, Any]) -> LiveCampaign:
        return replace(
            self._live(item),
            spec=spec,
            channel=spec["channel"],
            type=spec.get("type", "single_message"),
        )

    def update_campaign(
        self,
        platform_id: str,
        spec: CampaignBase,
        sections: frozenset[str],
        *,
        actor: Actor,
        now: datetime,
    ) -> LiveCampaign:
        raise PlatformError("the CleverTap API has no endpoint to edit a campaign", "api")

    def publish(self, platform_id: str, *, actor: Actor, now: datetime) -> LiveCampaign:
        raise PlatformError("the CleverTap API has no drafts to publish", "api")

    def stop(self, platform_id: str, *, actor: Actor, now: datetime) -> LiveCampaign:
        self._post("/1/targets/stop.json", {"id": int(platform_id)}, safe=True)  # idempotent
        live = self.get_campaign(platform_id, now)
        return replace(live, status="stopped")

    def archive(self, platform_id: str, *, actor: Actor, now: datetime) -> LiveCampaign:
        raise PlatformError("the CleverTap API cannot archive a campaign", "api")

    def estimate_reach(self, spec: CampaignBase, now: datetime) -> int:
        body = to_body(spec.spec_data(), "estimate", now) | {"estimate_only": True}
        data = self._post("/1/targets/create.json", body, safe=True)  # makes no campaign
        for key in ("estimate", "estimated_count", "count", "reach"):  # the shape is unconfirmed
            if isinstance(data.get(key), int):
                return int(data[key])
        raise PlatformError("CleverTap answered an estimate without a count")

    def list_labels(self) -> list[Label]:
        return []

    def create_label(self, label: Label) -> None:
        raise PlatformError("the CleverTap API cannot manage labels", "api")

    update_label = create_label

    def rename_label(self, old: str, new: str) -> None:
        raise PlatformError("the CleverTap API cannot manage labels", "api")

    def delete_label(self, name: str) -> None:
        raise PlatformError("the CleverTap API cannot manage labels", "api")

    def report(self, now: datetime, where: ListFilter | None = None) -> list[ReportRow]:
        rows = []
        for c in self.list_campaigns(now, where or ListFilter(archived="include")):
            row = ReportRow(c.id, c.name, c.channel, c.type, c.status, c.delivery, (), "")
            if c.status == "completed":
                data = self._post("/1/targets/result.json", {"id": int(c.platform_id)}, safe=True)
                result = data.get("result") or data
                row = replace(
                    row, runs=1, sent=int(result.get("sent", 0)),
                    viewed=int(result.get("viewed", 0)), clicked=int(result.get("clicked", 0)),
                    conversions=int(result.get("converted", 0)),
                )  # fmt: skip
            rows.append(row)
        return rows


def _day(value: datetime | str) -> int:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return int(moment.astimezone(UTC).strftime("%Y%m%d"))


def _dates(spec: dict[str, Any]) -> list[str]:
    when = spec.get("when") or {}
    return [d for d in [when.get("start"), *(when.get("dates") or [])] if d]


def _window(spec: dict[str, Any], now: datetime) -> tuple[int, int]:
    days = [_day(d) for d in _dates(spec)] or [_day(now)]
    return min(days), max(days)


def _first_on(body: dict[str, Any]) -> int | None:
    when = body.get("when")
    if isinstance(when, dict) and when.get("delivery_date_time"):
        return int(when["delivery_date_time"][0].replace(" ", "").replace(":", ""))
    return None


def _parse_on(value: Any) -> datetime | None:
    """`scheduled_on` as seen: YYYYMMDDHHMM (an int or a string); None when absent."""
    text = str(value or "")
    for fmt in ("%Y%m%d%H%M", "%Y%m%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None
