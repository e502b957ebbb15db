"""Real headless Chromium for the web tests: Debian's ``chromium`` package, driven
by Playwright through ``executable_path`` (Playwright never downloads a browser).

Use the ``page`` fixture (a fresh browser context per test) and ``shot(page, name)``
to save a screenshot under ``artifacts/screenshots/`` (kept by CI as artifacts).
Without Chromium the browser tests skip with the reason, except in CI (CI=true),
where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("POSSYNC_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("POSSYNC_ARTIFACTS", Path(__file__).parent.parent / "artifacts"))
FLAGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    reason = _missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI requires the browser tests)")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: object, tmp_path: Path) -> Iterator[object]:
    """A page in a fresh context (its own cookies), tablet-sized, downloads allowed."""
    context = chromium.new_context(  # type: ignore[attr-defined]
        viewport={"width": 1280, "height": 860}, accept_downloads=True
    )
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def shot(page: object, name: str) -> Path:
    """Save a full-page screenshot as an artifact and return its path."""
    path = ARTIFACTS / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
