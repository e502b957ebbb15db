"""The status bar's times ("Store not reachable since ...", "last sync ...") are in
the store's time zone, as the till's receipts and Today's list are, not in the time
zone the till's machine happens to be set to."""

from __future__ import annotations

from pathlib import Path

from possync.terminal.local import Terminal
from possync.terminal.status import terminal_status
from possync.terminal.web.link import describe
from tests.terminal_web.test_receipt import run_sql

FAILED = "cannot reach the store at http://10.0.0.5:8600 ([Errno 111] Connection refused)"
# Long ago, so the bar shows the date as well: the same instant falls on another day
# and hour in each zone.
WHEN = "2026-01-15T23:30:00+00:00"


def _bar(zone: str) -> tuple[str, str]:
    shown = describe(
        {"last_error": FAILED, "last_error_at": WHEN, "last_sync_at": WHEN, "store_time_zone": zone}
    )
    return shown.text, shown.last_sync


def test_the_bar_says_when_in_the_stores_time_zone() -> None:
    assert _bar("Europe/Paris") == ("Store not reachable since 16 Jan 00:30", "16 Jan 00:30")
    assert _bar("Asia/Tokyo") == ("Store not reachable since 16 Jan 08:30", "16 Jan 08:30")
    assert _bar("UTC") == ("Store not reachable since 15 Jan 23:30", "15 Jan 23:30")


def test_the_tills_status_carries_its_stores_time_zone(terminal_dir: Path) -> None:
    term = Terminal.open(terminal_dir)
    try:
        assert terminal_status(term, probe_store=False)["store_time_zone"] == "UTC"
        run_sql(terminal_dir, "UPDATE store SET time_zone = 'Europe/Paris'")
        assert terminal_status(term, probe_store=False)["store_time_zone"] == "Europe/Paris"
    finally:
        term.close()
