"""What the walk-through found on the cashier's screen (issue 14), over HTTP in
process: the status bar tells the working mode and the link to the store apart, in
plain words; a price changed by a sync for an item already in the basket is told on
its line and the sale charges it (a payment opened at the old total is not made); an
online till that cannot reach the store offers Work offline when it may.

(The same in real Chromium against real processes: test_walkthrough_browser.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail.schema import item, pos_terminal, receipt, receipt_line
from possync.sync.db import open_engine, write_tx
from possync.terminal import modes, syncer
from possync.terminal.local import Terminal
from possync.terminal.web.link import plain_error
from possync.transport.client import Unreachable
from tests.terminal_web.screen import HTMX, post, signed_in
from tests.terminal_web.test_selling import alerts, rows

B1, B2 = "5000000000001", "5000000000002"  # SKU1 2.01, SKU2 3.02


def change_on_terminal(data: Path, statement: sa.Executable) -> None:
    """What a pull would write into the till's database (the pull itself is in the
    browser test)."""
    engine = open_engine(f"sqlite:///{data / 'terminal.db'}")
    try:
        with write_tx(engine) as conn:
            conn.execute(statement)
    finally:
        engine.dispose()


def text_of(html: str) -> str:
    """What a reader sees: the text without tags and attributes."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_status_bar_tells_mode_and_link_apart_in_plain_words(
    client: TestClient, terminal_dir: Path
) -> None:
    signed_in(client)
    bar = client.get("/status").text
    # offline: the normal mode of an offline-enabled till, a neutral label, no alarm
    assert 'id="mode"' in bar and "Offline mode" in bar and "alarm" not in bar
    assert "Store not contacted yet" in text_of(bar) and "last sync never" in text_of(bar)

    term = Terminal.open(terminal_dir)  # its store's address: nothing listens there
    with pytest.raises(Unreachable):
        syncer.sync(term)
    since = term.get_state(syncer.FAILING_SINCE)
    assert since
    with pytest.raises(Unreachable):  # failing again: still "since" the first failure
        syncer.sync(term)
    assert term.get_state(syncer.FAILING_SINCE) == since
    bar = client.get("/status").text
    shown = text_of(bar)
    assert re.search(r"Store not reachable since \d\d:\d\d", shown), shown
    assert "link-down" in bar and "alarm" not in bar  # offline: sales go on
    assert "Errno" not in shown  # the network's words only in the title (hover)
    assert "[Errno 111] Connection refused" in bar
    assert "nothing answers at 127.0.0.1:9: the store server may be stopped" in bar

    term.put_state(modes.MODE, modes.ONLINE)  # online, no fallback: sales are refused
    bar = client.get("/status").text
    assert "Online mode" in bar and "alarm" in bar
    term.close()


def test_network_jargon_becomes_a_sentence() -> None:
    raw = "still OFFLINE: cannot reach http://10.0.0.5:8600: [Errno 111] Connection refused"
    assert plain_error(raw) == (
        "still OFFLINE: cannot reach the store: nothing answers at 10.0.0.5:8600: "
        "the store server may be stopped"
    )
    timeout = (
        "sale refused: the store cannot confirm sales now (cannot reach http://s:1: timed out)"
    )
    assert plain_error(timeout) == (
        "sale refused: the store cannot confirm sales now "
        "(cannot reach the store: the store at s:1 did not answer in time)"
    )
    pinned = "cannot reach https://s:1: its TLS certificate is not the one pinned for this store"
    assert plain_error(pinned) == pinned  # already a sentence
    refused = (
        "sync suspended by an administrator until 2026-01-01T10:00:00.000Z "
        "(sync_suspended, HTTP 503)"
    )
    assert "HTTP 503" not in plain_error(refused) and "T10:00" not in plain_error(refused)


def test_a_price_changed_by_a_sync_is_told_on_its_line_and_the_sale_charges_it(
    client: TestClient, terminal_dir: Path
) -> None:
    token = signed_in(client)
    post(client, token, "/basket/scan", code=B1)
    scanned = post(client, token, "/basket/scan", code=B2)
    assert 'id="line-2"' in scanned.text and "data-just-changed" in scanned.text
    assert "Price changed" not in scanned.text

    change_on_terminal(terminal_dir, item.update().where(item.c.sku == "SKU1").values(price=250))
    shown = client.get("/", headers=HTMX).text
    notices = re.findall(r'id="price-changed-(\d+)"[^>]*>([^<]+)<', shown)
    assert notices == [
        ("1", "Price changed from 2.01 to 2.50 since it was scanned: this sale uses 2.50.")
    ]
    assert 'id="total">5.52<' in shown  # 2.50 + 3.02: the price the sale charges

    # The payment dialog was opened at the old total: that sale is not made.
    stale = post(client, token, "/basket/pay", amount_CASH="10", due="503")
    assert stale.status_code == 422
    assert any("the total is now 5.52" in a for a in alerts(stale.text))
    assert rows(terminal_dir, receipt) == []
    done = post(client, token, "/basket/pay", amount_CASH="10", due="552")
    assert done.status_code == 204, alerts(done.text)
    assert [r["total"] for r in rows(terminal_dir, receipt)] == [552]
    assert sorted(r["unit_price"] for r in rows(terminal_dir, receipt_line)) == [250, 302]

    # The next sale starts afresh: 2.50 is the price SKU1 is scanned at now.
    again = post(client, token, "/basket/scan", code=B1)
    assert "Price changed" not in again.text


def test_an_online_till_the_store_cannot_confirm_offers_work_offline(
    client: TestClient, terminal_dir: Path
) -> None:
    Terminal.open(terminal_dir).put_state(modes.MODE, modes.ONLINE)  # store: nothing listens
    token = signed_in(client)
    post(client, token, "/basket/scan", code=B1)
    refused = post(client, token, "/basket/pay", amount_CASH="5", due="201")
    assert refused.status_code == 422
    why = " ".join(alerts(refused.text))
    assert "sale refused: the store cannot confirm sales now" in why
    assert "nothing answers at 127.0.0.1:9" in why and "Errno" not in why
    assert 'id="work-offline"' in refused.text and rows(terminal_dir, receipt) == []
    # not a submit button: Enter (the form's default button) completes, never switches
    assert re.search(r'<button type="button"[^>]*id="work-offline"', refused.text)

    done = post(client, token, "/basket/pay", amount_CASH="5", due="201", work_offline="1")
    assert done.status_code == 204
    receipt_page = client.get(done.headers["hx-redirect"]).text
    assert "Switched to offline mode" in receipt_page
    assert "on this terminal (OFFLINE: sent at the next sync)" in text_of(receipt_page)
    assert Terminal.open(terminal_dir).get_state(modes.MODE) == modes.OFFLINE
    assert [r["total"] for r in rows(terminal_dir, receipt)] == [201]


def test_an_online_only_till_is_not_offered_work_offline(
    client: TestClient, terminal_dir: Path
) -> None:
    change_on_terminal(terminal_dir, pos_terminal.update().values(offline_enabled=False))
    token = signed_in(client)
    post(client, token, "/basket/scan", code=B1)
    refused = post(client, token, "/basket/pay", amount_CASH="5")
    assert refused.status_code == 422 and "work-offline" not in refused.text
    forced = post(client, token, "/basket/pay", amount_CASH="5", work_offline="1")
    assert "not offline-enabled" in " ".join(alerts(forced.text))
    assert rows(terminal_dir, receipt) == []
