"""A document about to be written (a sale or a return), and what it becomes: every
row written for it (receipt, lines, payments, stock movements) is derived from one
:class:`Document` value, built once by the rules in :mod:`.sales`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from possync.retail.money import format_amount
from possync.retail.stock import movement


@dataclass(frozen=True)
class Till:
    """Where a document is made: the terminal, its store and the store's currency."""

    store_id: str
    terminal_id: str
    currency: str


@dataclass(frozen=True)
class PaymentRequest:
    method_code: str
    amount: int | None = None  # None: whatever is still due
    reference: str | None = None


@dataclass(frozen=True)
class ReceiptSummary:
    receipt_id: str
    receipt_no: str
    kind: str
    total: int
    tax_total: int
    change_due: int
    chain_seq: int | None = None  # its place in the till's fiscal chain
    chain_hash: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "receipt_id": self.receipt_id,
            "receipt_no": self.receipt_no,
            "kind": self.kind,
            "total": format_amount(self.total),
            "tax_total": format_amount(self.tax_total),
            "change_due": format_amount(self.change_due),
            "chain_seq": self.chain_seq,
            "chain_hash": self.chain_hash,
        }


@dataclass(frozen=True)
class DocumentLine:
    """A line of a document, priced and taxed (quantities negative on a return)."""

    sku: str
    name: str
    qty: int
    unit_price: int
    line_total: int
    tax_code: str
    tax_rate_bp: int
    tax_amount: int
    original_line_no: int | None = None  # a return's line of the sale
    discount: int = 0  # taken off the line, tax included (line_total is after it)
    discount_reason: str | None = None  # not in the fiscal chain's form: the amounts are


@dataclass(frozen=True)
class Document:
    """A sale or a return about to be written, built once by the rules that made it:
    every row written for it (receipt, lines, payments, stock movements, its place
    in the fiscal chain) is derived from this one value."""

    till: Till
    receipt_id: str
    number: str
    kind: str  # sale | return
    lines: tuple[DocumentLine, ...]
    payments: tuple[tuple[PaymentRequest, int], ...]  # each with the amount it applies
    change_due: int
    created_at: str
    cashier_id: str | None = None
    customer_id: str | None = None
    original_receipt_id: str | None = None

    @property
    def total(self) -> int:
        return sum(ln.line_total for ln in self.lines)

    @property
    def tax_total(self) -> int:
        return sum(ln.tax_amount for ln in self.lines)

    def receipt_row(
        self, chain_seq: int | None = None, chain_hash: str | None = None
    ) -> dict[str, Any]:
        return {
            "receipt_id": self.receipt_id,
            "receipt_no": self.number,
            "kind": self.kind,
            "store_id": self.till.store_id,
            "terminal_id": self.till.terminal_id,
            "cashier_id": self.cashier_id,
            "customer_id": self.customer_id,
            "original_receipt_id": self.original_receipt_id,
            "currency": self.till.currency,
            "total": self.total,
            "tax_total": self.tax_total,
            "created_at": self.created_at,
            "chain_seq": chain_seq,
            "chain_hash": chain_hash,
        }

    def line_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "receipt_id": self.receipt_id,
                "line_no": no,
                "store_id": self.till.store_id,
                "terminal_id": self.till.terminal_id,
                "sku": ln.sku,
                "name": ln.name,
                "qty": ln.qty,
                "unit_price": ln.unit_price,
                "line_total": ln.line_total,
                "tax_code": ln.tax_code,
                "tax_rate_bp": ln.tax_rate_bp,
                "tax_amount": ln.tax_amount,
                "original_line_no": ln.original_line_no,
                "discount": ln.discount,
                "discount_reason": ln.discount_reason,
            }
            for no, ln in enumerate(self.lines, start=1)
        ]

    def payment_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "receipt_id": self.receipt_id,
                "payment_no": no,
                "store_id": self.till.store_id,
                "terminal_id": self.till.terminal_id,
                "method_code": p.method_code,
                "amount": amount,
                "reference": p.reference,
            }
            for no, (p, amount) in enumerate(self.payments, start=1)
        ]

    def movement_rows(self) -> list[dict[str, Any]]:
        """Stock out for a sale, back in for a return: one movement per line."""
        sign = -1 if self.kind == "sale" else 1
        return [
            movement(
                self.till.store_id,
                ln.sku,
                sign * abs(ln.qty),
                self.kind,
                self.number,
                self.till.terminal_id,
                self.created_at,
            )
            for ln in self.lines
        ]
