"""`calendar` as a person sees it: the real CLI on a copy of the repository, the page read back
with the standard library's HTML parser (tests/e2e/calendar_dom.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from campaign_gitops.desired.loader import read_worktree
from tests.e2e.calendar_dom import (
    HOSTILE_NAME,
    LONG_SMS,
    SANITIZED_BODY,
    SANITIZED_HTML,
    Node,
    add_hostile_campaigns,
    parse,
)
from tests.e2e.cli import run

AT = "2026-12-01T00:00:00Z"
START = datetime(2026, 12, 1, tzinfo=UTC)
DAYS = 31
WINDOW = ("--from", "2026-12-01", "--to", "2026-12-31")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _daily(hour: int) -> list[datetime]:
    return [START + timedelta(days=d, hours=hour) for d in range(DAYS)]


# every campaign of the repository (and the hostile ones), its sends in December 2026 as a
# person works them out from its file: (kind of mark, times)
EXPECTED: dict[str, tuple[str, list[datetime]]] = {
    "churn-risk-webhook": ("run", _daily(1)),
    "lapsed-buyers-facebook": ("run", _daily(2)),
    "winback-whatsapp": (  # Mondays and Thursdays 11:00 +05:30 from Thursday 3 December
        "run",
        [_utc(f"2026-12-{d:02d}T05:30:00Z") for d in (3, 7, 10, 14, 17, 21, 24, 28, 31)],
    ),
    "monthly-newsletter": ("run", [_utc("2026-12-07T08:00:00Z")]),
    "high-value-google-ads": ("run", [_utc(f"2026-12-{d:02d}T03:00:00Z") for d in (6, 13, 20, 27)]),
    "flash-sale-sms": ("date", [_utc("2026-12-12T11:00:00Z"), _utc("2026-12-19T11:00:00Z")]),
    "gen-z-tiktok": ("once", [_utc("2026-12-05T00:00:00Z")]),
    "setup-reminder-inbox": ("once", [_utc("2026-12-03T04:30:00Z")]),
    "home-banner-native": ("once", [_utc("2026-12-14T18:30:00Z")]),
    "exit-discount": ("once", [START]),
    "pricing-page-banner": ("once", [START]),
    "black-friday-push": ("once", []),  # November 2027
    "holiday-banner-popup": ("on_publish", [START]),  # delivery now: when apply publishes it
    "hostile-email": ("once", [_utc("2026-12-10T09:00:00Z")]),
    "long-sms": ("run", [_utc(f"2026-12-{d:02d}T17:00:00Z") for d in (4, 11, 18, 25)]),
}
BANDS = {  # triggered and API campaigns: one band, from their start (or now) to the end
    "cart-abandonment",
    "first-purchase-celebration",
    "flight-reminder-email",
    "login-otp-sms",
    "order-shipped-whatsapp",
    "price-drop-web-push",
    "signup-segment-export",
    "welcome-push",
    "hostile-in-app",
}


def _calendar(repo: Path, *args: str, at: str = AT) -> Node:
    result = run("--at", at, "calendar", *WINDOW, "--out", "out/cal.html", *args, cwd=repo)
    assert result.returncode == 0, result.stderr
    assert "wrote " in result.stdout and "out/cal.html" in result.stdout
    return parse((repo / "out" / "cal.html").read_text(encoding="utf-8"))


def _time(left: str) -> datetime:
    """Where a mark is drawn, as the time it stands for (what the page's script shows)."""
    percent = float(left.removeprefix("left:").split("%")[0])
    at = START + timedelta(days=DAYS) * percent / 100
    return at.replace(second=0, microsecond=0) + timedelta(minutes=round(at.second / 60))


def _style(node: Node, key: str) -> str:
    for part in (node.get("style") or "").split(";"):
        if part.startswith(f"{key}:"):
            return part
    raise AssertionError(f"no {key} in {node.get('style')}")


@pytest.fixture
def hostile_repo(repo: Path) -> Path:
    add_hostile_campaigns(repo)
    return repo


def test_every_campaign_and_its_sends_day_by_day(hostile_repo: Path) -> None:
    dom = _calendar(hostile_repo)
    ids = set(
        read_worktree(
            hostile_repo, hostile_repo / "campaigns", hostile_repo / "labels.yaml"
        ).campaigns
    )
    assert ids == set(EXPECTED) | BANDS
    rows = {r.get("data-campaign"): r for r in dom.find_all("div", class_="row")}
    assert set(rows) == ids
    for cid, (kind, times) in EXPECTED.items():
        marks = rows[cid].find_all("i")
        assert [_time(_style(m, "left")) for m in marks] == times, cid
        css = {"date": "d", "on_publish": "p"}.get(kind)
        assert all(m.get("class") == css for m in marks), cid
        assert not rows[cid].find_all("b"), cid
    for cid in BANDS:
        (band,) = rows[cid].find_all("b")
        assert not rows[cid].find_all("i")
        left, width = float(_style(band, "left")[5:-1]), float(_style(band, "width")[6:-1])
        # from its start (or now, when it has none: apply publishes it then); no end in December
        begins = _utc("2026-12-01T03:30:00Z") if cid == "welcome-push" else START
        assert (_time(f"left:{left}%"), round(left + width, 3)) == (begins, 100.0), cid
    # 31 days, each a column headed by its date; the weekends shaded
    days = dom.find_all("div", class_="day")
    assert [d.text().strip() for d in days][:3] == ["Dec1", "W2", "T3"]
    assert len(days) == DAYS
    assert sum("we" in (d.get("class") or "") for d in days) == 8
    # not on the platform yet: new, and the draft drawn as a draft
    assert {r.get("data-status") for cid, r in rows.items() if cid != "long-sms"} == {"new"}
    assert rows["long-sms"].get("data-status") == "draft"
    assert "st-draft" in (rows["long-sms"].get("class") or "")
    # DND hours are drawn on the rows of campaigns that have them
    dnd = {
        cid
        for cid, r in rows.items()
        if "dnd" in (r.find_all("div", class_="track")[0].get("class") or "")
    }
    assert dnd == {"cart-abandonment", "flash-sale-sms", "welcome-push"}
    assert "DND 21:00–09:00 (discard)" in _article(dom, "flash-sale-sms").text()


def _article(dom: Node, cid: str) -> Node:
    (article,) = dom.find_all("article", data_campaign=cid)
    return article


def test_previews_drawn_like_their_channel(hostile_repo: Path) -> None:
    dom = _calendar(hostile_repo)
    articles = dom.find_all("article")
    assert len(articles) == len(EXPECTED) + len(BANDS)
    for article in articles:
        assert article.find_all("div", class_="preview"), article.get("data-campaign")
    push = _article(dom, "welcome-push")
    assert "Welcome!" in push.text() and "app://offers" in push.text()
    ab = _article(dom, "black-friday-push").find_all("div", class_="preview")
    assert [p.find_all("h4")[0].text() for p in ab] == ["Variant A · 50%", "Variant B · 50%"]
    assert "variants" in (ab[0].parent.get("class") if ab[0].parent else "")
    tiers = _article(dom, "setup-reminder-inbox").find_all("div", class_="preview")
    assert [p.find_all("h4")[0].text() for p in tiers] == [
        "Customer Type = Platinum",
        "Customer Type = Gold",
        "Customer Type: any other value",
    ]
    email = _article(dom, "monthly-newsletter")
    text = email.text()
    assert "What's new this month" in text and "New arrivals, stories" in text
    assert "The Shop <news@shop.example.com>" in text
    (frame,) = email.find_all("iframe")
    assert frame.get("sandbox") == "" and "<h1>This month at The Shop</h1>" in (
        frame.get("srcdoc") or ""
    )
    sms = _article(dom, "flash-sale-sms").find_all("div", class_="count")[0]
    assert sms.get("data-segments") == "1" and sms.text().startswith("76 characters, GSM-7")
    long_sms = _article(dom, "long-sms").find_all("div", class_="count")[0]
    assert long_sms.get("data-segments") == "2"
    assert long_sms.text().startswith(f"{len(LONG_SMS)} characters, GSM-7")
    whatsapp = _article(dom, "winback-whatsapp")
    assert [v.text() for v in whatsapp.find_all("div", class_="var")] == [
        "{{1}} = {{Profile.first_name}}",
        "{{2}} = WINBACK15",
    ]
    assert "winback_offer_v2" in whatsapp.text()
    (custom,) = _article(dom, "pricing-page-banner").find_all("iframe")
    assert custom.get("srcdoc") == '<div class="nudge">Save 20% with the annual plan</div>'
    webhook = _article(dom, "churn-risk-webhook").text()
    assert "crm-churn-intake" in webhook and "identity, email, profile_properties" in webhook
    # filters: every channel and label of the campaigns, checked
    boxes = dom.find_all("input", type="checkbox")
    channels = {b.get("value") for b in boxes if b.get("name") == "channel"}
    assert len(channels) == 16  # every channel of the repository's campaigns
    labels = {b.get("value") for b in boxes if b.get("name") == "label"}
    assert {"Onboarding", "Promotions", "Data Export", ""} <= labels


def test_hostile_text_stays_text(hostile_repo: Path) -> None:
    dom = _calendar(hostile_repo)
    html = (hostile_repo / "out" / "cal.html").read_text(encoding="utf-8")
    scripts = dom.find_all("script")
    assert len(scripts) == 1 and "pwned" not in scripts[0].text()  # the page's own only
    article = _article(dom, "hostile-email")
    (heading,) = article.find_all("h3")
    assert heading.text() == HOSTILE_NAME and not heading.children  # text, no element
    assert "<Sender>" in article.text() and "<i>Subject</i>" in article.text()
    row = dom.find_all("div", data_campaign="hostile-email")[0]
    assert row.find_all("a")[0].text() == HOSTILE_NAME
    (frame,) = article.find_all("iframe")
    assert frame.get("sandbox") == ""  # no allow-scripts: the body's script never runs
    assert frame.get("srcdoc") == SANITIZED_BODY  # and the script is gone, kept by no frame
    (custom,) = _article(dom, "hostile-in-app").find_all("iframe")
    assert custom.get("sandbox") == "" and custom.get("srcdoc") == SANITIZED_HTML
    assert '<script>document.title="pwned-name"' not in html
    assert "&lt;script&gt;document.title=&#34;pwned-name&#34;&lt;/script&gt;" in html
    # only the page's own script may run, and nothing is fetched
    (policy,) = dom.find_all("meta", http_equiv="Content-Security-Policy")
    content = policy.get("content") or ""
    assert "default-src 'none'" in content and "script-src 'sha256-" in content
    assert not dom.find_all("img") and not dom.find_all("link")
    assert not [n for n in dom.iter() if n.get("src")]


def test_statuses_come_from_the_platform(hostile_repo: Path) -> None:
    applied = run("--at", "2026-11-30T10:00:00Z", "apply", "--auto-approve", "-q", cwd=hostile_repo)
    assert applied.returncode == 0, applied.stderr
    at = "2026-12-07T10:00:00Z"
    listed = run("--at", at, "list", "--all", "--format", "json", cwd=hostile_repo)
    live = {
        r["id"]: "archived" if r["archived"] else r["status"] for r in json.loads(listed.stdout)
    }
    dom = _calendar(hostile_repo, at=at)
    rows = {r.get("data-campaign"): r.get("data-status") for r in dom.find_all("div", class_="row")}
    assert rows == live
    assert {"running", "scheduled", "completed", "draft"} <= set(rows.values())
    legend = {s.text() for s in dom.find_all("p", class_="legend")[0].find_all("span")}
    assert {"running", "scheduled", "completed"} <= legend
    # the now line and the evaluation time in the header
    assert dom.find_all("div", class_="nowline")
    assert "evaluated at 2026-12-07T10:00:00+00:00" in dom.find_all("header")[0].text()


def test_default_window_timezone_and_stdout(repo: Path) -> None:
    result = run(
        "--at", "2026-12-05T23:30:00Z", "calendar", "--tz", "Asia/Kolkata", "--out", "-", cwd=repo
    )
    assert result.returncode == 0, result.stderr
    dom = parse(result.stdout)
    days = dom.find_all("div", class_="day")
    assert len(days) == 31  # today and 30 days ahead
    assert days[0].get("title") == "Sunday 06 December 2026"  # 05:00 on the 6th in Kolkata
    assert "times in Asia/Kolkata" in dom.find_all("header")[0].text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "2026-12-10", "--to", "2026-12-01"), "--to 2026-12-01 is before --from"),
        (("--from", "12/01/2026"), "--from '12/01/2026' is not a date"),
        (("--tz", "Mars/Olympus"), "--tz 'Mars/Olympus' is not a time zone name"),
        (("--from", "2026-01-01", "--to", "2027-06-01"), "at most 366"),
        (("--from", "9999-12-20"), "runs past the year 9999"),
    ],
)
def test_bad_windows_are_errors_not_tracebacks(
    repo: Path, args: tuple[str, ...], message: str
) -> None:
    result = run("--at", AT, "calendar", *args, cwd=repo)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr


