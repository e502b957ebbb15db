"""Selling and taking back: the rules that turn a basket into a receipt.

Everything a sale writes (the receipt, its lines and payments, the stock
movements and the series number) is written in the caller's one transaction.
The document values (Till, PaymentRequest, Document...) live in :mod:`.documents`
and are imported here, where callers have always found them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa

from possync.retail import fiscal_chain, numbering, prepared, prices
from possync.retail.documents import (
    Document,
    DocumentLine,
    PaymentRequest,
    ReceiptSummary,
    Till,
)
from possync.retail.errors import RetailError
from possync.retail.ids import new_id
from possync.retail.money import format_amount, included_tax
from possync.retail.prepared import Prepared
from possync.retail.schema import (
    item,
    payment_method,
    receipt,
    receipt_line,
    receipt_payment,
    stock_movement,
    tax_rate,
)
from possync.sync.clock import utc_now

__all__ = ["Document", "DocumentLine", "PaymentRequest", "ReceiptSummary", "Till"]


@dataclass(frozen=True)
class LineRequest:
    code: str  # SKU or barcode
    qty: int
    discount: int = 0  # taken off qty x price, tax included (see retail/discounts.py)
    discount_reason: str | None = None  # the reason code(s) of the discount


# The statements a sale runs, built once: building a Core statement costs more than
# running it on a till; the sale's own run on the driver (retail/prepared.py).
# Items at their selling price, with their tax rate (NULL: tax code unknown here).
_PRICED_FROM = prices.priced_items().outerjoin(tax_rate, tax_rate.c.tax_code == item.c.tax_code)
_PRICED = sa.select(*prices.item_columns(), tax_rate.c.rate_bp).select_from(_PRICED_FROM)
_BY_SKU = _PRICED.where(item.c.sku == sa.bindparam("code"))
_BY_BARCODE = _PRICED.where(item.c.barcode == sa.bindparam("code")).limit(1)
_METHODS = Prepared(
    sa.select(payment_method.c.method_code, payment_method.c.kind, payment_method.c.active)
)


@dataclass(frozen=True)
class _Priced:
    """An item as a sale reads it: at its selling price, with its tax rate (None:
    its tax code is unknown here)."""

    sku: str
    barcode: str | None
    name: str
    tax_code: str
    active: bool
    price: int
    rate_bp: int | None


@functools.cache
def _by_codes(count: int) -> Prepared:
    """Every line's item at once, by SKU or by barcode (``count`` codes)."""
    codes = [sa.bindparam(f"c{i}") for i in range(count)]
    return Prepared(
        sa.select(
            item.c.sku,
            item.c.barcode,
            item.c.name,
            item.c.tax_code,
            item.c.active,
            prices.price(),
            tax_rate.c.rate_bp,
        )
        .select_from(_PRICED_FROM)
        .where(sa.or_(item.c.sku.in_(codes), item.c.barcode.in_(codes)))
    )


def find_item(conn: sa.Connection, code: str) -> sa.Row[Any]:
    """The item a SKU or barcode names, at its selling price (with ``rate_bp``, its
    tax rate, None if its tax code is unknown)."""
    row = conn.execute(_BY_SKU, {"code": code}).first()
    if row is None:
        row = conn.execute(_BY_BARCODE, {"code": code}).first()
    if row is None:
        raise RetailError(f"unknown item {code!r}")
    return row


def _find_items(conn: sa.Connection, codes: list[str]) -> dict[str, _Priced]:
    """What :func:`find_item` finds for each code, in one statement; unknown codes
    are left out."""
    distinct = sorted(set(codes))
    query = _by_codes(len(distinct))
    rows = [_Priced(*r) for r in query.rows(conn, {f"c{i}": c for i, c in enumerate(distinct)})]
    found: dict[str, _Priced] = {}
    for row in rows:  # by barcode first, so that a SKU overwrites it
        if row.barcode is not None:
            found.setdefault(row.barcode, row)
    found.update((row.sku, row) for row in rows)
    return found


