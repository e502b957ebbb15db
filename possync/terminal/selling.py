"""A sale as the terminal makes it, in the current mode.

Offline, the sale commits locally and is final. Online, the terminal first makes
sure the store answers and holds everything sent before (refusing the sale, or
falling back to offline if allowed, when it does not); then the sale commits
locally and is pushed at once. The local commit comes first on purpose: if the
store stored the sale but its answer was lost, rolling the sale back locally would
give its number to the next sale. So a sale the store did not confirm is kept and
sent again by the next sync, and the cashier is told.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from possync.retail import sales
from possync.retail.errors import RetailError
from possync.sync.db import write_tx
from possync.sync.errors import SyncError
from possync.terminal import modes, syncer
from possync.terminal.local import Terminal
from possync.transport.client import Refused, Unreachable

CONFIRM_TIMEOUT = 10.0  # seconds an online sale waits for the store


@dataclass(frozen=True)
class SaleOutcome:
    receipt: sales.ReceiptSummary
    mode: str
    confirmed: bool  # stored by the store (always False offline)
    note: str | None = None  # what the cashier must be told

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.receipt.as_dict(),
            "mode": self.mode,
            "confirmed": self.confirmed,
            "note": self.note,
        }


def _store_answers(term: Terminal) -> None:
    """Push what is pending (an online sale must not overtake earlier ones); with
    nothing pending, at least check that the store answers."""
    report = syncer.sync(
        term, do_pull=False, timeout=CONFIRM_TIMEOUT, wait_for_lock=CONFIRM_TIMEOUT
    )
    if report.push_batches == 0:
        with term.client(timeout=CONFIRM_TIMEOUT) as client:
            client.health()


def sell(
    term: Terminal,
    lines: list[sales.LineRequest],
    payments: list[sales.PaymentRequest],
    *,
    cashier_id: str | None = None,
    customer_id: str | None = None,
    with_sale: Callable[[sa.Connection], None] | None = None,
    till: sales.Till | None = None,
    mode: str | None = None,
) -> SaleOutcome:
    """``with_sale`` runs in the sale's own transaction (the cashier's screen empties
    its basket there, so the basket goes if and only if the sale commits); if it
    raises, the sale is rolled back and its number given back. ``till``: the
    terminal's, if the caller holds it already (``pos run`` reads it at its start);
    otherwise read here. ``mode``: the terminal's mode as the caller has just read it
    (:func:`possync.terminal.mode_state.current_in`, in a transaction of its own
    reads); otherwise read here."""
    till = till or term.till()
    mode = mode or modes.current(term)
    note = None
    if mode == modes.ONLINE:
        try:
            _store_answers(term)
        except (Unreachable, Refused, SyncError) as exc:
            if not modes.falls_back(term):
                raise RetailError(
                    f"sale refused: the store cannot confirm sales now ({exc})"
                ) from exc
            modes.go_offline(term)
            mode = modes.OFFLINE
            note = f"the store cannot be reached; switched to OFFLINE mode ({exc})"
    with write_tx(term.engine) as conn:
        receipt = sales.record_sale(
            conn, till, lines, payments, cashier_id=cashier_id, customer_id=customer_id
        )
        if with_sale is not None:
            with_sale(conn)
    if mode == modes.OFFLINE:
        return SaleOutcome(receipt, mode, False, note)
    try:
        syncer.sync(term, do_pull=False, timeout=CONFIRM_TIMEOUT, wait_for_lock=CONFIRM_TIMEOUT)
    except (Unreachable, Refused, SyncError) as exc:
        if modes.falls_back(term):
            modes.go_offline(term)
            mode = modes.OFFLINE
        return SaleOutcome(
            receipt,
            mode,
            False,
            f"the store did not confirm this sale ({exc}); it is kept and will be sent "
            "at the next sync",
        )
    return SaleOutcome(receipt, mode, True, note)
