"""The CleverTap backend over its REST API (../shared/clevertap-api.md). httpx and the passcode
stay inside this module: the passcode is sent in one header and never appears in a message.

Transport discipline: at most `max_concurrency` requests in flight; creates (estimates too: the
same endpoint) start at most `creates_per_second` a second per account, evenly spaced (Create
Campaign: "This endpoint is limited to 3 requests per second"). A 429 is a safety net: nothing
was done, so the call is retried, backing off from 50 ms doubling to 1 s with jitter (longer
when a `Retry-After` asks for it: none is documented, but either form RFC 9110 allows is read;
a create also waits for its next turn at the pace), for as long as `timeout` seconds after its
first 429; only then, or on a real error, does it fail. List, report, result, estimates and stop
(idempotent) retry on 5xx and timeouts; a create is never blindly retried: after an ambiguous
failure the campaigns of its schedule window are listed and matched by name and marker before
creating again.

Reading: `list.json` lists only campaigns made through the API (Get Campaigns); `report.json`
(Get Message Reports) names messages of every channel, dashboard-made ones included, with their
labels. Its answer's fields are not documented, so it is read defensively: a row without a
campaign id and name is skipped, and an answer in no known shape only costs the adoption of
dashboard-made campaigns (`campaign-gitops ack` finishes those)."""

from __future__ import annotations

import json
import logging
import os
import random
import re
import threading
import time
import zlib
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
from campaign_gitops.timeutil import http_date, retry_after

log = logging.getLogger(__name__)
PASSCODE_ENV = "CLEVERTAP_PASSCODE"
CREATE = "/1/targets/create.json"
RETRIES = 4
BACKOFF_429 = (0.05, 1.0)  # seconds: the first wait after a 429, and the longest
# each turn at the pace is this much longer than 1/rate: the time between taking a turn and the
# request's arrival varies by a few milliseconds, and the server counts arrivals
PACE_MARGIN = 1.04
WINDOW = timedelta(days=400)  # listed around now when nothing narrower is known
# Get Message Reports' channel names (and spellings seen elsewhere), squeezed to letters -> ours
REPORT_CHANNELS = {
    "push": "push", "email": "email", "sms": "sms", "browser": "web_push",
    "webpush": "web_push", "inapp": "in_app", "webhooks": "webhook", "webhook": "webhook",
    "webpopup": "web_popup", "webexitintent": "web_exit_intent",
    "webnativedisplay": "web_native_display", "whatsapp": "whatsapp",
    "notificationinbox": "app_inbox", "appinbox": "app_inbox", "nativedisplay": "native_display",
}  # fmt: skip
# a report row's campaign id and name, under every spelling seen (the fields are undocumented)
ID_KEYS = ("id", "message id", "message_id", "campaign_id", "campaign id", "target_id")
NAME_KEYS = ("name", "message_name", "message name", "campaign_name", "campaign name")


class Ambiguous(Exception):
    """The request may or may not have been carried out (timeout, connection dropped, 5xx)."""


class Pace:
    """Starts at most `rate` calls a second, evenly spaced: a token bucket that holds one token.
    The Create Campaign page names no window and no burst, so none is taken."""

    def __init__(self, rate: float):
        self.interval = PACE_MARGIN / rate
        self.next = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            turn = max(now, self.next)
            self.next = turn + self.interval
        if turn > now:
            time.sleep(turn - now)


_paces: dict[tuple[str, str, float], Pace] = {}
_paces_lock = threading.Lock()


