"""Returns of sales made on another terminal: the store's receipt lookup (who may
ask, what it answers) and a return taken on T01 of a sale made on T02, against a
real store server process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail import sales
from possync.retail.schema import receipt, receipt_line
from possync.store.app import create_app as store_app
from possync.store.process import StoreProcess
from possync.sync import peers
from possync.sync.db import open_engine, read_tx, write_tx
from possync.terminal import modes, selling, syncer
from possync.terminal.local import Terminal
from possync.terminal.web.app import create_app as pos_app
from tests.e2e.helpers import make_store
from tests.terminal_web.conftest import add_cashiers, provision_by_backup
from tests.terminal_web.screen import HTMX, post, signed_in


def credentials(data: Path) -> tuple[str, str]:
    term = Terminal.open(data)
    try:
        with read_tx(term.engine) as conn:
            parent = peers.parent(conn)
            assert parent is not None and parent.secret
            return term.child.node_id(conn), parent.secret
    finally:
        term.close()


def test_the_receipt_lookup_answers_a_terminal_of_the_store_only(
    template_terminal: tuple[Path, Path],
) -> None:
    store_db, t01 = template_terminal
    engine = open_engine(f"sqlite:///{store_db}")
    with write_tx(engine) as conn:  # receipts as the store holds them after syncs
        till = sales.Till("S01", "T01", "EUR")
        sale = sales.record_sale(
            conn, till, [sales.LineRequest("SKU1", 2)], [sales.PaymentRequest("CASH")]
        )
        back = sales.record_return(conn, till, sale.receipt_no, [sales.LineRequest("SKU1", 1)])
        foreign = sales.record_sale(  # a row of another store (e.g. from head office)
            conn,
            sales.Till("S02", "T01", "EUR"),
            [sales.LineRequest("SKU2", 1)],
            [sales.PaymentRequest("CASH")],
        )
    node, secret = credentials(t01)
    url = f"/api/v1/pos/receipts/{sale.receipt_no}"
    with TestClient(store_app(engine)) as store:
        assert store.get(url).status_code == 401
        assert store.get(url, auth=(node, "wrong-secret")).status_code == 401
        assert store.get(url, auth=("T09", secret)).status_code == 401

        answer = store.get(url, auth=(node, secret))
        assert answer.status_code == 200
        body = answer.json()
        assert (body["receipt_no"], body["store_id"], body["terminal_id"]) == (
            sale.receipt_no,
            "S01",
            "T01",
        )
        assert [(ln["sku"], ln["qty"], ln["unit_price"]) for ln in body["lines"]] == [
            ("SKU1", 2, 201)
        ]
        assert body["returns"] == {back.receipt_id: {"1": 1}}

        other = store.get(f"/api/v1/pos/receipts/{foreign.receipt_no}", auth=(node, secret))
        assert other.status_code == 404  # another store's sale is not found
        assert store.get("/api/v1/pos/receipts/NOPE", auth=(node, secret)).status_code == 404
        not_sale = store.get(f"/api/v1/pos/receipts/{back.receipt_no}", auth=(node, secret))
        assert not_sale.status_code == 409 and "not a sale" in not_sale.json()["error"]["message"]
    engine.dispose()


@pytest.fixture
def two_terminals(tmp_path: Path) -> Iterator[tuple[sa.Engine, StoreProcess, Path, Path]]:
    store = make_store(f"sqlite:///{tmp_path / 'store.db'}", items=10)
    add_cashiers(store)
    server = StoreProcess(f"sqlite:///{tmp_path / 'store.db'}").start()
    try:
        for t in ("T01", "T02"):
            provision_by_backup(store, t, tmp_path / t, server.url, tmp_path)
        yield store, server, tmp_path / "T01", tmp_path / "T02"
    finally:
        server.kill()
        store.dispose()


def test_a_sale_of_another_terminal_is_taken_back_never_beyond_what_was_sold(
    two_terminals: tuple[sa.Engine, StoreProcess, Path, Path],
) -> None:
    store, server, t01, t02 = two_terminals
    term2 = Terminal.open(t02)
    sold = selling.sell(
        term2,
        [sales.LineRequest("SKU1", 3), sales.LineRequest("SKU2", 1)],
        [sales.PaymentRequest("CASH")],
    ).receipt
    with write_tx(term2.engine) as conn:  # one taken back at T02 already
        sales.record_return(conn, term2.till(), sold.receipt_no, [sales.LineRequest("SKU1", 1)])
    syncer.sync(term2)

    with TestClient(pos_app(t01)) as client:
        token = signed_in(client)
        found = client.get("/returns", params={"receipt_no": sold.receipt_no}, headers=HTMX)
        assert found.status_code == 200
        assert "found on the store" in found.text and "on terminal T02" in found.text
        assert 'id="f-qty_1" name="qty_1" type="number" min="0" max="2"' in found.text

        too_many = post(client, token, "/returns", receipt_no=sold.receipt_no, qty_1="3")
        assert too_many.status_code == 422 and "at most 2" in too_many.text
        done = post(client, token, "/returns", receipt_no=sold.receipt_no, qty_1="2", qty_2="1")
        assert done.headers["hx-redirect"] == "/receipts/S01-T01-R000001"
        page = client.get("/receipts/S01-T01-R000001")
        assert f"Return of sale {sold.receipt_no}" in page.text
        # not synced yet: this terminal's own return counts, the store's too
        again = post(client, token, "/returns", receipt_no=sold.receipt_no, qty_1="1")
        assert again.status_code == 422 and "at most 0" in again.text

        syncer.sync(Terminal.open(t01))
        with read_tx(store) as conn:
            back = conn.execute(
                sa.select(sa.func.sum(receipt_line.c.qty))
                .join(receipt, receipt.c.receipt_id == receipt_line.c.receipt_id)
                .where(receipt.c.original_receipt_id == sold.receipt_id)
                .where(receipt_line.c.sku == "SKU1")
            ).scalar()
        assert back == -3  # all three SKU1, from two terminals, and no more

        # T02, online, sees T01's return of its own sale through the store
        modes.enable_online(term2)
        with TestClient(pos_app(t02)) as client2:
            signed_in(client2)
            mine = client2.get("/returns", params={"receipt_no": sold.receipt_no}, headers=HTMX)
            assert "found on this terminal" in mine.text
            assert 'id="f-qty_1" name="qty_1" type="number" min="0" max="0"' in mine.text
            assert 'id="f-qty_2" name="qty_2" type="number" min="0" max="0"' in mine.text

        server.stop()
        down = client.get("/returns", params={"receipt_no": "S01-T02-000001"}, headers=HTMX)
        assert down.status_code == 422
        assert "not on this terminal, and the store cannot be reached" in down.text
