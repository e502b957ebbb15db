"""Self-signed store certificates and pinning, with real processes on loopback (issue
11): ``store init --self-signed-cert`` makes the certificate ``store serve`` then
uses; ``store terminal add`` prints its fingerprint with the code; a till given that
pin registers, sells and syncs; a till shown another certificate is refused in the
TLS handshake, before the code or anything else is sent; the pin is replaced with
``pos config --pin``."""

from __future__ import annotations

import hashlib
import os
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from possync.retail.schema import receipt
from possync.store import selfsigned, tls_state
from possync.store.process import StoreProcess
from possync.sync import state
from possync.sync.db import read_tx
from tests.e2e.helpers import cli, cli_json, count, make_store
from tests.e2e.test_tls import pos_init, registered

pytestmark = pytest.mark.e2e


def der_sha256(pem_file: Path) -> str:
    """The fingerprint computed here, independently of possync's own code."""
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem_file.read_text())).hexdigest()


def one_line(done: object) -> str:
    return " ".join((done.stdout + done.stderr).split())  # type: ignore[attr-defined]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[StoreProcess, sa.Engine, str]]:
    """A store made with a self-signed certificate by ``store init``, served with it
    (no --tls-cert given); yields the server, the database and the pin."""
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_store(db_url, items=5)
    made = cli("store", "init", "--db", db_url, "--store", "S01", "--name", "Main Street",
               "--self-signed-cert", "--tls-host", "store.shop.lan")  # fmt: skip
    cert = tmp_path / "store-cert.pem"
    pin = f"sha256:{der_sha256(cert)}"
    assert pin in made.stdout.replace("\n", "")
    server = StoreProcess(db_url, log_path=tmp_path / "store.log", https=True)
    with server:
        yield server, engine, pin
    engine.dispose()


def test_store_init_makes_a_certificate_that_store_serve_uses(
    store: tuple[StoreProcess, sa.Engine, str], tmp_path: Path
) -> None:
    server, engine, pin = store
    cert, key = tmp_path / "store-cert.pem", tmp_path / "store-key.pem"
    assert os.stat(key).st_mode & 0o777 == 0o600  # the key: its owner only
    names = cert_names(cert)
    assert {"localhost", "127.0.0.1", "store.shop.lan"} <= names
    with read_tx(engine) as conn:
        assert state.get(conn, tls_state.CERT_SHA256) == pin.removeprefix("sha256:")
    assert server.url.startswith("https://")

    status = cli_json("store", "status", "--db", server.db_url)
    assert status["tls_pin"] == pin
    assert status["serving"]["scheme"] == "https"
    assert status["serving"]["cert_sha256"] == pin.removeprefix("sha256:")

    # run again: the certificate tills pinned is kept, never replaced
    again = cli("store", "init", "--db", server.db_url, "--store", "S01", "--name", "Main Street",
                "--self-signed-cert")  # fmt: skip
    assert "kept the TLS certificate" in one_line(again)
    assert f"sha256:{der_sha256(cert)}" == pin


def cert_names(cert: Path) -> set[str]:
    from cryptography import x509

    loaded = x509.load_pem_x509_certificate(cert.read_bytes())
    sans = loaded.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(v) for v in sans.get_values_for_type(x509.DNSName)} | {
        str(v) for v in sans.get_values_for_type(x509.IPAddress)
    }


def test_a_pinned_till_registers_sells_and_syncs(
    store: tuple[StoreProcess, sa.Engine, str], tmp_path: Path
) -> None:
    server, engine, pin = store
    added = cli_json("store", "terminal", "add", "T01", "--db", server.db_url)
    assert added["tls_pin"] == pin  # printed with the code
    data = tmp_path / "t01"

    # no pin, no CA: the system's CAs do not know a self-signed store
    refused = pos_init(data, server.url, added["registration_code"], expect=3)
    assert "not trusted here" in refused and "--pin" in refused
    assert not registered(engine, "T01")

    out = pos_init(data, server.url, added["registration_code"], "--pin", pin, expect=0)
    assert "terminal T01 ready" in out
    cli("pos", "sell", "--data", str(data), "SKU1:2", "--pay", "cash")
    cli("pos", "sync", "--data", str(data))
    assert count(engine, receipt) == 1
    status = cli_json("pos", "status", "--data", str(data))
    assert status["store_reachable"] is True
    assert status["store_tls"] == "pinned" and status["store_tls_pin"] == pin
    assert status["store_plain_http"] is False
    assert "by its pinned fingerprint " + pin in one_line(cli("pos", "config", "--data", str(data)))


