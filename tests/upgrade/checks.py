"""What the upgrade tests compare: a till's documents and stock against its store's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from possync.retail.schema import customer, receipt, receipt_line, receipt_payment, stock_level
from possync.sync.db import open_engine, read_tx


def _rows(engine: sa.Engine, table: sa.Table, terminal: str, columns: list[str]) -> list[Any]:
    with read_tx(engine) as conn:
        present = {c["name"] for c in sa.inspect(conn).get_columns(table.name)}
        cols = [table.c[c] for c in columns if c in present]
        stmt = sa.select(*cols).where(table.c.terminal_id == terminal)
        return sorted(tuple(r) for r in conn.execute(stmt))


def documents(engine: sa.Engine, terminal: str) -> dict[str, list[Any]]:
    """Every receipt, line and payment of ``terminal`` held by a database (the
    columns that release 0.1.0 had, so that old and new databases compare)."""
    chain = ("chain_seq", "chain_hash")  # schema 0006: compared by the fiscal chain's tests
    return {
        "receipt": _rows(
            engine, receipt, terminal, [c.name for c in receipt.columns if c.name not in chain]
        ),
        "receipt_line": _rows(
            engine,
            receipt_line,
            terminal,
            # schema 0002's discount and 0010's reason: columns 0.1.0 never had
            [c.name for c in receipt_line.columns if c.name not in ("discount", "discount_reason")],
        ),
        "receipt_payment": _rows(
            engine, receipt_payment, terminal, [c.name for c in receipt_payment.columns]
        ),
    }


def stock(engine: sa.Engine) -> dict[str, int]:
    with read_tx(engine) as conn:
        rows = conn.execute(sa.select(stock_level.c.sku, stock_level.c.on_hand))
        return dict(rows.all())


def customers(engine: sa.Engine) -> set[str]:
    with read_tx(engine) as conn:
        return set(conn.execute(sa.select(customer.c.customer_no)).scalars())


def till_engine(till: Path) -> sa.Engine:
    return open_engine(f"sqlite:///{till / 'terminal.db'}")


def revision(engine: sa.Engine) -> str | None:
    from possync.retail import schema_version

    with engine.connect() as conn:
        return schema_version.revision(conn)


def assert_in_step(store: sa.Engine, till: Path, terminal: str = "T01") -> dict[str, list[Any]]:
    """The store holds exactly the till's documents (each once: receipt numbers
    are unique, and the lists are equal row for row), and both count the same stock."""
    local = till_engine(till)
    try:
        mine, theirs = documents(local, terminal), documents(store, terminal)
        assert mine == theirs
        assert len({r[1] for r in mine["receipt"]}) == len(mine["receipt"])
        assert stock(local) == stock(store)
        assert customers(local) == customers(store)
    finally:
        local.dispose()
    return mine
