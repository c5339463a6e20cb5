from __future__ import annotations

from pathlib import Path

import pytest

from campaign_gitops.config import load_settings
from campaign_gitops.errors import ValidationFailed


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
    assert any(r.startswith("pyproject.toml:5:1: backend: Input should be") for r in rendered)
    assert any(r.startswith("pyproject.toml:6:1: stat: Extra inputs") for r in rendered)
    assert any(r.startswith("pyproject.toml:9:1: clevertap.region:") for r in rendered)
    assert any(
        r.startswith("pyproject.toml:8:1: clevertap.account_id: Field required") for r in rendered
    )


def test_toml_syntax_error(tmp_path: Path) -> None:
    (tmp_path / "campaign-gitops.toml").write_text('backend = "local"\nbroken = \n')
    with pytest.raises(ValidationFailed) as info:
        load_settings(tmp_path)
    (problem,) = info.value.problems
    assert problem.code == "toml-syntax" and problem.line == 2
