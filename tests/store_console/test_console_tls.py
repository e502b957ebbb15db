"""The console on TLS (issue 11): the dashboard says how the store is served, plain
HTTP beyond this machine as an alert, plain HTTP on loopback as a note, TLS as
nothing at all; the registration code comes with the pin of the certificate."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail import store_admin
from possync.store import selfsigned, tls_state


def banner(client: TestClient) -> str | None:
    page = client.get("/console/").text
    start = page.find('id="plain-http"')
    if start < 0:
        return None
    return " ".join(page[page.rfind("<div", 0, start) : page.find("</div>", start)].split())


def test_the_dashboard_shows_plain_http(
    store: sa.Engine, signed_in: tuple[TestClient, str], tmp_path: Path
) -> None:
    client, _ = signed_in
    assert banner(client) is None  # never served: nothing to say

    tls_state.record_serving(store, "0.0.0.0", 8600, None, insecure_http=True)
    shown = banner(client)
    assert shown is not None and 'class="notice bad"' in shown and 'role="alert"' in shown
    assert "served without TLS on 0.0.0.0:8600" in shown and "travel in clear" in shown

    tls_state.record_serving(store, "127.0.0.1", 8600, None, insecure_http=False)
    shown = banner(client)
    assert shown is not None and 'class="notice warn"' in shown and "this machine only" in shown

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    selfsigned.make(cert, key, ["localhost"], "test")
    tls_state.record_serving(store, "0.0.0.0", 8600, cert, insecure_http=False)
    assert banner(client) is None


def test_the_code_page_gives_the_pin_with_the_code(
    store: sa.Engine, signed_in: tuple[TestClient, str], tmp_path: Path
) -> None:
    client, csrf = signed_in
    store_admin.add_terminal(store, "T01")
    page = client.post("/console/terminals/T01/code", data={"csrf_token": csrf}).text
    assert 'id="registration-code"' in page and 'id="tls-pin"' not in page  # no TLS: no pin

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = selfsigned.make(cert, key, ["localhost"], "test")
    tls_state.record_serving(store, "0.0.0.0", 8600, cert, insecure_http=False)
    page = client.post("/console/terminals/T01/code", data={"csrf_token": csrf}).text
    assert f'<code id="tls-pin">sha256:{made}</code>' in page
    assert f"--pin sha256:{made}" in page
