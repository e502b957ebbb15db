"""Replication > Fiscal chain: every till's chain head and whether it verifies,
and checking every chain again over the documents held here."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from possync.retail import fiscal_chain
from possync.store.console.auth import Admin, ConsoleApp
from possync.store.console.base import redirect
from possync.sync.db import read_tx, write_tx

router = APIRouter(prefix="/console")


@router.get("/chain")
async def listing(request: Request, console: ConsoleApp, _: Admin) -> HTMLResponse:
    def load() -> list[fiscal_chain.ChainStatus]:
        with read_tx(console.engine) as conn:
            return fiscal_chain.statuses(conn)

    chains = await run_in_threadpool(load)
    return console.render(request, "chain.html", chains=chains)


@router.post("/chain/verify")
async def verify(request: Request, console: ConsoleApp, _: Admin) -> Response:
    """Check every chain again from its anchor (what ``store verify-chain`` does)."""

    def run() -> list[fiscal_chain.ChainStatus]:
        with write_tx(console.engine) as conn:
            return fiscal_chain.verify_all(conn)

    found = await run_in_threadpool(run)
    broken = [s.terminal_id for s in found if s.state == "broken"]
    if broken:
        return redirect("/console/chain", f"Broken chain: {', '.join(broken)}.", "bad")
    return redirect("/console/chain", "Every chain verifies.")
