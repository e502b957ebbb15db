"""Stock as movements. On-hand is the sum of movements, kept per node by a trigger
as movements are inserted (locally or by replication); totals never replicate."""

from __future__ import annotations

import sqlalchemy as sa

from possync.retail.errors import RetailError
from possync.retail.ids import new_id
from possync.retail.schema import item, stock_level, stock_movement
from possync.sync.clock import utc_now

REASONS = ("sale", "return", "goods_receipt", "adjustment", "count", "transfer")
# Written at head office only, for a store that joins after purging movements
# (retail/opening_stock.py): never made by hand, never sent to the store.
OPENING_BALANCE = "opening_balance"
MAX_MOVEMENT = 10**9  # units in one movement made by hand: beyond is a typo

_SQLITE_TRIGGER = (
    "DROP TRIGGER IF EXISTS stock_level_on_movement",
    """CREATE TRIGGER stock_level_on_movement AFTER INSERT ON stock_movement BEGIN
        INSERT INTO stock_level (store_id, sku, on_hand) VALUES (NEW.store_id, NEW.sku, NEW.qty)
        ON CONFLICT (store_id, sku) DO UPDATE SET on_hand = on_hand + excluded.on_hand;
    END""",
)

# PostgreSQL: once per statement, summing the statement's new movements per item.
# In (store, item) order: concurrent pushes then lock stock_level rows in one order
# and wait for each other; in the hash order of GROUP BY they deadlocked (50 tills).
_POSTGRES_TRIGGER = (
    """CREATE OR REPLACE FUNCTION stock_level_on_movement() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO stock_level (store_id, sku, on_hand)
      SELECT store_id, sku, sum(qty) FROM new_movements GROUP BY store_id, sku
      ORDER BY store_id, sku
      ON CONFLICT (store_id, sku) DO UPDATE SET on_hand = stock_level.on_hand + excluded.on_hand;
      RETURN NULL;
    END $$""",
    "DROP TRIGGER IF EXISTS stock_level_on_movement ON stock_movement",
    """CREATE TRIGGER stock_level_on_movement AFTER INSERT ON stock_movement
    REFERENCING NEW TABLE AS new_movements FOR EACH STATEMENT
    EXECUTE FUNCTION stock_level_on_movement()""",
)


def install_triggers(conn: sa.Connection) -> None:
    for ddl in _SQLITE_TRIGGER if conn.dialect.name == "sqlite" else _POSTGRES_TRIGGER:
        conn.exec_driver_sql(ddl)


def movement(
    store_id: str,
    sku: str,
    qty: int,
    reason: str,
    doc_ref: str | None,
    terminal_id: str | None,
    created_at: str | None = None,
) -> dict[str, object]:
    return {
        "movement_id": new_id(),
        "store_id": store_id,
        "sku": sku,
        "qty": qty,
        "reason": reason,
        "doc_ref": doc_ref,
        "terminal_id": terminal_id,
        "created_at": created_at or utc_now(),
    }


def adjust(conn: sa.Connection, store_id: str, sku: str, qty: int, reason: str) -> None:
    """Record a stock movement made on this node (goods received, a count...)."""
    record(conn, store_id, sku, qty, reason, None)


def record(
    conn: sa.Connection, store_id: str, sku: str, qty: int, reason: str, doc_ref: str | None
) -> None:
    """A movement of ``store_id``'s stock made on this node (a store or head office)."""
    if reason not in REASONS:
        raise RetailError(f"unknown reason {reason!r}; one of {', '.join(REASONS)}")
    if conn.execute(sa.select(item.c.sku).where(item.c.sku == sku)).first() is None:
        raise RetailError(f"unknown item {sku!r}")
    conn.execute(stock_movement.insert(), [movement(store_id, sku, qty, reason, doc_ref, None)])


def on_hand(conn: sa.Connection, store_id: str) -> dict[str, int]:
    rows = conn.execute(
        sa.select(stock_level.c.sku, stock_level.c.on_hand)
        .where(stock_level.c.store_id == store_id)
        .order_by(stock_level.c.sku)
    )
    return {sku: qty for sku, qty in rows}
