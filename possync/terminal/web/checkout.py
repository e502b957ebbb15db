"""Payment and the receipt.

The sale is made by :func:`possync.terminal.selling.sell`, exactly as ``pos sell``
makes it (offline: committed locally; online: confirmed by the store first), and
the basket is emptied in the sale's own transaction.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from possync.retail import basket, receipts, tender
from possync.retail.errors import RetailError
from possync.sync.db import read_tx
from possync.terminal import selling
from possync.terminal.web.basket import sale_view
from possync.terminal.web.context import Pos, redirect, render
from possync.terminal.web.sessions import Cashier

router = APIRouter()


async def form_fields(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


FormFields = Annotated[dict[str, str], Depends(form_fields)]


@router.post("/basket/pay")
def pay(request: Request, state: Pos, session: Cashier, form: FormFields) -> Response:
    term = state.terminal
    with read_tx(term.engine) as conn:
        the_basket = basket.view(conn, session.cashier_id)
        methods = tender.methods(conn)
    payments, errors = tender.payments_from_form(methods, form)
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
            )
        except RetailError as exc:
            errors = {"payment": str(exc)}
        else:
            session.last_document = {
                "receipt_no": outcome.receipt.receipt_no,
                "change_due": outcome.receipt.change_due,
                "confirmed": outcome.confirmed,
                "mode": outcome.mode,
                "note": outcome.note,
            }
            return redirect(request, f"/receipts/{outcome.receipt.receipt_no}")
    return sale_view(
        request,
        state,
        session,
        error="the sale is not done: see the payment",
        pay={"errors": errors, "values": form, "open": True},
    )


@router.get("/receipts/{receipt_no:path}")
def receipt_page(request: Request, state: Pos, session: Cashier, receipt_no: str) -> Response:
    """The receipt in a printable layout (print CSS: a till-roll width)."""
    with read_tx(state.terminal.engine) as conn:
        doc = receipts.document(conn, receipt_no)
    if doc is None:
        return render(
            request,
            "message.html",
            session,
            status_code=404,
            title="Receipt not found",
            message=f"There is no receipt {receipt_no} on this terminal.",
        )
    made_now = session.last_document.get("receipt_no") == receipt_no
    return render(
        request,
        "receipt.html",
        session,
        doc=doc,
        just_made=session.last_document if made_now else {},
    )
