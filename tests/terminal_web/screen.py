"""Driving the cashier's screen over HTTP in tests, as a browser would (cookies,
CSRF tokens taken from the pages)."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient

from tests.terminal_web.conftest import PINS

HTMX = {"hx-request": "true"}


def hidden_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(client: TestClient, cashier: str = "ADA", pin: str | None = None) -> httpx.Response:
    page = client.get("/signin")
    pin = PINS.get(cashier, "0000") if pin is None else pin
    return client.post(
        "/signin",
        data={"cashier_id": cashier, "pin": pin, "csrf_token": hidden_token(page.text)},
        follow_redirects=False,
    )


def signed_in(client: TestClient, cashier: str = "ADA") -> str:
    """Sign in and return the session's CSRF token (as htmx sends it)."""
    answer = sign_in(client, cashier)
    assert answer.status_code == 303, answer.status_code
    return hidden_token(client.get("/").text)


def post(client: TestClient, token: str, url: str, **data: str) -> httpx.Response:
    """An htmx POST with the session's token in its header."""
    return client.post(url, data=data, headers={**HTMX, "x-csrf-token": token})


def basket_skus(html: str) -> list[tuple[str, int]]:
    """(sku, qty) of each basket line shown in a page or fragment."""
    rows = re.findall(
        r'<tr id="line-\d+"[^>]*data-sku="([^"]+)".*?name="qty"[^>]*value="(\d+)"', html, re.S
    )
    return [(sku, int(qty)) for sku, qty in rows]
