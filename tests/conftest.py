"""Shared fixtures: databases on SQLite and on a real PostgreSQL server.

PostgreSQL tests create their own database and drop it afterwards. Without a
reachable server they are skipped with the reason, except in CI (CI=true), where
a missing server is a failure.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.browser import chromium, page  # noqa: F401  (fixtures for the web tests)


def pytest_configure(config: pytest.Config) -> None:
    """Give each xdist worker its own range of ports (below the kernel's ephemeral
    range), so a server restarted on its old port, or a port expected to be dead,
    is never taken by another worker's server in between."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw") or 0) % 8
    low = 20_000 + index * 1_500
    os.environ["POSSYNC_PORT_RANGE"] = f"{low}-{low + 1_499}"
    # The backup signing keys of PostgreSQL test stores go to a directory of their own,
    # never the home directory (possync.sync.signing_key).
    os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="possync-test-data-")


PG_ADMIN_URL = os.environ.get(
    "POSSYNC_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _pg_available() -> str | None:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means "no server here"
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {str(exc).splitlines()[0]}"


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    reason = _pg_available()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI requires PostgreSQL)")
        pytest.skip(reason)
    return PG_ADMIN_URL


@pytest.fixture
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    name = f"possync_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = pg_admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store database URL, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("pg_url")
