"""show PLANFILE, validate FILES and fmt through the real CLI, on the repo's own campaigns."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.cli import run

T0 = "2026-11-23T10:00:00Z"
GEN_Z = Path("campaigns/audiences/gen-z-tiktok.yaml")


def _edit(repo: Path, file: Path, old: str, new: str) -> None:
    path = repo / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


# --- show ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_show_renders_a_saved_plan_as_plan_printed_it(repo: Path, fmt: str) -> None:
    applied = run("--at", T0, "apply", "--auto-approve", cwd=repo)
    assert applied.returncode == 0, applied.stderr
    _edit(repo, GEN_Z, "max: 27", "max: 30")
    at = ("--at", "2026-12-04T00:00:00Z")
    printed = run(*at, "plan", "--format", fmt, cwd=repo)
    assert printed.returncode == 0, printed.stderr
    saved = run(*at, "plan", "--out", "plan.json", "--format", "json", cwd=repo)
    assert saved.returncode == 0, saved.stderr
    (repo / "campaign-gitops.toml").unlink()  # show needs no config, state or platform
    (repo / ".campaign-gitops").rename(repo / "elsewhere")
    _edit(repo, GEN_Z, "max: 30", "max: 31")  # stale: show does not check
    shown = run("show", "plan.json", "--format", fmt, cwd=repo)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == printed.stdout
    assert "gen-z-tiktok" in shown.stdout


def test_show_refuses_what_is_not_a_plan_file(repo: Path) -> None:
    (repo / "notes.json").write_text('{"hello": 1}\n')
    for name in ("labels.yaml", "notes.json"):
        result = run("show", name, cwd=repo)
        assert result.returncode == 1
        assert f"error: {name}: not a plan file" in result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""
    missing = run("show", "nope.json", cwd=repo)
    assert missing.returncode == 1 and "nope.json: cannot read it" in missing.stderr


# --- validate FILES -----------------------------------------------------------------------------

FIXTURES = Path(__file__).parents[1] / "fixtures"
WELCOME = "campaigns/onboarding/welcome-push.yaml"


def test_validate_files_reports_only_the_named_files(repo: Path) -> None:
    broken = (FIXTURES / "invalid" / "end-before-start.yaml").read_text()
    (repo / "campaigns" / "x.yaml").write_text(broken)
    (repo / "README.md").write_text("# not a campaign\n")
    other = run("validate", WELCOME, "README.md", cwd=repo)
    assert other.returncode == 0, other.stdout + other.stderr
    assert (
        other.stdout
        == "ok: 1 named campaign or labels file(s) are valid (1 other file(s) ignored)\n"
    )
    named = run("validate", "campaigns/x.yaml", WELCOME, cwd=repo)
    assert named.returncode == 1
    assert named.stdout.splitlines() == [
        "campaigns/x.yaml:9:8: when.end: end must be after start [end-before-start]",
        "1 problem(s) found",
    ]
    only_readme = run("validate", "--format", "json", "README.md", cwd=repo)
    assert only_readme.returncode == 0 and '"ignored": [\n    "README.md"' in only_readme.stdout
    # from a subfolder, the names are relative to it; the config named checks every file
    inside = run("validate", "welcome-push.yaml", cwd=repo / "campaigns" / "onboarding")
    assert inside.returncode == 0, inside.stdout
    everything = run("validate", "campaign-gitops.toml", cwd=repo)
    assert everything.returncode == 1 and "campaigns/x.yaml:9:8" in everything.stdout


def test_validate_files_checks_ids_and_labels_across_the_repository(repo: Path) -> None:
    copy = (repo / WELCOME).read_text().replace("\nname: ", "\nid: welcome-push\nname: ", 1)
    (repo / "campaigns" / "a-copy.yaml").write_text(copy)  # sorts before onboarding/
    for named, other in (("campaigns/a-copy.yaml", WELCOME), (WELCOME, "campaigns/a-copy.yaml")):
        result = run("validate", named, cwd=repo)
        assert result.returncode == 1
        [problem, count] = result.stdout.splitlines()
        assert problem.startswith(f"{named}:") and "[duplicate-id]" in problem
        assert f"already used by {other}" in problem and count == "1 problem(s) found"
    (repo / "campaigns" / "a-copy.yaml").unlink()
    _edit(repo, Path("labels.yaml"), "name: Onboarding", "name: Onboard")
    result = run("validate", WELCOME, cwd=repo)
    [problem, _] = result.stdout.splitlines()
    assert problem.startswith(f"{WELCOME}:") and problem.endswith("[unknown-label]")
    assert "label 'Onboarding' is not defined in labels.yaml" in problem


def test_validate_files_refuses_a_path_outside_the_repository(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("elsewhere") / "x.yaml"
    outside.write_text("name: x\n")
    for name in (str(outside), os.path.relpath(outside, repo)):
        result = run("validate", WELCOME, name, cwd=repo)
        assert result.returncode == 1 and result.stdout == ""
        assert f"error: {name}: outside the repository" in result.stderr


# --- fmt ----------------------------------------------------------------------------------------

REPO = Path(__file__).parents[2]
MESSY = """\
# yaml-language-server: $schema=../schemas/campaign.schema.json
# A campaign written by hand.
channel: push   # the channel
name: "Messy, but valid"
labels:
- Promotions
- "Onboarding"
when:
    start: 2026-12-01T09:00:00Z    # UTC
    delivery: on_date_time
    preferences: {dnd: {from: "21:00", to: "09:00", mode: delay}}
what:
    content:
        body: "Line one\\nline two"
        title: yes
