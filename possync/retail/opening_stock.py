"""A joining store's opening balance, written at head office by head office.

A store that purged movements before it joined sends head office, per item, its
on-hand less the movements that go up (retail/joining_history.py). Head office
records each as a movement of reason ``opening_balance``:

* with an id made from the store and the item, so that the same balance sent
  again (a lost answer, a resumed join) is the same movement, inserted once;
* captured with the store as its origin, so it is never sent down to the store:
  the store and its tills count that stock already.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from possync.retail import stock
from possync.retail.errors import RetailError
from possync.retail.replication import SPEC
from possync.retail.schema import stock_movement
from possync.sync.apply import Applier
from possync.sync.clock import utc_now
from possync.sync.log import Change, Op

MAX_ITEMS = 5000  # balances per request; a store sends more in several
_NAMESPACE = uuid.UUID("6f0c8a52-3c1e-4d0b-9a57-2b1d3f3e8c10")
_SKU_LENGTH = stock_movement.c.sku.type.length  # type: ignore[attr-defined]


def movement_id(store_id: str, sku: str) -> str:
    """The opening movement of ``sku`` at ``store_id``: always the same id."""
    return str(uuid.uuid5(_NAMESPACE, f"{stock.OPENING_BALANCE}/{store_id}/{sku}"))


def parse(body: Any) -> dict[str, int]:
    """``{"balances": [{"sku": ..., "qty": ...}, ...]}``, checked; RetailError else."""
    balances = body.get("balances") if isinstance(body, dict) else None
    if not isinstance(balances, list) or len(balances) > MAX_ITEMS:
        raise RetailError(f"balances: expected a list of at most {MAX_ITEMS}")
    found: dict[str, int] = {}
    for i, entry in enumerate(balances):
        sku = entry.get("sku") if isinstance(entry, dict) else None
        qty = entry.get("qty") if isinstance(entry, dict) else None
        if not isinstance(sku, str) or not 0 < len(sku) <= (_SKU_LENGTH or 64):
            raise RetailError(f"balances[{i}].sku: expected an item code")
        if type(qty) is not int or not 0 < abs(qty) <= stock.MAX_MOVEMENT:
            raise RetailError(
                f"balances[{i}].qty: expected a whole number up to {stock.MAX_MOVEMENT:,}, not 0"
            )
        if sku in found:
            raise RetailError(f"balances[{i}].sku: {sku!r} twice")
        found[sku] = qty
    return found


def record(conn: sa.Connection, store_id: str, balances: dict[str, int]) -> int:
    """Write the opening movements head office does not have yet; returns how many
    it wrote. Items unknown here are taken too: the store's stock of an item head
    office never had is the store's, and its sales of it come up all the same."""
    if not balances:
        return 0
    ids = {sku: movement_id(store_id, sku) for sku in balances}
    held = set(
        conn.execute(
            sa.select(stock_movement.c.movement_id).where(
                stock_movement.c.movement_id.in_(list(ids.values()))
            )
        ).scalars()
    )
    now = utc_now()
    rows = [
        {
            **stock.movement(store_id, sku, qty, stock.OPENING_BALANCE, None, None, now),
            "movement_id": ids[sku],
        }
        for sku, qty in balances.items()
        if ids[sku] not in held
    ]
    # Inserted or ignored (an immutable table), captured as the store's own change.
    Applier(SPEC).apply(conn, [Change(0, "stock_movement", Op.UPSERT, r) for r in rows], store_id)
    return len(rows)
