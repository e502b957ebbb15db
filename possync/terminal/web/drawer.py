"""The cash drawer on the till's screen: open with a float, paid in/out with a
reason, the X report as it stands, and close: count by note and coin, see
expected, counted and over/short, then the Z report, printable like a receipt.
Everything works offline (retail/cashup.py); sales need no open drawer (they
count in the next Z report)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from possync.retail import cashup, denominations
from possync.retail.errors import RetailError
from possync.sync.db import read_tx, write_tx
from possync.terminal.web.context import Pos, PosState, redirect, render
from possync.terminal.web.sessions import Cashier, CashierSession

router = APIRouter()
MAX_COUNT_TEXT = 7  # digits of a count of one note or coin (denominations.MAX_PIECES)


def _page(
    request: Request,
    state: PosState,
    session: CashierSession,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    till = state.terminal.till()
    with read_tx(state.terminal.engine) as conn:
        report = cashup.x_report(conn, till)
        moves = [] if report.session is None else cashup.movements(conn, report.session.session_id)
    return render(
        request,
        "drawer.html",
        session,
        status_code=422 if errors else 200,
        drawer=report.session,
        x=report.totals.as_dict(),
        moves=moves,
        notes=denominations.of(till.currency),
        errors=errors or {},
        values=values or {},
    )


@router.get("/drawer")
def drawer_screen(request: Request, state: Pos, session: Cashier) -> Response:
    return _page(request, state, session)


def _amount(state: PosState, text: str, field: str, errors: dict[str, str]) -> int:
    try:
        return state.locale.parse_amount(text, negative=False)
    except RetailError as exc:
        errors[field] = str(exc)
        return 0


@router.post("/drawer/open")
def open_drawer(
    request: Request, state: Pos, session: Cashier, opening_float: Annotated[str, Form()] = ""
) -> Response:
    errors: dict[str, str] = {}
    amount = _amount(state, opening_float, "opening_float", errors)
    if not errors:
        try:
            with write_tx(state.terminal.engine) as conn:
                cashup.open_session(conn, state.terminal.till(), amount, session.cashier_id)
        except RetailError as exc:
            errors["opening_float"] = str(exc)
    if errors:
        return _page(
            request, state, session, errors=errors, values={"opening_float": opening_float}
        )
    return redirect(request, "/drawer")


@router.post("/drawer/move")
def move_cash(
    request: Request,
    state: Pos,
    session: Cashier,
    kind: Annotated[str, Form(max_length=8)] = "",
    amount: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    errors: dict[str, str] = {}
    value = _amount(state, amount, "amount", errors)
    if not errors:
        try:
            with write_tx(state.terminal.engine) as conn:
                cashup.move_cash(
                    conn, state.terminal.till(), kind, value, reason, session.cashier_id
                )
        except RetailError as exc:
            errors["reason" if "reason" in str(exc) else "amount"] = str(exc)
    if errors:
        values = {"kind": kind, "amount": amount, "reason": reason}
        return _page(request, state, session, errors=errors, values=values)
    return redirect(request, "/drawer")


def _counts(form: Any, notes: tuple[int, ...], errors: dict[str, str]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for value in notes:
        text = str(form.get(f"count_{value}") or "").strip()
        if not text:
            continue
        if not text.isdigit() or len(text) > MAX_COUNT_TEXT:
            errors[f"count_{value}"] = "a whole number of pieces"
            continue
        counts[value] = int(text)
    return counts


@router.post("/drawer/close")
async def close_drawer(request: Request, state: Pos, session: Cashier) -> Response:
    form = await request.form()
    till = state.terminal.till()
    notes = denominations.of(till.currency)
    errors: dict[str, str] = {}
    counts = _counts(form, notes, errors)
    row: dict[str, Any] = {}
    if not errors:
        try:
            with write_tx(state.terminal.engine) as conn:
                row = cashup.close_session(conn, till, counts, session.cashier_id)
        except RetailError as exc:
            errors["count"] = str(exc)
    if errors:
        values = {f"count_{v}": str(form.get(f"count_{v}") or "") for v in notes}
        return _page(request, state, session, errors=errors, values=values)
    return redirect(request, f"/drawer/z/{row['z_no']}")


@router.get("/drawer/z/{z_no:path}")
def z_report_page(request: Request, state: Pos, session: Cashier, z_no: str) -> Response:
    with read_tx(state.terminal.engine) as conn:
        found = cashup.z_of(conn, z_no)
    if found is None:
        return render(
            request,
            "message.html",
            session,
            status_code=404,
            title="Z report not found",
            message=f"There is no Z report {z_no} on this terminal.",
        )
    figures = found["figures"]
    counted = sorted(((int(v), n) for v, n in figures.get("counted", {}).items()), reverse=True)
    return render(request, "z_report.html", session, z=found, f=figures, counted=counted)
