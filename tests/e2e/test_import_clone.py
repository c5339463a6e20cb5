"""import (live campaigns into files, round trip) and clone, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from campaign_gitops import yamlio
from campaign_gitops.backends.base import Actor
from campaign_gitops.backends.local import LocalBackend
from campaign_gitops.models import CAMPAIGN_ADAPTER, Label
from tests.e2e.cli import run
from tests.e2e.test_github_flow import git, make_repo
from tests.helpers import at

T0 = "2026-11-23T10:00:00Z"
DASHBOARD = Actor("maya@example.com")


def _dashboard_campaigns(repo: Path) -> None:
    """Campaigns made in the dashboard, one with a label labels.yaml lacks."""
    backend = LocalBackend(repo / ".campaign-gitops" / "platform.db")
    backend.create_label(Label(name="Seasonal"))
    base = {
        "channel": "sms",
        "labels": ["Seasonal"],
        "who": {"segment": {"geography": {"country": "India"}}},
        "what": {"content": {"body": "Diwali sale: 20% off", "sender_id": "SHOPIN"}},
        "when": {"delivery": "recurring", "start": "2026-12-01T09:00:00Z",
                 "recurring": {"every": 1, "unit": "week", "on": ["mon"], "at": "09:00"}},
    }  # fmt: skip
    for key, publish in (("diwali-sms", True), ("draft-sms", False)):
        spec = CAMPAIGN_ADAPTER.validate_python(base | {"name": key.replace("-", " ").title()})
        backend.create_campaign(key, spec, publish=publish, actor=DASHBOARD, now=at(T0))
    backend.close()


def test_import_round_trips(repo: Path) -> None:
    assert run("--at", T0, "apply", "--auto-approve", cwd=repo).returncode == 0
    _dashboard_campaigns(repo)
    imported = run("--at", T0, "import", cwd=repo)
    assert imported.returncode == 0, imported.stderr
    assert "wrote campaigns/imported/diwali-sms.yaml" in imported.stdout
    assert "added to labels.yaml: Seasonal" in imported.stdout
    text = (repo / "campaigns" / "imported" / "draft-sms.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=../../schemas/campaign.schema.json")
    assert "state: draft" in text and "name: Draft Sms\nchannel: sms\n" in text
    assert run("validate", cwd=repo).returncode == 0
    plan = json.loads(run("--at", T0, "plan", "--format", "json", cwd=repo).stdout)
    kinds = sorted((c["kind"], c["key"]) for c in plan["changes"])
    assert kinds == [("adopt", "diwali-sms"), ("adopt", "draft-sms")]  # nothing else to change
    assert run("--at", T0, "apply", "--auto-approve", cwd=repo).returncode == 0
    assert run("--at", T0, "plan", "--detailed-exitcode", cwd=repo).returncode == 0
    nothing = run("--at", T0, "import", cwd=repo)
    assert "nothing to import" in nothing.stdout


def test_import_all_writes_labels_with_descriptions_and_the_plan_only_adopts(
    repo: Path, tmp_path: Path
) -> None:
    # labels were appended by name only: the next plan cleared every description on the platform
    assert run("--at", T0, "apply", "--auto-approve", cwd=repo).returncode == 0
    fresh = tmp_path / "adopting"
    (fresh / "campaigns").mkdir(parents=True)
    (fresh / ".campaign-gitops").mkdir()
    (fresh / "campaign-gitops.toml").write_text('backend = "local"\n')
    platform = repo / ".campaign-gitops" / "platform.db"
    (fresh / ".campaign-gitops" / "platform.db").write_bytes(platform.read_bytes())
    done = run("--at", T0, "import", "--all", cwd=fresh)
    assert done.returncode == 0, done.stderr
    written = yamlio.load((fresh / "labels.yaml").read_text())["labels"]
    assert sorted(written, key=lambda item: item["name"]) == sorted(
        yamlio.load((repo / "labels.yaml").read_text())["labels"], key=lambda item: item["name"]
    )
    assert all(item.get("description") for item in written)
    assert run("validate", cwd=fresh).returncode == 0
    plan = json.loads(run("--at", T0, "plan", "--format", "json", cwd=fresh).stdout)
    assert {c["kind"] for c in plan["changes"]} == {"adopt"}
    assert len(plan["changes"]) == len(list((repo / "campaigns").rglob("*.yaml")))
    assert run("--at", T0, "apply", "--auto-approve", cwd=fresh).returncode == 0
    assert run("--at", T0, "plan", "--detailed-exitcode", cwd=fresh).returncode == 0
    # a description the file then drops is cleared on the platform, and the plan says so
    labels = fresh / "labels.yaml"
    labels.write_text(
        labels.read_text().replace("    description: Messages that onboard new users\n", "")
    )
    dropped = run("--at", T0, "plan", cwd=fresh)
    assert "~ update label Onboarding (clears description)" in dropped.stdout
    assert 'description: "Messages that onboard new users" -> <absent>' in dropped.stdout


def test_import_on_a_branch(repo: Path) -> None:
    make_repo(repo)
    _dashboard_campaigns(repo)
    done = run("--at", T0, "import", "diwali-sms", "--branch", "adopt-diwali", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert git(repo, "branch", "--show-current") == "adopt-diwali"
    files = git(repo, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert sorted(files) == ["campaigns/imported/diwali-sms.yaml", "labels.yaml"]
    assert not (repo / "campaigns" / "imported" / "draft-sms.yaml").exists()
    taken = run("--at", T0, "import", "draft-sms", "--branch", "adopt-diwali", cwd=repo)
    assert taken.returncode == 1 and "branch 'adopt-diwali' already exists" in taken.stderr


def test_clone_is_the_remedy_for_a_stopped_campaign(repo: Path) -> None:
    assert run("--at", T0, "apply", "--auto-approve", cwd=repo).returncode == 0
    path = repo / "campaigns" / "audiences" / "gen-z-tiktok.yaml"
    path.write_text(path.read_text() + "state: stopped\n")
    later = "2026-12-05T00:30:00Z"
    assert run("--at", later, "apply", "--auto-approve", cwd=repo).returncode == 0
    path.write_text(path.read_text().replace("state: stopped\n", "").replace("max: 27", "max: 29"))
    blocked = run("--at", later, "plan", cwd=repo)
    assert blocked.returncode == 1 and "clone it to a new id" in blocked.stdout
    cloned = run("--at", later, "clone", "gen-z-tiktok", "gen-z-tiktok-2", cwd=repo)
    assert cloned.returncode == 0, cloned.stderr
    new = repo / "campaigns" / "audiences" / "gen-z-tiktok-2.yaml"
    assert "max: 29" in new.read_text()
    path.write_text(path.read_text().replace("max: 29", "max: 27") + "state: stopped\n")
    plan = run("--at", later, "plan", cwd=repo)
    assert plan.returncode == 0 and "+ create campaign gen-z-tiktok-2 (published)" in plan.stdout
    again = run("--at", later, "clone", "gen-z-tiktok", "gen-z-tiktok-2", cwd=repo)
    assert again.returncode == 1 and "exists already" in again.stderr


def _dashboard_campaign(repo: Path, key: str, name: str, labels: tuple[str, ...]) -> None:
    backend = LocalBackend(repo / ".campaign-gitops" / "platform.db")
    for label in labels:
        backend.create_label(Label(name=label))
    spec = CAMPAIGN_ADAPTER.validate_python({
        "name": name, "channel": "push", "labels": list(labels),
        "who": {"segment": {"geography": {"country": "India"}}},
        "what": {"content": {"title": "0o17", "body": "yes"}},
        "when": {"delivery": "on_date_time", "start": "2026-12-01T09:00:00Z"},
    })  # fmt: skip
    backend.create_campaign(key, spec, publish=True, actor=DASHBOARD, now=at(T0))
    backend.close()


def test_import_writes_names_that_read_back_as_written(repo: Path) -> None:
    # written with YAML 1.1 rules, "1e3" came back as 1000.0 and "0o17" as 15
    assert run("--at", T0, "apply", "--auto-approve", cwd=repo).returncode == 0
    _dashboard_campaign(repo, "numbers", "1e3", ("0o17", "yes"))
    assert run("--at", T0, "import", cwd=repo).returncode == 0
    text = (repo / "campaigns" / "imported" / "numbers.yaml").read_text()
    assert "name: '1e3'\n" in text and "labels: ['0o17', 'yes']\n" in text
    assert run("validate", cwd=repo).returncode == 0
    assert run("--at", T0, "apply", "--auto-approve", cwd=repo).returncode == 0  # adopts it
    assert run("--at", T0, "plan", "--detailed-exitcode", cwd=repo).returncode == 0
    cloned = run("--at", T0, "clone", "numbers", "numbers-2", cwd=repo)
    assert cloned.returncode == 0, cloned.stderr
    clone = (repo / "campaigns" / "imported" / "numbers-2.yaml").read_text()
    assert "name: '1e3'\n" in clone and "title: '0o17'\n" in clone and "body: 'yes'\n" in clone


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        (
            "# our labels\nlabels: []  # none yet\n",
            "# our labels\nlabels:     # none yet\n  - name: Seasonal\n",  # the column kept
        ),
        ("labels: [{name: Onboarding}]\n# the end\n", None),
        (
            "labels:\n- name: Onboarding\n  description: 'Hello: new users'  # quoted\n",
            "labels:\n- name: Onboarding\n  description: 'Hello: new users'  # quoted\n"
            "- name: Seasonal\n",
        ),
    ],
)
def test_import_appends_labels_keeping_the_file(
    tmp_path: Path, shape: str, expected: str | None
) -> None:
    # pasted at the end, labels landed after `labels: []` or after a comment: unreadable
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "campaign-gitops.toml").write_text('backend = "local"\n')
    (tmp_path / "labels.yaml").write_text(shape)
    _dashboard_campaign(tmp_path, "seasonal", "Seasonal push", ("Seasonal",))
    done = run("--at", T0, "import", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    after = (tmp_path / "labels.yaml").read_text()
    if expected is not None:
        assert after == expected
    comments = [line.partition("#")[2] for line in shape.splitlines() if "#" in line]
    assert comments == [line.partition("#")[2] for line in after.splitlines() if "#" in line]
    valid = run("validate", cwd=tmp_path)
    assert valid.returncode == 0, valid.stdout + valid.stderr
    assert run("--at", T0, "import", cwd=tmp_path).returncode == 0
    assert (tmp_path / "labels.yaml").read_text() == after  # nothing more to add