class _Method(NamedTuple):
    code: str
    kind: str
    active: bool


def _methods(conn: sa.Connection) -> dict[str, _Method]:
    """Payment methods by code."""
    return {r[0]: _Method(*r) for r in _METHODS.rows(conn)}


def _settle(
    conn: sa.Connection, total: int, payments: list[PaymentRequest]
) -> tuple[list[tuple[PaymentRequest, int]], int]:
    """Amount applied by each payment, and the change due (cash only)."""
    if not payments:
        raise RetailError("no payment given")
    methods = _methods(conn)
    settled: list[tuple[PaymentRequest, int]] = []
    remaining = total
    for p in payments:
        method = methods.get(p.method_code)
        if method is None or not method.active:
            raise RetailError(f"unknown payment method {p.method_code!r}")
        amount = max(remaining, 0) if p.amount is None else p.amount
        if amount <= 0 and total > 0:
            raise RetailError(f"payment by {p.method_code} must be a positive amount")
        settled.append((p, amount))
        remaining -= amount
    if remaining > 0:
        raise RetailError(f"insufficient payment: {format_amount(remaining)} still due")
    change = -remaining
    if change:
        cash = [i for i, (p, _) in enumerate(settled) if methods[p.method_code].kind == "cash"]
        if not cash:
            raise RetailError("only cash can be overpaid; card payments must be exact")
        i = cash[-1]
        p, amount = settled[i]
        if amount < change:
            raise RetailError("the cash payment is smaller than the change due")
        settled[i] = (p, amount - change)
    return settled, change


def record_sale(
    conn: sa.Connection,
    till: Till,
    lines: list[LineRequest],
    payments: list[PaymentRequest],
    *,
    cashier_id: str | None = None,
    customer_id: str | None = None,
) -> ReceiptSummary:
    if not lines:
        raise RetailError("the basket is empty")
    items = _find_items(conn, [req.code for req in lines])
    doc_lines: list[DocumentLine] = []
    for req in lines:
        if req.qty <= 0:
            raise RetailError(f"quantity of {req.code!r} must be positive")
        it = items.get(req.code)
        if it is None:
            raise RetailError(f"unknown item {req.code!r}")
        if not it.active:
            raise RetailError(f"item {it.sku!r} is not sellable")
        rate = it.rate_bp
        if rate is None:
            raise RetailError(f"item {it.sku!r} has unknown tax code {it.tax_code!r}")
        gross = it.price * req.qty
        if not 0 <= req.discount <= gross:
            raise RetailError(
                f"a discount of {format_amount(req.discount)} on {it.sku} "
                f"({format_amount(gross)}) must be from 0 to the line's amount"
            )
        if req.discount and not req.discount_reason:
            raise RetailError(f"the discount on {it.sku} has no reason")
        line_total = gross - req.discount
        tax = included_tax(line_total, rate)  # tax is on what is paid: after discount
        line = DocumentLine(
            it.sku,
            it.name,
            req.qty,
            it.price,
            line_total,
            it.tax_code,
            rate,
            tax,
            discount=req.discount,
            discount_reason=req.discount_reason if req.discount else None,
        )
        doc_lines.append(line)
    settled, change = _settle(conn, sum(ln.line_total for ln in doc_lines), payments)
    doc = Document(
        till,
        new_id(),
        numbering.next_number(conn, till.terminal_id, numbering.RECEIPT),
        "sale",
        tuple(doc_lines),
        tuple(settled),
        change,
        utc_now(),
        cashier_id=cashier_id,
        customer_id=customer_id,
    )
    return _write(conn, doc)


