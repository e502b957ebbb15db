"""Taking a sale back at the till: the sale from this terminal's database, or from
the store when it was made on another terminal of the store (or purged here).

The store answers ``GET /api/v1/pos/receipts/{no}`` (``possync/store/pos_api.py``)
with the sale and every return of it it has received. The terminal merges those,
return document by return document, with its own returns not yet synced, and never
takes back more than was sold minus the returns known to either side. What neither
knows yet (a return taken offline on a third terminal and not synced) cannot be
counted: see docs/terminal-ui.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from possync.retail import receipts, sales
from possync.retail.errors import RetailError
from possync.sync.db import read_tx, write_tx
from possync.terminal import modes
from possync.terminal.local import Terminal
from possync.transport.client import Refused, Unreachable

LOOKUP_TIMEOUT = 5.0  # seconds: a cashier with a customer waiting
Returns = dict[str, dict[int, int]]  # return receipt id -> {original line no: qty}


@dataclass(frozen=True)
class Lookup:
    original: sales.OriginalSale
    source: str  # "terminal" or "store"
    store_returns: Returns  # as the store knew them at the lookup
    note: str | None = None  # e.g. returns on other terminals could not be checked


def fetch_from_store(term: Terminal, receipt_no: str) -> Any | None:
    """The store's answer for ``receipt_no`` (None: the store has no such sale in
    this store). Raises Unreachable / Refused."""
    with term.client(timeout=LOOKUP_TIMEOUT) as client:
        return client.receipt_for_return(receipt_no)


def _with_store_returns(term: Terminal, body: Any) -> tuple[sales.OriginalSale, Returns]:
    """The store's sale with the returns known to either side merged, and the store's
    returns on their own (to merge again when the return is recorded)."""
    receipt_id = body.get("receipt_id") if isinstance(body, dict) else None
    with read_tx(term.engine) as conn:
        mine = sales.returns_of(conn, str(receipt_id))
    return receipts.original_from_wire(body, mine)


def look_up(term: Terminal, receipt_no: str) -> Lookup:
    """Find the sale to take back. Held here: used as is, and, when the terminal is
    online, completed with the returns taken on other terminals (known to the store).
    Not held here: asked of the store, whatever the mode."""
    receipt_no = receipt_no.strip()
    if not receipt_no or len(receipt_no) > 40:
        raise RetailError("enter the receipt number (at most 40 characters)")
    with read_tx(term.engine) as conn:
        local = sales.original_sale(conn, receipt_no)
    if local is not None:
        if modes.current(term) != modes.ONLINE:
            return Lookup(local, "terminal", {})
        try:
            body = fetch_from_store(term, receipt_no)
        except (Unreachable, Refused) as exc:
            note = f"returns taken on other terminals could not be checked ({exc})"
            return Lookup(local, "terminal", {}, note)
        if body is None:  # not synced yet: the store knows no returns of it
            return Lookup(local, "terminal", {})
        merged, store_returns = _with_store_returns(term, body)
        return Lookup(replace(local, returned=merged.returned), "terminal", store_returns)
    try:
        body = fetch_from_store(term, receipt_no)
    except Unreachable as exc:
        raise RetailError(
            f"{receipt_no} is not on this terminal, and the store cannot be reached to "
            f"look it up ({exc})"
        ) from exc
    except Refused as exc:
        raise RetailError(f"the store refused to look up {receipt_no}: {exc.message}") from exc
    if body is None:
        raise RetailError(f"no sale {receipt_no} on this terminal or in this store")
    original, store_returns = _with_store_returns(term, body)
    return Lookup(original, "store", store_returns)


def take_back(
    term: Terminal,
    lookup: Lookup,
    requests: list[sales.ReturnRequest],
    *,
    refund_method: str,
    cashier_id: str | None,
) -> sales.ReceiptSummary:
    """Record the return. This terminal's own returns of the sale are read again in
    the return's transaction, so two windows cannot both take back the last unit."""
    till = term.till()
    with write_tx(term.engine) as conn:
        mine = sales.returns_of(conn, lookup.original.receipt_id)
        known = sales.total_returned({**lookup.store_returns, **mine})
        original = replace(lookup.original, returned=known)
        return sales.record_return_of(
            conn, till, original, requests, refund_method=refund_method, cashier_id=cashier_id
        )


def requests_from_form(
    original: sales.OriginalSale, form: Mapping[str, str]
) -> tuple[list[sales.ReturnRequest], dict[str, str]]:
    """Quantities typed per line (``qty_<line_no>``), with errors by field."""
    requests: list[sales.ReturnRequest] = []
    errors: dict[str, str] = {}
    for line in original.lines:
        name = f"qty_{line.line_no}"
        text = (form.get(name) or "").strip()
        if not text or text == "0":
            continue
        if not text.isdigit():
            errors[name] = "a whole number of units"
            continue
        qty, left = int(text), original.returnable(line.line_no)
        if qty > left:
            errors[name] = f"at most {left}"
            continue
        requests.append(sales.ReturnRequest(line.line_no, qty))
    if not requests and not errors:
        errors["lines"] = "enter how many of which item come back"
    return requests, errors
