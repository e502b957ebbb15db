"""Paged, searchable lists of a store's data, for the console's pages.

Every list is ordered by a unique key, so a page never repeats or skips a row;
searches use indexed columns where they can (exact and prefix matches) and fall
back to a contains-match on names, which stays well under 100 ms at 50,000 items.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from possync.retail import item_search
from possync.retail.schema import (
    cashier,
    customer,
    item,
    payment_method,
    receipt,
    stock_level,
    store,
    tax_rate,
)
from possync.retail.store_locale import StoreLocale

PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    number: int  # 1-based
    total: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max((self.total + self.size - 1) // self.size, 1)

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def _page(
    conn: sa.Connection, query: sa.Select[Any], order: list[Any], number: int, size: int
) -> Page:
    number = max(number, 1)
    total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(*order).limit(size).offset((number - 1) * size))
    return Page([dict(r._mapping) for r in rows], number, int(total), size)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def items(
    conn: sa.Connection, store_id: str, search: str = "", number: int = 1, size: int = PAGE_SIZE
) -> Page:
    """Items with their on-hand stock; ``search`` matches a SKU or barcode exactly,
    a SKU by prefix, or any part of the name (case- and accent-insensitive)."""
    query = sa.select(item, sa.func.coalesce(stock_level.c.on_hand, 0).label("on_hand")).outerjoin(
        stock_level, (stock_level.c.sku == item.c.sku) & (stock_level.c.store_id == store_id)
    )
    text = search.strip()
    if text:
        query = query.where(
            sa.or_(
                item.c.sku == text,
                item.c.barcode == text,
                item.c.sku.startswith(text, autoescape=True),
                item_search.name_contains(conn, text),  # case and accents aside
            )
        )
    return _page(conn, query, [item.c.sku], number, size)


def item_by_sku(conn: sa.Connection, sku: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(item).where(item.c.sku == sku)).first()
    return dict(row._mapping) if row else None


def customers(conn: sa.Connection, search: str = "", number: int = 1) -> Page:
    query = sa.select(customer)
    text = search.strip()
    if text:
        query = query.where(
            sa.or_(
                customer.c.customer_no == text,
                customer.c.name.ilike(_like(text), escape="\\"),
                customer.c.email == text,
                customer.c.phone == text,
            )
        )
    return _page(conn, query, [customer.c.name, customer.c.customer_id], number, PAGE_SIZE)


def receipts(
    conn: sa.Connection,
    *,
    number_prefix: str = "",
    terminal_id: str = "",
    day: date | None = None,
    page: int = 1,
) -> Page:
    """Receipts, newest first; ``day``: the store's business day (its time zone: a
    sale at 00:57 in Paris is the day's, not the day before's as in UTC)."""
    query = sa.select(receipt)
    if number_prefix.strip():
        query = query.where(receipt.c.receipt_no.startswith(number_prefix.strip(), autoescape=True))
    if terminal_id:
        query = query.where(receipt.c.terminal_id == terminal_id)
    if day is not None:
        shop = conn.execute(sa.select(store)).first()
        start, end = (StoreLocale.of(shop) if shop else StoreLocale()).day_bounds(day)
        query = query.where(receipt.c.created_at >= start, receipt.c.created_at < end)
    return _page(
        conn, query, [receipt.c.created_at.desc(), receipt.c.receipt_id.desc()], page, PAGE_SIZE
    )


def terminal_ids_with_receipts(conn: sa.Connection) -> list[str]:
    return list(
        conn.execute(
            sa.select(receipt.c.terminal_id).distinct().order_by(receipt.c.terminal_id)
        ).scalars()
    )


def everything(conn: sa.Connection, table: sa.Table) -> list[dict[str, Any]]:
    """Small master-data tables, whole (tax rates, payment methods, cashiers)."""
    assert table in (tax_rate, payment_method, cashier)
    columns = [c for c in table.c if c.name != "pin_hash"]  # hashes never leave the model
    rows = conn.execute(sa.select(*columns).order_by(*table.primary_key.columns))
    return [dict(r._mapping) for r in rows]
