"""The calendar page in a real browser: Debian's headless Chromium (`make chromium` installs it;
missing, this test fails: it is never skipped). The page is drawn to a PNG that must not be
blank, and its DOM after its script ran must hold every campaign and every preview, with no
hostile campaign text having run."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from campaign_gitops.desired.loader import read_worktree
from tests.e2e.calendar_dom import (
    HOSTILE_BODY,
    HOSTILE_NAME,
    SANITIZED_BODY,
    add_hostile_campaigns,
    parse,
)
from tests.e2e.cli import run


def chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None
    )
    if found is None:
        pytest.fail("Chromium is not installed: `make chromium` installs Debian's chromium package")
    return found


def browse(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Headless Chromium on the page; as root without its sandbox (it refuses root else)."""
    command = [
        chromium(),
        "--headless",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *(["--no-sandbox"] if os.geteuid() == 0 else []),
        *args,
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done


def colours(png: bytes) -> int:
    """Distinct colours of an 8-bit RGB or RGBA PNG (stdlib zlib; numpy for the rows)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, data = 8, b""
    width = height = channels = 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, body = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour_type = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour_type in (2, 6), (depth, colour_type)
            channels = 3 if colour_type == 2 else 4
        elif kind == b"IDAT":
            data += body
    raw = zlib.decompress(data)
    stride = width * channels
    previous = np.zeros(stride, dtype=np.int64)
    rows = []
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int64)
        if kind == 1:  # sub: each byte adds the one a pixel before it
            line = line.reshape(width, channels).cumsum(axis=0).reshape(-1) % 256
        elif kind == 2:
            line = (line + previous) % 256
        elif kind in (3, 4):  # average, paeth: byte by byte
            out = line.tolist()
            up = previous.tolist()
            for i in range(stride):
                a = out[i - channels] if i >= channels else 0
                b, c = up[i], up[i - channels] if i >= channels else 0
                if kind == 3:
                    out[i] = (out[i] + (a + b) // 2) % 256
                else:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    near = a if pa <= pb and pa <= pc else b if pb <= pc else c
                    out[i] = (out[i] + near) % 256
            line = np.array(out, dtype=np.int64)
        previous = line
        rows.append(line.astype(np.uint8))
    pixels = np.stack(rows).reshape(-1, channels)[:, :3].astype(np.uint32)
    packed = pixels[:, 0] << 16 | pixels[:, 1] << 8 | pixels[:, 2]
    return len(np.unique(packed))


def test_the_page_in_headless_chromium(repo: Path, tmp_path: Path) -> None:
    add_hostile_campaigns(repo)
    applied = run("--at", "2026-11-30T10:00:00Z", "apply", "--auto-approve", "-q", cwd=repo)
    assert applied.returncode == 0, applied.stderr
    made = run("--at", "2026-12-07T10:00:00Z", "calendar", "--out", "cal.html", cwd=repo)
    assert made.returncode == 0, made.stderr
    page = repo / "cal.html"
    shot = tmp_path / "calendar.png"
    browse(page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2000")
    assert colours(shot.read_bytes()) > 40  # a blank or failed page has a handful

    dumped = browse(page, tmp_path / "profile", "--dump-dom").stdout.decode()
    dom = parse(dumped)
    (html,) = dom.find_all("html")
    ids = set(read_worktree(repo, repo / "campaigns", repo / "labels.yaml").campaigns)
    assert html.get("data-shown") == str(len(ids))  # the page's script ran, every one shown
    (shown,) = dom.find_all("span", id="shown")
    assert shown.text() == f"{len(ids)} of {len(ids)} campaigns shown"
    assert {r.get("data-campaign") for r in dom.find_all("div", class_="row")} == ids
    articles = {a.get("data-campaign"): a for a in dom.find_all("article")}
    assert set(articles) == ids
    for cid, article in articles.items():
        assert article.find_all("div", class_="preview"), cid
    assert len(articles["black-friday-push"].find_all("div", class_="preview")) == 2
    frames = dom.find_all("iframe")
    assert len(frames) == 5 and all(f.get("sandbox") == "" for f in frames)
    # the hostile campaign's name is text; no script of a campaign ran
    (title,) = dom.find_all("title")
    assert "pwned" not in title.text() and "pwned" not in dumped.split("<script>")[0][:2000]
    assert articles["hostile-email"].find_all("h3")[0].text() == HOSTILE_NAME
    assert len(dom.find_all("script")) == 1


def test_a_large_page_makes_its_frames_near_the_viewport(tmp_path: Path) -> None:
    """Past 200 HTML previews the page holds each one as data, made into the same sandboxed
    frame by the page's script when it scrolls near: the hostile body still never runs."""
    repo = tmp_path / "repo"
    (repo / "campaigns").mkdir(parents=True)
    (repo / "labels.yaml").write_text("labels: []\n")
    (repo / "campaign-gitops.toml").write_text('backend = "local"\n')
    body = HOSTILE_BODY.replace("'", "''")
    for i in range(201):
        (repo / "campaigns" / f"mail-{i:03d}.yaml").write_text(
            f"name: Mail {i:03d}\nchannel: email\nwhat:\n  content:\n"
            f"    subject: Hello\n    body: '{body}'\n    sender_name: Shop\n"
            "when:\n  delivery: on_date_time\n  start: '2026-12-10T09:00:00Z'\n"
        )
    made = run("--at", "2026-12-01T00:00:00Z", "calendar", "--out", "cal.html", cwd=repo)
    assert made.returncode == 0, made.stderr
    page = repo / "cal.html"
    static = parse(page.read_text(encoding="utf-8"))
    assert not static.find_all("iframe")
    held = static.find_all("div", class_="frame")
    assert len(held) == 201 and all(d.get("data-srcdoc") == SANITIZED_BODY for d in held)

    dumped = browse(
        page,
        tmp_path / "profile",
        "--dump-dom",
        "--window-size=1280,8000",
    )
    dom = parse(dumped.stdout.decode())
    frames = dom.find_all("iframe")
    assert 0 < len(frames) < 201  # those near the viewport only
    assert all(f.get("sandbox") == "" and f.get("srcdoc") == SANITIZED_BODY for f in frames)
    assert "pwned" not in dom.find_all("title")[0].text()
