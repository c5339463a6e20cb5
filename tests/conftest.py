from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of this repository's campaigns, labels and config in a temp folder."""
    shutil.copytree(REPO / "campaigns", tmp_path / "campaigns")
    shutil.copy(REPO / "labels.yaml", tmp_path / "labels.yaml")
    (tmp_path / "campaign-gitops.toml").write_text('backend = "local"\n')
    return tmp_path
