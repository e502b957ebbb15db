"""Cashiers: master data made on the store, with a PIN to sign in at a till.

The PIN travels to the terminals only as an argon2id hash, so a stolen terminal
database does not give the PINs away cheaply. The hash's cost is as high as a
sign-in at the till can afford (about 100 ms, measured in docs/security.md); PINs
are short, so lock-out after failed attempts is the till's job, not the hash's, and
a store may require longer PINs (``min_pin_length``, a setting of the store only:
it is checked where PINs are set).

A cashier head office assigned to a store (``cashier.store_id``) signs in at that
store and its tills only. A store or till that held the row before head office
moved the cashier elsewhere still holds it (with the new store): the right PIN there
is refused with a message saying where the cashier works now.

A hash records its own parameters, so hashes made with an older, cheaper cost keep
verifying; a till that checks one with the right PIN makes it again at today's cost
(``stronger_hash``).
"""

from __future__ import annotations

from types import EllipsisType
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError

from possync.retail.errors import FieldErrors, RetailError
from possync.retail.schema import cashier, store
from possync.sync import peers, state

# 40 MiB, 2 passes: about 105 ms per check on the 2-core test machine (19 MiB and
# 2 passes, 37 ms, until release 0.3.0). Memory is what makes guessing on a GPU dear.
_hasher = PasswordHasher(time_cost=2, memory_cost=40 * 1024, parallelism=1)
PIN_LENGTH = (4, 12)
MIN_PIN_LENGTH = "min_pin_length"  # sync_state key of the store's setting (local)


class WorksElsewhere(RetailError):
    """The PIN is right, but the cashier works at another store now."""


def min_pin_length(conn: sa.Connection) -> int:
    """The shortest PIN this store accepts when one is set (4 unless raised)."""
    found = state.get(conn, MIN_PIN_LENGTH)
    return int(found) if found and found.isdigit() else PIN_LENGTH[0]


def set_min_pin_length(conn: sa.Connection, length: int) -> None:
    """Require PINs of at least ``length`` digits from now on. PINs already set stay
    good until they are changed (the store never knows them)."""
    low, high = PIN_LENGTH
    if not low <= length <= high:
        raise FieldErrors({"min_pin_length": f"the shortest PIN is {low} to {high} digits"})
    state.put(conn, MIN_PIN_LENGTH, str(length))


def _pin_problem(pin: str, low: int) -> str | None:
    high = PIN_LENGTH[1]
    return None if pin.isdigit() and low <= len(pin) <= high else f"a PIN is {low} to {high} digits"


def _id_problem(cashier_id: str) -> str | None:
    if cashier_id and len(cashier_id) <= 16 and cashier_id.replace("-", "").isalnum():
        return None
    return f"a cashier id is 1 to 16 letters, digits or '-': {cashier_id!r}"


def stored_id(conn: sa.Connection, typed: str) -> str | None:
    """The cashier id as stored, for an id typed in any case ("ANA" -> "ana"); None
    if there is no such cashier. An exact match wins (ids made before ids were
    compared without case may differ in case only); else the first one by id.
    ``lower`` folds ASCII letters on every database, which cashier ids mostly are."""
    exact = conn.execute(
        sa.select(cashier.c.cashier_id).where(cashier.c.cashier_id == typed)
    ).scalar()
    if exact is not None:
        return str(exact)
    folded = conn.execute(
        sa.select(cashier.c.cashier_id)
        .where(sa.func.lower(cashier.c.cashier_id) == typed.lower())
        .order_by(cashier.c.cashier_id)
        .limit(1)
    ).scalar()
    return None if folded is None else str(folded)


