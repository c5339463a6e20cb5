"""A stateful CleverTap campaign API on 127.0.0.1, written from ../shared/clevertap-api.md:
numeric ids, statuses that change with the server's clock, errors as HTTP 200 + status fail,
429 past 3 concurrent requests, no update or label endpoint. Faults can be injected: bursts of
429, 500s, timeouts, and connections dropped after a create was stored."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ACCOUNT, PASSCODE = "TEST-ACC-123", "ct-passcode-s3cret-9f8e7d"
MODES = {"push", "email", "sms", "webpush", "webhook", "notificationinbox", "whatsapp"}


@dataclass
class Faults:
    throttle: int = 0  # answer the next N requests with 429
    errors: int = 0  # answer the next N requests with 500 (after doing nothing)
    timeouts: int = 0  # the next N requests hang past the client's timeout (nothing done)
    drop_after_create: int = 0  # the next N creates are stored, then the connection is dropped
    hang: float = 30.0
    only: str = ""  # throttle, errors and timeouts hit only paths containing this


@dataclass
class Server:
    campaigns: dict[int, dict[str, Any]] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    latency: float = 0.0
    limit: int = 3
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 23, 10, tzinfo=UTC))
    in_flight: int = 0
    peak: int = 0
    throttled: int = 0
    creates: int = 0
    next_id: int = 1457432700
    log: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    times: list[tuple[str, float, float]] = field(default_factory=list)  # path, start, end

    def status(self, c: dict[str, Any]) -> str:
        if c["stopped"]:
            return "stopped"
        if self.now < c["at"]:
            return "scheduled"
        return "running" if (self.now - c["at"]).total_seconds() < 3600 else "completed"


def _when(body: dict[str, Any]) -> datetime | None:
    when = body.get("when")
    if when == "now":
        return None
    if not isinstance(when, dict) or when.get("type") != "later":
        raise ValueError("when must be now or an object of type later")
    return datetime.strptime(when["delivery_date_time"][0], "%Y%m%d %H:%M").replace(tzinfo=UTC)


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

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                s = fake.state
                with fake.lock:
                    s.in_flight += 1
                    s.peak = max(s.peak, s.in_flight)
                    over = s.in_flight > s.limit
                began = time.perf_counter()
                try:
                    if s.latency:
                        time.sleep(s.latency)
                    self._serve(raw, over)
                finally:
                    with fake.lock:
                        s.in_flight -= 1
                        s.times.append((self.path, began, time.perf_counter()))

            def _serve(self, raw: bytes, over: bool) -> None:
                s = fake.state
                if (
                    self.headers.get("X-CleverTap-Account-Id") != ACCOUNT
                    or self.headers.get("X-CleverTap-Passcode") != PASSCODE
                ):
                    return self._send(401, {"status": "fail", "error": "Unauthorized"})
                hit = s.faults.only in self.path
                with fake.lock:
                    if over or (hit and s.faults.throttle > 0):
                        s.faults.throttle -= 0 if over else 1
                        s.throttled += 1
                        return self._send(
                            429, {"status": "fail", "error": "Too many concurrent requests"}
                        )
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
                except ValueError:
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

    def route(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], bool]:
        s = self.state
        fail = {"status": "fail"}
        if path == "/1/targets/create.json":
            if not body.get("name"):
                return 200, fail | {"error": "Field name is empty", "code": 400}, False
            group = body.get("control_group") or {}
            if group.get("type") == "custom" and group.get("name") not in ("Holdout",):
                error = f"No custom control group with name {group.get('name')} is defined"
                return 200, fail | {"error": error, "code": 400}, False
            if body.get("target_mode") not in MODES:
                return 200, fail | {"error": "Invalid target_mode", "code": 400}, False
            try:
                at = _when(body) or s.now
            except ValueError as exc:
                return 200, fail | {"error": str(exc), "code": 400}, False
            if body.get("estimate_only"):
                return 200, {"status": "success", "estimate": 4200 + len(body["name"])}, False
            s.next_id += 1
            s.creates += 1
            s.campaigns[s.next_id] = {"body": body, "at": at, "stopped": False}
            drop = s.faults.drop_after_create > 0
            s.faults.drop_after_create -= 1 if drop else 0
            return 200, {"status": "success", "id": s.next_id}, drop
        if path == "/1/targets/stop.json":
            campaign = s.campaigns.get(int(body.get("id", 0)))
            if campaign is None:
                return 200, fail | {"error": "Campaign not found", "code": 404}, False
            campaign["stopped"] = True  # stopping a stopped campaign also succeeds
            return 200, {"status": "success"}, False
        if path == "/1/targets/list.json":
            lo, hi = int(body["from"]), int(body["to"])
            targets = [
                {"id": pid, "name": c["body"]["name"], "status": s.status(c),
                 "scheduled_on": int(c["at"].strftime("%Y%m%d%H%M"))}
                for pid, c in sorted(s.campaigns.items())
                if lo <= int(c["at"].strftime("%Y%m%d")) <= hi
            ]  # fmt: skip
            return 200, {"status": "success", "targets": targets}, False
        if path == "/1/targets/result.json":
            campaign = s.campaigns.get(int(body.get("id", 0)))
            if campaign is None or s.status(campaign) != "completed":
                state = s.status(campaign) if campaign else "unknown"
                return 200, fail | {"error": f"Campaign is {state}", "code": 400}, False
            result = {"sent": 1000, "viewed": 400, "clicked": 120, "converted": 30}
            return 200, {"status": "success", "result": result}, False
        return 404, fail | {"error": "Not found"}, False

    def live_by_name(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for c in self.state.campaigns.values():
            out.setdefault(c["body"]["name"], []).append(self.state.status(c))
        return out
