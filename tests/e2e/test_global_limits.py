"""Global limits and blast radius through the CLI, on a temp repo with the local backend: a
limit skipping users in the runs and `report` counting them, the plan's forecast (a warning,
or a blocked change), `[safety]` refusing a plan and --force passing; after each apply, the
next plan is empty."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.e2e.cli import run

T0 = "2026-11-23T10:00:00Z"
LATER = "2026-11-25T23:00:00Z"  # three daily runs of each campaign


def _daily(name: str, plan: str, at: str, *extra: str) -> str:
    """A daily push to the users of one plan (free, plus or pro)."""
    return "\n".join([
        f"name: {name}", "channel: push", "labels: [Promo]",
        "who:", "  segment:", f"    user_properties: [{{name: Plan, op: equals, value: {plan}}}]",
        "what:", "  content: {title: Hi, body: Hello}",
        "when:", "  delivery: recurring", "  start: '2026-11-23T00:00:00Z'",
        f"  recurring: {{every: 1, unit: day, at: '{at}'}}", *extra, "",
    ])  # fmt: skip


def cg(root: Path, *args: str, at: str = T0) -> tuple[int, str, str]:
    done = run("--at", at, *args, cwd=root)
    return done.returncode, done.stdout, done.stderr


def _config(root: Path, text: str) -> None:
    (root / "campaign-gitops.toml").write_text('backend = "local"\n\n' + text)


def _write(root: Path, key: str, body: str) -> None:
    (root / "campaigns" / f"{key}.yaml").write_text(body)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return _repo(tmp_path)


def _repo(tmp_path: Path) -> Path:
    """daily-a (free users, noon) applied on a seeded platform; push limited to 1 a day."""
    (tmp_path / "campaigns").mkdir(parents=True)
    (tmp_path / "labels.yaml").write_text("labels:\n  - name: Promo\n")
    _config(tmp_path, '[global_limits]\npush = "1/day"\n')
    assert cg(tmp_path, "platform", "seed", "--users", "1000", "--seed", "1")[0] == 0
    _write(tmp_path, "daily-a", _daily("A", "free", "12:00"))
    code, out, err = cg(tmp_path, "apply", "--auto-approve")
    assert code == 0, out + err
    return tmp_path


def test_the_plan_warns_then_the_runs_skip_and_report_counts(root: Path) -> None:
    _write(root, "daily-b", _daily("B", "free", "18:00"))
    code, out, err = cg(root, "plan")
    assert code == 0, out + err
    warning = [line.strip() for line in out.splitlines() if "warning: global limits" in line]
    assert len(warning) == 1, out
    assert "2026-11-23:" in warning[0] and "past push 1/day, colliding with daily-a (" in warning[0]
    found = re.search(r"2026-11-23: ([0-9,]+) user", warning[0])
    assert found is not None
    free = int(found[1].replace(",", ""))
    assert free > 0
    assert f"Blast radius: {free:,} user(s) reached by the changes together" in out
    markdown = cg(root, "plan", "--format", "markdown")[1]
    assert "#### ⚠️ Global limits: users pushed past them" in markdown
    data = json.loads(cg(root, "plan", "--format", "json")[1])
    assert data["limits"]["forecast"]["changes"]["daily-b"] == [
        {"day": "2026-11-23", "limit": "push 1/day", "users": free, "collides": {"daily-a": free}}
    ]
    assert data["limits"]["blast"]["largest"] == {"key": "daily-b", "reach": free}
    code, out, err = cg(root, "apply", "--auto-approve")
    assert code == 0, out + err
    assert cg(root, "plan", "--detailed-exitcode")[0] == 0
    # every free user has daily-a's noon push each day: daily-b's evening push is skipped
    rows = {r["id"]: r for r in json.loads(cg(root, "report", "--format", "json", at=LATER)[1])}
    assert (rows["daily-a"]["sent"], rows["daily-a"]["limited"]) == (3 * free, 0)
    assert (rows["daily-b"]["sent"], rows["daily-b"]["limited"]) == (0, 3 * free)
    table = cg(root, "report", at=LATER)[1].splitlines()
    assert table[0].split()[-4:] == ["LIMITED", "SENT", "CONVERSIONS", "CONVERSION_RATE"]


def test_a_report_at_t_is_the_same_whatever_later_times_came_first(tmp_path: Path) -> None:
    """Under limits every run depends on the runs before it, whichever campaign's: a report
    at T is the same whether a later report recorded runs first or not."""
    reports = []
    for name, first in (("ahead", LATER), ("direct", None)):
        repo = _repo(tmp_path / name)
        _write(repo, "daily-b", _daily("B", "free", "09:00"))  # before daily-a each day
        _write(repo, "daily-c", _daily("C", "free", "18:00"))
        assert cg(repo, "apply", "--auto-approve")[0] == 0
        if first is not None:
            assert cg(repo, "report", at=first)[0] == 0
        rows = json.loads(cg(repo, "report", "--format", "json", at="2026-11-24T13:00:00Z")[1])
        reports.append({r["id"]: (r["sent"], r["limited"]) for r in rows})
    assert reports[0] == reports[1]
    free = reports[0]["daily-b"][0]
    assert free > 0
    # 11-23: daily-a at noon first, daily-c at 18:00 skipped; daily-b starts on 11-24 at 09:00
    # and takes the day from daily-a
    assert reports[0]["daily-a"] == (free, free) and reports[0]["daily-b"] == (free, 0)
    assert reports[0]["daily-c"] == (0, free)


def test_a_campaign_ignoring_the_limits_is_not_skipped(root: Path) -> None:
    extra = ("  preferences: {ignore_global_limits: true}",)
    _write(root, "urgent", _daily("Urgent", "free", "18:00", *extra))
    assert cg(root, "apply", "--auto-approve")[0] == 0
    assert cg(root, "plan", "--detailed-exitcode")[0] == 0
    rows = {r["id"]: r for r in json.loads(cg(root, "report", "--format", "json", at=LATER)[1])}
    assert rows["urgent"]["limited"] == 0 and rows["urgent"]["sent"] == rows["daily-a"]["sent"]


def test_dwell_and_block_make_a_blocked_change(root: Path) -> None:
    _config(root, '[global_limits]\ndwell = "2h"\non_exceed = "block"\n')
    _write(root, "daily-c", _daily("C", "free", "13:00"))
    code, out, err = cg(root, "plan")
    assert code == 1, out + err
    assert "! create campaign daily-c (published): BLOCKED" in out
    assert "past the global limits" in out and 'on_exceed = "block"' in out
    assert "remedy: narrow its audience or move its schedule" in out
    assert "past dwell 2h, colliding with daily-a" in out
    code, out, err = cg(root, "apply", "--auto-approve")
    assert code == 1 and "blocked" in err
    # three hours apart is past the dwell time: nothing collides, nothing is blocked
    _write(root, "daily-c", _daily("C", "free", "15:00"))
    assert cg(root, "apply", "--auto-approve")[0] == 0
    assert cg(root, "plan", "--detailed-exitcode")[0] == 0


def test_max_reach_refuses_the_plan_and_force_passes(root: Path) -> None:
    _config(root, "[safety]\nmax_reach = 100\n")
    _write(root, "weekly-pro", _daily("Pro", "pro", "09:00"))
    code, out, err = cg(root, "plan")
    assert code == 1, out + err
    assert "REFUSED (plan and apply with --force to go ahead)" in out
    assert "more than safety.max_reach (100)" in out
    code, out, err = cg(root, "apply", "--auto-approve")
    assert code == 1 and "over the [safety] thresholds" in err and "nothing was applied" in err
    assert "+ create campaign weekly-pro" in cg(root, "plan")[1]  # still to do
    code, out, err = cg(root, "plan", "--force", "--detailed-exitcode")
    assert code == 2 and "going ahead (--force)" in out
    code, out, err = cg(root, "apply", "--auto-approve", "--force")
    assert code == 0, out + err
    assert cg(root, "plan", "--detailed-exitcode")[0] == 0


def test_max_changed_percent_counts_managed_campaigns(root: Path) -> None:
    for key, plan in (("b", "plus"), ("c", "pro")):
        _write(root, key, _daily(key.upper(), plan, "08:00"))
    assert cg(root, "apply", "--auto-approve")[0] == 0
    _config(root, "[safety]\nmax_changed_percent = 50\nmin_managed = 3\n")
    for key, plan in (("b", "plus"), ("c", "pro")):
        _write(root, key, _daily(key.upper() + " again", plan, "08:00"))
    code, out, err = cg(root, "plan")
    assert code == 1, out + err
    assert "2 of 3 managed campaigns (66.7%), more than safety.max_changed_percent (50.0%)" in out
    assert cg(root, "apply", "--auto-approve")[0] == 1
    assert cg(root, "apply", "--auto-approve", "--force")[0] == 0
    assert cg(root, "plan", "--detailed-exitcode")[0] == 0


def test_a_plan_without_the_profiles_says_it_cannot_tell(root: Path) -> None:
    _write(root, "daily-b", _daily("B", "free", "18:00"))
    code, out, err = cg(root, "plan", "--no-refresh")
    assert code == 0, out + err
    assert "Note: global limits: no forecast: the plan is not refreshed" in out


def test_bad_limits_are_config_errors_at_their_line(root: Path) -> None:
    _config(root, '[global_limits]\npush = "3/dy"\ndwell = "1m"\n')
    code, _, err = cg(root, "plan")
    assert code == 1 and "Traceback" not in err
    assert 'campaign-gitops.toml:4:1: global_limits.push: "3/dy" is not a limit' in err
    assert "campaign-gitops.toml:5:1: global_limits.dwell" in err


SALE = """name: Sale
channel: push
who: {segment: {user_properties: [{name: Plan, op: equals, value: free}]}}
what: {content: {title: Hi, body: Hello}}
when: {delivery: on_date_time, start: '2026-12-01T09:00:00Z'}
"""


def test_clevertap_says_it_cannot_tell(tmp_path: Path) -> None:
    from tests.fake_clevertap import ACCOUNT, PASSCODE, FakeClevertap

    (tmp_path / "campaigns").mkdir()
    (tmp_path / "labels.yaml").write_text("labels:\n  - name: Promo\n")
    _write(tmp_path, "sale", SALE)
    with FakeClevertap() as server:
        (tmp_path / "campaign-gitops.toml").write_text(
            f'backend = "clevertap"\n\n[clevertap]\naccount_id = "{ACCOUNT}"\n'
            f'base_url = "{server.url}"\n\n[global_limits]\npush = "1/day"\n'
        )
        done = run("--at", T0, "plan", cwd=tmp_path, env={"CLEVERTAP_PASSCODE": PASSCODE})
    assert "Note: global limits: no forecast: the clevertap backend cannot tell" in done.stdout
    assert "Blast radius: reach unknown" in done.stdout
