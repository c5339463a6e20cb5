"""The clevertap backend against a stateful CleverTap server on 127.0.0.1, through the CLI:
create, list, stop, what is manual, and every injected fault converging with no duplicate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from campaign_gitops.backends.clevertap import ClevertapBackend
from campaign_gitops.backends.clevertap_body import from_body, to_body, unsupported
from campaign_gitops.config import ClevertapConfig
from campaign_gitops.models import CAMPAIGN_ADAPTER
from tests.e2e.cli import run
from tests.fake_clevertap import ACCOUNT, LIST, PASSCODE, FakeClevertap

T0 = "2026-11-23T10:00:00Z"
NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)


def _push(name: str, start: str = "2026-12-01T09:00:00Z", **extra: str) -> str:
    lines = [
        f"name: {name}",
        "channel: push",
        "labels: [Promotions]",
        "goal: {event: Charged, within: 1d}",
        "who:",
        "  segment:",
        "    user_properties: [{name: Tier, op: equals, value: Gold}]",
        "    past_behavior: {did: [{event: App Launched, within: 30d}]}",
        "  control_group: {percent: 10}",
        "what:",
        "  content: {title: Hello, body: Twenty percent off, deep_link: 'app://sale'}",
        "when:",
        "  delivery: on_date_time",
        f"  start: {start}",
        *(f"{k}: {v}" for k, v in extra.items()),
    ]
    return "\n".join(lines) + "\n"


SMS = """name: Flash sale SMS
channel: sms
what: {content: {body: Flash sale today}}
when:
  delivery: multiple_dates
  dates: [2026-12-02T10:00:00Z, 2026-12-09T10:00:00Z]
