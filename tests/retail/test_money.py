from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from possync.retail.errors import RetailError
from possync.retail.money import format_amount, included_tax, parse_amount


@pytest.mark.parametrize(
    ("text", "minor"), [("12.5", 1250), ("0", 0), ("-3.01", -301), (" 7.00 ", 700)]
)
def test_parse_amount(text: str, minor: int) -> None:
    assert parse_amount(text) == minor


@pytest.mark.parametrize("text", ["1.001", "abc", "", "NaN", "inf"])
def test_parse_amount_refuses(text: str) -> None:
    with pytest.raises(RetailError):
        parse_amount(text)


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_format_then_parse_round_trips(minor: int) -> None:
    assert parse_amount(format_amount(minor)) == minor


def test_included_tax_rounds_half_to_even() -> None:
    assert included_tax(1200, 2000) == 200  # 12.00 incl. 20 % holds 2.00
    assert included_tax(0, 2000) == 0
    assert included_tax(105, 500) == 5  # exactly 5.0
    assert included_tax(1, 10_000) == 0  # 0.5 -> 0 (half to even)
    assert included_tax(3, 10_000) == 2  # 1.5 -> 2
