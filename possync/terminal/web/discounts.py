"""Discounts on the sell screen: on a line or on the whole basket, with a reason,
and a manager's id and PIN when the discount is above the cashier's limit.

The manager's PIN is checked as a sign-in's is (same hash, same time for an unknown
id) and counts towards that manager's lock-out (:class:`PinLockout`): a till where
anyone may try a manager's PIN in a discount dialog would be a way round it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response

from possync.retail import basket, discount_rules
from possync.retail.errors import RetailError
from possync.retail.money import parse_amount
from possync.retail.schema import store
from possync.retail.store_locale import StoreLocale
from possync.sync.db import read_tx, write_tx
from possync.terminal.web.basket import sale_view, till_of
from possync.terminal.web.context import Pos, PosState
from possync.terminal.web.sessions import Cashier
from possync.terminal.web.signin import _account, _verify

router = APIRouter()
Field = Annotated[str, Form(max_length=100)]


class _Refused(RetailError):
    """A field of the dialog to correct."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _approver(state: PosState, manager_id: str, pin: str) -> str:
    """The manager's id as stored, once their PIN is checked (counted as a try)."""
    engine = state.terminal.engine
    if not manager_id.strip():
        raise _Refused("manager_id", "a manager's id is needed to approve it")
    account = _account(engine, manager_id.strip())
    locked = state.lockout.admit(engine, account)
    if locked:
        minutes = max(math.ceil(locked / 60), 1)
        raise _Refused("manager_pin", f"too many wrong PINs: locked for {minutes} minute(s)")
    try:
        with read_tx(engine) as conn:
            who = _verify(conn, account, pin)
    except RetailError as exc:
        raise _Refused("manager_pin", str(exc)) from None
    state.lockout.succeeded(engine, account)
    return str(who["cashier_id"])


def _read_amount(state: PosState) -> Callable[[str], int]:
    """Amounts typed the store's way (a decimal comma where it is written so)."""
    with read_tx(state.terminal.engine) as conn:
        row = conn.execute(
            sa.select(store).where(store.c.store_id == state.till["store_id"])
        ).first()
    return StoreLocale.of(row).parse_amount if row is not None else parse_amount


@router.post("/basket/discount")
def give_discount(
    request: Request,
    state: Pos,
    session: Cashier,
    line_no: Annotated[int, Form(ge=0, le=2**63 - 1)] = 0,
    value: Field = "",
    reason: Field = "",
    manager_id: Field = "",
    manager_pin: Field = "",
) -> Response:
    """Give a discount on line ``line_no`` (0: the basket). Above the cashier's
    limit the dialog comes back asking for a manager's id and PIN."""
    values = {"value": value, "reason": reason, "manager_id": manager_id}
    asking = bool(manager_id or manager_pin)
    try:
        approved_by = _approver(state, manager_id, manager_pin) if asking else None
        with write_tx(state.terminal.engine) as conn:
            discount_rules.give(
                conn,
                till_of(state),
                session.cashier_id,
                line_no,
                value,
                reason,
                approved_by=approved_by,
                read_amount=_read_amount(state),
            )
    except discount_rules.ApprovalNeeded as exc:
        dialog = {
            "discount": True,
            "line_no": line_no,
            "approval": True,
            "values": values,
            "errors": {"approval": str(exc)},
        }
        return sale_view(request, state, session, dialog=dialog)
    except RetailError as exc:
        field = exc.field if isinstance(exc, _Refused) else _field_of(str(exc))
        dialog = {
            "discount": True,
            "line_no": line_no,
            "approval": asking,
            "values": values,
            "errors": {field: str(exc)},
        }
        return sale_view(request, state, session, error=str(exc), dialog=dialog)
    return sale_view(request, state, session, changed_line=line_no or None)


def _field_of(message: str) -> str:
    return "reason" if "reason" in message else "value"


@router.post("/basket/lines/{line_no}/discount/remove")
def remove_discount(
    request: Request,
    state: Pos,
    session: Cashier,
    line_no: Annotated[int, Path(ge=0, le=2**63 - 1)],
) -> Response:
    """Take a line's discount away (0: the basket's): no approval needed."""
    try:
        with write_tx(state.terminal.engine) as conn:
            basket.set_discount(conn, session.cashier_id, line_no, None)
    except RetailError as exc:
        return sale_view(request, state, session, error=str(exc))
    return sale_view(request, state, session, changed_line=line_no or None)
