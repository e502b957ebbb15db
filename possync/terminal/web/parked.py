"""Park and resume on the sell screen: set the sale aside with a label, serve the
next customer, take it up again from the list of parked sales (any cashier of this
till, into an empty basket)."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response

from possync.retail import parked
from possync.retail.errors import RetailError
from possync.retail.schema import cashier
from possync.sync.db import read_tx, write_tx
from possync.terminal.web.basket import sale_view
from possync.terminal.web.context import Pos, redirect, render
from possync.terminal.web.sessions import Cashier

router = APIRouter()


@router.post("/basket/park")
def park(
    request: Request,
    state: Pos,
    session: Cashier,
    label: Annotated[str, Form(max_length=parked.MAX_LABEL * 2)] = "",
) -> Response:
    try:
        with write_tx(state.terminal.engine) as conn:
            done = parked.park(conn, session.cashier_id, label)
    except RetailError as exc:
        return sale_view(request, state, session, error=str(exc))
    return sale_view(request, state, session, notice=f"Sale parked: {done.label}")


def _listing(request: Request, state: Pos, session: Cashier, error: str | None = None) -> Response:
    with read_tx(state.terminal.engine) as conn:
        sales = parked.listing(conn)
        names = dict(conn.execute(sa.select(cashier.c.cashier_id, cashier.c.name)).all())
    return render(
        request,
        "parked.html",
        session,
        status_code=422 if error else 200,
        sales=sales,
        names=names,
        error=error,
    )


@router.get("/parked")
def parked_sales(request: Request, state: Pos, session: Cashier) -> Response:
    return _listing(request, state, session)


@router.post("/parked/{park_id}/resume")
def resume(
    request: Request,
    state: Pos,
    session: Cashier,
    park_id: Annotated[str, Path(max_length=36)],
) -> Response:
    try:
        with write_tx(state.terminal.engine) as conn:
            done, repriced = parked.resume(conn, session.cashier_id, park_id)
    except RetailError as exc:
        return _listing(request, state, session, error=str(exc))
    session.flash = f"Sale resumed: {done.label}" + _changes(state, repriced)
    return redirect(request, "/")


def _changes(state: Pos, repriced: list[parked.Repriced]) -> str:
    """What changed since the sale was parked, to tell the customer before paying."""
    if not repriced:
        return ""
    money = state.shown.money
    said = [
        f"{r.name} {money(r.was)} -> {money(r.now)}" if r.sellable else f"{r.name} no longer sold"
        for r in repriced
    ]
    return ". Changed since it was parked: " + "; ".join(said)
