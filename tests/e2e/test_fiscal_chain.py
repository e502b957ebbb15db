"""Done means (issue 14, the fiscal chain): a real till sells, takes back and syncs
with a real store server, which verifies the till's chain as the documents arrive;
one document is then altered in the store's database, and ``store verify-chain
--json``, the console's chain page and the terminal's page (real Chromium) flag it;
the receipt page shows each document's short hash."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from possync.retail import fiscal_chain, sales
from possync.retail.schema import receipt
from possync.store.console import accounts
from possync.store.process import StoreProcess
from possync.sync.db import read_tx, write_tx
from possync.terminal.local import Terminal
from tests.browser import shot
from tests.e2e.helpers import cli, make_store, pos_init

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
PASSWORD = "chain-admin-2026"


def _sell_and_take_back(till: Path) -> list[sales.ReceiptSummary]:
    """Two sales and a return on the till, by the code ``pos sell`` and ``pos return``
    run (in process: each command's start costs seconds on a busy machine)."""
    term = Terminal.open(till)
    try:
        with write_tx(term.engine) as conn:
            pos = term.till()
            cash, card = [sales.PaymentRequest("CASH")], [sales.PaymentRequest("CARD")]
            first = sales.record_sale(conn, pos, [sales.LineRequest("SKU1", 2)], cash)
            lines = [sales.LineRequest("SKU2", 1), sales.LineRequest("SKU3", 1)]
            second = sales.record_sale(conn, pos, lines, card)
            back = sales.record_return(conn, pos, first.receipt_no, [sales.LineRequest("SKU1", 1)])
    finally:
        term.close()
    return [first, second, back]


def test_a_document_altered_on_the_store_is_flagged(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_store(db_url, items=5)
    with write_tx(engine) as conn:
        accounts.add_admin(conn, "manager", PASSWORD)
    till = tmp_path / "T01"
    with StoreProcess(db_url, log_path=tmp_path / "store.log") as server:
        pos_init(engine, server.url, till, "T01")
        first, second, back = _sell_and_take_back(till)
        assert [d.chain_seq for d in (first, second, back)] == [1, 2, 3]
        cli("pos", "sync", "--data", str(till))

        # The store checked the chain as the documents arrived.
        with read_tx(engine) as conn:
            arrived = fiscal_chain.status_by_terminal(conn)["T01"]
        assert (arrived.state, arrived.head_seq, arrived.head_hash) == ("ok", 3, back.chain_hash)

        # Someone edits the second sale's total in the store's database.
        with write_tx(engine) as conn:
            conn.execute(
                receipt.update()
                .where(receipt.c.receipt_no == second.receipt_no)
                .values(total=receipt.c.total - 100)
            )
        verify = ("store", "verify-chain", "--db", db_url, "--terminal", "T01", "--json")
        found = orjson.loads(cli(*verify, expect=1).stdout)
        [t01] = found["terminals"]
        assert not found["ok"] and (t01["state"], t01["problem"], t01["problem_seq"]) == (
            "broken",
            "altered",
            2,
        )
        assert second.receipt_no in t01["problem_detail"] and t01["head_seq"] == 3

        base = server.url
        page.goto(f"{base}/console/")
        page.get_by_label("User name").fill("manager")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}/console/")
        assert page.locator('nav a[href="/console/chain"]').count() == 1  # in the menu
        flag = page.locator("#row-T01 .chain-fault")  # flagged on the dashboard
        assert flag.inner_text() == "chain broken"
        assert "altered at 2" in (flag.get_attribute("title") or "")
        page.goto(f"{base}/console/chain")
        row = page.locator("#chains tr[data-terminal=T01]")
        assert row.get_attribute("data-state") == "broken"
        assert "altered at 2" in row.locator(".problem").inner_text()
        assert row.locator("td.num").inner_text() == "3"
        shot(page, "console-fiscal-chain")

        row.get_by_role("link", name="T01").click()
        card = page.locator("#fiscal-chain")
        assert card.get_attribute("data-state") == "broken"
        assert "altered" in card.inner_text() and "place 2" in card.inner_text()

        page.goto(f"{base}/console/receipts/{first.receipt_no}")
        assert (first.chain_hash or "")[:12] in page.locator("#receipt-chain").inner_text()

        # Checking everything again from the page finds the same fault.
        page.goto(f"{base}/console/chain")
        page.get_by_role("button", name="Verify every chain again").click()
        assert "Broken chain: T01" in page.locator("body").inner_text()
    with read_tx(engine) as conn:
        detected = fiscal_chain.status_by_terminal(conn)["T01"].detected_at
    assert detected == t01["detected_at"]  # the same fault, found when it was first found