def pace(config: ClevertapConfig) -> Pace:
    """One pace per account in this process: the limit is the account's, not a client's."""
    key = (config.url, config.account_id, config.creates_per_second)
    with _paces_lock:
        return _paces.setdefault(key, Pace(config.creates_per_second))


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
        self.timeout = config.timeout
        self.pace = pace(config)
        self.span: tuple[int, int] | None = None  # the schedule days plans are about
        self.undated = False  # some campaign starts "now": look back from today
        self.searching = False  # some id is new to the state store: look WINDOW both ways
        self.seen: dict[str, LiveCampaign] = {}  # as the last plan saw them, specs completed
        self.throttled = 0  # 429s seen, for the benchmark

    def close(self) -> None:
        self.client.close()

    # -- transport -----------------------------------------------------------------------

    def _post(self, path: str, body: dict[str, Any], *, safe: bool) -> dict[str, Any]:
        """One call; `safe`: may be repeated after an ambiguous failure (raises Ambiguous
        otherwise). A 429 is retried until `timeout` seconds after the first: nothing was done."""
        failures = 0
        backoff, longest = BACKOFF_429
        throttled_until: float | None = None
        attempt = 0
        while True:
            attempt += 1
            if path == CREATE:
                self.pace.wait()
            began = time.monotonic()
            try:
                with self.slots:
                    response = self.client.post(path, json=body)
            except httpx.TimeoutException:
                failure = "timed out"
            except httpx.TransportError as exc:
                failure = f"connection failed ({type(exc).__name__})"
            else:
                # the path only: never the headers (the passcode) nor the body
                log.debug("POST %s -> %d in %.3f s (attempt %d)", path, response.status_code,
                          time.monotonic() - began, attempt)  # fmt: skip
                if response.status_code == 429:
                    received = datetime.now(UTC)
                    self.throttled += 1
                    now = time.monotonic()
                    throttled_until = throttled_until or now + self.timeout
                    if now >= throttled_until:
                        raise PlatformError(
                            f"CleverTap {path}: still answering 429 (too many requests) after "
                            f"{self.timeout:g} s; nothing was done"
                        )
                    wait = random.uniform(backoff / 2, backoff)
                    if "retry-after" in response.headers:
                        came = http_date(response.headers.get("date")) or received
                        wait = max(wait, retry_after(response.headers["retry-after"], came) or 0)
                    wait = min(wait, throttled_until - now)
                    log.debug("POST %s: 429 (too many requests) on attempt %d; retrying in "
                              "%.3f s", path, attempt, wait)  # fmt: skip
                    time.sleep(wait)
                    backoff = min(backoff * 2, longest)
                    continue
                if response.status_code < 500:
                    return self._answer(path, response)
                failure = f"HTTP {response.status_code}"
            failures += 1
            if not safe:
                log.debug("POST %s: %s on attempt %d; not retried (it may have been done)",
                          path, failure, attempt)  # fmt: skip
                raise Ambiguous(failure)
            if failures >= RETRIES:
                log.debug("POST %s: %s on attempt %d; giving up", path, failure, attempt)
                raise PlatformError(f"CleverTap {path}: {failure}, {failures} times")
            wait = random.uniform(0.05, 0.2 * 2**failures)
            log.debug("POST %s: %s on attempt %d; retrying in %.3f s", path, failure, attempt,
                      wait)  # fmt: skip
            time.sleep(wait)

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

    def focus(self, specs: Iterable[dict[str, Any]], *, searching: bool = False) -> None:
        # an id the state store does not know may still have a campaign on the platform (its
        # file was removed and the campaign ran on, or the store was lost), on a schedule no
        # file names any more: its marker is looked for around now, as with no focus at all
        self.searching = self.searching or searching
        for spec in specs:
            days = [_day(d) for d in _dates(spec)]
            if not days:
                self.undated = True
                continue
            low, high = self.span or (min(days), max(days))
            self.span = (min(low, *days), max(high, *days))

    def _window(self, now: datetime) -> tuple[int, int]:
        """One window over every schedule of interest, and WINDOW from today on: a campaign
        made in the dashboard for an id, on a date its file no longer says, still sends (and
        the fuzzed model found one missed once the file's date moved). A campaign delivered
        "now" was scheduled on the day it was created, which only the past can hold."""
        days = [*(self.span or ()), _day(now), _day(now + WINDOW)]
        if self.searching or self.undated or not self.span:
            days.append(_day(now - WINDOW))
        return min(days), max(days)

    def _campaigns(self, now: datetime) -> dict[str, dict[str, Any]]:
        """API-made campaigns from list.json, joined by id with the message report, which adds
        dashboard-made ones, channels and labels."""
        start, end = self._window(now)
        found = self._listing_between(start, end)
        for key, message in self._messages_between(start, end).items():
            listed = found.get(key)
            found[key] = (
                message if listed is None else listed | _known(message, "labels", "channel")
            )
        return found

    def _messages_between(self, start: int, end: int) -> dict[str, dict[str, Any]]:
        # Get Message Reports: from and to are YYYYMMDD strings; no filter: every channel
        data = self._post("/1/message/report.json", {"from": str(start), "to": str(end)}, safe=True)
        rows = _rows(data)
        if rows is None:
            log.warning(
                "CleverTap /1/message/report.json answered in a shape this version does not "
                "know (keys: %s): campaigns made in the dashboard are not seen; finish manual "
                "creates with `campaign-gitops ack`",
                ", ".join(sorted(data)) or "none",
            )
            return {}
        found = (_message(row) for row in rows)
        return {str(item["id"]): item for item in found if item is not None}

    def _live(self, item: dict[str, Any]) -> LiveCampaign:
        name, key = split_name(str(item.get("name", "")))
        status = str(item.get("status", "scheduled")).lower()
        scheduled = _parse_on(item.get("scheduled_on"))
        labels = item.get("labels")
        # the spec as far as the API shows it: labels, when the report names them
        spec = {"labels": labels} if isinstance(labels, list) else {}
        version = zlib.crc32(json.dumps([status, name, labels]).encode())
        return LiveCampaign(
            platform_id=str(item["id"]), id=key or f"clevertap-{item['id']}", name=name,
            channel=item.get("channel", "unknown"), type="single_message",
            delivery="on_date_time", status=status if status in STATUSES else "scheduled",
            archived=False, spec=spec, scheduled_at=scheduled,
            last_active=scheduled or datetime.now(UTC), created_by="",
            labels=tuple(labels or ()), version=version,
            has_run=status in ("running", "completed"),
        )  # fmt: skip

    def list_campaigns(
        self, now: datetime, where: ListFilter | None = None, with_spec: bool = True
    ) -> list[LiveCampaign]:
        where = where or ListFilter()
        return [c for c in map(self._live, self._campaigns(now).values()) if where.matches(c)]

    def remember(self, campaigns: Iterable[LiveCampaign]) -> None:
        self.seen = {c.platform_id: c for c in campaigns}

    def get_campaign(self, platform_id: str, now: datetime) -> LiveCampaign:
        """The campaign now, with the spec the plan knew for it (the API returns no content):
        what an adopt records."""
        item = self._campaigns(now).get(platform_id)
        seen = self.seen.get(platform_id)
        if item is None:
            if seen is None:
                raise PlatformError(f"no campaign with id {platform_id} in the listed windows")
            return seen
        live = self._live(item)
        if seen is None or not seen.spec.get("channel"):
            return live
        return replace(live, spec=seen.spec | live.spec, channel=seen.channel, type=seen.type)

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
        targets = data.get("targets")
        items = targets if isinstance(targets, list) else []
        return {str(item["id"]): item for item in items if isinstance(item, dict) and "id" in item}

    def _find(self, name: str, start: int, end: int) -> dict[str, Any] | None:
        """A campaign of this window with this exact name (it carries the id marker) that is not
        stopped: the create landed. The plan creates an id only when no such campaign exists
        (a replace stops the old one first), so there is no other it could be."""
        for item in self._listing_between(start, end).values():
            if item.get("name") == name and item.get("status") != "stopped":
                return item
        return None

    def _with_spec(self, item: dict[str, Any], spec: dict[str, Any]) -> LiveCampaign:
        """A campaign just created: no labels (the body has none; they are set in the
        dashboard, and the message report shows them once they are)."""
        return replace(
            self._live(item),
            spec=spec | {"labels": []},
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
        # the state keeps the last-applied spec, now stopped: the API returns no content
        spec = live.spec | {"state": "stopped"} if live.spec.get("channel") else live.spec
        return replace(live, status="stopped", spec=spec)

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
            row = ReportRow(c.id, c.name, c.channel, c.type, c.status, c.delivery, c.labels, "")
            if c.status == "completed":  # Get Campaign Report: any campaign, API or dashboard
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
    """A start as seen: list.json's `scheduled_on` YYYYMMDDHHMM (an int or a string), or a
    report's date in a format third-party clients read; None when absent or unknown."""
    text = str(value or "")
    for fmt in ("%Y%m%d%H%M", "%Y%m%d", "%d %b, %Y %H:%M:%S", "%Y%m%d %H:%M"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _known(item: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: item[key] for key in keys if key in item}


def _rows(data: dict[str, Any]) -> list[Any] | None:
    """The rows of a message report: `messages` as public clients read it, else the one list of
    objects the answer holds; None when there is no such list."""
    if isinstance(data.get("messages"), list):
        return list(data["messages"])
    lists = [v for v in data.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
    return lists[0] if len(lists) == 1 else None


def _message(row: Any) -> dict[str, Any] | None:
    """A report row as a listing item (id, name, status, scheduled_on, channel, labels), or
    None when it lacks a numeric campaign id or a name."""
    if not isinstance(row, dict):
        return None
    ident = next((row[k] for k in ID_KEYS if k in row), None)
    name = next((row[k] for k in NAME_KEYS if isinstance(row.get(k), str)), None)
    if ident is None or not str(ident).isdigit() or name is None:
        return None
    item: dict[str, Any] = {"id": int(ident), "name": name}
    if isinstance(row.get("status"), str):
        item["status"] = row["status"].lower()
    start = next((row[k] for k in ("start_date", "scheduled_on", "date") if k in row), None)
    if _parse_on(start) is not None:
        item["scheduled_on"] = start
    channel = REPORT_CHANNELS.get(re.sub(r"[^a-z]", "", str(row.get("channel", "")).lower()))
    if channel is not None:
        item["channel"] = channel
    labels = row.get("labels", row.get("label"))
    if isinstance(labels, str):
        labels = [part.strip() for part in labels.split(",") if part.strip()]
    if isinstance(labels, list) and all(isinstance(label, str) for label in labels):
        item["labels"] = labels
    return item
