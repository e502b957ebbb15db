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

from possync.retail.errors import RetailError
from possync.retail.schema import cashier

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
PIN_LENGTH = (4, 12)


def check_pin(pin: str) -> None:
    low, high = PIN_LENGTH
    if not pin.isdigit() or not low <= len(pin) <= high:
        raise RetailError(f"a PIN is {low} to {high} digits")


def check_cashier_id(cashier_id: str) -> None:
    if not cashier_id or len(cashier_id) > 16 or not cashier_id.replace("-", "").isalnum():
        raise RetailError(f"a cashier id is 1 to 16 letters, digits or '-': {cashier_id!r}")


def save(
    conn: sa.Connection,
    cashier_id: str,
    name: str,
    *,
    pin: str | None = None,
    active: bool = True,
) -> None:
    """Add a cashier or change one; ``pin`` None keeps the current PIN."""
    check_cashier_id(cashier_id)
    if not name.strip() or len(name) > 100:
        raise RetailError("a cashier's name is 1 to 100 characters")
    values: dict[str, Any] = {"name": name.strip(), "active": active}
    if pin is not None:
        check_pin(pin)
        values["pin_hash"] = _hasher.hash(pin)
    exists = conn.execute(
        sa.select(cashier.c.cashier_id).where(cashier.c.cashier_id == cashier_id)
    ).first()
    if exists:
        conn.execute(cashier.update().where(cashier.c.cashier_id == cashier_id).values(**values))
    else:
        if pin is None:
            raise RetailError("a new cashier needs a PIN")
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
