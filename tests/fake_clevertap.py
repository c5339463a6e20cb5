"""A stateful CleverTap campaign API on 127.0.0.1, written from CleverTap's developer documentation
(developer.clevertap.com, summarized in ../shared/clevertap-api.md). Each behaviour names the page
it comes from; what the pages leave open is marked ASSUMPTION, and chosen as the stricter reading
(never a convenience the real service may lack).

Campaigns made "in the dashboard" (`dashboard()`, any channel) can be stopped, reported on and
found in message reports, but `list.json` never lists them; labels exist only in the dashboard
(`set_labels()`). Faults can be injected: bursts of 429, 500s, timeouts, and connections dropped
after a create was stored."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ACCOUNT, PASSCODE = "TEST-ACC-123", "ct-passcode-s3cret-9f8e7d"
CREATE, STOP, LIST = "/1/targets/create.json", "/1/targets/stop.json", "/1/targets/list.json"
RESULT, REPORT = "/1/targets/result.json", "/1/message/report.json"
# Create Campaign: the target_mode values the body accepts
MODES = {"push", "email", "sms", "webpush", "webhook", "notificationinbox", "whatsapp"}
# Get Message Reports: the `channel` values a report can be filtered by ("Supported values
# include push, email, sms, browser, audiences, inapp, webhooks, web_pop_up, web_exit_intent,
# web_native_display, web_inbox")
REPORT_CHANNELS = {"push", "email", "sms", "browser", "audiences", "inapp", "webhooks",
                   "web_pop_up", "web_exit_intent", "web_native_display", "web_inbox"}  # fmt: skip
# ASSUMPTION: an API-made campaign is reported under the report channel of its target_mode;
# target modes with no report channel (app inbox, WhatsApp) under their own name
MODE_CHANNEL = {"webpush": "browser", "webhook": "webhooks"}
# Get Message Reports: `status` "Supported values include scheduled, running, stopped, and
# completed" (Get Campaigns lists the same statuses)
STATUSES = ("scheduled", "running", "stopped", "completed")


@dataclass
class Faults:
    throttle: int = 0  # answer the next N requests with 429
    errors: int = 0  # answer the next N requests with 500 (after doing nothing)
    timeouts: int = 0  # the next N requests hang past the client's timeout (nothing done)
    drop_after_create: int = 0  # the next N creates are stored, then the connection is dropped
    hang: float = 30.0
    only: str = ""  # throttle, errors and timeouts hit only paths containing this
    report_shape: str = ""  # "unknown": report.json answers success in a shape nobody parses


@dataclass
class Server:
    campaigns: dict[int, dict[str, Any]] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    latency: float = 0.0
    # API Errors: "429 - Too many requests were made concurrently. Three concurrent requests are
    # the max."; API Request Limit: past an account's concurrency limit, "HTTP 429 ... Too many
    # concurrent requests". ASSUMPTION: the limit is per API there; here every campaign endpoint
    # counts against one limit of 3 (stricter)
    limit: int = 3
    # Create Campaign: "This endpoint is limited to 3 requests per second."
    creates_per_second: int = 3
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 23, 10, tzinfo=UTC))
    in_flight: int = 0
    peak: int = 0
    throttled: int = 0  # every 429 answered
    rate_limited: int = 0  # the 429s of creates past 3 a second
    creates: int = 0
    next_id: int = 1457432700  # Stop Campaign: "Campaign ID is typically a 10-digit ... identifier"
    recent_creates: deque[float] = field(default_factory=deque)
    log: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    times: list[tuple[str, float, float]] = field(default_factory=list)  # path, start, end

    def status(self, c: dict[str, Any]) -> str:
        if c["stopped"]:
            return "stopped"
        if self.now < c["at"]:
            return "scheduled"
        # ASSUMPTION: how long a one-time campaign runs is not documented: one hour here
        return "running" if (self.now - c["at"]).total_seconds() < 3600 else "completed"

    def over_rate(self, arrived: float) -> bool:
        """A create past 3 in the last second. ASSUMPTION: the page names no window or burst:
        a sliding second, and refused requests count too (the stricter reading)."""
        recent = self.recent_creates
        while recent and arrived - recent[0] >= 1.0:
            recent.popleft()
        over = len(recent) >= self.creates_per_second
        recent.append(arrived)
        return over


def _when(body: dict[str, Any]) -> datetime | None:
    """Create Campaign: `when` is "now", or an object of type later with delivery_date_time."""
    when = body.get("when")
    if when == "now":
        return None
    if not isinstance(when, dict) or when.get("type") != "later":
        raise ValueError("when must be now or an object of type later")
    return datetime.strptime(when["delivery_date_time"][0], "%Y%m%d %H:%M").replace(tzinfo=UTC)


def _day(value: Any) -> int:
    """Get Campaigns takes YYYYMMDD integers; Get Message Reports documents strings ("20171201")
    and its older page integers: both are taken."""
    text = str(value)
    if len(text) != 8 or not text.isdigit():
        raise ValueError(f"{value!r} is not YYYYMMDD")
    return int(text)


def _values(value: Any) -> list[str]:
    """Get Message Reports: optional parameters are arrays of strings, and "let input multiple
    values by separating them with commas"."""
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(v).strip() for v in items if str(v).strip()]


