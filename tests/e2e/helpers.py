"""Helpers for end-to-end tests: the real CLI in subprocesses, real store servers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from possync.retail import catalog, store_admin
from possync.retail import stock as stock_rules
from possync.retail.schema import receipt, stock_level
from possync.sync.db import open_engine, read_tx, write_tx

# Most end-to-end tests run once per store database (the ``db_url`` fixture). One
# whose store-side work is the same on both (the subject is the till, the CLI or a
# rule decided before any SQL) runs on one of them, named where it is used, so that
# both databases stay covered across the module and the suite stays well under 20
# minutes on 2 cores.
ON_SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
ON_POSTGRES = pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


def cli(
    *args: str, check: bool = True, expect: int | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``possync ARGS`` as a separate process."""
    result = subprocess.run(
        [sys.executable, "-m", "possync", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )
    if expect is not None:
        assert result.returncode == expect, (result.returncode, result.stdout, result.stderr)
    elif check and result.returncode != 0:
        raise AssertionError(f"possync {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def cli_json(*args: str) -> Any:
    return orjson.loads(cli(*args, "--json").stdout)


def catalog_csv(n: int) -> str:
    lines = ["sku,barcode,name,price,tax_code"]
    lines += [
        f"SKU{i},{5000000000000 + i},Item {i},{1 + i % 50}.{i % 100:02d},STD"
        for i in range(1, n + 1)
    ]
    return "\n".join(lines) + "\n"


def make_store(db_url: str, items: int = 50, stock: int = 1000) -> sa.Engine:
    engine = open_engine(db_url)
    store_admin.init_store(engine, "S01", "Main Street")
    with write_tx(engine) as conn:
        catalog.import_csv(conn, catalog_csv(items))
        for i in range(1, 6):
            stock_rules.adjust(conn, "S01", f"SKU{i}", stock, "goods_receipt")
    return engine


def stock_of(engine: sa.Engine) -> dict[str, int]:
    with read_tx(engine) as conn:
        return dict(conn.execute(sa.select(stock_level.c.sku, stock_level.c.on_hand)).all())


def receipt_numbers(engine: sa.Engine) -> list[str]:
    with read_tx(engine) as conn:
        return sorted(conn.execute(sa.select(receipt.c.receipt_no)).scalars())


def count(engine: sa.Engine, table: sa.Table) -> int:
    with read_tx(engine) as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def terminal_engine(data: Path) -> sa.Engine:
    return open_engine(f"sqlite:///{data / 'terminal.db'}")


def cli_init(
    data: Path, url: str, terminal: str, code: str, expect: int | None = None
) -> subprocess.CompletedProcess[str]:
    """``possync pos init`` for a terminal already added on the store."""
    return cli(
        "pos",
        "init",
        "--data",
        str(data),
        "--store-url",
        url,
        "--terminal",
        terminal,
        "--code",
        code,
        expect=expect,
    )


def pos_init(engine: sa.Engine, store_url: str, data: Path, terminal: str) -> None:
    """Add a terminal on the store and run ``possync pos init`` for it."""
    cli_init(
        data, store_url, terminal, store_admin.add_terminal(engine, terminal).registration_code
    )


def line_row(**over: Any) -> dict[str, Any]:
    """A receipt line as release 0.1.0 (sync protocol 1) sends it: 1 x SKU1 at 2.01,
    20 % tax included; ``discount=0`` and others make the current shape."""
    return {
        "receipt_id": "r1",
        "line_no": 1,
        "store_id": "S01",
        "terminal_id": "T01",
        "sku": "SKU1",
        "name": "Item 1",
        "qty": 1,
        "unit_price": 201,
        "line_total": 201,
        "tax_code": "STD",
        "tax_rate_bp": 2000,
        "tax_amount": 34,
        "original_line_no": None,
        **over,
    }
