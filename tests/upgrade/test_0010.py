"""Schema 0010 (discounts, voids and cancellations): a store made by the code of
schema 0009 (read from git history), with a cashier and a receipt line still in the
change log, is upgraded. Its schema is a new one's; the logged rows have the new
columns (no limit, not a manager, no reason); the store then adds reasons and gives
a cashier a limit, which the change log carries whole to the tills."""

from __future__ import annotations

import tarfile
from io import BytesIO
from pathlib import Path

import pytest
import sqlalchemy as sa

from possync.retail import cashiers, discounts, schema_version, store_admin
from possync.retail.schema import cashier
from possync.sync.db import open_engine, read_tx, write_tx
from tests.upgrade import release
from tests.upgrade.test_schema import _logged, schema_of

pytestmark = pytest.mark.e2e

# schema 0009 (cash-up), sync protocol 4 without this revision's tables and columns
COMMIT = "e6e827b7f950a7db2266a0c4862d09d5fdb419d8"


@pytest.fixture(scope="module")
def release_0009(tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = release.from_git(COMMIT)
    if archive is None:
        pytest.skip("no git history in this clone to take schema 0009's code from")
    dest = tmp_path_factory.mktemp("schema-0009")
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def test_a_schema_0009_store_upgrades_and_takes_discounts(
    release_0009: Path, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    release.run(release_0009, "store", "init", "--db", db, "--store", "S01", "--name", "Main")
    release.run(release_0009, "store", "cashier", "add", "ANA", "--db", db, "--name", "Ana",
                "--pin", "2468")  # fmt: skip
    engine = open_engine(db)
    assert schema_version.upgrade(engine).applied == schema_version.since("0010")
    fresh = open_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    store_admin.init_store(fresh, "S01", "Main")
    assert schema_of(engine) == schema_of(fresh)
    fresh.dispose()

    with read_tx(engine) as conn:
        row = conn.execute(sa.select(cashier)).one()
    assert (row.cashier_id, row.discount_limit_bp, row.manager) == ("ANA", None, False)
    (logged,) = _logged(engine, "cashier")
    assert logged["discount_limit_bp"] is None and logged["manager"] in (False, 0)

    with write_tx(engine) as conn:
        discounts.save_reason(conn, "STAFF", "Staff discount")
        cashiers.save(conn, "ANA", "Ana", discount_limit_bp=1000, manager=True)
    newest = _logged(engine, "cashier")[-1]
    assert (newest["discount_limit_bp"], bool(newest["manager"])) == (1000, True)
    assert _logged(engine, "discount_reason") == [
        {"code": "STAFF", "name": "Staff discount", "active": 1}
    ]
    engine.dispose()
