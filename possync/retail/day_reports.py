"""What the store shows of its tills' cash-up: Z reports per till, newest first,
and a day summary (sales, returns, tax per rate, payments per method, over/short
per till) for a business day of the store, in its time zone (StoreLocale)."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from possync.retail.cashup_totals import tax_per_rate
from possync.retail.schema import receipt, receipt_payment, z_report
from possync.retail.store_locale import StoreLocale


def z_reports(
    conn: sa.Connection, terminal_id: str | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """Z reports held here, newest first (all tills, or one)."""
    query = sa.select(
        z_report.c.z_no,
        z_report.c.store_id,
        z_report.c.terminal_id,
        z_report.c.cashier_id,
        z_report.c.business_day,
        z_report.c.opened_at,
        z_report.c.created_at,
        z_report.c.opening_float,
        z_report.c.expected_cash,
        z_report.c.counted_cash,
        z_report.c.over_short,
        z_report.c.chain_seq,
        z_report.c.chain_previous,
    )
    if terminal_id:
        query = query.where(z_report.c.terminal_id == terminal_id)
    query = query.order_by(z_report.c.created_at.desc(), z_report.c.z_no.desc()).limit(limit)
    return [dict(r._mapping) for r in conn.execute(query)]


def day_summary(conn: sa.Connection, store_id: str, day: date, shop: StoreLocale) -> dict[str, Any]:
    """The store's business day ``day``: its receipts (by when they were made, in
    the store's time zone) and the Z reports of that day, per till."""
    start, end = shop.day_bounds(day)
    of_day = sa.and_(
        receipt.c.store_id == store_id, receipt.c.created_at >= start, receipt.c.created_at < end
    )
    kinds = {
        kind: (int(count), int(total))
        for kind, count, total in conn.execute(
            sa.select(receipt.c.kind, sa.func.count(), sa.func.sum(receipt.c.total))
            .where(of_day)
            .group_by(receipt.c.kind)
        )
    }
    ids = sa.select(receipt.c.receipt_id).where(of_day).scalar_subquery()
    tax = tax_per_rate(conn, ids)
    pay = receipt_payment.c
    payments = [
        {"method_code": code, "count": int(count), "amount": int(amount)}
        for code, count, amount in conn.execute(
            sa.select(pay.method_code, sa.func.count(), sa.func.sum(pay.amount))
            .where(pay.receipt_id.in_(ids))
            .group_by(pay.method_code)
            .order_by(pay.method_code)
        )
    ]
    z = z_report.c
    tills = [
        {
            "terminal_id": till,
            "z_count": int(count),
            "expected_cash": int(expected),
            "counted_cash": int(counted),
            "over_short": int(over_short),
        }
        for till, count, expected, counted, over_short in conn.execute(
            sa.select(
                z.terminal_id,
                sa.func.count(),
                sa.func.sum(z.expected_cash),
                sa.func.sum(z.counted_cash),
                sa.func.sum(z.over_short),
            )
            .where(z.store_id == store_id, z.business_day == day.isoformat())
            .group_by(z.terminal_id)
            .order_by(z.terminal_id)
        )
    ]
    sales, returns = kinds.get("sale", (0, 0)), kinds.get("return", (0, 0))
    return {
        "day": day.isoformat(),
        "sales_count": sales[0],
        "sales_total": sales[1],
        "returns_count": returns[0],
        "returns_total": returns[1],
        "net": sales[1] + returns[1],
        "tax": tax,
        "payments": payments,
        "tills": tills,
        "over_short": sum(t["over_short"] for t in tills),
    }
