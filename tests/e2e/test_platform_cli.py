from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from campaign_gitops.backends.base import Actor
from campaign_gitops.backends.local import LocalBackend
from campaign_gitops.desired.loader import read_worktree
from tests.e2e.cli import run
from tests.helpers import at

T0 = at("2026-11-23T10:00:00")


@pytest.fixture
def live_repo(repo: Path) -> Path:
    """The repo's own campaigns on a seeded local platform (created through the backend)."""
    (repo / "campaign-gitops.toml").write_text(
        'backend = "local"\n\n[filters.sms]\nchannel = ["sms", "whatsapp"]\n'
        '[filters.archive]\narchived = "only"\n'
    )
    assert (
        run(
            "--at", T0.isoformat(), "platform", "seed", "--users", "3000", "--seed", "4", cwd=repo
        ).returncode
        == 0
    )
    desired = read_worktree(repo, repo / "campaigns", repo / "labels.yaml")
    backend = LocalBackend(repo / ".campaign-gitops" / "platform.db")
    for label in desired.labels:
        backend.create_label(label)
    for key, doc in desired.campaigns.items():
        backend.create_campaign(
            key,
            doc.spec,
            publish=doc.spec.state == "active",
            actor=Actor("crm@shop.example"),
            now=T0,
        )
    backend.close()
    return repo


def test_list_json_has_the_documented_keys(live_repo: Path) -> None:
    result = run("--at", T0.isoformat(), "list", "--format", "json", cwd=live_repo)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 21
    assert {"id", "name", "channel", "status", "archived", "labels"} <= set(rows[0])
    assert {r["status"] for r in rows} == {"scheduled", "running"}


def test_at_shows_the_platform_as_it_will_be(live_repo: Path) -> None:
    later = run(
        "--at",
        "2027-01-15T00:00:00Z",
        "list",
        "--status",
        "completed",
        "--format",
        "json",
        cwd=live_repo,
    )
    completed = {r["id"] for r in json.loads(later.stdout)}
    assert {"holiday-banner-popup", "flash-sale-sms", "setup-reminder-inbox"} <= completed
    far = run(
        "--at", "2028-06-01T00:00:00Z", "list", "--archived", "--format", "json", cwd=live_repo
    )
    assert "holiday-banner-popup" in {r["id"] for r in json.loads(far.stdout)}


def test_filters_and_saved_filters(live_repo: Path) -> None:
    def ids(*args: str) -> set[str]:
        result = run("--at", T0.isoformat(), "list", *args, "--format", "json", cwd=live_repo)
        assert result.returncode == 0, result.stderr
        return {r["id"] for r in json.loads(result.stdout)}

    assert ids("--channel", "email") == {"monthly-newsletter", "flight-reminder-email"}
    assert ids("--type", "ab_test") == {"black-friday-push"}
    assert ids("--label", "Remarketing") == {
        "lapsed-buyers-facebook",
        "high-value-google-ads",
        "gen-z-tiktok",
    }
    assert ids("--delivery", "inaction") == {"cart-abandonment"}
    assert ids("--created-by", "nobody@x") == set()
    assert ids("--filter", "sms") == {
        "flash-sale-sms",
        "login-otp-sms",
        "winback-whatsapp",
        "order-shipped-whatsapp",
    }
    assert ids("--filter", "sms", "--channel", "sms") == {"flash-sale-sms", "login-otp-sms"}
    missing = run("list", "--filter", "nope", cwd=live_repo)
    assert missing.returncode == 1 and "no saved filter named 'nope'" in missing.stderr


def test_list_table_and_csv(live_repo: Path) -> None:
    table = run("--at", T0.isoformat(), "list", "--channel", "email", cwd=live_repo).stdout
    lines = table.splitlines()
    assert lines[0].split() == [
        "ID",
        "NAME",
        "CHANNEL",
        "TYPE",
        "STATUS",
        "DELIVERY",
        "LABELS",
        "CREATED_BY",
    ]
    assert len(lines) == 3
    text = run("--at", T0.isoformat(), "list", "--format", "csv", cwd=live_repo).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 21 and rows[0]["archived"] in ("True", "False")


