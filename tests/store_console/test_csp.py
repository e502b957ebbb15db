"""The console's security headers (issue 11): a strict Content-Security-Policy with
frame-ancestors 'none' on every console response, and no violation logged by
Chromium over the whole admin flow of test_console_browser."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from possync.store.process import StoreProcess
from tests.store_console import test_console_browser as flow
from tests.store_console.test_console_browser import server  # noqa: F401  (the fixture)
from tests.terminal_web.test_csp_browser import watch

HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def test_every_console_response_carries_the_headers(
    signed_in: tuple[TestClient, str],
) -> None:
    client, csrf = signed_in
    answers = [
        client.get("/console/"),
        client.get("/console/items", headers={"hx-request": "true"}),  # an htmx fragment
        client.get("/console/no-such-page"),
        client.post("/console/items/new", data={"csrf_token": csrf, "price": "1e5"}),
        client.post("/console/login", content=b"x" * 10_000),  # a 413
        client.get("/", follow_redirects=False),
    ]
    for answer in answers:
        csp = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, answer.url
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert {k: answer.headers.get(k) for k in HEADERS} == HEADERS, answer.url
    signed_out = TestClient(client.app).get("/console/login")
    assert "frame-ancestors 'none'" in signed_out.headers["content-security-policy"]
    api = client.get("/api/v1/health")  # the sync API is not a page: left alone
    assert "content-security-policy" not in api.headers


@pytest.mark.browser
@pytest.mark.e2e
def test_the_console_logs_no_csp_violation(
    server: StoreProcess,  # noqa: F811
    page: Any,
    tmp_path: Any,
) -> None:
    messages = watch(page)
    flow.test_from_sign_in_to_a_synced_sale(server, page, tmp_path)
    # the dashboard refreshes itself (htmx, every 5 s), and not while a form in it
    # has the focus
    page.goto(f"{server.url}/console/")
    with page.expect_response(lambda r: "/console/dashboard/rows" in r.url, timeout=15_000):
        pass
    violations = [m for m in messages if "Content Security Policy" in m]
    assert violations == [], violations