# the audience
who:
    segment:
        user_properties: [{name: Customer Type, op: equals, value: Platinum}]
"""
LABELS = """\
labels:
# the first one
- description: Messages that onboard new users
  name: Onboarding
-   name: Promotions    # sales
    description: "Sales, coupons and seasonal offers"
"""


def _messy(repo: Path) -> Path:
    path = repo / "campaigns" / "messy.yaml"
    path.write_text(MESSY)
    return path


def test_fmt_writes_the_canonical_style_keeping_comments_and_data(repo: Path) -> None:
    from campaign_gitops import yamlio

    path = _messy(repo)
    (repo / "labels.yaml").write_text(LABELS)
    before = yamlio.load(MESSY), yamlio.load(LABELS)
    result = run("fmt", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["campaigns/messy.yaml", "labels.yaml"]
    text, labels = path.read_text(), (repo / "labels.yaml").read_text()
    assert (yamlio.load(text), yamlio.load(labels)) == before
    for comment in ("# A campaign written by hand.", "# the channel", "# UTC"):
        assert comment in text
    # a comment on its own line moves with the key below it
    assert "labels: [Promotions, Onboarding]\n# the audience\nwho:\n  segment:\n" in text
    assert text.startswith("# yaml-language-server: $schema=../schemas/campaign.schema.json\n")
    assert [line.split(":")[0] for line in text.splitlines() if line[:1].isalpha()] == [
        "name", "channel", "labels", "who", "what", "when"
    ]  # fmt: skip
    for line in (
        "name: Messy, but valid",
        "labels: [Promotions, Onboarding]",
        "      - name: Customer Type",  # a list of mappings in blocks, indented
        "    title: 'yes'",  # YAML 1.1 reads a plain yes as true
        "    body: |-\n      Line one\n      line two\n",
        "  delivery: on_date_time\n  start: '2026-12-01T09:00:00Z'    # UTC\n",
        "    dnd:\n      from: '21:00'\n      to: '09:00'\n      mode: delay\n",
    ):
        assert line in text
    assert labels == (
        "labels:\n"
        "# the first one\n"
        "  - name: Onboarding\n"
        "    description: Messages that onboard new users\n"
        "  - name: Promotions    # sales\n"
        "    description: Sales, coupons and seasonal offers\n"
    )
    valid = run("validate", "campaigns/messy.yaml", "labels.yaml", cwd=repo)
    assert valid.returncode == 0, valid.stdout


def test_fmt_check_lists_the_files_writes_nothing_and_fmt_is_idempotent(repo: Path) -> None:
    path = _messy(repo)
    check = run("fmt", "--check", cwd=repo)
    assert check.returncode == 1
    assert check.stdout == "campaigns/messy.yaml\n"
    assert "1 file(s) not in the canonical style" in check.stderr
    assert path.read_text() == MESSY
    assert run("fmt", cwd=repo).returncode == 0
    once = path.read_text()
    again = run("fmt", cwd=repo)
    assert again.returncode == 0 and again.stdout == "" and path.read_text() == once
    assert run("fmt", "--check", cwd=repo).returncode == 0


def test_fmt_reports_files_it_cannot_read_and_formats_only_named_files(repo: Path) -> None:
    path = _messy(repo)
    broken = repo / "campaigns" / "broken.yaml"
    broken.write_text("name: x\nname: y\n")
    (repo / "README.md").write_text("# hello\n")
    result = run("fmt", cwd=repo)
    assert result.returncode == 1
    [problem, count] = result.stderr.splitlines()
    assert problem.startswith("campaigns/broken.yaml:2:1: ") and "duplicate key 'name'" in problem
    assert problem.endswith("[duplicate-key]") and count == "1 file(s) could not be formatted"
    assert broken.read_text() == "name: x\nname: y\n"
    assert result.stdout == "campaigns/messy.yaml\n"  # the others are formatted all the same
    path.write_text(MESSY)
    named = run("fmt", "--check", "README.md", WELCOME, cwd=repo)
    assert named.returncode == 0 and named.stdout == ""  # messy.yaml is not named
    named = run("fmt", "README.md", "campaigns/messy.yaml", cwd=repo)
    assert named.returncode == 0 and named.stdout == "campaigns/messy.yaml\n"
    assert (repo / "README.md").read_text() == "# hello\n"


def test_fmt_refuses_a_rewrite_that_would_change_the_data_or_lose_a_comment(repo: Path) -> None:
    merge = repo / "campaigns" / "merge.yaml"
    merged = "name: x\nwho: &base {segment: {saved: A}}\nwhat:\n  <<: *base\n  content: {}\n"
    merge.write_text(merged)
    buttons = repo / "campaigns" / "buttons.yaml"
    # ruamel.yaml drops a comment between `- {...}` and `- {...}  # a comment`
    lost = "what:\n  content:\n    buttons:\n      - {text: A}\n      # between\n"
    lost += "      - {text: B}  # B\n"
    buttons.write_text(lost)
    result = run("fmt", "campaigns/merge.yaml", "campaigns/buttons.yaml", cwd=repo)
    assert result.returncode == 1, result.stdout
    assert result.stdout == ""
    assert "campaigns/merge.yaml: left as it is: it has a merge key" in result.stderr
    assert (
        "campaigns/buttons.yaml: left as it is: ruamel.yaml would lose the comment '# between'"
        in result.stderr
    )
    assert merge.read_text() == merged and buttons.read_text() == lost


def test_the_repository_is_in_the_canonical_style() -> None:
    result = run("fmt", "--check", cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
