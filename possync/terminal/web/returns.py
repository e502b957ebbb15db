"""The returns screen: find the sale by its receipt number, take lines back, refund."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from possync.retail import tender
from possync.retail.errors import RetailError
from possync.sync.db import read_tx
from possync.terminal import returns
from possync.terminal.web.checkout import FormFields
from possync.terminal.web.context import Pos, PosState, is_htmx, redirect, render
from possync.terminal.web.link import plain_error
from possync.terminal.web.sessions import Cashier, CashierSession

router = APIRouter()


def _view(
    request: Request,
    state: PosState,
    session: CashierSession,
    receipt_no: str,
    *,
    lookup: returns.Lookup | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    with read_tx(state.terminal.engine) as conn:
        methods = tender.methods(conn)
    return render(
        request,
        "_return.html" if is_htmx(request) else "returns.html",
        session,
        status_code=422 if errors else 200,
        receipt_no=receipt_no,
        lookup=lookup,
        methods=methods,
        errors=errors or {},
        values=values or {},
    )


@router.get("/returns")
def returns_screen(
    request: Request,
    state: Pos,
    session: Cashier,
    receipt_no: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    if not receipt_no.strip():
        return _view(request, state, session, "")
    try:
        found = returns.look_up(state.terminal, receipt_no)
    except RetailError as exc:
        return _view(
            request, state, session, receipt_no, errors={"receipt_no": plain_error(str(exc))}
        )
    return _view(request, state, session, receipt_no, lookup=found)


@router.post("/returns")
def take_back(request: Request, state: Pos, session: Cashier, form: FormFields) -> Response:
    receipt_no = form.get("receipt_no", "")
    try:
        found = returns.look_up(state.terminal, receipt_no)
    except RetailError as exc:
        return _view(
            request, state, session, receipt_no, errors={"receipt_no": plain_error(str(exc))}
        )
    requests, errors = returns.requests_from_form(found.original, form)
    if not errors:
        try:
            summary = returns.take_back(
                state.terminal,
                found,
                requests,
                refund_method=form.get("refund_method", "CASH"),
                cashier_id=session.cashier_id,
            )
        except RetailError as exc:
            errors = {"lines": plain_error(str(exc))}
        else:
            session.last_document = {
                "receipt_no": summary.receipt_no,
                "original_no": found.original.receipt_no,
            }
            return redirect(request, f"/receipts/{summary.receipt_no}")
    return _view(request, state, session, receipt_no, lookup=found, errors=errors, values=form)
