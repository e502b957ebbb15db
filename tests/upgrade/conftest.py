"""Fixtures of the upgrade tests: release 0.1.0's code, and copies of the databases
it made (tests/upgrade/fixtures/0.1.0, made by make_fixtures.py)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.upgrade import release

FIXTURES = Path(__file__).with_name("fixtures") / release.RELEASE


@pytest.fixture(scope="session")
def old_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Release 0.1.0's package, extracted from git history."""
    return release.materialise(tmp_path_factory.mktemp("release-0.1.0"))


@dataclass(frozen=True)
class Shop:
    """Copies of the 0.1.0 store database and of till T01's data directory."""

    store_db: Path
    till: Path

    @property
    def store_url(self) -> str:
        return f"sqlite:///{self.store_db}"

    @property
    def till_db(self) -> Path:
        return self.till / "terminal.db"


@pytest.fixture
def shop_0_1_0(tmp_path: Path) -> Shop:
    shutil.copy(FIXTURES / "store.db", tmp_path / "store.db")
    shutil.copytree(FIXTURES / "till-T01", tmp_path / "till-T01")
    return Shop(tmp_path / "store.db", tmp_path / "till-T01")
