"""Signing in with a PIN, the lock-out after wrong PINs, session cookies, and the
CSRF token that every POST of the cashier's screen needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from possync.terminal.lockout import PinLockout
from possync.terminal.web.app import create_app
from tests.terminal_web.conftest import PIN
from tests.terminal_web.screen import HTMX, basket_skus, hidden_token, post, sign_in, signed_in


def api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every route of the app, through included routers (none of ours has a prefix)."""
    found: list[APIRoute] = []
    for r in routes:
        if isinstance(r, APIRoute):
            found.append(r)
        elif hasattr(r, "original_router"):  # FastAPI's included router
            found += api_routes(r.original_router.routes)
    return found


def test_a_cashier_signs_in_with_the_pin_and_gets_a_strict_http_only_cookie(
    client: TestClient,
) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/signin"
    wrong = sign_in(client, "ADA", "0000")
    assert wrong.status_code == 422 and "unknown cashier or wrong PIN" in wrong.text
    unknown = sign_in(client, "NOBODY", PIN)  # the same answer: ids are not revealed
    assert unknown.status_code == 422 and "unknown cashier or wrong PIN" in unknown.text

    ok = sign_in(client)
    assert ok.status_code == 303 and ok.headers["location"] == "/"
    cookie = next(c for c in ok.headers.get_list("set-cookie") if "possync_pos_session=" in c)
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    page = client.get("/")
    assert page.status_code == 200 and "Ada Lovelace" in page.text

    token = hidden_token(page.text)
    out = client.post("/signout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303  # signed out


def test_the_session_cookie_is_secure_over_https(terminal_dir: Path) -> None:
    with TestClient(create_app(terminal_dir), base_url="https://till.example") as https:
        cookie = next(
            c for c in sign_in(https).headers.get_list("set-cookie") if "pos_session" in c
        )
    assert "Secure" in cookie


def test_five_wrong_pins_lock_the_cashier_id_for_a_while(terminal_dir: Path) -> None:
    now = [1000.0]
    lockout = PinLockout(max_failures=5, lock_seconds=300, clock=lambda: now[0])
    app = create_app(terminal_dir, lockout=lockout)
    with TestClient(app) as client, TestClient(app) as other_till_user:
        for _ in range(4):
            assert sign_in(client, "ADA", "1111").status_code == 422
        fifth = sign_in(client, "ADA", "1111")
        assert fifth.status_code == 429 and "locked for 5 minutes" in fifth.text
        right_pin = sign_in(client, "ADA", PIN)  # refused while locked, even with the PIN
        assert right_pin.status_code == 429 and "locked" in right_pin.text
        # other ids are not locked
        assert sign_in(other_till_user, "BOB").status_code == 303

        now[0] += 299
        assert sign_in(client, "ADA", PIN).status_code == 429
        now[0] += 2
        assert sign_in(client, "ADA", PIN).status_code == 303


def test_every_post_is_refused_without_the_session_csrf_token(client: TestClient) -> None:
    token = signed_in(client)
    assert post(client, token, "/basket/scan", code="SKU1").status_code == 200
    posts = [
        r.path.replace("{line_no}", "1").replace("{op_id}", "x")
        for r in api_routes(client.app.routes)  # type: ignore[attr-defined]
        if "POST" in r.methods and r.path != "/signin"
    ]
    assert len(posts) >= 12
    for path in posts:
        for headers in ({**HTMX}, {**HTMX, "x-csrf-token": "forged"}):
            refused = client.post(path, data={"code": "SKU2", "sku": "SKU2"}, headers=headers)
            assert refused.status_code == 403, path
            assert "security token did not match" in refused.text
    # a forged form field is refused as well
    forged = client.post("/basket/scan", data={"code": "SKU2", "csrf_token": "forged"})
    assert forged.status_code == 403
    # nothing was changed: still one line of SKU1, still signed in
    assert basket_skus(client.get("/").text) == [("SKU1", 1)]


def test_the_sign_in_form_needs_its_own_token(client: TestClient) -> None:
    client.get("/signin")  # sets the login cookie
    refused = client.post("/signin", data={"cashier_id": "ADA", "pin": PIN, "csrf_token": "forged"})
    assert refused.status_code == 403 and "out of date" in refused.text
    assert client.get("/", follow_redirects=False).status_code == 303  # not signed in