def test_report_records_runs_due_by_at(live_repo: Path) -> None:
    result = run("--at", "2026-12-20T00:00:00Z", "report", "--format", "json", cwd=live_repo)
    assert result.returncode == 0, result.stderr
    rows = {r["id"]: r for r in json.loads(result.stdout)}
    assert rows["holiday-banner-popup"]["sent"] > 0
    assert rows["cart-abandonment"]["conversions"] >= 0
    assert rows["black-friday-push"]["sent"] == 0  # scheduled for 2027
    for row in rows.values():
        assert {
            "channel",
            "type",
            "status",
            "delivery",
            "labels",
            "created_by",
            "sent",
            "conversions",
            "conversion_rate",
        } <= set(row)
    table = run("--at", "2026-12-20T00:00:00Z", "report", cwd=live_repo)
    assert table.stdout.splitlines()[0].split()[-3:] == ["SENT", "CONVERSIONS", "CONVERSION_RATE"]
    csv_text = run(
        "--at", "2026-12-20T00:00:00Z", "report", "--format", "csv", cwd=live_repo
    ).stdout
    assert csv_text.splitlines()[0] == (
        "id,channel,type,status,delivery,labels,created_by,sent,conversions,conversion_rate"
    )


def test_seed_is_deterministic_through_the_cli(repo: Path) -> None:
    path = repo / ".campaign-gitops" / "platform.profiles.npz"
    assert (
        run(
            "--at", "2026-11-23T00:00:00Z", "platform", "seed", "--users", "500", cwd=repo
        ).returncode
        == 0
    )
    first = path.read_bytes()
    result = run("--at", "2026-11-23T00:00:00Z", "platform", "seed", "--users", "500", cwd=repo)
    assert result.stdout.startswith("seeded 500 users and ")
    assert path.read_bytes() == first


def _report(repo: Path, when: str) -> dict[str, dict[str, object]]:
    result = run("--at", when, "report", "--format", "json", cwd=repo)
    assert result.returncode == 0, result.stderr
    return {r["id"]: r for r in json.loads(result.stdout)}


def test_a_report_at_an_earlier_time_counts_nothing_recorded_for_later(
    live_repo: Path, tmp_path: Path
) -> None:
    """Issue #18: after `--at 2027-01-15 report`, a report at an earlier time counts only the
    runs, sends and conversions up to its time, as the same report run first does."""
    twin = tmp_path / "twin"
    shutil.copytree(live_repo, twin)
    later = _report(live_repo, "2027-01-15T00:00:00Z")
    assert later["exit-discount"]["sent"] > 0  # starts 2026-12-01
    before = _report(live_repo, "2026-11-21T00:00:00Z")
    assert before["exit-discount"]["sent"] == 0
    assert {r["sent"] for r in before.values()} == {0}  # nothing published yet
    assert {r["status"] for r in before.values()} == {"draft"}
    mid = _report(live_repo, "2026-12-15T00:00:00Z")
    assert mid["flash-sale-sms"]["runs"] == 1 < later["flash-sale-sms"]["runs"]
    assert mid == _report(twin, "2026-12-15T00:00:00Z")
    assert before == _report(twin, "2026-11-21T00:00:00Z")


def test_report_shows_conversions_of_campaigns_with_a_goal(live_repo: Path) -> None:
    rows = _report(live_repo, "2027-01-15T00:00:00Z")
    goals = {
        key
        for key, doc in read_worktree(
            live_repo, live_repo / "campaigns", live_repo / "labels.yaml"
        ).campaigns.items()
        if doc.spec.goal is not None
    }
    converted = {key for key, row in rows.items() if row["conversions"]}
    assert {"holiday-banner-popup", "monthly-newsletter", "cart-abandonment"} <= converted
    assert converted <= goals  # never without a goal
    for key in converted:
        assert 0 < rows[key]["conversion_rate"] < 0.1


WRITER = """
import sys
from datetime import datetime, timezone
from pathlib import Path
from campaign_gitops.backends.base import Actor
from campaign_gitops.backends.local import LocalBackend
from campaign_gitops.models import CAMPAIGN_ADAPTER, Label
backend = LocalBackend(Path(sys.argv[1]))
name = sys.argv[2]
now = datetime(2026, 11, 23, tzinfo=timezone.utc)
backend.create_label(Label(name=f"label-{name}"))
for i in range(40):
    spec = CAMPAIGN_ADAPTER.validate_python({
        "name": f"{name} {i}", "channel": "push", "labels": [f"label-{name}"],
        "what": {"content": {"title": "t", "body": "b"}}, "when": {"delivery": "now"}})
    c = backend.create_campaign(f"{name}-{i}", spec, publish=i % 2 == 0, actor=Actor(name),
                                now=now)
    backend.get_campaign(c.platform_id, now)
    backend.list_campaigns(now)
"""


def test_two_processes_share_one_platform_file(tmp_path: Path) -> None:
    db = tmp_path / "platform.db"
    LocalBackend(db).close()
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), name], stderr=subprocess.PIPE, text=True
        )
        for name in ("a", "b")
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
    with sqlite3.connect(db) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert check.execute("SELECT COUNT(*) FROM campaigns").fetchone() == (80,)
        assert check.execute("SELECT COUNT(*) FROM campaign_labels").fetchone() == (80,)
