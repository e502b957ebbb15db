"""The cash drawer on the till's screen (in process): open with a float, paid out
with a reason, the X report, count and close, then the printable Z report with the
chain head it follows; bad input is shown beside its field and changes nothing."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail import fiscal_chain
from possync.retail.schema import cash_movement, drawer_session
from possync.sync.db import open_engine, read_tx
from tests.terminal_web.screen import post, signed_in


def _rows(terminal_dir: Path, table: sa.Table) -> int:
    engine = open_engine(f"sqlite:///{terminal_dir / 'terminal.db'}")
    try:
        with read_tx(engine) as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
    finally:
        engine.dispose()


def _shown(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert found, f"no #{element_id} on the page"
    return found.group(1).replace("<wbr>", "").strip()  # a hash may break every 16 digits


def test_open_pay_out_count_and_close_to_a_z_report(client: TestClient, terminal_dir: Path) -> None:
    token = signed_in(client)
    page = client.get("/drawer")
    assert page.status_code == 200 and 'id="drawer-open"' in page.text
    assert 'id="nav-drawer"' in page.text

    bad = post(client, token, "/drawer/open", opening_float="ten")
    assert bad.status_code == 422 and "ten" in bad.text and 'id="drawer-open"' in bad.text
    assert _rows(terminal_dir, drawer_session) == 0
    assert (
        post(client, token, "/drawer/open", opening_float="100.00").headers["hx-redirect"]
        == "/drawer"
    )

    no_reason = post(client, token, "/drawer/move", kind="out", amount="5", reason=" ")
    assert no_reason.status_code == 422 and "give a reason" in no_reason.text
    too_much = post(client, token, "/drawer/move", kind="out", amount="500", reason="bank")
    assert too_much.status_code == 422 and "does not hold" in too_much.text
    assert _rows(terminal_dir, cash_movement) == 0
    assert (
        post(client, token, "/drawer/move", kind="out", amount="5", reason="stamps").status_code
        == 204
    )

    page = client.get("/drawer").text
    assert _shown(page, "x-expected") == "95.00" and "stamps" in page
    assert 'id="count_50000"' in page and 'id="count_1"' in page  # EUR 500 .. 0.01

    typo = post(client, token, "/drawer/close", count_5000="1", count_2000="two")
    assert typo.status_code == 422 and "a whole number" in typo.text
    assert 'value="two"' in typo.text  # what was typed stays
    closed = post(client, token, "/drawer/close", count_5000="1", count_2000="2")
    assert closed.headers["hx-redirect"] == "/drawer/z/S01-T01-Z000001"

    z = client.get("/drawer/z/S01-T01-Z000001").text
    assert _shown(z, "z-counted") == "90.00" and _shown(z, "z-over-short") == "-5.00"
    assert ">Short<" in z and 'id="print"' in z
    engine = open_engine(f"sqlite:///{terminal_dir / 'terminal.db'}")
    with read_tx(engine) as conn:
        head = fiscal_chain.head_of(conn, "T01")
    engine.dispose()
    assert head is not None and _shown(z, "z-chain-hash") == head[1]
    assert _shown(z, "z-chain-head") == fiscal_chain.genesis("S01", "T01")  # nothing sold before
    assert 'id="drawer-open"' in client.get("/drawer").text  # closed: open again next
    assert client.get("/drawer/z/S01-T01-Z999").status_code == 404
