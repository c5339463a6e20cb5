"""Issue #19: the CLI checks what it is given before it acts, and says what is wrong with
file:line:col, exit 1 (2 for usage errors), never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from campaign_gitops import yamlio
from campaign_gitops.backends.base import Actor
from campaign_gitops.backends.local import LocalBackend
from campaign_gitops.models import CAMPAIGN_ADAPTER, Label
from tests.e2e.cli import run
from tests.e2e.test_clevertap import ENV, NOW
from tests.e2e.test_clevertap import _repo as _clevertap_repo
from tests.fake_clevertap import FakeClevertap
from tests.helpers import at

DASHBOARD = Actor("maya@example.com")

# -- 7. config errors ---------------------------------------------------------------------


def test_config_errors_use_the_tools_codes_with_positions(repo: Path) -> None:
    (repo / "campaign-gitops.toml").write_text(
        'backend = "locall"\ncreator_approver = "no"\n\n[clevertap]\naccount_id = "A"\n'
        'max_concurrency = "2"\n'
    )
    result = run("validate", cwd=repo)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[:3] == [
        "campaign-gitops.toml:1:1: backend: \"locall\" is not one of 'local' or 'clevertap' "
        "[config-not-one-of]",
        'campaign-gitops.toml:2:1: creator_approver: "no" is a string; creator_approver must be '
        "a boolean (true or false): write creator_approver = false [config-wrong-type]",
        'campaign-gitops.toml:6:1: clevertap.max_concurrency: "2" is a string; max_concurrency '
        "must be an integer: write max_concurrency = 2 [config-wrong-type]",
    ]
    assert "_error" not in result.stderr and "_type" not in result.stderr


def test_config_errors_in_pyproject_point_into_its_table(repo: Path) -> None:
    (repo / "campaign-gitops.toml").unlink()
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.campaign-gitops]\nestimate = 1\n'
    )
    result = run("list", cwd=repo)
    assert result.returncode == 1
    assert result.stderr.startswith(
        "pyproject.toml:5:1: estimate: 1 is an integer; estimate must be a boolean (true or "
        "false): write estimate = true [config-wrong-type]"
    )


def test_a_missing_config_file_is_a_clear_error(repo: Path) -> None:
    result = run("--config", "missing.toml", "validate", cwd=repo)
    assert result.returncode == 1
    assert result.stderr.startswith("error: --config missing.toml: no such file")
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr


# -- 6. clone -----------------------------------------------------------------------------

T0 = "2026-11-23T10:00:00Z"


def _platform_campaign(repo: Path, key: str, labels: dict[str, str]) -> None:
    """A campaign made in the dashboard, with labels (and their descriptions) labels.yaml
    lacks."""
    backend = LocalBackend(repo / ".campaign-gitops" / "platform.db")
    for name, description in labels.items():
        backend.create_label(Label(name=name, description=description))
    spec = CAMPAIGN_ADAPTER.validate_python({
        "name": "From the dashboard", "channel": "push", "labels": list(labels),
        "who": {"segment": {"geography": {"country": "India"}}},
        "what": {"content": {"title": "Hello", "body": "Made by hand"}},
        "when": {"delivery": "on_date_time", "start": "2026-12-01T09:00:00Z"},
    })  # fmt: skip
    backend.create_campaign(key, spec, publish=True, actor=DASHBOARD, now=at(T0))
    backend.close()


def _campaign_files(repo: Path) -> list[str]:
    return sorted(p.relative_to(repo).as_posix() for p in (repo / "campaigns").rglob("*.yaml"))


def test_clone_checks_the_new_id_before_writing_anything(repo: Path) -> None:
    before = _campaign_files(repo)
    labels = (repo / "labels.yaml").read_text()
    bad = run("--at", T0, "clone", "welcome-push", "Bad_ID", cwd=repo)
    assert bad.returncode == 2, bad.stderr
    assert "'Bad_ID' is not a campaign id (NEW_ID)" in bad.stderr
    taken = run("--at", T0, "clone", "welcome-push", "flash-sale-sms", cwd=repo)
    assert taken.returncode == 1
    assert "'flash-sale-sms' exists already (campaigns/promotions/flash-sale-sms.yaml)" in (
        taken.stderr
    )
    _platform_campaign(repo, "dashboard-made", {})
    live = run("--at", T0, "clone", "welcome-push", "dashboard-made", cwd=repo)
    assert live.returncode == 1
    assert "'dashboard-made' exists already on the platform" in live.stderr
    for result in (bad, taken, live):
        assert "Traceback" not in result.stderr
    assert _campaign_files(repo) == before
    assert (repo / "labels.yaml").read_text() == labels


def test_clone_from_the_platform_adds_its_labels_with_descriptions(repo: Path) -> None:
    _platform_campaign(repo, "hand-made", {"Festive": "Festival sends", "Onboarding": "x"})
    done = run("--at", T0, "clone", "hand-made", "hand-made-2", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert "wrote campaigns/hand-made-2.yaml: a copy of hand-made as hand-made-2" in done.stdout
    assert "added to labels.yaml: Festive\n" in done.stdout  # Onboarding was there already
    labels = yamlio.load((repo / "labels.yaml").read_text())["labels"]
    assert {"name": "Festive", "description": "Festival sends"} in labels
    assert "warning" not in done.stderr  # starts after --at
    assert run("validate", cwd=repo).returncode == 0


def test_clone_warns_when_the_copy_starts_in_the_past(repo: Path) -> None:
    later = "2026-12-05T00:00:00Z"
    done = run("--at", later, "clone", "welcome-push", "welcome-push-2", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert done.stderr == (
        "warning: campaigns/onboarding/welcome-push-2.yaml starts at 2026-12-01T09:00:00+05:30, "
        "which is past (now: 2026-12-05T00:00:00Z): applied as it is, the copy goes live at "
        "once; set when.start to schedule it\n"
    )


# -- 5. list, report, labels --------------------------------------------------------------


def _applied(repo: Path) -> None:
    done = run("--at", T0, "apply", "--auto-approve", cwd=repo)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("list", "--status", "runing"),
            "Error: Invalid value for '--status': 'runing' is not a status (did you mean "
            "'running'?); valid: draft, scheduled, awaiting_next_run, running, pending_approval, "
            "rejected, stopped, completed",
        ),
        (
            ("report", "--channel", "push", "--channel", "web-push"),
            "Error: Invalid value for '--channel': 'web-push' is not a channel (did you mean "
            "'web_push'?); valid: push, in_app,",
        ),
        (("list", "--type", "ab"), "'ab' is not a type; valid: single_message, ab_test,"),
        (("report", "--delivery", "daily"), "'daily' is not a delivery; valid: now, on_date_time"),
        (
            ("list", "--label", "Onbording"),
            "Error: Invalid value for '--label': 'Onbording' is not a label on the platform (did "
            "you mean 'Onboarding'?); valid: Data Export, Experiments,",
        ),
    ],
    ids=["list-status", "report-channel", "list-type", "report-delivery", "list-label"],
)
def test_list_and_report_refuse_unknown_filter_values(
    repo: Path, args: tuple[str, ...], expected: str
) -> None:
    _applied(repo)
    result = run("--at", T0, *args, cwd=repo)
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_a_saved_filter_with_an_unknown_value_is_a_config_error(repo: Path) -> None:
    (repo / "campaign-gitops.toml").write_text(
        'backend = "local"\n\n[filters.live]\nstatus = ["scheduled", "runing"]\n'
    )
    result = run("list", "--filter", "live", cwd=repo)
    assert result.returncode == 1
    assert result.stderr.startswith(
        "campaign-gitops.toml:4:1: filters.live.status: 'runing' is not a status (did you mean "
        "'running'?); valid: draft,"
    )
    assert result.stderr.splitlines()[0].endswith("[config-not-one-of]")


def test_list_all_has_an_archived_column(repo: Path) -> None:
    _applied(repo)
    backend = LocalBackend(repo / ".campaign-gitops" / "platform.db")
    spec = CAMPAIGN_ADAPTER.validate_python({
        "name": "Old draft", "channel": "sms",
        "what": {"content": {"body": "Never sent"}}, "when": {"delivery": "now"},
    })  # fmt: skip
    draft = backend.create_campaign("old-draft", spec, publish=False, actor=DASHBOARD, now=at(T0))
    backend.archive(draft.platform_id, actor=DASHBOARD, now=at(T0))
    backend.close()
    table = run("--at", T0, "list", "--all", cwd=repo)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split()[4:7] == ["STATUS", "ARCHIVED", "DELIVERY"]
    column = header.index("ARCHIVED")
    archived = {line.split()[0]: line[column:].split()[0] for line in rows}
    assert archived["old-draft"] == "yes" and archived["flash-sale-sms"] == "no"
    default = run("--at", T0, "list", cwd=repo)
    assert "ARCHIVED" not in default.stdout and "old-draft" not in default.stdout


def test_labels_lists_the_platforms_labels_with_how_many_campaigns_use_each(repo: Path) -> None:
    _applied(repo)
    table = run("--at", T0, "labels", cwd=repo)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["NAME", "DESCRIPTION", "CAMPAIGNS", "ARCHIVED"]
    assert lines[4].split()[0] == "Onboarding" and lines[4].split()[-2:] == ["4", "0"]
    rows = json.loads(run("--at", T0, "labels", "--format", "json", cwd=repo).stdout)
    by_name = {row["name"]: row for row in rows}
    assert by_name["Onboarding"] == {
        "name": "Onboarding",
        "description": "Messages that onboard new users",
        "campaigns": 4,
        "archived": 0,
    }
    assert sum(row["campaigns"] for row in rows) >= 23
    csv = run("--at", T0, "labels", "--format", "csv", cwd=repo).stdout.splitlines()
    assert csv[0] == "name,description,campaigns,archived"
    assert "Onboarding,Messages that onboard new users,4,0" in csv
    assert table.stderr == ""


def test_labels_on_clevertap_come_from_the_message_report(tmp_path: Path) -> None:
    with FakeClevertap() as server:
        root = _clevertap_repo(tmp_path, server)
        server.dashboard("Diwali push", "push", at=NOW, labels=("Festive", "Promotions"))
        server.dashboard("Diwali sms", "sms", at=NOW, labels=("Festive",))
        done = run("--at", T0, "labels", "--format", "json", cwd=root, env=ENV)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        {"name": "Festive", "description": None, "campaigns": 2, "archived": 0},
        {"name": "Promotions", "description": None, "campaigns": 1, "archived": 0},
    ]
    assert "note: the clevertap API has no labels: these are the labels of the messages" in (
        done.stderr
    )


# -- 4. schema export, init ---------------------------------------------------------------

SCHEMA_FILES = ["campaign.schema.json", "config.schema.json", "labels.schema.json"]


def test_schema_export_writes_the_repositorys_schemas(repo: Path) -> None:
    (repo / "campaign-gitops.toml").write_text('backend = "nope"\n')  # not read
    deep = repo / "campaigns" / "onboarding"
    written = run("schema", "export", cwd=deep)
    assert written.returncode == 0, written.stderr
    assert sorted(p.name for p in (repo / "schemas").iterdir()) == SCHEMA_FILES
    assert not (deep / "schemas").exists()
    assert run("schema", "export", "--check", cwd=deep).returncode == 0
    (repo / "schemas" / "campaign.schema.json").write_text("{}\n")
    check = run("schema", "export", "--check", cwd=deep)
    assert check.returncode == 1
    assert f"{repo / 'schemas' / 'campaign.schema.json'}: out of date" in check.stderr
    assert (
        repo / "schemas" / "campaign.schema.json"
    ).read_text() == "{}\n"  # --check writes nothing
    (repo / "schemas" / "labels.schema.json").unlink()
    check = run("-C", str(repo), "schema", "export", "--check", cwd=repo.parent)
    assert check.returncode == 1
    assert f"{repo / 'schemas' / 'labels.schema.json'}: missing" in check.stderr


def test_schema_export_finds_a_pyproject_table(repo: Path) -> None:
    (repo / "campaign-gitops.toml").unlink()
    (repo / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.campaign-gitops]\n')
    assert run("schema", "export", cwd=repo / "campaigns").returncode == 0
    assert sorted(p.name for p in (repo / "schemas").iterdir()) == SCHEMA_FILES


def test_schema_export_outside_a_repository_needs_dir(tmp_path: Path) -> None:
    outside = run("schema", "export", cwd=tmp_path)
    assert outside.returncode == 2
    assert "is in no campaigns repository" in outside.stderr and "pass --dir" in outside.stderr
    assert not (tmp_path / "schemas").exists()
    assert run("schema", "export", "--check", cwd=tmp_path).returncode == 2
    done = run("schema", "export", "--dir", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == SCHEMA_FILES
    assert run("schema", "export", "--dir", "out", "--check", cwd=tmp_path).returncode == 0


def test_schema_export_refuses_a_schemas_link_out_of_the_repository(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (repo / "schemas").symlink_to(elsewhere, target_is_directory=True)
    refused = run("schema", "export", cwd=repo)
    assert refused.returncode == 1
    assert "leads outside the repository" in refused.stderr
    assert list(elsewhere.iterdir()) == []


def test_init_refreshes_stale_schemas(tmp_path: Path) -> None:
    assert run("init", "site", cwd=tmp_path).returncode == 0
    site = tmp_path / "site"
    (site / "schemas" / "config.schema.json").write_text("{}\n")
    (site / "labels.yaml").write_text("labels: []\n")
    again = run("init", "site", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "updated  schemas/config.schema.json (was stale)" in again.stdout
    assert "kept     schemas/campaign.schema.json (up to date)" in again.stdout
    assert "kept     labels.yaml (exists)" in again.stdout  # a user's file is never rewritten
    assert (site / "labels.yaml").read_text() == "labels: []\n"
    assert run("schema", "export", "--check", cwd=site).returncode == 0
