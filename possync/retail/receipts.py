"""Reading receipts back: to print one, and to take a sale back on another terminal.

A terminal holds only its own receipts (they flow up, never down). To take back a
sale made on another terminal of the store, the terminal asks the store, which
answers with :func:`for_return`; :func:`original_from_wire` turns that answer into
the :class:`~possync.retail.sales.OriginalSale` a return is recorded against.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from possync.retail import barcode, fiscal_chain, sales
from possync.retail.errors import RetailError
from possync.retail.schema import (
    cashier,
    customer,
    payment_method,
    receipt,
    receipt_line,
    receipt_payment,
    store,
)


def document(conn: sa.Connection, receipt_no: str) -> dict[str, Any] | None:
    """Everything a printed receipt shows."""
    head = conn.execute(sa.select(receipt).where(receipt.c.receipt_no == receipt_no)).first()
    if head is None:
        return None
    lines = conn.execute(
        sa.select(receipt_line)
        .where(receipt_line.c.receipt_id == head.receipt_id)
        .order_by(receipt_line.c.line_no)
    ).all()
    payments = conn.execute(
        sa.select(receipt_payment, payment_method.c.name, payment_method.c.kind)
        .outerjoin(payment_method, payment_method.c.method_code == receipt_payment.c.method_code)
        .where(receipt_payment.c.receipt_id == head.receipt_id)
        .order_by(receipt_payment.c.payment_no)
    ).all()
    original_no = None
    if head.original_receipt_id:
        original_no = conn.execute(
            sa.select(receipt.c.receipt_no).where(receipt.c.receipt_id == head.original_receipt_id)
        ).scalar()
    shop = conn.execute(
        sa.select(store.c.name, store.c.address, store.c.vat_number).where(
            store.c.store_id == head.store_id
        )
    ).first()
    return {
        **head._mapping,
        "store_name": shop.name if shop else None,
        "store_address": shop.address if shop else None,
        "store_vat_number": shop.vat_number if shop else None,
        "cashier_name": conn.execute(
            sa.select(cashier.c.name).where(cashier.c.cashier_id == head.cashier_id)
        ).scalar(),
        "customer": _customer(conn, head.customer_id),
        "original_no": original_no,
        # Printed on the receipt: the first hex digits of its fiscal chain hash.
        "chain_short": fiscal_chain.short(head.chain_hash),
        "lines": [dict(ln._mapping) for ln in lines],
        "payments": [dict(p._mapping) for p in payments],
        **tax_table(lines),
        # What the Returns screen's field takes when the printed barcode is scanned:
        # the receipt number, nothing else. None if it cannot be encoded.
        "barcode_svg": barcode.svg(head.receipt_no),
    }


def tax_table(lines: Sequence[Any]) -> dict[str, Any]:
    """Net, tax and gross per tax rate, highest rate first, and their totals.

    Sums of what each line stored (its amount after discount, and the tax in it,
    computed once when the sale was made), never a tax computed again from a
    rate's total: so the totals are exactly the receipt's total and tax_total,
    to the cent, whatever the rounding of each line.
    """
    per_rate: dict[int, dict[str, int]] = {}
    for ln in lines:
        row = per_rate.setdefault(ln.tax_rate_bp, {"rate_bp": ln.tax_rate_bp, "gross": 0, "tax": 0})
        row["gross"] += ln.line_total
        row["tax"] += ln.tax_amount
    rates = [{**r, "net": r["gross"] - r["tax"]} for _, r in sorted(per_rate.items(), reverse=True)]
    totals = {k: sum(r[k] for r in rates) for k in ("net", "tax", "gross")}
    return {"tax_rates": rates, "tax_totals": totals}


def _customer(conn: sa.Connection, customer_id: str | None) -> dict[str, Any] | None:
    if customer_id is None:
        return None
    row = conn.execute(
        sa.select(customer.c.customer_no, customer.c.name).where(
            customer.c.customer_id == customer_id
        )
    ).first()
    return dict(row._mapping) if row else None


def for_return(
    conn: sa.Connection, receipt_no: str, store_ids: tuple[str, ...]
) -> dict[str, Any] | None:
    """A sale as the store answers a terminal that is to take it back: its lines and
    every return of it the store has received, per return document (so that the
    terminal can merge them with its own, not yet synced, without counting one
    twice). JSON-ready. None if there is no such receipt in one of ``store_ids``
    (another store's is not found either); RetailError if it is not a sale."""
    found = conn.execute(
        sa.select(receipt.c.store_id).where(receipt.c.receipt_no == receipt_no)
    ).scalar()
    if found is None or found not in store_ids:
        return None
    original = sales.original_sale(conn, receipt_no)
    if original is None:
        return None
    return {
        "receipt_id": original.receipt_id,
        "receipt_no": original.receipt_no,
        "kind": "sale",
        "store_id": original.store_id,
        "terminal_id": original.terminal_id,
        "customer_id": original.customer_id,
        "created_at": original.created_at,
        "lines": [
            {
                "line_no": ln.line_no,
                "sku": ln.sku,
                "name": ln.name,
                "qty": ln.qty,
                "unit_price": ln.unit_price,
                "tax_code": ln.tax_code,
                "tax_rate_bp": ln.tax_rate_bp,
                # What the sale took off the line: a return at another till refunds
                # what was paid, not the shelf price.
                "discount": ln.discount,
            }
            for ln in original.lines
        ],
        "returns": {
            receipt_id: {str(line_no): qty for line_no, qty in lines.items()}
            for receipt_id, lines in sales.returns_of(conn, original.receipt_id).items()
        },
    }


def original_from_wire(
    body: Any, local_returns: dict[str, dict[int, int]]
) -> tuple[sales.OriginalSale, dict[str, dict[int, int]]]:
    """The sale the store sent, with the returns known to either side merged by
    document. Returns the sale and the store's returns (kept to merge again later)."""
    try:
        store_returns = {
            str(rid): {int(no): int(qty) for no, qty in lines.items()}
            for rid, lines in body["returns"].items()
        }
        lines = tuple(
            sales.SoldLine(
                int(ln["line_no"]),
                str(ln["sku"]),
                str(ln["name"]),
                int(ln["qty"]),
                int(ln["unit_price"]),
                str(ln["tax_code"]),
                int(ln["tax_rate_bp"]),
                _line_discount(ln),
            )
            for ln in body["lines"]
        )
        original = sales.OriginalSale(
            receipt_id=str(body["receipt_id"]),
            receipt_no=str(body["receipt_no"]),
            store_id=str(body["store_id"]),
            terminal_id=str(body["terminal_id"]),
            customer_id=body.get("customer_id"),
            created_at=str(body["created_at"]),
            lines=lines,
            returned=sales.total_returned({**store_returns, **local_returns}),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RetailError(f"the store's answer is not a receipt ({exc!r})") from None
    return original, store_returns


def _line_discount(line: dict[str, Any]) -> int:
    """A sold line's discount as the store sends it (a store of an older release sends
    none: its sales had none). Never more than the line or below nothing: it decides
    what a return refunds."""
    discount = int(line.get("discount", 0))
    if not 0 <= discount <= int(line["qty"]) * int(line["unit_price"]):
        raise ValueError(f"line {line['line_no']}: discount {discount} outside the line")
    return discount


def of_terminal_between(
    conn: sa.Connection, terminal_id: str, start: str, end: str
) -> list[dict[str, Any]]:
    """A terminal's receipts and returns made in ``[start, end)`` (stored UTC
    timestamps: a business day's bounds), newest first, with their cashier's name."""
    rows = conn.execute(
        sa.select(
            receipt.c.receipt_no,
            receipt.c.kind,
            receipt.c.total,
            receipt.c.created_at,
            receipt.c.cashier_id,
            cashier.c.name.label("cashier_name"),
        )
        .outerjoin(cashier, cashier.c.cashier_id == receipt.c.cashier_id)
        .where(
            receipt.c.terminal_id == terminal_id,
            receipt.c.created_at >= start,
            receipt.c.created_at < end,
        )
        .order_by(receipt.c.created_at.desc(), receipt.c.receipt_no.desc())
    )
    return [dict(r._mapping) for r in rows]
