"""The cashier's screen logs no Content Security Policy violation in Chromium over
the whole sale flow of test_browser (page loads, htmx requests, the payment dialog,
Store Operations) (issue 11). It logged one on every htmx swap of the payment
dialog: htmx "settled" the inputs' style attribute with setAttribute."""

from __future__ import annotations

from typing import Any

import pytest

from tests.terminal_web import test_browser as flow
from tests.terminal_web.test_browser import Shop, shop  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

# Chromium reports a violation on its console ("Refused to apply inline style
# because it violates the following Content Security Policy directive..."); the
# page's securitypolicyviolation event is logged as well, so nothing is missed.
REPORT_VIOLATIONS = (
    "document.addEventListener('securitypolicyviolation', e => console.error("
    "'Content Security Policy violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI"
    " + ' at ' + e.sourceFile + ':' + e.lineNumber + ' ' + e.sample"
    " + ' on ' + String(e.target && e.target.outerHTML).slice(0, 200)));"
)


def watch(page: Any) -> list[str]:
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
    page.add_init_script(REPORT_VIOLATIONS)
    return messages


def test_the_till_logs_no_csp_violation(page: Any, shop: Shop) -> None:  # noqa: F811
    messages = watch(page)
    flow.test_sell_pay_print_return_customer_sync_and_go_online(page, shop)
    violations = [m for m in messages if "Content Security Policy" in m]
    assert violations == [], violations
