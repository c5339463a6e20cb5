from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres_server import PostgresServer

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of this repository's campaigns, labels and config in a temp folder."""
    shutil.copytree(REPO / "campaigns", tmp_path / "campaigns")
    shutil.copy(REPO / "labels.yaml", tmp_path / "labels.yaml")
    (tmp_path / "campaign-gitops.toml").write_text('backend = "local"\n')
    return tmp_path


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL server per test process; each test takes a fresh database."""
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()
