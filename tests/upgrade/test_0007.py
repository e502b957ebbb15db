"""Schema 0007 (cashiers assigned to stores, ``cashier.store_id``): a store made by
the code of schema 0006 (read from git history), with a cashier whose row is still
in the change log, is upgraded. Its schema is a new one's; the cashier works at
every store (NULL), as every cashier did, and the logged change has the new column,
so a till loads it and signs the cashier in."""

from __future__ import annotations

import tarfile
from io import BytesIO
from pathlib import Path

import pytest
import sqlalchemy as sa

from possync.retail import cashiers, schema_version, store_admin
from possync.retail.schema import cashier
from possync.sync.db import open_engine, read_tx
from tests.upgrade import release
from tests.upgrade.test_schema import _logged, schema_of

pytestmark = pytest.mark.e2e

# schema 0006, sync protocol 4 without cashier.store_id
COMMIT = "a9a9e115d7ca04245ce77d4bb39dfed23d1f586c"


@pytest.fixture(scope="module")
def release_0006(tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = release.from_git(COMMIT)
    if archive is None:
        pytest.skip("no git history in this clone to take schema 0006's code from")
    dest = tmp_path_factory.mktemp("schema-0006")
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def test_a_schema_0006_store_upgrades_and_its_cashiers_work_at_every_store(
    release_0006: Path, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    release.run(release_0006, "store", "init", "--db", db, "--store", "S01", "--name", "Main")
    release.run(release_0006, "store", "cashier", "add", "ANA", "--db", db, "--name", "Ana",
                "--pin", "4821")  # fmt: skip
    engine = open_engine(db)
    assert schema_version.upgrade(engine).applied == schema_version.since("0007")
    fresh = open_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    store_admin.init_store(fresh, "S01", "Main")
    assert schema_of(engine) == schema_of(fresh)
    fresh.dispose()

    with read_tx(engine) as conn:
        stored = conn.execute(sa.select(cashier.c.cashier_id, cashier.c.store_id)).all()
        assert cashiers.verify(conn, "ANA", "4821")["name"] == "Ana"
    assert [tuple(r) for r in stored] == [("ANA", None)]
    logged = _logged(engine, "cashier")
    assert [(row["cashier_id"], row["store_id"]) for row in logged] == [("ANA", None)]
    engine.dispose()
