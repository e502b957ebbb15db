"""Finding an item by name at the till, over catalogs of tens of thousands of items.

Names that *start* with the text come first, from an index on the name without
case (``item_name_nocase``, created on the terminal's own database by
:func:`install`; it is local and never replicated). Names that merely *contain*
the text fill the rest of the page: that is a scan of the table, a few
milliseconds for 50,000 items (measured in ``bench/bench_scan.py``), stopped as soon
as a page is full. An exact SKU or barcode comes first of all.

Terminal databases only (SQLite: ``COLLATE NOCASE``, ``LIKE`` without case).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from possync.retail import prices
from possync.retail.schema import item

PAGE = 20
_TOP = "\U0010ffff"  # sorts after every character: "abc" <= name < "abc" + _TOP is a prefix


def install(conn: sa.Connection) -> None:
    conn.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS item_name_nocase ON item (name COLLATE NOCASE)"
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(conn: sa.Connection, text: str, limit: int = PAGE) -> list[dict[str, Any]]:
    """Sellable items matching ``text``: exact code, then name prefix, then name
    containing it; at most ``limit``."""
    text = " ".join(text.split())
    if not text:
        return []
    columns = (item.c.sku, item.c.barcode, item.c.name, prices.price())
    name = sa.collate(item.c.name, "NOCASE")
    found: dict[str, dict[str, Any]] = {}

    def take(stmt: sa.Select[Any]) -> None:
        # ``limit`` rows always suffice: at most len(found) of them were found before
        rows = conn.execute(stmt.limit(limit)).all()
        for row in rows:
            if len(found) < limit:
                found.setdefault(row.sku, dict(row._mapping))

    take(
        sa.select(*columns)
        .select_from(prices.priced_items())
        .where(item.c.active, sa.or_(item.c.sku == text, item.c.barcode == text))
    )
    take(
        sa.select(*columns)
        .select_from(prices.priced_items())
        .where(item.c.active, name >= text, name < text + _TOP)
        .order_by(name, item.c.sku)
    )
    if len(found) < limit:
        take(
            sa.select(*columns)
            .select_from(prices.priced_items())
            .where(item.c.active, item.c.name.like(f"%{_escape_like(text)}%", escape="\\"))
            .order_by(name, item.c.sku)
        )
    return list(found.values())
