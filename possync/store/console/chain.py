"""Replication > Fiscal chain: every till's chain head and whether it verifies,
and checking every chain again over the documents held here."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from possync.retail import fiscal_chain
from possync.store.console.auth import Admin, ConsoleApp
from possync.store.console.base import redirect
from possync.sync.db import read_tx, write_tx

router = APIRouter(prefix="/console")


@router.get("/chain")
def listing(request: Request, console: ConsoleApp, _: Admin) -> HTMLResponse:
    with read_tx(console.engine) as conn:
        chains = fiscal_chain.statuses(conn)
    return console.render(request, "chain.html", chains=chains)


@router.post("/chain/verify")
def verify(request: Request, console: ConsoleApp, _: Admin) -> Response:
    """Check every chain again from its anchor (what ``store verify-chain`` does)."""
    with write_tx(console.engine) as conn:
        found = fiscal_chain.verify_all(conn)
    broken = [s.terminal_id for s in found if s.state == "broken"]
    if broken:
        return redirect("/console/chain", f"Broken chain: {', '.join(broken)}.", "bad")
    return redirect("/console/chain", "Every chain verifies.")
