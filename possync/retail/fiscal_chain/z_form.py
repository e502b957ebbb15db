"""A Z report's place in its till's fiscal chain: its canonical form, hashed like a
receipt's (:func:`form.seal`) from the document before it. Receipts keep their
form ("receipt", ...) untouched, so their hashes still verify; a Z report's form
is its own ("z_report", ...), its fields in this fixed order. A field added later
goes at the end of a new form, never in here."""

from __future__ import annotations

from typing import Any

from possync.retail.fiscal_chain.form import Row, dumps

Z_FIELDS = (
    "z_report_id",
    "z_no",
    "session_id",
    "store_id",
    "terminal_id",
    "cashier_id",
    "currency",
    "business_day",
    "opened_at",
    "created_at",
    "opening_float",
    "expected_cash",
    "counted_cash",
    "over_short",
    "totals",
    "chain_previous",  # the chain head at close, printed on the report
    "chain_seq",
)


def z_content(row: Row) -> bytes:
    form: list[Any] = ["z_report", [row.get(f) for f in Z_FIELDS]]
    return dumps(form)