def test_unwritable_out_is_an_error(repo: Path) -> None:
    (repo / "taken").write_text("a file, not a folder")
    result = run("--at", AT, "calendar", "--out", "taken/cal.html", cwd=repo)
    assert result.returncode == 1
    assert "error:" in result.stderr and "Traceback" not in result.stderr


def test_help_does_not_import_jinja2() -> None:
    code = (
        "import sys\n"
        "from campaign_gitops.cli import main\n"
        "assert main(['--help']) == 0\n"
        "assert main(['calendar', '--help']) == 0\n"
        "print(sorted(m for m in sys.modules if m.startswith(('jinja2', 'markupsafe'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("[]")
    assert "--from DATE" in done.stdout and "--out FILE" in done.stdout


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_a_pull_requests_calendar_reads_its_head_as_data_with_the_bases_config(
    repo: Path,
) -> None:
    """As plan.yml draws it: the head's campaign files, the base's config, the statuses from the
    state store (--no-refresh: no platform credentials)."""
    (repo / ".gitignore").write_text(".campaign-gitops/\nout/\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.email=a@b.c", "-c", "user.name=A", "commit", "-q", "-m", "base")
    assert run("--at", AT, "apply", "--auto-approve", cwd=repo).returncode == 0
    base = _git(repo, "rev-parse", "HEAD")
    _git(repo, "switch", "-q", "-c", "spring")
    tiktok = next((repo / "campaigns").rglob("gen-z-tiktok.yaml"))
    copy = tiktok.with_name("spring-tiktok.yaml")
    copy.write_text(tiktok.read_text().replace("name: ", "name: Spring ", 1))
    # the pull request's config would point elsewhere: the base's is used
    (repo / "campaign-gitops.toml").write_text('backend = "local"\ncampaigns_dir = "nowhere"\n')
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.email=a@b.c", "-c", "user.name=A", "commit", "-q", "-m", "spring")
    head = _git(repo, "rev-parse", "HEAD")
    _git(repo, "switch", "-q", "main")
    dom = _calendar(repo, "--ref", head, "--base", base, "--no-refresh")
    rows = {r.get("data-campaign"): r for r in dom.find_all("div", class_="row")}
    assert "spring-tiktok" in rows and rows["spring-tiktok"].get("data-status") == "new"
    assert rows["gen-z-tiktok"].get("data-status") == "scheduled"  # as the state store has it
    assert not (repo / "campaigns" / "spring-tiktok.yaml").exists()  # the work tree is main's
    done = run("--at", AT, "calendar", "--base", base, cwd=repo)
    assert done.returncode == 2 and "give --ref as well" in done.stderr, done.stderr