def save(
    conn: sa.Connection,
    cashier_id: str,
    name: str,
    *,
    pin: str | None = None,
    active: bool = True,
    new: bool | None = None,
    store_id: str | EllipsisType | None = ...,
    discount_limit_bp: int | EllipsisType | None = ...,
    manager: bool | EllipsisType = ...,
) -> None:
    """Add a cashier or change one; ``pin`` None keeps the current PIN. ``new``:
    True refuses an existing id, False a missing one, None takes either.
    ``store_id``: the store they work at, set by head office (None: every store;
    left out: a new cashier works at every store, a known one keeps theirs).
    ``discount_limit_bp`` (None: none) and ``manager``: their discount authority
    (retail/discount_rules.py); left out, kept (a new cashier: none, not a manager). Raises
    FieldErrors naming each bad field (cashier_id, name, pin), changing nothing."""
    errors: dict[str, str] = {}
    # Ids are compared without case: "ANA" is cashier "ana", kept as first typed.
    cashier_id = stored_id(conn, cashier_id) or cashier_id
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
    if pin is not None and (problem := _pin_problem(pin, min_pin_length(conn))):
        errors["pin"] = problem
    elif pin is None and not exists:
        errors["pin"] = "a new cashier needs a PIN"
    if discount_limit_bp not in (..., None) and not 0 <= int(discount_limit_bp) <= 10_000:  # type: ignore[arg-type]
        errors["discount_limit"] = "a percentage from 0 to 100"
    if errors:
        raise FieldErrors(errors)
    values: dict[str, Any] = {"name": name.strip(), "active": active}
    if discount_limit_bp is not ...:
        values["discount_limit_bp"] = discount_limit_bp
    if manager is not ...:
        values["manager"] = manager
    if pin is not None:
        values["pin_hash"] = _hasher.hash(pin)
    if store_id is not ...:
        values["store_id"] = store_id
    if exists:
        conn.execute(cashier.update().where(cashier.c.cashier_id == cashier_id).values(**values))
    else:
        conn.execute(cashier.insert().values(cashier_id=cashier_id, **values))


def verify(conn: sa.Connection, cashier_id: str, pin: str) -> dict[str, Any]:
    """The cashier, if ``pin`` is theirs and they are active; RetailError otherwise
    (the same message either way, so it does not reveal which ids exist). The id
    may be typed in any case."""
    found = stored_id(conn, cashier_id)
    row = conn.execute(sa.select(cashier).where(cashier.c.cashier_id == found)).first()
    refused = RetailError("unknown cashier or wrong PIN")
    if row is None or not row.active or not row.pin_hash:
        raise refused
    try:
        _hasher.verify(row.pin_hash, pin)
    except (VerificationError, InvalidHashError):
        raise refused from None
    # Checked once the PIN is right, so the answer tells a guesser nothing more.
    here = home_store(conn)
    if row.store_id is not None and here is not None and row.store_id != here:
        raise WorksElsewhere(
            f"cashier {row.cashier_id} now works at another store ({row.store_id}), not at this one"
        )
    return {"cashier_id": row.cashier_id, "name": row.name}


def home_store(conn: sa.Connection) -> str | None:
    """The store this database belongs to: a store server's own id, or a till's
    store (its parent); None at head office, which holds every store and is none."""
    parent = peers.parent(conn)
    candidates = [state.get(conn, state.NODE_ID), parent.node_id if parent else None]
    ids = [c for c in candidates if c]
    found = set(
        conn.execute(sa.select(store.c.store_id).where(store.c.store_id.in_(ids))).scalars()
    )
    return next((c for c in ids if c in found), None)


def stronger_hash(pin_hash: str, pin: str) -> str | None:
    """A new hash of ``pin`` (already verified against ``pin_hash``) if ``pin_hash``
    was made at a lower cost than today's, else None. Never weakens a hash made at a
    higher cost."""
    try:
        made = extract_parameters(pin_hash)
    except InvalidHashError:
        return None
    today = _hasher
    if made.memory_cost * made.time_cost >= today.memory_cost * today.time_cost:
        return None
    return _hasher.hash(pin)


def replace_hash(conn: sa.Connection, cashier_id: str, old: str, new: str) -> bool:
    """Store ``new`` in place of ``old``, unless the hash changed meanwhile (a new
    PIN arrived from the store: it wins)."""
    done = conn.execute(
        cashier.update()
        .where(cashier.c.cashier_id == cashier_id, cashier.c.pin_hash == old)
        .values(pin_hash=new)
    )
    return bool(done.rowcount)


def listing(conn: sa.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(cashier.c.cashier_id, cashier.c.name, cashier.c.active).order_by(
            cashier.c.cashier_id
        )
    )
    return [dict(r._mapping) for r in rows]
