"""The sell screen: scanning, item search, the basket.

Every basket action answers with the whole sale region (basket, totals, customer,
payment dialog) re-read from the database, with the error of the action, if any,
shown in it: an error never loses the basket, which is in the database. The line an
action changed is marked, for the screen to keep it in sight; a line whose price a
sync changed since it was scanned says so (:mod:`.prices_seen`).

Voiding a line and cancelling the sale need a reason, and are logged as till events
(:mod:`possync.retail.till_events`); a quantity is never taken to zero by the minus
button (that would be a void without a reason).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import Response

from possync.retail import basket, discounts, item_search, parked, tender, till_events
from possync.retail.errors import RetailError
from possync.retail.sales import Till
from possync.sync.db import read_tx, write_tx
from possync.terminal.web import prices_seen
from possync.terminal.web.context import Pos, PosState, is_htmx, render
from possync.terminal.web.sessions import Cashier, CashierSession

router = APIRouter()
# A basket line's number, within what SQLite's integer holds (beyond it: a 500 before)
LineNo = Annotated[int, Path(ge=1, le=2**63 - 1)]


def sale_view(
    request: Request,
    state: PosState,
    session: CashierSession,
    *,
    error: str | None = None,
    pay: dict[str, object] | None = None,
    changed_line: int | None = None,
    changed_sku: str | None = None,
    dialog: dict[str, object] | None = None,
    notice: str | None = None,
) -> Response:
    """The sale region (htmx) or the whole sell screen; 422 when an action failed.
    ``changed_line`` / ``changed_sku``: the line the action changed; ``dialog``: a
    discount or void dialog to show again (refused, or asking a manager's PIN)."""
    with read_tx(state.terminal.engine) as conn:
        the_basket = basket.view(conn, session.cashier_id)
        methods = tender.methods(conn)
        repriced = prices_seen.changes(conn, the_basket)
        reasons = discounts.reasons(conn)
        parked_count = len(parked.listing(conn))
    if changed_sku is not None:
        changed_line = next(
            (ln.line_no for ln in the_basket.lines if ln.sku == changed_sku), changed_line
        )
    return render(
        request,
        "_sale.html" if is_htmx(request) else "sell.html",
        session,
        status_code=422 if error else 200,
        basket=the_basket,
        methods=methods,
        error=error,
        notice=None if is_htmx(request) else session.take_flash(),
        sale_notice=notice,
        pay=pay or {"errors": {}, "values": {}},
        repriced=repriced,
        changed_line=changed_line,
        dialog=dialog or {},
        discount_reasons=reasons,
        void_reasons=till_events.VOID_REASONS,
        parked_count=parked_count,
    )


def till_of(state: PosState) -> Till:
    t = state.till
    return Till(t["store_id"], t["terminal_id"], t["currency"])


def _change(
    request: Request,
    state: PosState,
    session: CashierSession,
    action: Callable[[sa.Connection], object],
    changed_line: int | None = None,
) -> Response:
    """Run one basket action in its own transaction, noting the price of a line it
    adds; on a refusal nothing changed. An action that returns a SKU (a scan) names
    the line it changed by it."""
    try:
        with write_tx(state.terminal.engine) as conn:
            before = prices_seen.skus_in_basket(conn, session.cashier_id)
            done = action(conn)
            prices_seen.remember(conn, session.cashier_id, before)
    except RetailError as exc:
        return sale_view(request, state, session, error=str(exc), changed_line=changed_line)
    changed_sku = done if isinstance(done, str) else None
    return sale_view(request, state, session, changed_line=changed_line, changed_sku=changed_sku)


@router.get("/")
def sell_screen(request: Request, state: Pos, session: Cashier) -> Response:
    return sale_view(request, state, session)


@router.post("/basket/scan")
def scan(
    request: Request,
    state: Pos,
    session: Cashier,
    code: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    return _change(request, state, session, lambda c: basket.scan(c, session.cashier_id, code))


@router.post("/basket/add")
def add_item(
    request: Request,
    state: Pos,
    session: Cashier,
    sku: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """An item picked from the search results (by SKU: the same checks as a scan)."""
    return _change(request, state, session, lambda c: basket.scan(c, session.cashier_id, sku))


@router.post("/basket/lines/{line_no}")
def change_line(
    request: Request,
    state: Pos,
    session: Cashier,
    line_no: LineNo,
    qty: Annotated[str, Form()] = "",
    delta: Annotated[int | None, Form()] = None,
) -> Response:
    """The - and + buttons send ``delta``; typing a quantity sends ``qty``."""

    def action(conn: sa.Connection) -> None:
        if delta is not None:
            basket.change_qty(conn, session.cashier_id, line_no, delta, to_zero=False)
        else:
            basket.set_qty(conn, session.cashier_id, line_no, basket.parse_qty(qty))

    return _change(request, state, session, action, changed_line=line_no)


Reason = Annotated[str, Form(max_length=till_events.MAX_REASON)]


def _reason(choice: str, other: str) -> str:
    """The reason picked from the list, or the one typed ("Other")."""
    return other if choice.strip().lower() in ("", "other") else choice


@router.post("/basket/lines/{line_no}/remove")
def void_line(
    request: Request,
    state: Pos,
    session: Cashier,
    line_no: LineNo,
    reason: Reason = "",
    other: Reason = "",
) -> Response:
    """Void a line, with a reason (logged)."""
    why = _reason(reason, other)
    try:
        with write_tx(state.terminal.engine) as conn:
            till_events.void_line(conn, till_of(state), session.cashier_id, line_no, why)
    except RetailError as exc:
        dialog = {"void": True, "line_no": line_no, "error": str(exc), "values": {"other": other}}
        return sale_view(request, state, session, error=str(exc), dialog=dialog)
    return sale_view(request, state, session)


@router.post("/basket/clear")
def cancel_sale(
    request: Request, state: Pos, session: Cashier, reason: Reason = "", other: Reason = ""
) -> Response:
    """Cancel the sale, with a reason (logged): the basket is emptied."""
    why = _reason(reason, other)
    try:
        with write_tx(state.terminal.engine) as conn:
            till_events.cancel_sale(conn, till_of(state), session.cashier_id, why)
    except RetailError as exc:
        dialog = {"void": True, "line_no": 0, "error": str(exc), "values": {"other": other}}
        return sale_view(request, state, session, error=str(exc), dialog=dialog)
    return sale_view(request, state, session)


@router.get("/items/search")
def search_items(
    request: Request,
    state: Pos,
    session: Cashier,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    with read_tx(state.terminal.engine) as conn:
        found = item_search.search(conn, q)
    return render(request, "_search.html", session, q=q, items=found)


@router.post("/basket/void")
def void(
    request: Request,
    state: Pos,
    session: Cashier,
    line_no: Annotated[int, Form(ge=0, le=2**63 - 1)] = 0,
    reason: Reason = "",
    other: Reason = "",
) -> Response:
    """The void dialog: a line (``line_no``), or 0 the whole sale."""
    if line_no:
        return void_line(request, state, session, line_no, reason, other)
    return cancel_sale(request, state, session, reason, other)
