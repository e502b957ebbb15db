"""Cash-up on a till: a drawer session opened with a float, paid in and paid out
with a reason, an X report at any time and a Z report at close.

Everything is written on the till's own database, in the caller's one write
transaction, and syncs up like receipts: it works offline. A till has at most one
open session (the write transaction is the till's only writer, so checking and
opening cannot interleave). Closing counts the cash by denomination, writes the Z
report (numbered from the till's own ``z_report`` series and chained in its fiscal
chain, printing the chain head it follows) and closes the session, all or nothing.

Sales are not tied to a session: a till may sell by card with no drawer open, and
a cash sale made then still counts, in the next Z report (see cashup_totals.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from possync.retail import denominations, fiscal_chain, numbering
from possync.retail.cashup_totals import IN, OUT, Totals, canonical, since_last_z
from possync.retail.errors import RetailError
from possync.retail.fiscal_chain.z_form import z_content
from possync.retail.ids import new_id
from possync.retail.money import MAX_AMOUNT
from possync.retail.sales import Till
from possync.retail.schema import cash_movement, drawer_session, store, z_report
from possync.retail.store_locale import StoreLocale
from possync.sync.clock import utc_now

MAX_REASON = 200


@dataclass(frozen=True)
class Session:
    session_id: str
    opened_by: str | None
    opened_at: str
    opening_float: int

    @classmethod
    def of(cls, row: Any) -> Session:
        return cls(row.session_id, row.opened_by, row.opened_at, int(row.opening_float))


@dataclass(frozen=True)
class XReport:
    """A read-only snapshot: nothing is stored."""

    session: Session | None
    totals: Totals
    at: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "session": None if self.session is None else vars(self.session),
            "at": self.at,
            **self.totals.as_dict(),
        }


def open_session(
    conn: sa.Connection, till: Till, opening_float: int, cashier_id: str | None = None
) -> Session:
    if type(opening_float) is not int or not 0 <= opening_float <= MAX_AMOUNT:
        raise RetailError("the float is an amount from 0 to the largest amount allowed")
    if current(conn, till.terminal_id) is not None:
        raise RetailError("a drawer session is already open on this till: close it first")
    row = {
        "session_id": new_id(),
        "store_id": till.store_id,
        "terminal_id": till.terminal_id,
        "opened_by": cashier_id,
        "opened_at": utc_now(),
        "opening_float": opening_float,
    }
    conn.execute(drawer_session.insert().values(**row))
    return Session(row["session_id"], cashier_id, row["opened_at"], opening_float)


def current(conn: sa.Connection, terminal_id: str) -> Session | None:
    """The till's open drawer session, if any."""
    row = conn.execute(
        sa.select(drawer_session).where(
            drawer_session.c.terminal_id == terminal_id, drawer_session.c.closed_at.is_(None)
        )
    ).first()
    return None if row is None else Session.of(row)


def _open(conn: sa.Connection, terminal_id: str) -> Session:
    session = current(conn, terminal_id)
    if session is None:
        raise RetailError("no drawer session is open on this till: open one with a float")
    return session


def move_cash(
    conn: sa.Connection,
    till: Till,
    kind: str,
    amount: int,
    reason: str,
    cashier_id: str | None = None,
) -> dict[str, Any]:
    """Paid in (``in``) or paid out (``out``) of the open session's drawer."""
    if kind not in (IN, OUT):
        raise RetailError(f"a cash movement is paid in ({IN}) or paid out ({OUT})")
    if type(amount) is not int or not 0 < amount <= MAX_AMOUNT:
        raise RetailError("the amount must be more than zero")
    text = (reason or "").strip()
    if not text or len(text) > MAX_REASON or not text.isprintable():
        raise RetailError(f"give a reason, 1 to {MAX_REASON} characters on one line")
    session = _open(conn, till.terminal_id)
    if kind == OUT:
        in_drawer = since_last_z(
            conn, till.terminal_id, session.session_id, session.opening_float
        ).expected_cash
        if amount > in_drawer:
            raise RetailError("the drawer does not hold that much cash")
    row = {
        "movement_id": new_id(),
        "session_id": session.session_id,
        "store_id": till.store_id,
        "terminal_id": till.terminal_id,
        "cashier_id": cashier_id,
        "kind": kind,
        "amount": amount,
        "reason": text,
        "created_at": utc_now(),
    }
    conn.execute(cash_movement.insert().values(**row))
    return row


def x_report(conn: sa.Connection, till: Till) -> XReport:
    """What the till took since its last Z report, with the open session's float
    and cash movements (none if no session is open)."""
    session = current(conn, till.terminal_id)
    totals = since_last_z(
        conn,
        till.terminal_id,
        None if session is None else session.session_id,
        0 if session is None else session.opening_float,
    )
    return XReport(session, totals, utc_now())


def close_session(
    conn: sa.Connection,
    till: Till,
    counts: dict[int, int],
    cashier_id: str | None = None,
) -> dict[str, Any]:
    """Count the drawer, write the Z report, close the session. Returns the
    report's row (``totals`` as canonical JSON text)."""
    counted = denominations.counted_total(till.currency, counts)
    session = _open(conn, till.terminal_id)
    totals = since_last_z(conn, till.terminal_id, session.session_id, session.opening_float)
    shop = conn.execute(sa.select(store).where(store.c.store_id == till.store_id)).one()
    now = utc_now()
    expected = totals.expected_cash
    document = {
        **totals.as_dict(),
        "counted": {str(value): pieces for value, pieces in sorted(counts.items()) if pieces},
    }
    row: dict[str, Any] = {
        "z_report_id": new_id(),
        "z_no": numbering.next_number(conn, till.terminal_id, numbering.Z_REPORT),
        "session_id": session.session_id,
        "store_id": till.store_id,
        "terminal_id": till.terminal_id,
        "cashier_id": cashier_id,
        "currency": till.currency,
        "business_day": StoreLocale.of(shop).business_day(session.opened_at).isoformat(),
        "opened_at": session.opened_at,
        "created_at": now,
        "opening_float": session.opening_float,
        "expected_cash": expected,
        "counted_cash": counted,
        "over_short": counted - expected,
        "totals": canonical(document),
        "chain_previous": fiscal_chain.previous_hash(conn, till.store_id, till.terminal_id),
    }
    seq, chain_hash = fiscal_chain.link(
        conn, till.store_id, till.terminal_id, lambda seq: z_content({**row, "chain_seq": seq})
    )
    row |= {"chain_seq": seq, "chain_hash": chain_hash}
    conn.execute(z_report.insert().values(**row))
    conn.execute(
        drawer_session.update()
        .where(drawer_session.c.session_id == session.session_id)
        .values(closed_by=cashier_id, closed_at=now, z_report_id=row["z_report_id"])
    )
    return row


def z_of(conn: sa.Connection, z_no: str) -> dict[str, Any] | None:
    """A Z report as stored, its totals read back (for showing and printing)."""
    found = conn.execute(sa.select(z_report).where(z_report.c.z_no == z_no)).first()
    if found is None:
        return None
    row = dict(found._mapping)
    row["figures"] = orjson.loads(row["totals"])
    return row


def movements(conn: sa.Connection, session_id: str) -> list[dict[str, Any]]:
    return [
        dict(r._mapping)
        for r in conn.execute(
            sa.select(cash_movement)
            .where(cash_movement.c.session_id == session_id)
            .order_by(cash_movement.c.created_at, cash_movement.c.movement_id)
        )
    ]
