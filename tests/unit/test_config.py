from __future__ import annotations

from pathlib import Path

import pytest

from campaign_gitops.config import load_settings
from campaign_gitops.errors import ConfigError, ValidationFailed


def test_defaults_without_a_config_file(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert settings.config_file is None
    assert settings.raw.backend == "local"
    assert settings.campaigns_dir == tmp_path / "campaigns"


def test_pyproject_table_found_from_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.campaign-gitops]\ncampaigns_dir = "msgs"\n'
    )
    (tmp_path / "msgs" / "deep").mkdir(parents=True)
    settings = load_settings(tmp_path / "msgs" / "deep")
    assert settings.root == tmp_path
    assert settings.campaigns_dir == tmp_path / "msgs"


def test_pyproject_without_our_table_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "campaign-gitops.toml").write_text('labels_file = "l.yaml"\n')
    inner = tmp_path / "pkg"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_settings(inner).raw.labels_file == "l.yaml"


def test_bad_config_reports_every_key_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.campaign-gitops]\nbackend = "nope"\n'
        'stat = 1\n\n[tool.campaign-gitops.clevertap]\nregion = "mars"\n'
    )
    with pytest.raises(ValidationFailed) as info:
        load_settings(tmp_path)
    rendered = [p.render() for p in info.value.problems]
    assert any(r.startswith('pyproject.toml:5:1: backend: "nope" is not one of') for r in rendered)
    assert any(r.startswith("pyproject.toml:6:1: stat: unknown key 'stat'") for r in rendered)
    assert any(r.startswith("pyproject.toml:9:1: clevertap.region:") for r in rendered)
    assert any(
        r.startswith("pyproject.toml:8:1: clevertap.account_id: required key") for r in rendered
    )
    assert {p.code for p in info.value.problems} == {
        "config-not-one-of",
        "config-unknown-key",
        "config-required",
    }


def test_toml_syntax_error(tmp_path: Path) -> None:
    (tmp_path / "campaign-gitops.toml").write_text('backend = "local"\nbroken = \n')
    with pytest.raises(ValidationFailed) as info:
        load_settings(tmp_path)
    (problem,) = info.value.problems
    assert problem.code == "toml-syntax" and problem.line == 2


@pytest.mark.parametrize(
    ("line", "fix"),
    [
        ('creator_approver = "no"', "write creator_approver = false"),
        ("creator_approver = 0", "write creator_approver = false"),
        ('estimate = "true"', "write estimate = true"),
        ('max_file_bytes = "2048"', "write max_file_bytes = 2048"),
        ("max_file_bytes = 2048.0", "write max_file_bytes = 2048"),
        ("campaigns_dir = 5", 'write campaigns_dir = "5"'),
        ('[approval]\nrequired_for = "reach"', 'write required_for = ["reach"]'),
        ('[clevertap]\naccount_id = "A"\ntimeout = "5"', "write timeout = 5.0"),
    ],
)
def test_types_are_strict_and_the_error_says_how_to_write_it(
    tmp_path: Path, line: str, fix: str
) -> None:
    """Issue #19: a value of the wrong TOML type is an error (it used to be converted), and the
    message shows the line that would be read as it was."""
    (tmp_path / "campaign-gitops.toml").write_text(f"{line}\n")
    with pytest.raises(ValidationFailed) as info:
        load_settings(tmp_path)
    (problem,) = info.value.problems
    assert problem.code == "config-wrong-type"
    assert problem.message.endswith(fix), problem.message
    assert problem.line == line.count("\n") + 1


def test_config_codes_are_the_tools_own(tmp_path: Path) -> None:
    (tmp_path / "campaign-gitops.toml").write_text(
        'backend = "clevertap"\ncreator_approver = true\n\n[clevertap]\naccount_id = "A"\n'
        'base_url = "ftp://x"\nmax_concurrency = 9\n'
    )
    with pytest.raises(ValidationFailed) as info:
        load_settings(tmp_path)
    found = {(p.path, p.code, p.line) for p in info.value.problems}
    assert found == {
        ("creator_approver", "config-no-approval-workflow", 2),
        ("clevertap.base_url", "config-bad-url", 6),
        ("clevertap.max_concurrency", "config-out-of-range", 7),
    }


def test_a_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--config .*missing.toml: no such file"):
        load_settings(tmp_path, tmp_path / "missing.toml")


def test_an_environment_without_an_approval_workflow_is_located(tmp_path: Path) -> None:
    (tmp_path / "campaign-gitops.toml").write_text(
        "creator_approver = true\n\n[environments.production]\n"
        'backend = "clevertap"\n\n[environments.production.clevertap]\naccount_id = "A"\n'
    )
    settings = load_settings(tmp_path)
    with pytest.raises(ValidationFailed) as info:
        settings.for_env("production")
    (problem,) = info.value.problems
    assert (problem.file, problem.line, problem.path, problem.code) == (
        "campaign-gitops.toml",
        4,
        "environments.production.backend",
        "config-no-approval-workflow",
    )
    assert problem.message.startswith("environment 'production': creator_approver = true needs")
