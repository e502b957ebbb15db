from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from possync.retail import catalog, database, numbering, store_admin
from possync.retail.sales import Till
from possync.retail.schema import doc_series, payment_method, store, tax_rate
from possync.sync.db import open_engine, write_tx


@pytest.fixture
def till_db(tmp_path: Path) -> tuple[sa.Engine, Till]:
    """A terminal-like database with a small catalog and its series, no network."""
    engine = open_engine(f"sqlite:///{tmp_path / 'terminal.db'}")
    database.install(engine, "T01")
    with write_tx(engine) as conn:
        conn.execute(
            store.insert().values(store_id="S01", name="s", currency="EUR", offline_enabled=True)
        )
        conn.execute(tax_rate.insert(), list(store_admin.DEFAULT_TAX_RATES))
        conn.execute(payment_method.insert(), list(store_admin.DEFAULT_PAYMENT_METHODS))
        conn.execute(doc_series.insert(), numbering.default_series("S01", "T01"))
        catalog.import_csv(
            conn,
            "sku,barcode,name,price,tax_code\n"
            "A,111,Apple,1.20,RED\nB,222,Bread,2.40,STD\n"
            "Z,333,Gift card,10.00,ZERO\n",
        )
        conn.exec_driver_sql("UPDATE item SET active = 0 WHERE sku = 'Z'")
    return engine, Till("S01", "T01", "EUR")
