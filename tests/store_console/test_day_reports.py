"""Transactions > Z reports and Day summary (in process, on SQLite and PostgreSQL):
Z reports newest first with over/short, filtered by till; a day summary of the
store's business day in its time zone (a sale at 00:30 in Paris is the next day's
in UTC terms), with tax per rate, payments per method and over/short per till; a
malformed day is told and today's summary is shown."""

from __future__ import annotations

import re

import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail import store_admin
from possync.retail.schema import receipt, receipt_line, receipt_payment, z_report
from possync.sync.db import write_tx

HASH = "ab" * 32


def _receipt(conn: sa.Connection, number: str, at: str, total: int, kind: str = "sale") -> None:
    rid = f"id-{number}"
    common = {"receipt_id": rid, "store_id": "S01", "terminal_id": "T01"}
    conn.execute(
        receipt.insert().values(
            **common, receipt_no=number, kind=kind, currency="EUR", total=total,
            tax_total=total // 6, created_at=at,
        )
    )  # fmt: skip
    conn.execute(
        receipt_line.insert().values(
            **common, line_no=1, sku="SKU1", name="Item", qty=1 if total > 0 else -1,
            unit_price=abs(total), line_total=total, tax_code="STD", tax_rate_bp=2000,
            tax_amount=total // 6,
        )
    )  # fmt: skip
    conn.execute(
        receipt_payment.insert().values(**common, payment_no=1, method_code="CASH", amount=total)
    )


def _z(conn: sa.Connection, number: str, till: str, day: str, at: str, over_short: int) -> None:
    conn.execute(
        z_report.insert().values(
            z_report_id=f"z-{number}", z_no=number, session_id=f"s-{number}", store_id="S01",
            terminal_id=till, currency="EUR", business_day=day, opened_at=at, created_at=at,
            opening_float=10000, expected_cash=20000, counted_cash=20000 + over_short,
            over_short=over_short, totals="{}", chain_seq=1, chain_hash=HASH,
            chain_previous=HASH,
        )
    )  # fmt: skip


def _cells(html: str, table_id: str) -> list[str]:
    table = re.search(rf'id="{table_id}".*?</table>', html, re.S)
    assert table, f"no #{table_id}"
    return [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", table.group(0), re.S)
    ]


def test_z_reports_and_the_day_summary(store: sa.Engine, signed_in: tuple[TestClient, str]) -> None:
    client, _ = signed_in
    store_admin.set_details(store, time_zone="Europe/Paris")
    with write_tx(store) as conn:
        _receipt(conn, "S01-T01-000001", "2026-12-01T22:59:00.000Z", 1200)  # 23:59 in Paris
        _receipt(conn, "S01-T01-000002", "2026-12-01T23:30:00.000Z", 2400)  # 00:30, the 2nd
        _receipt(conn, "S01-T01-R000001", "2026-12-02T09:00:00.000Z", -600, "return")
        _z(conn, "S01-T01-Z000001", "T01", "2026-12-01", "2026-12-01T23:00:00.000Z", 0)
        _z(conn, "S01-T01-Z000002", "T01", "2026-12-02", "2026-12-02T18:00:00.000Z", -200)
        _z(conn, "S01-T02-Z000001", "T02", "2026-12-02", "2026-12-02T18:05:00.000Z", 50)

    page = client.get("/console/z-reports")
    assert page.status_code == 200 and 'href="/console/z-reports"' in page.text  # in the nav
    assert re.findall(r'data-z="([^"]+)"', page.text) == [
        "S01-T02-Z000001", "S01-T01-Z000002", "S01-T01-Z000001"
    ]  # fmt: skip
    mine = client.get("/console/z-reports", params={"terminal": "T02"}).text
    assert re.findall(r'data-z="([^"]+)"', mine) == ["S01-T02-Z000001"]

    day = client.get("/console/day-summary", params={"day": "2026-12-02"})
    assert day.status_code == 200
    assert _cells(day.text, "day-totals") == [
        "Sales (1)", "24.00", "Returns (1)", "-6.00", "Net", "18.00"
    ]  # fmt: skip
    assert _cells(day.text, "day-payments")[3:] == ["CASH", "2", "18.00"]
    assert _cells(day.text, "day-tills")[5:] == [
        "T01", "1", "200.00", "198.00", "-2.00", "T02", "1", "200.00", "200.50", "0.50",
        "Store", "", "", "", "-1.50",
    ]  # fmt: skip
    before = client.get("/console/day-summary", params={"day": "2026-12-01"}).text
    assert _cells(before, "day-totals")[:2] == ["Sales (1)", "12.00"]

    bad = client.get("/console/day-summary", params={"day": "2nd"})
    assert bad.status_code == 422 and "a date as YYYY-MM-DD" in bad.text
