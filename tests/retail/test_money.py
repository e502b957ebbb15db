from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from possync.retail.errors import RetailError
from possync.retail.money import MAX_AMOUNT, format_amount, included_tax, parse_amount


@pytest.mark.parametrize(
    ("text", "minor"), [("12.5", 1250), ("0", 0), ("-3.01", -301), (" 7.00 ", 700)]
)
def test_parse_amount(text: str, minor: int) -> None:
    assert parse_amount(text) == minor


@pytest.mark.parametrize("text", ["1.001", "abc", "", "NaN", "inf"])
def test_parse_amount_refuses(text: str) -> None:
    with pytest.raises(RetailError):
        parse_amount(text)


@given(st.integers(min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT))
def test_format_then_parse_round_trips(minor: int) -> None:
    assert parse_amount(format_amount(minor)) == minor


def test_included_tax_rounds_half_to_even() -> None:
    assert included_tax(1200, 2000) == 200  # 12.00 incl. 20 % holds 2.00
    assert included_tax(0, 2000) == 0
    assert included_tax(105, 500) == 5  # exactly 5.0
    assert included_tax(1, 10_000) == 0  # 0.5 -> 0 (half to even)
    assert included_tax(3, 10_000) == 2  # 1.5 -> 2


# --- only plain decimals, bounded (issue 11) ------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1e5000", "not an amount"),
        ("1e999990", "not an amount"),
        ("1E2", "not an amount"),
        ("0x10", "not an amount"),
        ("1_000", "not an amount"),
        ("\u0661\u0662", "not an amount"),  # Arabic-Indic digits: Decimal takes them
        ("+-1", "not an amount"),
        (".", "not an amount"),
        ("1,50", "not an amount"),
        ("9" * 100_000, "too long"),
        ("1000000000.01", "more than the largest amount allowed, 1000000000.00"),
        ("-1000000000.01", "more than the largest amount allowed"),
        ("99999999999", "more than the largest amount allowed"),
        ("0.001", "more than 2 decimals"),
        ("1.0000001", "more than 2 decimals"),
    ],
)
def test_parse_amount_refuses_exponents_huge_and_long_input(text: str, message: str) -> None:
    with pytest.raises(RetailError, match=message) as refused:
        parse_amount(text)
    assert len(str(refused.value)) < 120  # the message never echoes the whole input


@pytest.mark.parametrize(
    ("text", "minor"),
    [("1000000000.00", MAX_AMOUNT), ("-1000000000", -MAX_AMOUNT), (".5", 50), ("12.", 1200)],
)
def test_parse_amount_takes_plain_decimals_up_to_the_maximum(text: str, minor: int) -> None:
    assert parse_amount(text) == minor


def test_parse_amount_refuses_a_negative_where_none_is_allowed() -> None:
    with pytest.raises(RetailError, match="must not be negative"):
        parse_amount("-0.01", negative=False)
    assert parse_amount("-0", negative=False) == 0
    assert parse_amount("+5", negative=False) == 500


def test_refusing_absurd_input_takes_well_under_a_millisecond() -> None:
    for text in ("1e999990", "9" * 1_000_000, "1." + "0" * 30 + "1"):
        started = time.perf_counter()
        with pytest.raises(RetailError):
            parse_amount(text)
        assert time.perf_counter() - started < 0.001 * (1 + len(text) / 100_000)
