"""Replication > Quarantine in the console: held documents listed per terminal and on
the dashboard, an entry shown whole, resubmitted (refused again: held anew with the
reason) or discarded with a reason, each written to the admin log."""

from __future__ import annotations

import re

import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail import store_admin
from possync.retail.schema import admin_log
from possync.sync import quarantine
from possync.sync.db import read_tx, write_tx
from possync.sync.log import Change
from possync.sync.quarantine import Reason, Rejection
from tests.e2e.helpers import line_row

LINE = line_row(receipt_id="r-9", discount=0)


def _hold(store: sa.Engine) -> int:
    store_admin.add_terminal(store, "T01")
    with write_tx(store) as conn:
        quarantine.hold(
            conn,
            "T01",
            "up",
            [
                (
                    "receipt:r-9",
                    Rejection(Reason.INCOMPLETE, "1 part(s) of a receipt that was not received"),
                    [Change(7, "receipt_line", "I", LINE)],
                )
            ],
        )
        return quarantine.listing(conn)[0].quarantine_id


def test_held_documents_are_listed_shown_and_decided(
    signed_in: tuple[TestClient, str], store: sa.Engine
) -> None:
    client, token = signed_in
    entry = _hold(store)
    dashboard = client.get("/console/dashboard/rows").text
    assert re.search(r'href="/console/quarantine\?terminal=T01">1</a>', dashboard)

    listed = client.get("/console/quarantine?terminal=T01")
    assert f'data-entry="{entry}"' in listed.text and "not received" in listed.text
    assert "Nothing held" in client.get("/console/quarantine?terminal=T02").text
    shown = client.get(f"/console/quarantine/{entry}")
    assert "receipt_line" in shown.text and "sku=SKU1" in shown.text

    again = client.post(f"/console/quarantine/{entry}/resubmit", data={"csrf_token": token})
    assert "was refused again" in again.text  # its receipt still missing
    with read_tx(store) as conn:
        [held] = quarantine.listing(conn)
    assert held.quarantine_id != entry and held.code == "incomplete"

    refused = client.post(
        f"/console/quarantine/{held.quarantine_id}/discard", data={"csrf_token": token, "note": " "}
    )
    assert "say why" in refused.text
    done = client.post(
        f"/console/quarantine/{held.quarantine_id}/discard",
        data={"csrf_token": token, "note": "test line"},
    )
    assert "was discarded" in done.text and "Nothing held" in done.text
    everything = client.get("/console/quarantine?all=true").text
    assert "discarded" in everything and "admin: test line" in everything
    with read_tx(store) as conn:
        actions = conn.execute(sa.select(admin_log.c.action)).scalars().all()
    assert actions[-2:] == ["quarantine_resubmitted", "quarantine_discarded"]


def test_deciding_needs_the_csrf_token(signed_in: tuple[TestClient, str], store: sa.Engine) -> None:
    client, _ = signed_in
    entry = _hold(store)
    for action in ("resubmit", "discard"):
        answer = client.post(f"/console/quarantine/{entry}/{action}", data={"note": "x"})
        assert answer.status_code == 403
    with read_tx(store) as conn:
        assert [h.status for h in quarantine.listing(conn, status=None)] == ["held"]


def test_conflicts_are_shown_with_both_values(
    signed_in: tuple[TestClient, str], store: sa.Engine
) -> None:
    from possync.sync import conflicts
    from possync.sync.hlc import Conflict

    client, _ = signed_in
    assert "No conflicts" in client.get("/console/quarantine/conflicts").text
    with write_tx(store) as conn:
        conflicts.record(
            conn,
            "T02",
            [("customer", ("c-1",), Conflict("phone", "+33 1 2222", "2-b", "+33 1 1111", "1-a"))],
        )
    page = client.get("/console/quarantine/conflicts").text
    assert "+33 1 2222" in page and "+33 1 1111" in page and "phone" in page
