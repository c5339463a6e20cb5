"""Partial plans through the real CLI: `--changed-since` reads only what changed and equals the
full plan restricted to those campaigns; `--target` plans and applies only its campaigns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.cli import run
from tests.e2e.test_github_flow import git, make_repo

T0 = "2026-11-23T10:00:00Z"
LABELS = ["Onboarding", "Promotions", "Newsletter", "Reengage"]
TEMPLATE = """# yaml-language-server: $schema=../../schemas/campaign.schema.json
{head}name: Generated {i}
channel: push
labels: [{label}]
who:
  segment:
    past_behavior:
      did: [{{event: App Launched, within: {days}d}}]
what:
  content: {{title: Hello {i}, body: Offer number {i}}}
when:
  delivery: on_date_time
  start: 2027-0{month}-10T09:00:00Z
"""


def generated(i: int) -> str:
    """Every fourth file names its id in the file (plain, quoted, after a comment that says
    "id"), so the text-only reading of ids is exercised."""
    heads = ["", "id: gen-explicit-{i}\n", "# the campaign id is the file name\n", "id: 'q-{i}'\n"]
    head = heads[i % 4].format(i=i)
    return TEMPLATE.format(
        head=head, i=i, label=LABELS[i % len(LABELS)], days=1 + i % 20, month=1 + i % 9
    )


def make_generated(repo: Path, count: int = 48) -> None:
    for i in range(count):
        folder = repo / "campaigns" / f"team-{i % 4}"
        folder.mkdir(exist_ok=True)
        (folder / f"gen-{i:03d}.yaml").write_text(generated(i))
    make_repo(repo)


def plan_json(repo: Path, *args: str) -> dict[str, Any]:
    done = run("--at", T0, "plan", "--format", "json", *args, cwd=repo)
    assert done.returncode in (0, 2), done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, path
    path.write_text(text.replace(old, new))


def restricted(full: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    """The full plan's part about `keys` (and every label change)."""
    return {
        "changes": [c for c in full["changes"] if c["target"] == "label" or c["key"] in keys],
        "drift": [d for d in full["drift"] if d["campaign"] in keys],
        "desired_checksums": {k: v for k, v in full["desired_checksums"].items() if k in keys},
        "live_versions": {k: v for k, v in full["live_versions"].items() if k in keys},
        "specs": {k: v for k, v in full["specs"].items() if k in keys},
    }


def test_changed_since_equals_the_full_plan_restricted_on_a_generated_repo(repo: Path) -> None:
    make_generated(repo)
    applied = run("--at", T0, "apply", "--auto-approve", cwd=repo)
    assert applied.returncode == 0, applied.stderr
    git(repo, "switch", "-q", "-c", "work")
    team = repo / "campaigns"
    _edit(team / "team-1" / "gen-001.yaml", "title: Hello 1", "title: Changed 1")  # id: in file
    _edit(team / "team-3" / "gen-003.yaml", "body: Offer number 3", "body: Changed")  # quoted id
    _edit(team / "team-2" / "gen-010.yaml", "within: 11d", "within: 12d")  # a comment says id
    (team / "team-0" / "gen-new.yaml").write_text(generated(100))
    (team / "team-0" / "gen-004.yaml").unlink()  # a deleted file: forgotten (stopped: --prune)
    git(repo, "mv", "campaigns/team-1/gen-005.yaml", "campaigns/team-2/gen-005.yaml")
    _edit(
        repo / "labels.yaml",
        "description: Editorial content on a fixed cadence",
        "description: Editorial content, weekly",
    )  # every campaign labelled Newsletter is in the partial plan, unchanged files too
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "work")
    newsletter = {f"gen-{i:03d}" for i in range(2, 48, 4)}
    for prune in ((), ("--prune",)):
        full = plan_json(repo, *prune)
        part = plan_json(repo, "--changed-since", "main", *prune)
        touched = {c["key"] for c in part["changes"] if c["target"] == "campaign"}
        assert touched == {"gen-explicit-1", "q-3", "gen-010", "gen-new", "gen-004"}
        kinds = {(c["kind"], c["key"]) for c in part["changes"]}
        assert ("forget", "gen-004") in kinds and ("create", "gen-new") in kinds
        assert (("stop", "gen-004") in kinds) == bool(prune)
        assert ("update", "label", "Newsletter") in {
            (c["kind"], c["target"], c["key"]) for c in part["changes"]
        }
        planned = set(part["desired_checksums"]) | touched
        assert {"gen-explicit-5", "gen-002", "gen-006"} <= planned  # moved; the label's
        assert "gen-000" not in planned and "q-7" not in planned
        assert newsletter <= planned
        assert {key: part[key] for key in restricted(full, planned)} == restricted(full, planned)
        assert "targets" not in part  # a pull request's plan, not --target


