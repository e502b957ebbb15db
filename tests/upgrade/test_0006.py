"""Schema 0006 (the fiscal chain, sync protocol 4): a store and a till made by the
code of schema 0005 (release 0.3.0 before the chain, protocol 3; read from git
history), the till with a sale not yet synced, are upgraded. The store's schema is
a new one's; the sale logged before goes up with no hash; the till's chain starts
with its first document after its upgrade, and the store verifies it. (A till of
protocol 3 pushing to the upgraded store: tests/retail/test_fiscal_chain_intake.py;
older tills on real processes: test_fleet.py.)"""

from __future__ import annotations

import tarfile
from io import BytesIO
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from possync.retail import fiscal_chain, sales, schema_version, store_admin
from possync.retail.schema import item, receipt
from possync.store.process import StoreProcess
from possync.sync.db import open_engine, write_tx
from possync.terminal.local import Terminal
from tests.e2e.helpers import cli
from tests.upgrade import release
from tests.upgrade.test_schema import schema_of

pytestmark = pytest.mark.e2e

COMMIT = "f9954b671619d494084d3313275223a064112275"  # schema 0005, sync protocol 3


@pytest.fixture(scope="module")
def release_0005(tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = release.from_git(COMMIT)
    if archive is None:
        pytest.skip("no git history in this clone to take schema 0005's code from")
    dest = tmp_path_factory.mktemp("schema-0005")
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def test_a_schema_0005_store_and_till_upgrade_and_the_chain_starts_after(
    release_0005: Path, tmp_path: Path
) -> None:
    def old(*args: str) -> str:
        return release.run(release_0005, *args).stdout

    db = f"sqlite:///{tmp_path / 'store.db'}"
    till = tmp_path / "T01"
    old("store", "init", "--db", db, "--store", "S01", "--name", "Main Street")
    engine = open_engine(db)
    with write_tx(engine) as conn:  # the catalog, as an import writes it
        conn.execute(item.insert(), [dict(row, active=True) for row in ITEMS])
    old("store", "terminal", "add", "T01", "--db", db)
    backup = str(tmp_path / "T01.bak")  # the till is set up from an offline backup
    made = old("store", "terminal", "backup", "T01", "--db", db, "--out", backup,
               "--store-url", "http://127.0.0.1:9", "--json")  # fmt: skip
    code = str(orjson.loads(made)["import_code"])
    old("pos", "import", backup, "--data", str(till), "--terminal", "T01", "--code", code)
    old("pos", "sell", "--data", str(till), "SKU1:1", "--pay", "cash")  # not synced yet

    # In process, what 'store upgrade' and 'pos upgrade' run.
    assert schema_version.upgrade(engine).applied == schema_version.since("0006")
    fresh = open_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    store_admin.init_store(fresh, "S01", "Main Street")
    assert schema_of(engine) == schema_of(fresh)
    fresh.dispose()
    till_db = open_engine(f"sqlite:///{till / 'terminal.db'}")
    assert schema_version.upgrade(till_db).applied == schema_version.since("0006")
    till_db.dispose()

    # The sale logged before the upgrade goes up unchained; the chain starts after.
    term = Terminal.open(till)
    with write_tx(term.engine) as conn:
        first = sales.record_sale(
            conn, term.till(), [sales.LineRequest("SKU2", 1)], [sales.PaymentRequest("CASH")]
        )
    term.close()
    assert first.chain_seq == 1 and len(first.chain_hash or "") == 64
    with StoreProcess(db) as server:
        cli("pos", "sync", "--data", str(till), "--store-url", server.url)

    with write_tx(engine) as conn:
        chained = conn.execute(
            sa.select(receipt.c.receipt_no, receipt.c.chain_seq).order_by(receipt.c.receipt_no)
        ).all()
        [t01] = fiscal_chain.verify_all(conn)
    assert [tuple(r) for r in chained] == [("S01-T01-000001", None), (first.receipt_no, 1)]
    assert (t01.state, t01.head_seq, t01.head_hash) == ("ok", 1, first.chain_hash)
    engine.dispose()


ITEMS = [
    {"sku": f"SKU{i}", "barcode": f"400000000000{i}", "name": f"Item {i}", "price": 100 * i,
     "tax_code": "STD"}
    for i in (1, 2)
]  # fmt: skip
