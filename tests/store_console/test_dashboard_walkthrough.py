"""What the walk-through found on the replication dashboard (issue 14), in real
headless Chromium on a tablet (768 px wide) against a real store server process
running in another time zone than UTC (Asia/Kolkata, UTC+05:30 all year):

- a till's mode is a neutral label; its link to the store is the coloured signal
  (no red "offline" beside a green "connected");
- "To be sent" says as of when the till reported it;
- the table scrolls sideways in its frame with the terminal column in place, so the
  last columns (Suspend) are reachable;
- "suspended until" is the store's local time, not a UTC timestamp.

Screenshots: artifacts/screenshots/console-dashboard-768.png, console-dashboard-1280.png."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from possync.retail import reports
from possync.store.process import StoreProcess
from tests.browser import shot
from tests.e2e.helpers import cli, make_store, pos_init
from tests.store_console.test_console_browser import PASSWORD, add_admin

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
ZONE = ZoneInfo("Asia/Kolkata")


def store_clock(stamp: str) -> str:
    """How the dashboard writes an instant: the store's HH:MM (with the day if not today)."""
    at = datetime.fromisoformat(stamp).astimezone(ZONE)
    if at.date() == datetime.now(ZONE).date():
        return at.strftime("%H:%M")
    return at.strftime("%d %b %H:%M").lstrip("0")


def test_the_dashboard_on_a_tablet_in_the_store_time_zone(
    page: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.sync_api import expect

    monkeypatch.setenv("TZ", "Asia/Kolkata")  # the store server's machine zone
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_store(db_url, items=5)
    add_admin(db_url)
    with StoreProcess(db_url) as server:
        till = tmp_path / "T01"
        pos_init(engine, server.url, till, "T01")
        cli("pos", "sell", "--data", str(till), "SKU1", "--pay", "CASH")
        cli("pos", "sync", "--data", str(till))

        page.set_viewport_size({"width": 768, "height": 1024})
        page.goto(f"{server.url}/console/")
        page.get_by_label("User name").fill("manager")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        row = page.locator("#row-T01")
        row.wait_for()

        mode = row.locator("[data-col=mode] .badge")
        assert mode.inner_text() == "offline"
        assert not mode.evaluate("b => b.classList.contains('bad')")  # a mode, not an alarm
        link = row.locator("[data-col=connected] .badge")
        assert link.inner_text() == "connected" and link.evaluate("b => b.classList.contains('ok')")

        (activity,) = reports.terminal_activity(engine)
        reported = max(activity["last_push_at"], activity["last_pull_at"])
        unsent = " ".join(row.locator("[data-col=unsent]").inner_text().split())
        assert unsent == f"0 as of {store_clock(reported)}"

        # At 768 px the table scrolls in its frame; the terminal column stays in place.
        assert page.evaluate("document.documentElement.scrollWidth") <= 768
        suspend = row.get_by_role("button", name="Suspend")
        suspend.scroll_into_view_if_needed()
        expect(suspend).to_be_in_viewport()
        expect(row.locator("th")).to_be_in_viewport()
        shot(page, "console-dashboard-768")

        suspend.click()
        until = reports.terminal_activity(engine)[0]["suspended_until"]
        assert until
        local = store_clock(until)
        sync_cell = page.locator("#row-T01 [data-col=sync]")
        assert " ".join(sync_cell.inner_text().split()).startswith(f"suspended until {local}")
        assert not re.search(r"\d{4}-\d\d-\d\dT|Z\b|\+00:00", sync_cell.inner_text())
        expect(
            page.locator(".notice", has_text=f"suspended until {local} (store time)")
        ).to_be_visible()

        page.set_viewport_size({"width": 1280, "height": 720})
        shot(page, "console-dashboard-1280")
