"""Every check has a failing fixture named after its error; its message and place are asserted.

A single-file fixture states its expected problem on its first line (`# expect: LINE:COL: ...`)
and is validated beside tests/fixtures/labels.yaml; a folder fixture holds expected.txt."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from campaign_gitops.config import load_settings
from campaign_gitops.desired.loader import read_configured, read_worktree
from campaign_gitops.errors import ValidationFailed

INVALID = Path(__file__).parents[1] / "fixtures" / "invalid"
SINGLE = sorted(INVALID.glob("*.yaml"))
FOLDERS = sorted(p for p in INVALID.iterdir() if p.is_dir())


def problems_in(root: Path) -> list[str]:
    """A folder with a campaign-gitops.toml is read with its settings (max_file_bytes...)."""
    with pytest.raises(ValidationFailed) as info:
        if (root / "campaign-gitops.toml").is_file():
            read_configured(load_settings(root))
        else:
            read_worktree(root, root / "campaigns", root / "labels.yaml")
    return [p.render() for p in info.value.problems]


@pytest.mark.parametrize("fixture", SINGLE, ids=lambda p: p.stem)
def test_single_file_fixture(fixture: Path, tmp_path: Path) -> None:
    expected = fixture.read_text().splitlines()[0].removeprefix("# expect: ")
    (tmp_path / "campaigns").mkdir()
    shutil.copy(fixture, tmp_path / "campaigns" / fixture.name)
    shutil.copy(INVALID.parent / "labels.yaml", tmp_path / "labels.yaml")
    assert problems_in(tmp_path) == [f"campaigns/{fixture.name}:{expected}"]


@pytest.mark.parametrize("fixture", FOLDERS, ids=lambda p: p.name)
def test_folder_fixture(fixture: Path, tmp_path: Path) -> None:
    root = tmp_path / fixture.name
    shutil.copytree(fixture, root, symlinks=True)  # a link fixture stays a link
    assert problems_in(root) == (fixture / "expected.txt").read_text().splitlines()


def test_every_code_raised_in_the_models_has_a_fixture() -> None:
    import re

    src = Path(__file__).parents[2] / "src" / "campaign_gitops"
    raised = set()
    for path in src.rglob("*.py"):
        raised |= set(re.findall(r'fail\(\s*"([a-z-]+)"', path.read_text()))
    covered = {
        line.rsplit("[", 1)[1].rstrip("]")
        for fixture in SINGLE
        for line in [fixture.read_text().splitlines()[0]]
    } | {
        line.rsplit("[", 1)[1].rstrip("]")
        for folder in FOLDERS
        for line in (folder / "expected.txt").read_text().splitlines()
    }
    missing = raised - covered
    assert not missing, f"codes without a failing fixture: {sorted(missing)}"
