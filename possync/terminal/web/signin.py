"""Signing in with a cashier id and PIN, and signing out."""

from __future__ import annotations

import functools
import math
import secrets
from contextlib import suppress
from typing import Annotated, Any

import sqlalchemy as sa
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from possync.retail import cashiers
from possync.retail.errors import RetailError
from possync.retail.schema import cashier
from possync.sync import log
from possync.sync.db import read_tx, write_tx
from possync.terminal.web.context import Pos, pos_state, redirect, render
from possync.terminal.web.sessions import (
    COOKIE,
    LOGIN_COOKIE,
    Cashier,
    optional_session,
    set_cookie,
)
from possync.webui import csrf

router = APIRouter()


def _form(
    request: Request,
    *,
    cashier_id: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or csrf.new_token()
    response = render(
        request,
        "signin.html",
        None,
        status_code=status_code,
        lockout=pos_state(request).lockout,
        csrf_token=token,
        cashier_id=cashier_id,
        errors=errors or {},
    )
    set_cookie(request, response, LOGIN_COOKIE, token)
    return response


@router.get("/signin")
def signin_page(request: Request) -> Response:
    if optional_session(request) is not None:
        return redirect(request, "/")
    return _form(request)


@router.post("/signin")
def sign_in(
    request: Request,
    state: Pos,
    cashier_id: Annotated[str, Form(max_length=100)] = "",
    pin: Annotated[str, Form(max_length=100)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    cashier_id = cashier_id.strip()
    if not csrf.same(request.cookies.get(LOGIN_COOKIE), csrf_token):
        return _form(
            request,
            cashier_id=cashier_id,
            errors={"form": "this sign-in form was out of date; please try again"},
            status_code=403,
        )
    if not cashier_id:
        return _form(request, errors={"cashier_id": "enter your cashier id"}, status_code=422)
    # Counted before the PIN is checked, in the till's database (see PinLockout):
    # racing requests cannot all pass this test before any of them is counted.
    engine = state.terminal.engine
    typed, cashier_id = cashier_id, _account(engine, cashier_id)  # any case: one count
    locked = state.lockout.admit(engine, cashier_id)
    if locked:
        return _form(request, cashier_id=typed, errors=_locked(locked), status_code=429)
    try:
        with read_tx(engine) as conn:
            who = _verify(conn, cashier_id, pin)
    except cashiers.WorksElsewhere as exc:  # the PIN was right: not a guess to count
        state.lockout.succeeded(engine, cashier_id)
        return _form(request, cashier_id=typed, errors={"cashier_id": str(exc)}, status_code=422)
    except RetailError as exc:
        locked = state.lockout.locked_for(engine, cashier_id)  # this failure may have started it
        errors = _locked(locked) if locked else {"pin": str(exc)}
        return _form(request, cashier_id=typed, errors=errors, status_code=429 if locked else 422)
    state.lockout.succeeded(engine, cashier_id)
    _strengthen(engine, cashier_id, who["pin_hash"], pin)
    session = state.sessions.create(who["cashier_id"], who["name"])
    response = redirect(request, "/")
    set_cookie(request, response, COOKIE, session.token)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


def _account(engine: sa.Engine, typed: str) -> str:
    """The cashier id as stored for an id typed in any case; for an unknown id, its
    lower case, so that "BOB" and "bob" count towards one lock-out."""
    with read_tx(engine) as conn:
        return cashiers.stored_id(conn, typed) or typed.lower()


@functools.cache
def _dummy_hash() -> str:
    """A PIN hash made with the cashiers' own hasher (so with the same cost as a
    real one), checked for ids that cannot sign in."""
    return cashiers._hasher.hash(secrets.token_hex(8))


def _verify(conn: sa.Connection, cashier_id: str, pin: str) -> dict[str, Any]:
    """cashiers.verify, in the same time whether or not the id exists: for an
    unknown or inactive id, a dummy hash is checked so the answer takes as long as
    for a wrong PIN (6 ms against 30 ms told which ids exist). With the hash it
    checked, for _strengthen."""
    row = conn.execute(
        sa.select(cashier.c.active, cashier.c.pin_hash).where(cashier.c.cashier_id == cashier_id)
    ).first()
    if row is None or not row.active or not row.pin_hash:
        with suppress(VerificationError, InvalidHashError):
            cashiers._hasher.verify(_dummy_hash(), pin)
        raise RetailError("unknown cashier or wrong PIN")  # cashiers.verify's own words
    return {**cashiers.verify(conn, cashier_id, pin), "pin_hash": row.pin_hash}


def _strengthen(engine: sa.Engine, cashier_id: str, pin_hash: str, pin: str) -> None:
    """A hash made at an older, lower cost is made again at today's, now that the
    PIN is known to be right, so that this till's database stops holding a cheap
    hash. Not captured: the cashier is the store's master data, and the till only
    changes its own copy (a new PIN from the store replaces it, and is made
    stronger here at its first sign-in in turn)."""
    stronger = cashiers.stronger_hash(pin_hash, pin)
    if stronger is None:
        return
    with write_tx(engine) as conn, log.capturing_as(conn, log.SUPPRESS):
        cashiers.replace_hash(conn, cashier_id, pin_hash, stronger)


def _locked(seconds: float) -> dict[str, str]:
    minutes = max(math.ceil(seconds / 60), 1)
    return {
        "pin": f"too many wrong PINs: this cashier id is locked for {minutes} "
        f"minute{'s' if minutes > 1 else ''}"
    }


@router.post("/signout")
def sign_out(request: Request, state: Pos, session: Cashier) -> Response:
    """The basket stays in the database: signing in again finds it."""
    state.sessions.end(session.token)
    response = redirect(request, "/signin")
    response.delete_cookie(COOKIE, path="/")
    return response
