"""`Retry-After` as RFC 9110 allows it (delay-seconds or an HTTP-date), counted from the time the
response came and bounded by the client's retry budget; an unreadable one is not an error."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from campaign_gitops import github as github_module
from campaign_gitops.backends.base import PlatformError
from campaign_gitops.backends.clevertap import ClevertapBackend
from campaign_gitops.config import ClevertapConfig
from campaign_gitops.github import GitHub, GitHubContext
from campaign_gitops.timeutil import http_date, retry_after

CAME = datetime(2026, 10, 21, 7, 27, 50, tzinfo=UTC)


def test_delay_seconds_and_http_dates() -> None:
    assert retry_after("120", CAME) == 120.0
    assert retry_after(" 3 ", CAME) == 3.0
    assert retry_after("Wed, 21 Oct 2026 07:28:00 GMT", CAME) == 10.0
    assert retry_after("Wednesday, 21-Oct-26 07:28:00 GMT", CAME) == 10.0  # obsolete RFC 850
    assert retry_after("Wed Oct 21 07:28:00 2026", CAME) == 10.0  # obsolete asctime
    assert retry_after("Wed, 21 Oct 2026 07:00:00 GMT", CAME) == 0.0  # already past
    for unreadable in ("", "soon", "-5", "nan", "inf", "1e3", "Wed, 99 Oct 2026 07:28:00 GMT"):
        assert retry_after(unreadable, CAME) is None, unreadable
    assert http_date("Wed, 21 Oct 2026 07:28:00 GMT") == CAME + timedelta(seconds=10)
    assert http_date(None) is None and http_date("yesterday") is None


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    yield waits


def _client(*answers: httpx.Response) -> GitHub:
    queue = list(answers)
    github = GitHub(GitHubContext("https://api.github.test", "t0ken", "acme/repo", None))
    github.client.close()
    github.client = httpx.Client(
        base_url="https://api.github.test", transport=httpx.MockTransport(lambda _: queue.pop(0))
    )
    return github


def _limited(**headers: str) -> httpx.Response:
    return httpx.Response(429, headers=headers, json={"message": "slow down"})


def test_github_waits_for_an_http_date_from_the_response_date(slept: list[float]) -> None:
    came = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)  # a skewed clock
    date = format_datetime(came, usegmt=True)
    later = format_datetime(came + timedelta(seconds=2), usegmt=True)
    github = _client(
        _limited(**{"retry-after": later, "date": date}),
        _limited(**{"retry-after": "1"}),
        httpx.Response(200, json={"login": "dana"}),
    )
    assert github.user("dana") == {"login": "dana"}
    assert slept == [2.0, 1.0]
    github.close()


def test_github_bounds_the_wait_and_survives_unreadable_values(slept: list[float]) -> None:
    far = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    github = _client(
        _limited(**{"retry-after": far}),
        _limited(**{"retry-after": "nan"}),
        httpx.Response(200, json={}),
    )
    assert github._request("GET", "/rate_limit").status_code == 200
    assert slept == [github_module.LONGEST_WAIT, 0.4]  # bounded; the backoff when unreadable
    github.close()


def _clevertap(monkeypatch: pytest.MonkeyPatch, *answers: httpx.Response) -> ClevertapBackend:
    monkeypatch.setenv("CLEVERTAP_PASSCODE", "pass")
    queue = list(answers)
    backend = ClevertapBackend(
        ClevertapConfig(account_id="A", base_url="https://ct.test", timeout=5)
    )
    backend.client.close()
    backend.client = httpx.Client(
        base_url="https://ct.test", transport=httpx.MockTransport(lambda _: queue.pop(0))
    )
    return backend


def test_clevertap_waits_as_long_as_a_retry_after_asks_within_its_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
    backend = _clevertap(
        monkeypatch,
        _limited(**{"retry-after": "2"}),
        _limited(**{"retry-after": later}),
        _limited(**{"retry-after": "3600"}),  # past the budget: bounded by it
        _limited(**{"retry-after": "Wed, 99 Oct"}),  # unreadable: the backoff
        httpx.Response(200, json={"status": "success", "targets": []}),
    )
    data = backend._post("/1/targets/list.json", {"from": 20261101, "to": 20261201}, safe=True)
    assert data["targets"] == []
    assert waits[0] == 2.0 and 1.0 < waits[1] <= 3.0
    assert 1.0 < waits[2] <= 5.0 and waits[3] <= 1.0  # at most what is left of 5 s; jitter
    backend.close()


def test_clevertap_gives_up_once_the_budget_is_spent(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = itertools.count(0, 3)  # each 429 three seconds after the last
    monkeypatch.setattr(time, "monotonic", lambda: float(next(clock)))
    monkeypatch.setattr(time, "sleep", lambda _: None)
    backend = _clevertap(monkeypatch, *(_limited(**{"retry-after": "60"}) for _ in range(3)))
    with pytest.raises(PlatformError, match="still answering 429"):
        backend._post("/1/targets/list.json", {"from": 20261101, "to": 20261201}, safe=True)
    backend.close()
