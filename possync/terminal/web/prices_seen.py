"""The price each basket line had when the cashier scanned it, to tell them when a
sync changes it before the sale is paid.

The basket keeps SKUs and quantities only and always shows (and the sale charges,
:func:`possync.retail.sales.record_sale`) the current price; a price that a sync
changed in the middle of a sale would otherwise change silently. The prices seen
are kept in the till's own key/value table (``sync_state``, local and never
replicated), one entry per cashier, written in the transaction of the basket change
that added the line: so a reload or a restart of ``pos run`` still knows them, and
no schema change was needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import sqlalchemy as sa

from possync.retail import basket
from possync.sync import state

KEY = "basket_prices_seen:"  # + cashier id (at most 16 characters: within the key's 64)


@dataclass(frozen=True)
class PriceChange:
    was: int  # when the item went into the basket
    now: int  # what the sale will charge


def _key(cashier_id: str) -> str:
    return KEY + cashier_id


def _load(conn: sa.Connection, cashier_id: str) -> dict[str, int]:
    raw = state.get(conn, _key(cashier_id))
    if not raw:
        return {}
    loaded = orjson.loads(raw)
    return {str(k): int(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def skus_in_basket(conn: sa.Connection, cashier_id: str) -> set[str]:
    """The SKUs of the basket now (read before a change, for :func:`remember`)."""
    line = basket.basket_line
    return set(conn.execute(sa.select(line.c.sku).where(line.c.cashier_id == cashier_id)).scalars())


def remember(conn: sa.Connection, cashier_id: str, skus_before: set[str]) -> None:
    """After a basket change, in its transaction: a line that is new (or whose price
    was never noted) keeps the price it has now; lines gone are forgotten."""
    seen = _load(conn, cashier_id)
    noted = {
        line.sku: seen[line.sku]
        if line.sku in skus_before and line.sku in seen
        else line.unit_price
        for line in basket.view(conn, cashier_id).lines
    }
    if not noted:
        state.delete(conn, _key(cashier_id))
    elif noted != seen:
        state.put(conn, _key(cashier_id), orjson.dumps(noted).decode())


def changes(conn: sa.Connection, the_basket: basket.Basket) -> dict[int, PriceChange]:
    """Lines whose price is no longer the one they were scanned at, by line number."""
    seen = _load(conn, the_basket.cashier_id)
    return {
        line.line_no: PriceChange(seen[line.sku], line.unit_price)
        for line in the_basket.lines
        if line.sku in seen and seen[line.sku] != line.unit_price
    }
