"""Today's receipts of this till, and reprints.

"Today" is the store's business day: the calendar day in the store's time zone, so
a sale at 00:57 in Paris is on the list of the day it was made, not the day before
as it is in UTC. A reprint is the receipt page marked COPY on screen and on paper,
never mistaken for an original. Each reprint is written to the till's log (who,
which receipt); it is not recorded in the database, which would need a replicated
table of reprints: the fiscal chain covers the documents, not their copies.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response

from possync.retail import receipts
from possync.sync.clock import utc_now
from possync.sync.db import read_tx
from possync.terminal.web.checkout import receipt_of_this_till
from possync.terminal.web.context import Pos, render
from possync.terminal.web.sessions import Cashier

router = APIRouter()
log = logging.getLogger(__name__)


@router.get("/today")
def todays_receipts(request: Request, state: Pos, session: Cashier) -> Response:
    locale = state.locale
    day = locale.business_day(utc_now())
    start, end = locale.day_bounds(day)
    with read_tx(state.terminal.engine) as conn:
        found = receipts.of_terminal_between(conn, state.till["terminal_id"], start, end)
    sales = [r for r in found if r["kind"] == "sale"]
    return render(
        request,
        "today.html",
        session,
        day=locale.day(day),
        found=found,
        sales_total=sum(r["total"] for r in sales),
        returns_total=sum(r["total"] for r in found if r["kind"] != "sale"),
        sales_count=len(sales),
    )


@router.get("/today/reprint/{receipt_no:path}")
def reprint(request: Request, state: Pos, session: Cashier, receipt_no: str) -> Response:
    """The receipt again, marked COPY (a document of this till only: it prints what
    it holds)."""
    doc = receipt_of_this_till(request, state, session, receipt_no)
    if isinstance(doc, Response):
        return doc
    log.info("reprint of %s by cashier %s", receipt_no, session.cashier_id)
    return render(request, "receipt.html", session, doc=doc, just_made={}, copy=True)
