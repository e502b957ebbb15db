"""Payment and the receipt.

The sale is made by :func:`possync.terminal.selling.sell`, exactly as ``pos sell``
makes it (offline: committed locally; online: confirmed by the store first), and
the basket is emptied in the sale's own transaction. The sale charges the current
prices; if a sync changed one after the payment dialog showed its total, the sale
is not made and the cashier sees the new total. An online till refused because the
store cannot confirm the sale may, when it is Off-line Enabled, *Work offline* from
the payment dialog: the mode switches and the sale completes locally.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from possync.retail import basket, receipts, tender
from possync.retail.errors import RetailError
from possync.sync.db import read_tx
from possync.sync.errors import SyncError
from possync.terminal import mode_state, modes, selling
from possync.terminal.web import link
from possync.terminal.web.basket import sale_view, till_of
from possync.terminal.web.context import Pos, PosState, redirect, render
from possync.terminal.web.sessions import Cashier, CashierSession
from possync.transport.client import Refused, Unreachable
from possync.webui.formatting import Shown

router = APIRouter()
log = logging.getLogger(__name__)
STORE_FAILURES = (Unreachable, Refused, SyncError)
SWITCHED = (
    "Switched to offline mode: this sale and the next are kept on this till and sent to "
    "the store when it answers. Enable Online POS (user menu, F10) goes back online."
)


async def form_fields(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


FormFields = Annotated[dict[str, str], Depends(form_fields)]


def _refused_by_the_store(exc: BaseException) -> str:
    """The refusal of an online sale, in plain words (the network's own text goes to
    the log and the message's title)."""
    why = link.plain_error(str(exc))
    return (
        f"sale refused: the store cannot confirm sales now ({why}). Nothing was recorded; "
        "the basket is kept."
    )


def _price_moved(form: dict[str, str], total: int, shown: Shown) -> str | None:
    """The dialog showed one total, the basket now has another: a sync changed a
    price meanwhile. Without ``due`` (an older page), nothing to compare."""
    due = form.get("due")
    if due is None or due.strip() == str(total):
        return None
    return (
        f"the total is now {shown.money(total)}: a price changed since the payment was "
        "opened (see the basket). Check the amounts and complete the sale again."
    )


@router.post("/basket/pay")
def pay(request: Request, state: Pos, session: Cashier, form: FormFields) -> Response:
    term = state.terminal
    with read_tx(term.engine) as conn:
        the_basket = basket.view(conn, session.cashier_id)
        methods = tender.methods(conn)
        shown = state.shown_in(conn)
        # What sell() would read next in a transaction of its own: read with the rest
        mode: str | None = mode_state.current_in(conn)
    payments, errors = tender.payments_from_form(methods, form, shown.locale.parse_amount)
    moved = _price_moved(form, the_basket.total, shown)
    if moved:
        errors = {**errors, "payment": moved}
    note: str | None = None
    pay_view: dict[str, object] = {}
    if not errors and form.get("work_offline") == "1":
        try:
            modes.go_offline(term)  # the cashier chose it, the till being Off-line Enabled
        except RetailError as exc:
            errors = {"payment": str(exc)}
        else:
            note = SWITCHED
            mode = None  # changed since it was read: sell() reads it again
    if not errors:
        try:
            outcome = selling.sell(
                term,
                the_basket.sale_lines(),
                payments,
                cashier_id=session.cashier_id,
                customer_id=the_basket.customer["customer_id"] if the_basket.customer else None,
                with_sale=lambda conn: basket.take(
                    conn, session.cashier_id, the_basket.signature()
                ),
                till=till_of(state),
                mode=mode,
            )
        except RetailError as exc:
            cause = exc.__cause__
            if isinstance(cause, STORE_FAILURES):
                log.warning("online sale refused: %s", cause)
                errors = {"payment": _refused_by_the_store(cause)}
                pay_view = {"detail": str(cause), "offer_offline": modes.offline_enabled(term)}
            else:
                errors = {"payment": str(exc)}
        else:
            session.last_document = {
                "receipt_no": outcome.receipt.receipt_no,
                "change_due": outcome.receipt.change_due,
                "confirmed": outcome.confirmed,
                "mode": outcome.mode,
                "note": link.plain_error(outcome.note) if outcome.note else note,
            }
            return redirect(request, f"/receipts/{outcome.receipt.receipt_no}")
    return sale_view(
        request,
        state,
        session,
        error="the sale is not done: see the payment",
        pay={"errors": errors, "values": form, "open": True, **pay_view},
    )


def receipt_of_this_till(
    request: Request, state: PosState, session: CashierSession, receipt_no: str
) -> dict[str, Any] | Response:
    """A receipt this till holds, as printed, or the page saying it has none (a till
    prints only what it holds)."""
    with read_tx(state.terminal.engine) as conn:
        doc = receipts.document(conn, receipt_no)
    if doc is not None:
        return doc
    return render(
        request,
        "message.html",
        session,
        status_code=404,
        title="Receipt not found",
        message=f"There is no receipt {receipt_no} on this terminal.",
    )


@router.get("/receipts/{receipt_no:path}")
def receipt_page(request: Request, state: Pos, session: Cashier, receipt_no: str) -> Response:
    """The receipt in a printable layout (print CSS: a till-roll width)."""
    doc = receipt_of_this_till(request, state, session, receipt_no)
    if isinstance(doc, Response):
        return doc
    made_now = session.last_document.get("receipt_no") == receipt_no
    return render(
        request,
        "receipt.html",
        session,
        doc=doc,
        just_made=session.last_document if made_now else {},
    )
