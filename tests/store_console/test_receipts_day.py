"""The console's receipts filtered by day take the store's day, in its time zone."""

from __future__ import annotations

import re

import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail import store_admin
from possync.retail.schema import receipt
from possync.sync.db import write_tx


def _receipt(no: str, at: str) -> dict[str, object]:
    return {
        "receipt_id": f"id-{no}",
        "receipt_no": no,
        "kind": "sale",
        "store_id": "S01",
        "terminal_id": "T01",
        "currency": "EUR",
        "total": 100,
        "tax_total": 17,
        "created_at": at,
    }


def test_a_sale_at_00_57_in_paris_is_on_its_own_days_list(
    store: sa.Engine, signed_in: tuple[TestClient, str]
) -> None:
    client, _ = signed_in
    with write_tx(store) as conn:
        conn.execute(
            receipt.insert(),
            [
                _receipt("LATE-1", "2026-12-01T22:30:00.000Z"),  # 23:30 in Paris, the 1st
                _receipt("EARLY-2", "2026-12-01T23:57:00.000Z"),  # 00:57 in Paris, the 2nd
            ],
        )

    def listed(day: str) -> set[str]:
        page = client.get("/console/receipts", params={"day": day}).text
        return set(re.findall(r"(?:LATE|EARLY)-\d", page))

    assert listed("2026-12-01") == {"LATE-1", "EARLY-2"}  # UTC: both the 1st's
    store_admin.set_details(store, time_zone="Europe/Paris")
    assert listed("2026-12-01") == {"LATE-1"}
    assert listed("2026-12-02") == {"EARLY-2"}
    # A date that matches the pattern but is not a day is an error beside the field.
    page = client.get("/console/receipts", params={"day": "2026-13-45"}).text
    assert "a date as YYYY-MM-DD" in page
