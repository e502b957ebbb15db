"""Customers at the till: find one, or create one (offline too, numbered from this
terminal's customer series), and attach it to the sale."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from possync.retail import basket, customers
from possync.retail.errors import RetailError
from possync.sync.db import read_tx, write_tx
from possync.terminal.web.basket import sale_view
from possync.terminal.web.context import Pos, is_htmx, redirect, render
from possync.terminal.web.sessions import Cashier

router = APIRouter()


@router.get("/customers")
def customers_screen(
    request: Request,
    state: Pos,
    session: Cashier,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    found = []
    if q.strip():
        with read_tx(state.terminal.engine) as conn:
            found = customers.find(conn, q.strip())
    return render(
        request,
        "_customer_results.html" if is_htmx(request) else "customers.html",
        session,
        q=q,
        found=found,
        errors={},
        values={},
    )


@router.post("/customers")
def create_customer(
    request: Request,
    state: Pos,
    session: Cashier,
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
) -> Response:
    """Create the customer and attach it to the current sale, in one transaction."""
    errors = customers.problems(name, email, phone)
    if not errors:
        try:
            with write_tx(state.terminal.engine) as conn:
                row = customers.create_on_terminal(
                    conn, state.till["terminal_id"], name, email, phone
                )
                basket.attach_customer(conn, session.cashier_id, row["customer_id"])
        except RetailError as exc:
            errors = {"form": str(exc)}
        else:
            session.flash = f"Customer {row['customer_no']} {row['name']} created and attached"
            return redirect(request, "/")
    return render(
        request,
        "customers.html",
        session,
        status_code=422,
        q="",
        found=[],
        errors=errors,
        values={"name": name, "email": email, "phone": phone},
    )


@router.post("/basket/customer")
def attach_customer(
    request: Request,
    state: Pos,
    session: Cashier,
    customer_id: Annotated[str, Form()] = "",
) -> Response:
    """Attach a customer found in the search (empty: detach), then back to the sale."""
    try:
        with write_tx(state.terminal.engine) as conn:
            basket.attach_customer(conn, session.cashier_id, customer_id or None)
    except RetailError as exc:
        return sale_view(request, state, session, error=str(exc))
    if not customer_id:  # "Remove customer", from the sell screen itself
        return sale_view(request, state, session)
    session.flash = "Customer attached to the sale"
    return redirect(request, "/")