def test_changed_since_parses_only_what_changed(repo: Path) -> None:
    make_generated(repo, 12)
    (repo / "campaigns" / "team-0" / "broken.yaml").write_text("name: [unclosed\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a broken file on main")
    git(repo, "switch", "-q", "-c", "work")
    (repo / "campaigns" / "team-1" / "gen-new.yaml").write_text(generated(50))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "work")
    full = run("--at", T0, "plan", cwd=repo)
    assert full.returncode == 1 and "campaigns/team-0/broken.yaml" in full.stderr
    part = run("--at", T0, "plan", "--changed-since", "main", cwd=repo)
    assert part.returncode == 0, part.stderr
    assert "+ create campaign gen-new" in part.stdout and "gen-explicit-1" not in part.stdout
    # an id already used by a file that did not change is still reported, as validate does
    (repo / "campaigns" / "team-2" / "again.yaml").write_text(generated(52).replace(
        "name:", "id: gen-explicit-1\nname:", 1
    ))  # fmt: skip
    (repo / "campaigns" / "team-3" / "gen-002.yaml").write_text(generated(56))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "duplicates")
    dup = run("--at", T0, "plan", "--changed-since", "main", cwd=repo)
    assert dup.returncode == 1
    assert "id 'gen-explicit-1' is already used by campaigns/team-1/gen-001.yaml" in dup.stderr
    assert "id 'gen-002' is already used by campaigns/team-2/gen-002.yaml" in dup.stderr


def test_target_plans_and_applies_only_its_campaigns(repo: Path) -> None:
    make_generated(repo, 16)
    targets = ("--target", "welcome-push", "--target", "gen-00*", "--target", "campaigns/team-3")
    text = run("--at", T0, "plan", *targets, cwd=repo)
    assert text.returncode == 0, text.stderr
    assert (
        "partial plan: 3 target(s) (welcome-push, gen-00*, campaigns/team-3); other campaigns "
        "not planned" in text.stdout
    )
    data = plan_json(repo, *targets)
    keys = {c["key"] for c in data["changes"] if c["target"] == "campaign"}
    # gen-001, 003, 005...: other ids in their files; team-3 holds q-3, q-7, q-11, q-15
    assert keys == {"welcome-push", "gen-000", "gen-002", "gen-004", "gen-006", "gen-008",
                    "q-3", "q-7", "q-11", "q-15"}  # fmt: skip
    assert data["targets"] == ["welcome-push", "gen-00*", "campaigns/team-3"]
    # a saved partial plan records its targets, and applies exactly them
    saved = run("--at", T0, "plan", "--target", "gen-00*", "--out", "p.json", cwd=repo)
    assert saved.returncode == 0, saved.stderr
    assert json.loads((repo / "p.json").read_text())["targets"] == ["gen-00*"]
    applied = run("--at", T0, "apply", "p.json", cwd=repo)
    assert applied.returncode == 0, applied.stderr
    assert "Apply complete: 13 applied" in applied.stdout  # 8 labels, 5 campaigns
    rest = plan_json(repo)
    created = {c["key"] for c in rest["changes"] if c["kind"] == "create"}
    assert "gen-000" not in created and {"gen-010", "welcome-push"} <= created
    # apply --target: only those; a removed file's campaign is forgotten through its id glob
    (repo / "campaigns" / "team-0" / "gen-004.yaml").unlink()
    done = run("--at", T0, "apply", "--auto-approve", "--target", "gen-00*", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert "forget campaign gen-004" in done.stdout and "welcome-push" not in done.stdout
    after = plan_json(repo, "--target", "gen-00*")
    assert after["changes"] == []


def test_target_usage_errors(repo: Path) -> None:
    bad = run("plan", "--target", "Not An Id", cwd=repo)
    assert bad.returncode == 2 and "not a campaign id, an id glob" in bad.stderr
    outside = run("plan", "--target", "../elsewhere/x.yaml", cwd=repo)
    assert outside.returncode == 2 and "a path must be under campaigns/" in outside.stderr
    both = run("plan", "--target", "x", "--changed-since", "main", cwd=repo)
    assert both.returncode == 2 and "cannot be combined" in both.stderr
    saved = run("apply", "plan.json", "--target", "x", cwd=repo)
    assert saved.returncode == 2 and "the saved plan names its own targets" in saved.stderr


def test_a_target_that_matches_nothing_says_so_and_suggests(repo: Path) -> None:
    # a typo planned nothing for the campaign, silently
    data = plan_json(repo, "--target", "welcome-psh")
    assert (
        data["notices"][0]
        == "--target welcome-psh matches no campaign; did you mean 'welcome-push'?"
    )
    assert [c for c in data["changes"] if c["target"] == "campaign"] == []
    unknown = run("state", "show", "welcome-psh", cwd=repo)
    assert unknown.returncode == 1 and "is not managed in this state store" in unknown.stderr
    clone = run("clone", "welcome-psh", "welcome-2", cwd=repo)
    assert clone.returncode == 1
    assert (
        "no campaign 'welcome-psh' in the files or on the platform; did you mean 'welcome-push'?"
        in clone.stderr
    )