"""
POPUP = """name: Exit popup
channel: web_popup
what: {content: {title: Wait}}
when: {delivery: now}
"""


@pytest.fixture
def server() -> Iterator[FakeClevertap]:
    with FakeClevertap() as fake:
        yield fake


def _repo(root: Path, server: FakeClevertap, count: int = 3, timeout: float = 2.0) -> Path:
    (root / "campaigns").mkdir(parents=True)
    (root / "labels.yaml").write_text("labels:\n  - name: Promotions\n")
    (root / "campaign-gitops.toml").write_text(
        f'backend = "clevertap"\n\n[clevertap]\naccount_id = "{ACCOUNT}"\n'
        f'base_url = "{server.url}"\ntimeout = {timeout}\n'
    )
    for i in range(count):
        (root / "campaigns" / f"sale-{i}.yaml").write_text(_push(f"Sale {i}"))
    (root / "campaigns" / "flash-sms.yaml").write_text(SMS)
    return root


ENV = {"CLEVERTAP_PASSCODE": PASSCODE}


def ct(root: Path, *args: str) -> tuple[int, str]:
    done = run("--at", T0, *args, cwd=root, env=ENV)
    return done.returncode, done.stdout + done.stderr


def _no_duplicates(server: FakeClevertap) -> dict[str, list[str]]:
    by_name = server.live_by_name()
    for name, statuses in by_name.items():
        assert len([s for s in statuses if s != "stopped"]) <= 1, (name, statuses)
    return by_name


def test_create_list_and_nothing_left(server: FakeClevertap, tmp_path: Path) -> None:
    root = _repo(tmp_path, server)
    (root / "campaigns" / "exit-popup.yaml").write_text(POPUP)
    code, out = ct(root, "plan")
    assert code == 0, out
    assert "+ create campaign sale-0 (published)" in out
    assert "labels (Promotions) are not sent" in out
    assert "Note: the platform's API has no labels: labels.yaml is not compared" in out
    assert "? create campaign exit-popup (published): MANUAL" in out
    assert "cannot create web_popup campaigns" in out
    code, out = ct(root, "apply", "--auto-approve")
    assert code == 0, out
    assert "Apply complete: 4 applied" in out
    names = _no_duplicates(server)
    assert sorted(names) == ["Flash sale SMS [flash-sms]", "Sale 0 [sale-0]", "Sale 1 [sale-1]",
                             "Sale 2 [sale-2]"]  # fmt: skip
    assert server.state.peak <= 3 and server.state.throttled == 0
    code, out = ct(root, "plan", "--detailed-exitcode")
    assert code == 0, out  # the manual popup is reported, not a change
    assert "? create campaign exit-popup" in out
    listed = json.loads(ct(root, "list", "--format", "json")[1])
    assert {c["id"]: c["status"] for c in listed}["sale-1"] == "scheduled"


def test_edits_are_manual_or_replace(server: FakeClevertap, tmp_path: Path) -> None:
    root = _repo(tmp_path, server, count=1)
    assert ct(root, "apply", "--auto-approve")[0] == 0
    server.set_labels(server.by_name("Sale 0 [sale-0]")[0], "Promotions")  # as the create asked
    path = root / "campaigns" / "sale-0.yaml"
    path.write_text(path.read_text().replace("title: Hello", "title: Hi there"))
    code, out = ct(root, "plan")
    assert code == 0 and "? update campaign sale-0 [what]: MANUAL" in out
    assert "cannot edit a campaign" in out
    path.write_text(path.read_text() + "on_locked_change: replace\n")
    code, out = ct(root, "apply", "--auto-approve")
    assert code == 0 and "-/+ replace campaign sale-0" in out, out
    assert sorted(_no_duplicates(server)["Sale 0 [sale-0]"]) == ["scheduled", "stopped"]
    assert ct(root, "plan", "--detailed-exitcode")[0] == 0


def test_stop_through_the_api(server: FakeClevertap, tmp_path: Path) -> None:
    root = _repo(tmp_path, server, count=1)
    assert ct(root, "apply", "--auto-approve")[0] == 0
    path = root / "campaigns" / "sale-0.yaml"
    path.write_text(path.read_text() + "state: stopped\n")
    code, out = ct(root, "apply", "--auto-approve")
    assert code == 0 and "- stop campaign sale-0" in out, out
    assert server.live_by_name()["Sale 0 [sale-0]"] == ["stopped"]
    # the state keeps the last-applied spec, stopped: the stop does not jam the repository
    code, out = ct(root, "plan", "--detailed-exitcode")
    assert code == 0 and "BLOCKED" not in out, out
    record = json.loads(run("state", "show", "sale-0", cwd=root, env=ENV).stdout)
    assert record["spec"]["state"] == "stopped" and record["spec"]["channel"] == "push"


IN_APP = """name: Thanks
channel: in_app
labels: [Promotions]
what: {content: {template: half_interstitial, title: Thank you}}
when: {delivery: action, trigger: {event: Charged}, start: 2026-12-01T00:00:00Z}
"""


def test_dashboard_made_campaigns_are_found_and_adopted(
    server: FakeClevertap, tmp_path: Path
) -> None:
    root = _repo(tmp_path, server, count=0)
    (root / "campaigns" / "exit-popup.yaml").write_text(POPUP)
    (root / "campaigns" / "thanks.yaml").write_text(IN_APP)
    assert ct(root, "apply", "--auto-approve")[0] == 0  # the SMS; the other two are manual
    code, out = ct(root, "plan")
    assert code == 0 and "? create campaign exit-popup (published): MANUAL" in out, out
    assert 'create it in the dashboard named "Thanks [thanks]"' in out
    # a person does it in the dashboard, with the exact names; list.json never lists them
    server.dashboard("Exit popup [exit-popup]", "web_pop_up")
    thanks = server.dashboard("Thanks [thanks]", "inapp", at=datetime(2026, 12, 1, tzinfo=UTC))
    listed = server.route(LIST, {"from": 20200101, "to": 20301231})[1]["targets"]
    assert [t["name"] for t in listed] == ["Flash sale SMS [flash-sms]"]  # Get Campaigns
    code, out = ct(root, "plan", "--detailed-exitcode")
    assert code == 2, out
    assert "<= adopt campaign exit-popup" in out and "<= adopt campaign thanks" in out
    assert "? update campaign thanks [labels]: MANUAL" in out  # no labels set there yet
    assert "set the labels in the dashboard (Promotions)" in out
    server.set_labels(thanks, "Promotions")
    code, out = ct(root, "apply", "--auto-approve")
    assert code == 0 and "Apply complete: 2 applied" in out, out
    code, out = ct(root, "plan", "--detailed-exitcode")
    assert code == 0 and "No changes. The platform matches the files." in out, out
    rows = {c["id"]: c for c in json.loads(ct(root, "list", "--format", "json")[1])}
    assert rows["thanks"]["labels"] == ["Promotions"] and rows["thanks"]["channel"] == "in_app"
    assert server.state.creates == 1  # nothing more was created through the API
    # the API stops a campaign made in the dashboard too
    path = root / "campaigns" / "exit-popup.yaml"
    path.write_text(path.read_text() + "state: stopped\n")
    code, out = ct(root, "apply", "--auto-approve")
    assert code == 0 and "- stop campaign exit-popup" in out, out
    assert server.live_by_name()["Exit popup [exit-popup]"] == ["stopped"]
    assert ct(root, "plan", "--detailed-exitcode")[0] == 0


def test_429_past_the_timeout_fails_and_nothing_is_duplicated(
    server: FakeClevertap, tmp_path: Path
) -> None:
    root = _repo(tmp_path, server, count=1, timeout=1)
    server.state.faults.throttle, server.state.faults.only = 10_000, "create"
    code, out = ct(root, "apply", "--auto-approve")
    assert code == 1 and "still answering 429 (too many requests) after 1 s" in out, out
    assert server.state.creates == 0
    server.state.faults.throttle = 0
    assert ct(root, "apply", "--auto-approve")[0] == 0
    assert server.state.creates == 2 and len(_no_duplicates(server)) == 2


def test_a_report_in_an_unknown_shape_leaves_manual_steps(
    server: FakeClevertap, tmp_path: Path
) -> None:
    root = _repo(tmp_path, server, count=0)
    (root / "campaigns" / "exit-popup.yaml").write_text(POPUP)
    server.dashboard("Exit popup [exit-popup]", "web_pop_up")
    server.state.faults.report_shape = "unknown"
    code, out = ct(root, "plan")
    assert code == 0 and "? create campaign exit-popup (published): MANUAL" in out, out
    assert "report.json answered in a shape this version does not know" in out
    assert "Traceback" not in out


def test_a_lost_state_store_loses_nothing(server: FakeClevertap, tmp_path: Path) -> None:
    root = _repo(tmp_path, server, count=2)
    (root / "campaigns" / "right-now.yaml").write_text(
        "name: Right now\nchannel: sms\nwhat: {content: {body: Now}}\nwhen: {delivery: now}\n"
    )
    assert ct(root, "apply", "--auto-approve")[0] == 0
    for name in ("Sale 0 [sale-0]", "Sale 1 [sale-1]"):
        server.set_labels(server.by_name(name)[0], "Promotions")  # as each create asked
    code, out = ct(root, "plan", "--detailed-exitcode")
    assert code == 0 and "No changes" in out, out
    for path in (root / ".campaign-gitops").glob("state.db*"):
        path.unlink()
    code, out = ct(root, "plan", "--detailed-exitcode")
    assert code == 2 and "+ create" not in out, out
    assert out.count("<= adopt campaign") == 4
    assert ct(root, "apply", "--auto-approve")[0] == 0
    assert server.state.creates == 4  # found again by the NAME [ID] marker, never created twice
    assert sorted(map(len, server.live_by_name().values())) == [1, 1, 1, 1]
    code, out = ct(root, "plan", "--detailed-exitcode")
    assert code == 0 and "No changes" in out, out


@pytest.mark.parametrize(
    "fault",
    [
        {"throttle": 8},  # a burst of 429s
        {"errors": 3},  # 500s on the first requests (lists and creates)
        {"timeouts": 2},  # requests that hang past the client's timeout
        {"drop_after_create": 2},  # creates stored, then the connection dropped
        {"errors": 2, "only": "create"},  # a create answered 500: did it land? (it did not)
        {"timeouts": 2, "only": "create"},  # a create that timed out (nothing stored)
        {"throttle": 12, "only": "create"},  # creates throttled past 3 concurrent
    ],
    ids=lambda f: "-".join(map(str, f.values())),
)
def test_faults_converge_without_duplicates(
    server: FakeClevertap, tmp_path: Path, fault: dict[str, int | str]
) -> None:
    # 429s are retried for `timeout` seconds, creates at 3 a second: a throttled apply needs
    # seconds, never a second apply; hangs need a short timeout
    throttling = "throttle" in fault
    root = _repo(tmp_path, server, count=4, timeout=10 if throttling else 0.5)
    server.state.faults.hang = 1.5
    for name, value in fault.items():
        setattr(server.state.faults, name, value)
    code, out = ct(root, "apply", "--auto-approve")
    if code != 0 and not throttling:  # a fault may outlast the retries: apply again
        code, out = ct(root, "apply", "--auto-approve")
    assert code == 0, out
    names = _no_duplicates(server)
    assert len(names) == 5 and server.state.creates == 5
    assert ct(root, "plan", "--detailed-exitcode")[0] == 0


def test_fail_inside_http_200_names_the_campaign(server: FakeClevertap, tmp_path: Path) -> None:
    root = _repo(tmp_path, server, count=0)
    (root / "campaigns" / "flash-sms.yaml").write_text(
        SMS + "who: {control_group: {custom: VIP}}\n"
    )
    code, out = ct(root, "apply", "--auto-approve")
    assert code == 1 and "create campaign flash-sms failed: campaign flash-sms:" in out
    assert (
        "CleverTap /1/targets/create.json failed: No custom control group with name VIP is "
        "defined (code 400)"
    ) in out


def test_the_passcode_never_shows(server: FakeClevertap, tmp_path: Path) -> None:
    root = _repo(tmp_path, server, count=2)
    server.state.faults.errors = 2
    outputs = [
        ct(root, "-v", "plan", "--out", "plan.json", "--format", "json")[1],
        ct(root, "-v", "apply", "--auto-approve")[1],
        ct(root, "-v", "list")[1],
        ct(root, "state", "list")[1],
        run("--at", T0, "plan", cwd=root).stderr,  # no passcode set: a clear message
    ]
    assert "set CLEVERTAP_PASSCODE" in outputs[-1]
    files = [p.read_bytes() for p in root.rglob("*") if p.is_file()]
    for text in outputs:
        assert PASSCODE not in text
    for data in files:
        assert PASSCODE.encode() not in data


def test_regions_and_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEVERTAP_PASSCODE", PASSCODE)
    india = ClevertapBackend(ClevertapConfig(account_id="A", region="in1"))
    assert str(india.client.base_url) == "https://in1.api.clevertap.com"
    europe = ClevertapBackend(ClevertapConfig(account_id="A"))
    assert str(europe.client.base_url) == "https://api.clevertap.com"
    proxy = ClevertapBackend(ClevertapConfig(account_id="A", base_url="https://proxy:8080/"))
    assert str(proxy.client.base_url) == "https://proxy:8080"
    assert india.client.headers["X-CleverTap-Account-Id"] == "A"
    for backend in (india, europe, proxy):
        backend.close()


def test_estimate_through_estimate_only(
    server: FakeClevertap, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEVERTAP_PASSCODE", PASSCODE)
    backend = ClevertapBackend(ClevertapConfig(account_id=ACCOUNT, base_url=server.url))
    spec = CAMPAIGN_ADAPTER.validate_python(
        {
            "name": "E",
            "channel": "sms",
            "what": {"content": {"body": "x"}},
            "when": {"delivery": "now"},
        }
    )
    assert backend.estimate_reach(spec, NOW) == 4200 + len("E [estimate]")
    assert server.state.creates == 0  # estimate_only makes no campaign
    backend.close()


def test_body_mapping_round_trips() -> None:
    import yaml

    for text in (_push("Round trip"), SMS):
        spec = CAMPAIGN_ADAPTER.validate_python(yaml.safe_load(text)).spec_data()
        assert unsupported(spec) == []
        body = to_body(spec, "rt", NOW)
        back = CAMPAIGN_ADAPTER.validate_python(from_body(body, NOW)).spec_data()
        assert to_body(back, "rt", NOW) == body
        assert {
            k: back[k] for k in ("name", "channel", "what", "when", "goal", "who") if k in back
        } == {k: spec[k] for k in ("name", "channel", "what", "when", "goal", "who") if k in spec}
    popup = CAMPAIGN_ADAPTER.validate_python(yaml.safe_load(POPUP)).spec_data()
    assert unsupported(popup) == ["channel web_popup has no target_mode in the API"]


def test_report_rows_are_read_defensively() -> None:
    from campaign_gitops.backends.clevertap import _message, _rows

    seen = {"message id": 145, "message_name": "A [a]", "channel": "In-App", "labels": "X, Y",
            "start_date": "01 Dec, 2026 09:00:00", "status": "Running"}  # fmt: skip
    assert _message(seen) == {"id": 145, "name": "A [a]", "status": "running",
                              "scheduled_on": "01 Dec, 2026 09:00:00", "channel": "in_app",
                              "labels": ["X", "Y"]}  # fmt: skip
    assert _message({"id": "146", "name": "B", "channel": "carrier pigeon"}) == {
        "id": 146, "name": "B"}  # fmt: skip
    for row in ({"name": "no id"}, {"id": "x1", "name": "N"}, {"id": 1}, ["id", 1], None):
        assert _message(row) is None
    assert _rows({"status": "success", "messages": []}) == []
    assert _rows({"status": "success", "data": [{"id": 1}]}) == [{"id": 1}]
    assert _rows({"status": "success", "report": {"total": 1}}) is None


def _estimates(server: FakeClevertap) -> int:
    return sum(1 for path, body in server.state.log if body.get("estimate_only"))


def test_estimates_on_request_once_per_spec(server: FakeClevertap, tmp_path: Path) -> None:
    root = _repo(tmp_path, server, count=2)
    config = root / "campaign-gitops.toml"
    config.write_text(
        config.read_text() + '\n[approval]\napprovers = ["carol"]\nrequired_for = ["reach"]\n'
        "reach_above = 1000\n"
    )
    code, out = ct(root, "plan", "--estimate")
    assert code == 0, out
    reach = 4200 + len("Sale 0 [estimate]")  # the fake's estimate grows with the name
    assert f"+ create campaign sale-0 (published, reach ≈ {reach:,})" in out
    assert f"reaches an estimated {reach:,} users (above 1,000)" in out
    assert _estimates(server) == 3  # three creates; the policy and the display share them
    assert server.state.creates == 0
    server.state.log.clear()
    config.write_text(config.read_text().replace('required_for = ["reach"]', "required_for = []"))
    assert ct(root, "apply", "--auto-approve")[0] == 0
    assert _estimates(server) == 0  # apply spends no request on estimates


def test_report_from_result(server: FakeClevertap, tmp_path: Path) -> None:
    root = _repo(tmp_path, server, count=1)
    assert ct(root, "apply", "--auto-approve")[0] == 0
    made = server.dashboard("Welcome [welcome]", "inapp", datetime(2026, 12, 1, tzinfo=UTC))
    server.set_labels(made, "Onboarding")
    server.state.now = datetime(2026, 12, 3, tzinfo=UTC)  # the campaigns have run
    done = run("--at", "2026-12-03T00:00:00Z", "report", "--format", "json", cwd=root, env=ENV)
    assert done.returncode == 0, done.stderr
    rows = {r["id"]: r for r in json.loads(done.stdout)}
    assert rows["sale-0"]["status"] == "completed"
    assert (rows["sale-0"]["sent"], rows["sale-0"]["conversions"]) == (1000, 30)
    # made in the dashboard: found through the message report, reported like any other
    assert (rows["welcome"]["channel"], rows["welcome"]["labels"]) == ("in_app", ["Onboarding"])
    assert rows["welcome"]["sent"] == 1000


def test_import_says_why_it_cannot(server: FakeClevertap, tmp_path: Path) -> None:
    root = _repo(tmp_path, server, count=1)
    code, out = ct(root, "import")
    assert code == 1 and "lists campaigns' names and statuses, not their content" in out
    assert "the clevertap API has no labels: their descriptions are not imported" in out
    assert "Traceback" not in out