def _write(conn: sa.Connection, doc: Document) -> ReceiptSummary:
    """Write the document, whole, and link it into its till's fiscal chain."""
    lines, payments = doc.line_rows(), doc.payment_rows()
    seq, chain_hash = fiscal_chain.link(
        conn,
        doc.till.store_id,
        doc.till.terminal_id,
        lambda seq: fiscal_chain.content(doc.receipt_row(seq), lines, payments),
    )
    prepared.insert(conn, receipt, [doc.receipt_row(seq, chain_hash)])
    prepared.insert(conn, receipt_line, lines)
    prepared.insert(conn, receipt_payment, payments)
    prepared.insert(conn, stock_movement, doc.movement_rows())
    summary = (doc.receipt_id, doc.number, doc.kind, doc.total, doc.tax_total, doc.change_due)
    return ReceiptSummary(*summary, seq, chain_hash)


@dataclass(frozen=True)
class SoldLine:
    line_no: int
    sku: str
    name: str
    qty: int
    unit_price: int
    tax_code: str
    tax_rate_bp: int
    discount: int = 0  # what the sale took off the whole line (a return refunds its share)

    def discount_of(self, before: int, qty: int) -> int:
        """The discount of ``qty`` units returned after ``before`` others: the
        difference of the shares of the units returned so far, so that the returns
        of the whole line give back exactly the line's discount."""
        if not self.discount or self.qty <= 0:
            return 0
        share = self.discount * (before + qty) // self.qty
        return share - self.discount * before // self.qty


@dataclass(frozen=True)
class OriginalSale:
    """A sale as a return sees it: its lines, and what was taken back from each
    line as far as this node knows (line number -> quantity)."""

    receipt_id: str
    receipt_no: str
    store_id: str
    terminal_id: str
    customer_id: str | None
    created_at: str
    lines: tuple[SoldLine, ...]
    returned: dict[int, int]

    def returnable(self, line_no: int) -> int:
        line = next((ln for ln in self.lines if ln.line_no == line_no), None)
        return 0 if line is None else line.qty - self.returned.get(line_no, 0)


@dataclass(frozen=True)
class ReturnRequest:
    line_no: int  # of the original sale
    qty: int


def original_sale(conn: sa.Connection, receipt_no: str) -> OriginalSale | None:
    """A sale held in this database, with the returns of it held here too."""
    original = conn.execute(sa.select(receipt).where(receipt.c.receipt_no == receipt_no)).first()
    if original is None:
        return None
    if original.kind != "sale":
        raise RetailError(f"{receipt_no} is a {original.kind}, not a sale")
    sold = conn.execute(
        sa.select(receipt_line)
        .where(receipt_line.c.receipt_id == original.receipt_id)
        .order_by(receipt_line.c.line_no)
    ).all()
    return OriginalSale(
        receipt_id=original.receipt_id,
        receipt_no=original.receipt_no,
        store_id=original.store_id,
        terminal_id=original.terminal_id,
        customer_id=original.customer_id,
        created_at=original.created_at,
        lines=tuple(
            SoldLine(
                ln.line_no,
                ln.sku,
                ln.name,
                ln.qty,
                ln.unit_price,
                ln.tax_code,
                ln.tax_rate_bp,
                ln.discount,
            )
            for ln in sold
        ),
        returned=total_returned(returns_of(conn, original.receipt_id)),
    )


def returns_of(conn: sa.Connection, original_id: str) -> dict[str, dict[int, int]]:
    """The returns of a sale held in this database: return receipt id -> {original
    line number: quantity taken back}. Keyed by document, so that what two nodes know
    can be merged without counting a return twice."""
    rows = conn.execute(
        sa.select(receipt_line.c.receipt_id, receipt_line.c.original_line_no, receipt_line.c.qty)
        .join(receipt, receipt.c.receipt_id == receipt_line.c.receipt_id)
        .where(receipt.c.original_receipt_id == original_id)
    )
    found: dict[str, dict[int, int]] = {}
    for receipt_id, line_no, qty in rows:
        lines = found.setdefault(receipt_id, {})
        lines[line_no] = lines.get(line_no, 0) - int(qty)
    return found