@pytest.fixture
def impostor(
    store: tuple[StoreProcess, sa.Engine, str], tmp_path: Path
) -> Iterator[tuple[StoreProcess, str]]:
    """Another server, with a certificate of its own, on the *same* database: had a
    till sent it the code, the store's database would show the terminal registered."""
    server = store[0]
    cert, key = tmp_path / "other" / "cert.pem", tmp_path / "other" / "key.pem"
    seen = selfsigned.make(cert, key, ["127.0.0.1", "localhost"], "impostor")
    other = StoreProcess(server.db_url, log_path=tmp_path / "impostor.log", tls=(cert, key))
    with other:
        yield other, f"sha256:{seen}"


def test_a_wrong_certificate_is_refused_before_the_code_is_sent(
    store: tuple[StoreProcess, sa.Engine, str], impostor: tuple[StoreProcess, str], tmp_path: Path
) -> None:
    server, engine, pin = store
    other, other_pin = impostor
    code = cli_json("store", "terminal", "add", "T01", "--db", server.db_url)["registration_code"]
    data = tmp_path / "t01"

    refused = pos_init(data, other.url, code, "--pin", pin, expect=3)
    assert "not the one pinned for this store" in refused, refused
    assert f"pinned {pin}, the server showed {other_pin}" in refused
    assert "nothing was sent" in refused and "Traceback" not in refused
    # The code is right and the server behind that certificate serves this very
    # database: had the request been sent, T01 would be registered now.
    assert not registered(engine, "T01")

    # the same code still works with the real store
    assert "ready" in pos_init(data, server.url, code, "--pin", pin, expect=0)
    assert registered(engine, "T01")


def test_a_replaced_certificate_is_refused_until_the_new_pin_is_given(
    store: tuple[StoreProcess, sa.Engine, str], impostor: tuple[StoreProcess, str], tmp_path: Path
) -> None:
    server, engine, pin = store
    other, other_pin = impostor
    code = cli_json("store", "terminal", "add", "T01", "--db", server.db_url)["registration_code"]
    data = tmp_path / "t01"
    pos_init(data, server.url, code, "--pin", pin, expect=0)
    cli("pos", "sell", "--data", str(data), "SKU1", "--pay", "cash")

    # a pinned till never drops to plain HTTP without being told to forget the pin
    plain = server.url.replace("https", "http")
    down = one_line(cli("pos", "config", "--data", str(data), "--store-url", plain, expect=1))
    assert "a pin checks the store's TLS certificate" in down and "--system-ca" in down
    assert cli_json("pos", "status", "--data", str(data))["store_url"] == server.url

    # the store moved to a server with another certificate: refused, nothing sent
    cli("pos", "config", "--data", str(data), "--store-url", other.url)
    refused = one_line(cli("pos", "sync", "--data", str(data), expect=3))
    assert f"pinned {pin}, the server showed {other_pin}" in refused
    assert count(engine, receipt) == 0
    assert cli_json("pos", "status", "--data", str(data))["store_reachable"] is False

    # a pin that is not a fingerprint changes nothing
    bad = one_line(cli("pos", "config", "--data", str(data), "--pin", "sha256:abc", expect=1))
    assert "64 hex digits" in bad
    # the new pin, as other tools print it (capitals and colons), is taken
    colons = ":".join(other_pin.removeprefix("sha256:")[i : i + 2] for i in range(0, 64, 2))
    cli("pos", "config", "--data", str(data), "--pin", colons.upper())
    cli("pos", "sync", "--data", str(data))
    assert count(engine, receipt) == 1
    assert cli_json("pos", "status", "--data", str(data))["store_tls_pin"] == other_pin


def test_bad_pins_are_refused_before_anything_is_made(
    store: tuple[StoreProcess, sa.Engine, str], tmp_path: Path
) -> None:
    server, engine, pin = store
    code = cli_json("store", "terminal", "add", "T01", "--db", server.db_url)["registration_code"]
    data = tmp_path / "t01"
    cases = {
        ("--pin", "sha256:" + "g" * 64): "64 hex digits",
        ("--pin", pin, "--ca-file", str(tmp_path / "store-cert.pem")): "give one",
    }
    for extra, message in cases.items():
        assert message in pos_init(data, server.url, code, *extra, expect=1)
    # a pin for a plain-HTTP address means nothing: said so
    said = pos_init(data, server.url.replace("https", "http"), code, "--pin", pin, expect=1)
    assert "is plain HTTP" in said
    assert not data.exists() and not registered(engine, "T01")
