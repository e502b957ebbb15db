"""What happened at a till that the store should know of, though no document records
it: a line voided from a basket, a sale cancelled, a discount a manager approved
above a cashier's limit. Each is one immutable ``till_event`` row, made on the till
and sent up with its sales (replicated like receipts: till -> store -> head office).

A void or a cancellation needs a reason: one of :data:`VOID_REASONS`, or free text.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa

from possync.retail import basket
from possync.retail.errors import RetailError
from possync.retail.ids import new_id
from possync.retail.sales import Till
from possync.retail.schema import till_event
from possync.sync.clock import utc_now

LINE_VOIDED = "line_voided"
SALE_CANCELLED = "sale_cancelled"
DISCOUNT_APPROVED = "discount_approved"
KINDS = (LINE_VOIDED, SALE_CANCELLED, DISCOUNT_APPROVED)
KIND_WORDS = {
    LINE_VOIDED: "Line voided",
    SALE_CANCELLED: "Sale cancelled",
    DISCOUNT_APPROVED: "Discount approved",
}

# The reasons a cashier picks from (free text is taken too: "other: ...").
VOID_REASONS = (
    "Customer changed their mind",
    "Scanned by mistake",
    "Wrong price or item",
    "Customer cannot pay",
)
MAX_REASON = 200
MAX_DETAIL = 4000  # characters of JSON: a whole basket's lines fit


def reason_given(text: str | None) -> str:
    """The reason as it will be logged: required, one line, bounded."""
    reason = " ".join((text or "").split())
    if not reason:
        raise RetailError("give a reason")
    if len(reason) > MAX_REASON:
        raise RetailError(f"a reason is at most {MAX_REASON} characters")
    return reason


def record(
    conn: sa.Connection,
    till: Till,
    cashier_id: str | None,
    kind: str,
    reason: str,
    detail: dict[str, Any],
    *,
    approved_by: str | None = None,
) -> str:
    """Log one event, in the caller's transaction (so it is logged if and only if
    what it records happens). Returns its id."""
    if kind not in KINDS:
        raise RetailError(f"unknown till event {kind!r}")
    body = orjson.dumps(detail).decode()
    if len(body) > MAX_DETAIL:
        raise RetailError("too much detail for one till event")
    event_id = new_id()
    conn.execute(
        till_event.insert().values(
            event_id=event_id,
            store_id=till.store_id,
            terminal_id=till.terminal_id,
            cashier_id=cashier_id,
            kind=kind,
            reason=reason_given(reason),
            detail=body,
            approved_by=approved_by,
            created_at=utc_now(),
        )
    )
    return event_id


def void_line(
    conn: sa.Connection, till: Till, cashier_id: str, line_no: int, reason: str | None
) -> None:
    """Take a line out of the cashier's basket, logged with its reason."""
    why = reason_given(reason)
    line = next((ln for ln in basket.view(conn, cashier_id).lines if ln.line_no == line_no), None)
    if line is None:
        raise RetailError("that line is no longer in the basket")
    basket.remove(conn, cashier_id, line_no)
    record(conn, till, cashier_id, LINE_VOIDED, why, _line(line))


def cancel_sale(conn: sa.Connection, till: Till, cashier_id: str, reason: str | None) -> None:
    """Empty the cashier's basket, logged with its reason and what it held."""
    why = reason_given(reason)
    current = basket.view(conn, cashier_id)
    if not current.lines:
        raise RetailError("the basket is empty: no sale to cancel")
    basket.clear(conn, cashier_id)
    detail = {"total": current.total, "lines": [_line(ln) for ln in current.lines][:40]}
    record(conn, till, cashier_id, SALE_CANCELLED, why, detail)


def _line(line: basket.BasketLine) -> dict[str, Any]:
    return {
        "line_no": line.line_no,
        "sku": line.sku,
        "name": line.name[:60],
        "qty": line.qty,
        "line_total": line.line_total,
    }


def recent(
    conn: sa.Connection,
    *,
    terminal_id: str | None = None,
    kind: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """The newest events first (the store's console, a till's own)."""
    t = till_event
    query = sa.select(t).order_by(t.c.created_at.desc()).limit(limit)
    if terminal_id:
        query = query.where(t.c.terminal_id == terminal_id)
    if kind:
        query = query.where(t.c.kind == kind)
    found = []
    for row in conn.execute(query):
        event = dict(row._mapping)
        try:
            event["detail"] = orjson.loads(row.detail) if row.detail else {}
        except orjson.JSONDecodeError:
            event["detail"] = {"raw": row.detail}
        found.append(event)
    return found