def total_returned(returns: dict[str, dict[int, int]]) -> dict[int, int]:
    total: dict[int, int] = {}
    for lines in returns.values():
        for line_no, qty in lines.items():
            total[line_no] = total.get(line_no, 0) + qty
    return total


def record_return(
    conn: sa.Connection,
    till: Till,
    original_no: str,
    lines: list[LineRequest],
    *,
    refund_method: str = "CASH",
    cashier_id: str | None = None,
) -> ReceiptSummary:
    """Take back some lines of a sale held in this database, by SKU or barcode;
    refunds at the price paid."""
    original = original_sale(conn, original_no)
    if original is None:
        raise RetailError(f"no receipt {original_no!r} on this terminal")
    requests: list[ReturnRequest] = []
    for req in lines:
        if req.qty <= 0:
            raise RetailError(f"quantity of {req.code!r} must be positive")
        sold = original.lines
        sku = req.code if any(ln.sku == req.code for ln in sold) else sku_of_barcode(conn, req.code)
        candidates = [ln for ln in sold if ln.sku == sku]
        if not candidates:
            raise RetailError(f"{req.code!r} is not on receipt {original_no}")
        requests.append(ReturnRequest(candidates[0].line_no, req.qty))
    return record_return_of(
        conn, till, original, requests, refund_method=refund_method, cashier_id=cashier_id
    )


def record_return_of(
    conn: sa.Connection,
    till: Till,
    original: OriginalSale,
    requests: list[ReturnRequest],
    *,
    refund_method: str = "CASH",
    cashier_id: str | None = None,
) -> ReceiptSummary:
    """Take back lines of ``original``, which may be a sale held here or one fetched
    from the store (made on another terminal of this store). Never more than was
    sold minus the returns in ``original.returned``; refunds what was paid: the price
    less the units' share of the line's discount."""
    if original.store_id != till.store_id:
        raise RetailError(
            f"{original.receipt_no} was sold in store {original.store_id}; "
            "take it back in that store"
        )
    by_no = {ln.line_no: ln for ln in original.lines}
    returned = dict(original.returned)
    doc_lines: list[DocumentLine] = []
    for req in requests:
        line = by_no.get(req.line_no)
        if line is None:
            raise RetailError(f"{original.receipt_no} has no line {req.line_no}")
        if req.qty <= 0:
            raise RetailError(f"quantity of {line.sku!r} must be positive")
        left = line.qty - returned.get(line.line_no, 0)
        if req.qty > left:
            raise RetailError(
                f"only {left} of {line.sku} can still be returned from {original.receipt_no}"
            )
        before = returned.get(line.line_no, 0)
        returned[line.line_no] = before + req.qty
        # What was paid for these units: their price less their share of the discount.
        discount = line.discount_of(before, req.qty)
        line_total = -(line.unit_price * req.qty - discount)
        doc_lines.append(
            DocumentLine(
                line.sku,
                line.name,
                -req.qty,
                line.unit_price,
                line_total,
                line.tax_code,
                line.tax_rate_bp,
                -included_tax(-line_total, line.tax_rate_bp),
                original_line_no=line.line_no,
                discount=-discount,
            )
        )
    if not doc_lines:
        raise RetailError("nothing to return")
    total = sum(ln.line_total for ln in doc_lines)
    if refund_method not in _methods(conn):
        raise RetailError(f"unknown payment method {refund_method!r}")
    doc = Document(
        till,
        new_id(),
        numbering.next_number(conn, till.terminal_id, numbering.RETURN),
        "return",
        tuple(doc_lines),
        ((PaymentRequest(refund_method), total),),
        0,
        utc_now(),
        cashier_id=cashier_id,
        customer_id=original.customer_id,
        original_receipt_id=original.receipt_id,
    )
    return _write(conn, doc)


def sku_of_barcode(conn: sa.Connection, code: str) -> str | None:
    """The SKU a barcode stands for, if any."""
    return conn.execute(sa.select(item.c.sku).where(item.c.barcode == code).limit(1)).scalar()
