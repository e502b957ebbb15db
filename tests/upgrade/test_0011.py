"""Schema 0011 (a row moved to another route is sent to its old route too): a head
office made by the code of schema 0010 (read from git history), with two stores and
a cashier at S01, is upgraded. Its data is kept and its triggers are a new
database's; moving the cashier to S02 then captures the row for S02 and, once more,
for S01, where the cashier was. (On SQLite: the same triggers on PostgreSQL are
tested in tests/sync/test_capture.py, and an upgrade makes them from the same code.)"""

from __future__ import annotations

import tarfile
from io import BytesIO
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from possync.retail import cashiers, chain, schema_version
from possync.retail.schema import cashier, store
from possync.sync.db import open_engine, read_tx
from tests.upgrade import release
from tests.upgrade.test_schema import schema_of

pytestmark = pytest.mark.e2e

# schema 0010 (discounts), whose triggers send a moved row to its new route only
COMMIT = "c13f5e811f1e1b7f12da99acd19affba0860582d"


@pytest.fixture(scope="module")
def release_0010(tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = release.from_git(COMMIT)
    if archive is None:
        pytest.skip("no git history in this clone to take schema 0010's code from")
    dest = tmp_path_factory.mktemp("schema-0010")
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def cashier_changes(engine: sa.Engine) -> list[tuple[str, str | None, str | None]]:
    """(cashier, the row's store, the route it was captured for), in log order."""
    with read_tx(engine) as conn:
        rows = conn.execute(
            sa.text(
                "SELECT row_data, route_key FROM sync_change WHERE table_name = 'cashier' "
                "ORDER BY seq"
            )
        ).all()
    return [(row["cashier_id"], row["store_id"], route) for row, route in
            ((orjson.loads(data), route) for data, route in rows)]  # fmt: skip


def test_a_schema_0010_head_office_upgrades_and_sends_a_moved_cashier_to_both_stores(
    release_0010: Path, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'ho.db'}"
    release.run(release_0010, "ho", "init", "--db", db_url, "--name", "Acme")
    for store_id in ("S01", "S02"):
        release.run(release_0010, "ho", "store", "add", store_id, "--db", db_url)
    release.run(release_0010, "ho", "cashier", "add", "C07", "--db", db_url, "--name", "Ana",
                "--pin", "4821", "--store", "S01")  # fmt: skip
    engine = open_engine(db_url)
    assert schema_version.upgrade(engine).applied == schema_version.since("0011")
    fresh = open_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    chain.init_head_office(fresh, "Acme")
    assert schema_of(engine) == schema_of(fresh)  # triggers included
    fresh.dispose()

    with read_tx(engine) as conn:  # data kept
        assert sorted(conn.execute(sa.select(store.c.store_id)).scalars()) == ["S01", "S02"]
        row = conn.execute(sa.select(cashier)).one()
        assert (row.cashier_id, row.store_id) == ("C07", "S01")
        assert cashiers.verify(conn, "C07", "4821")["name"] == "Ana"
    assert cashier_changes(engine) == [("C07", "S01", "S01")]

    chain.save_cashier(engine, "C07", "Ana", None, "S02")
    assert cashier_changes(engine)[1:] == [("C07", "S02", "S02"), ("C07", "S02", "S01")]
    engine.dispose()
