"""Pins as people and tools write them, and what counts as this machine only."""

from __future__ import annotations

import pytest

from possync.transport.tls import PinError, is_loopback, parse_pin, pinned_context

HEX = "73c0f37793ee96531c521446332d16292fa8517d6d10c7106e24483d21d79b63"


def test_a_pin_is_read_in_the_forms_tools_print_it() -> None:
    colons = ":".join(HEX[i : i + 2] for i in range(0, 64, 2))
    for written in (f"sha256:{HEX}", HEX, HEX.upper(), colons.upper(), f" SHA256:{colons} "):
        assert parse_pin(written) == HEX


@pytest.mark.parametrize(
    "written", ["", "sha256:", HEX[:-1], HEX + "0", "sha1:" + HEX[:40], "g" * 64, f"md5:{HEX}"]
)
def test_anything_else_is_refused_saying_what_a_pin_is(written: str) -> None:
    with pytest.raises(PinError, match="64 hex digits"):
        parse_pin(written)
    with pytest.raises(PinError):
        pinned_context(written)


def test_only_loopback_addresses_and_localhost_are_this_machine() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.168.1.10", "store.lan", "vm"]))