class FakeClevertap:
    def __init__(self) -> None:
        self.state = Server()
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else headers and body meet delayed ACKs (+40 ms)

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                # every endpoint here is POST; API Errors: "405 Method Not Allowed"
                self._send(405, {"status": "fail", "error": "Method Not Allowed"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                s = fake.state
                began = time.perf_counter()
                with fake.lock:
                    s.in_flight += 1
                    s.peak = max(s.peak, s.in_flight)
                    over = s.in_flight > s.limit
                try:
                    if s.latency:
                        time.sleep(s.latency)
                    self._serve(raw, over, began)
                finally:
                    with fake.lock:
                        s.in_flight -= 1
                        s.times.append((self.path, began, time.perf_counter()))

            def _throttle(self, error: str) -> None:
                fake.state.throttled += 1
                self._send(429, {"status": "fail", "error": error})

            def _serve(self, raw: bytes, over: bool, began: float) -> None:
                s = fake.state
                if (
                    self.headers.get("X-CleverTap-Account-Id") != ACCOUNT
                    or self.headers.get("X-CleverTap-Passcode") != PASSCODE
                ):  # API Errors: "401 Unauthorized: Invalid credentials or URL"
                    return self._send(401, {"status": "fail", "error": "Unauthorized"})
                hit = s.faults.only in self.path
                with fake.lock:
                    if over:  # API Request Limit: "Too many concurrent requests"
                        return self._throttle("Too many concurrent requests")
                    if hit and s.faults.throttle > 0:
                        s.faults.throttle -= 1
                        return self._throttle("Too many concurrent requests")
                    if self.path == CREATE and s.over_rate(began):
                        # API Errors: "429 Too Many Requests: API Request limit exceeded"
                        s.rate_limited += 1
                        return self._throttle("API Request limit exceeded")
                    if hit and s.faults.errors > 0:
                        s.faults.errors -= 1
                        return self._send(500, {"status": "fail", "error": "Internal error"})
                    hang = hit and s.faults.timeouts > 0
                    s.faults.timeouts -= 1 if hang else 0
                if hang:
                    time.sleep(s.faults.hang)
                    return None
                try:
                    body = json.loads(raw)
                except ValueError:  # API Errors: "400 Bad Request: Invalid parameter passed"
                    return self._send(400, {"status": "fail", "error": "Bad JSON"})
                with fake.lock:
                    s.log.append((self.path, body))
                    status, answer, drop = fake.route(self.path, body)
                if drop:  # the create is stored; the answer never arrives
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return None
                return self._send(status, answer)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeClevertap:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- what a person does in the dashboard ---------------------------------------------

    def dashboard(
        self, name: str, channel: str, at: datetime | None = None, labels: tuple[str, ...] = ()
    ) -> int:
        """A campaign made in the dashboard, on any channel the reports know (`inapp`,
        `web_pop_up`, ...); it starts at `at` (default: the server's now). Returns its id: Stop
        Campaign, "Available in the dashboard (all campaign types)"."""
        if channel not in REPORT_CHANNELS:
            raise ValueError(f"Get Message Reports knows no channel {channel!r}")
        with self.lock:
            s = self.state
            s.next_id += 1
            s.campaigns[s.next_id] = {
                "body": {"name": name}, "at": at or s.now, "stopped": False, "api": False,
                "channel": channel, "labels": list(labels),
            }  # fmt: skip
            return s.next_id

    def set_labels(self, campaign_id: int, *labels: str) -> None:
        """Labels are set in the dashboard: the API has no label endpoint (Campaign APIs lists
        create, stop, report and list only)."""
        with self.lock:
            self.state.campaigns[campaign_id]["labels"] = list(labels)

    def by_name(self, name: str) -> list[int]:
        return [pid for pid, c in self.state.campaigns.items() if c["body"]["name"] == name]

    # -- the API -------------------------------------------------------------------------

    def route(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], bool]:
        routes = {CREATE: self._create, STOP: self._stop, LIST: self._list,
                  RESULT: self._result, REPORT: self._report}  # fmt: skip
        if path not in routes:  # API Errors: "404 Not Found: Resource does not exist"
            return 404, {"status": "fail", "error": "Not found"}, False
        if not isinstance(body, dict):
            return 400, {"status": "fail", "error": "Invalid parameter passed"}, False
        return routes[path](body)

    def _create(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], bool]:
        s = self.state
        fail = {"status": "fail", "code": 400}
        # errors inside HTTP 200 as seen (clevertap-api.md, Transport): "Field name is empty",
        # "No custom control group with name X is defined"
        if not body.get("name"):
            return 200, fail | {"error": "Field name is empty"}, False
        group = body.get("control_group") or {}  # this account defines one custom group
        if group.get("type") == "custom" and group.get("name") not in ("Holdout",):
            error = f"No custom control group with name {group.get('name')} is defined"
            return 200, fail | {"error": error}, False
        if body.get("target_mode") not in MODES:  # ASSUMPTION: the message's wording
            return 200, fail | {"error": "Invalid target_mode"}, False
        try:
            at = _when(body) or s.now
        except ValueError as exc:
            return 200, fail | {"error": str(exc)}, False
        if body.get("estimate_only"):  # Create Campaign: no campaign is made
            # ASSUMPTION: the estimate's field (unconfirmed in clevertap-api.md)
            return 200, {"status": "success", "estimate": 4200 + len(body["name"])}, False
        s.next_id += 1
        s.creates += 1
        # no label parameter in the Create Campaign body: a new campaign has none
        s.campaigns[s.next_id] = {"body": body, "at": at, "stopped": False, "api": True,
                                  "channel": MODE_CHANNEL.get(body["target_mode"],
                                                              body["target_mode"]),
                                  "labels": []}  # fmt: skip
        drop = s.faults.drop_after_create > 0
        s.faults.drop_after_create -= 1 if drop else 0
        return 200, {"status": "success", "id": s.next_id}, drop

    def _stop(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], bool]:
        # Stop Campaign: "Invalid ID: Returns a "fail" response with error details"; "Already
        # Stopped: Returns "success", but no action is performed"; any campaign, API or dashboard
        ident = body.get("id")
        campaign = self.state.campaigns.get(ident) if isinstance(ident, int) else None
        if campaign is None:
            return 200, {"status": "fail", "error": f"Invalid id {ident}", "code": 400}, False
        # ASSUMPTION: stopping a completed campaign is not documented: success, nothing done
        if self.state.status(campaign) != "completed":
            campaign["stopped"] = True
        return 200, {"status": "success"}, False

    def _range(self, body: dict[str, Any]) -> tuple[int, int] | None:
        try:
            return _day(body["from"]), _day(body["to"])
        except (KeyError, ValueError):
            return None

    def _list(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], bool]:
        # Get Campaigns: "returns a list of campaigns (created via the CleverTap API) scheduled
        # within the specified date range" ... "whose scheduled start time falls between (and
        # including) the provided dates"; ids, names, scheduled start times and status
        span = self._range(body)
        if span is None:  # API Errors: "400 Bad Request: Invalid parameter passed"
            return 400, {"status": "fail", "error": "from and to are required"}, False
        s = self.state
        targets = [
            {"id": pid, "name": c["body"]["name"], "status": s.status(c),
             "scheduled_on": int(c["at"].strftime("%Y%m%d%H%M"))}
            for pid, c in sorted(s.campaigns.items())
            if c["api"] and span[0] <= int(c["at"].strftime("%Y%m%d")) <= span[1]
        ]  # fmt: skip
        return 200, {"status": "success", "targets": targets}, False

    def _result(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], bool]:
        # Get Campaign Report: "Supports all campaign types"; "If the campaign has not
        # completed, the API returns an error indicating its status"
        campaign = self.state.campaigns.get(body.get("id", 0))
        if campaign is None or self.state.status(campaign) != "completed":
            state = self.state.status(campaign) if campaign else "unknown"
            return 200, {"status": "fail", "error": f"Campaign is {state}", "code": 400}, False
        # ASSUMPTION: the fields (the page promises "delivery, click, and conversion metrics")
        result = {"sent": 1000, "viewed": 400, "clicked": 120, "converted": 30}
        return 200, {"status": "success", "result": result}, False

    def _report(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], bool]:
        """Get Message Reports: "a list of messages sent by CleverTap" of every channel (in-app
        and web pop-ups included, dashboard-made ones too); from and to "Required"; filtered by
        channel, status and label ("Result will include a report only for messages that have the
        labels specified"); daily splits by day (not modelled: aggregate rows)."""
        span = self._range(body)
        if span is None:
            return 400, {"status": "fail", "error": "from and to are required"}, False
        if self.state.faults.report_shape == "unknown":
            return 200, {"status": "success", "report": {"total": 1}}, False
        channels = _values(body.get("channel", []))
        statuses = _values(body.get("status", []))
        labels = set(_values(body.get("label", [])))
        for name in channels:
            if name not in REPORT_CHANNELS:
                return 200, {"status": "fail", "error": f"Invalid channel {name}"}, False
        s = self.state
        messages = []
        for pid, c in sorted(s.campaigns.items()):
            status = s.status(c)
            if not span[0] <= int(c["at"].strftime("%Y%m%d")) <= span[1]:
                continue  # ASSUMPTION: a message belongs to the day it starts
            if (channels and c["channel"] not in channels) or (statuses and status not in statuses):
                continue
            if labels and not labels & set(c["labels"]):  # ASSUMPTION: any of the labels
                continue
            # ASSUMPTION: the answer's fields are not documented; these names are the ones
            # public third-party clients read (unconfirmed): messages, "message id",
            # message_name, channel, status, labels, start_date, sent / viewed / clicked
            messages.append({
                "message id": pid, "message_name": c["body"]["name"], "channel": c["channel"],
                "status": status, "labels": c["labels"],
                "start_date": c["at"].strftime("%d %b, %Y %H:%M:%S"),
                "sent": 1000 if status == "completed" else 0, "viewed": 0, "clicked": 0,
            })  # fmt: skip
        return 200, {"status": "success", "messages": messages}, False

    def live_by_name(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for c in self.state.campaigns.values():
            out.setdefault(c["body"]["name"], []).append(self.state.status(c))
        return out
