"""The cashier's screen bounds request bodies before parsing them (issue 11)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient

from possync.terminal.web.app import FORM_LIMIT, SIGN_IN_LIMIT
from tests.terminal_web.screen import HTMX, basket_skus, post, signed_in

FORM = {"content-type": "application/x-www-form-urlencoded"}


def chunks(total: int) -> Iterator[bytes]:
    yield b"code=SKU1&"
    yield b"x" * (total - 10)


def test_bodies_over_the_limit_are_refused_and_change_nothing(client: TestClient) -> None:
    sign_in = client.post("/signin", content=b"pin=" + b"1" * SIGN_IN_LIMIT, headers=FORM)
    assert sign_in.status_code == 413
    assert "frame-ancestors 'none'" in sign_in.headers["content-security-policy"]
    token = signed_in(client)
    post(client, token, "/basket/scan", code="SKU2")
    streamed = client.post(  # chunked: no Content-Length to refuse it by
        "/basket/scan",
        content=chunks(FORM_LIMIT + 1),
        headers={**FORM, **HTMX, "x-csrf-token": token},
    )
    assert streamed.status_code == 413
    assert basket_skus(client.get("/").text) == [("SKU2", 1)]
