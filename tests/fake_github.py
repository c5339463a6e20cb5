"""A stateful GitHub REST server on 127.0.0.1 implementing the endpoints campaign-gitops uses,
with GitHub's payload shapes, Link-header pagination and bearer-token auth."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "ghs_test_token_do_not_print_0123456789"


@dataclass
class Repo:
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    reviews: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    teams: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    fail_next: int = 0  # answer this many requests with 502 first
    next_id: int = 1000

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def add_pull(self, number: int, author: str, head: str, base: str = "main") -> None:
        self.pulls[number] = {
            "number": number, "state": "open", "user": {"login": author, "type": "User"},
            "head": {"sha": head, "ref": f"feature-{number}"}, "base": {"ref": base},
            "merged_at": None, "merge_commit_sha": None, "title": f"PR {number}",
        }  # fmt: skip

    def merge(self, number: int, merge_sha: str) -> None:
        self.pulls[number] |= {
            "state": "closed", "merged_at": "2026-11-23T12:00:00Z", "merge_commit_sha": merge_sha,
        }  # fmt: skip

    def review(self, number: int, login: str, state: str, commit: str) -> None:
        self.reviews.setdefault(number, []).append({
            "id": self.new_id(), "user": {"login": login, "type": "User"}, "state": state,
            "commit_id": commit, "submitted_at": "2026-11-23T11:00:00Z", "body": "",
        })  # fmt: skip


def _page(items: list[Any], query: dict[str, list[str]], path: str, port: int) -> tuple[Any, str]:
    per = min(int(query.get("per_page", ["30"])[0]), 100)
    page = int(query.get("page", ["1"])[0])
    chunk = items[(page - 1) * per : page * per]
    link = ""
    if page * per < len(items):
        link = f'<http://127.0.0.1:{port}{path}?per_page={per}&page={page + 1}>; rel="next"'
    return chunk, link


class FakeGitHub:
    def __init__(self, repository: str = "acme/campaigns"):
        self.repository = repository
        self.repo = Repo()
        server = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any, link: str = "") -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                if link:
                    self.send_header("Link", link)
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length)) if length else None
                with server.lock:
                    server.repo.requests.append((method, url.path))
                    if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                        return self._send(401, {"message": "Bad credentials"})
                    if server.repo.fail_next > 0:
                        server.repo.fail_next -= 1
                        return self._send(502, {"message": "Server Error"})
                    status, body, link = server.route(
                        method, url.path, parse_qs(url.query), payload
                    )
                self._send(status, body, link)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PATCH(self) -> None:
                self._handle("PATCH")

        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeGitHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def route(
        self, method: str, path: str, query: dict[str, list[str]], payload: Any
    ) -> tuple[int, Any, str]:
        r = self.repo
        prefix = f"/repos/{self.repository}"
        if path.startswith(prefix):
            rest = path[len(prefix) :]
            if m := re.fullmatch(r"/pulls/(\d+)", rest):
                pull = r.pulls.get(int(m[1]))
                return (200, pull, "") if pull else (404, {"message": "Not Found"}, "")
            if m := re.fullmatch(r"/pulls/(\d+)/reviews", rest):
                return (200, *_page(r.reviews.get(int(m[1]), []), query, path, self.port))
            if m := re.fullmatch(r"/issues/(\d+)/comments", rest):
                number = int(m[1])
                if method == "POST":
                    comment = {"id": r.new_id(), "body": payload["body"],
                               "user": {"login": "github-actions[bot]"}}  # fmt: skip
                    r.comments.setdefault(number, []).append(comment)
                    return 201, comment, ""
                return (200, *_page(r.comments.get(number, []), query, path, self.port))
            if (m := re.fullmatch(r"/issues/comments/(\d+)", rest)) and method == "PATCH":
                for comments in r.comments.values():
                    for comment in comments:
                        if comment["id"] == int(m[1]):
                            comment["body"] = payload["body"]
                            return 200, comment, ""
                return 404, {"message": "Not Found"}, ""
            if m := re.fullmatch(r"/commits/([0-9a-f]+)/pulls", rest):
                sha = m[1]
                found = [
                    p for p in r.pulls.values()
                    if sha in (p["merge_commit_sha"], p["head"]["sha"])
                ]  # fmt: skip
                return (200, *_page(found, query, path, self.port))
        if m := re.fullmatch(r"/orgs/([^/]+)/teams/([^/]+)/memberships/([^/]+)", path):
            if m[3] in r.teams.get((m[1], m[2]), set()):
                return 200, {"state": "active", "role": "member", "url": path}, ""
            return 404, {"message": "Not Found"}, ""
        return 404, {"message": "Not Found"}, ""
