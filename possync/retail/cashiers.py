"""Cashiers: master data made on the store, with a PIN to sign in at a till.

The PIN travels to the terminals only as an argon2id hash, so a stolen terminal
database does not give the PINs away cheaply. Parameters are lighter than for
passwords (a till checks a PIN in ~10-20 ms on modest hardware); PINs are short,
so lock-out after failed attempts is the till's job, not the hash's.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from possync.retail.errors import FieldErrors, RetailError
from possync.retail.schema import cashier

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
PIN_LENGTH = (4, 12)


def _pin_problem(pin: str) -> str | None:
    low, high = PIN_LENGTH
    return None if pin.isdigit() and low <= len(pin) <= high else f"a PIN is {low} to {high} digits"


def _id_problem(cashier_id: str) -> str | None:
    if cashier_id and len(cashier_id) <= 16 and cashier_id.replace("-", "").isalnum():
        return None
    return f"a cashier id is 1 to 16 letters, digits or '-': {cashier_id!r}"


def save(
    conn: sa.Connection,
    cashier_id: str,
    name: str,
    *,
    pin: str | None = None,
    active: bool = True,
    new: bool | None = None,
) -> None:
    """Add a cashier or change one; ``pin`` None keeps the current PIN. ``new``:
    True refuses an existing id, False a missing one, None takes either. Raises
    FieldErrors naming each bad field (cashier_id, name, pin), changing nothing."""
    errors: dict[str, str] = {}
    exists = (
        conn.execute(
            sa.select(cashier.c.cashier_id).where(cashier.c.cashier_id == cashier_id)
        ).first()
        is not None
    )
    if problem := _id_problem(cashier_id):
        errors["cashier_id"] = problem
    elif new is True and exists:
        errors["cashier_id"] = f"cashier {cashier_id} already exists"
    elif new is False and not exists:
        errors["cashier_id"] = f"no cashier {cashier_id!r}"
    if not name.strip() or len(name) > 100:
        errors["name"] = "a cashier's name is 1 to 100 characters"
    if pin is not None and (problem := _pin_problem(pin)):
        errors["pin"] = problem
    elif pin is None and not exists:
        errors["pin"] = "a new cashier needs a PIN"
    if errors:
        raise FieldErrors(errors)
    values: dict[str, Any] = {"name": name.strip(), "active": active}
    if pin is not None:
        values["pin_hash"] = _hasher.hash(pin)
    if exists:
        conn.execute(cashier.update().where(cashier.c.cashier_id == cashier_id).values(**values))
    else:
        conn.execute(cashier.insert().values(cashier_id=cashier_id, **values))


def verify(conn: sa.Connection, cashier_id: str, pin: str) -> dict[str, Any]:
    """The cashier, if ``pin`` is theirs and they are active; RetailError otherwise
    (the same message either way, so it does not reveal which ids exist)."""
    row = conn.execute(sa.select(cashier).where(cashier.c.cashier_id == cashier_id)).first()
    refused = RetailError("unknown cashier or wrong PIN")
    if row is None or not row.active or not row.pin_hash:
        raise refused
    try:
        _hasher.verify(row.pin_hash, pin)
    except (VerificationError, InvalidHashError):
        raise refused from None
    return {"cashier_id": row.cashier_id, "name": row.name}


def listing(conn: sa.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(cashier.c.cashier_id, cashier.c.name, cashier.c.active).order_by(
            cashier.c.cashier_id
        )
    )
    return [dict(r._mapping) for r in rows]
