"""The store's locale: amounts written and read its way, times in its time zone."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from possync.retail.errors import RetailError
from possync.retail.money import MAX_AMOUNT
from possync.retail.store_locale import StoreLocale, check_locale, check_time_zone

PARIS = StoreLocale("fr_FR", "EUR", "Europe/Paris")
BERLIN = StoreLocale("de_DE", "EUR", "Europe/Berlin")
ZURICH = StoreLocale("de_CH", "CHF", "Europe/Zurich")
DUBLIN = StoreLocale("en_IE", "EUR", "Europe/Dublin")


@given(
    st.sampled_from([PARIS, BERLIN, ZURICH, DUBLIN, StoreLocale()]),
    st.integers(-MAX_AMOUNT, MAX_AMOUNT),
)
def test_what_a_field_shows_reads_back_the_same(shop: StoreLocale, minor: int) -> None:
    assert shop.parse_amount(shop.amount(minor)) == minor
    assert shop.parse_amount(shop.money(minor).replace("€", "").replace("CHF", "")) == minor


def test_amounts_in_each_locale() -> None:
    assert PARIS.money(123450) == "1\u202f234,50\u00a0€"
    assert BERLIN.money(123450) == "1.234,50\u00a0€"
    assert DUBLIN.money(1250) == "€12.50"
    assert PARIS.amount(-5) == "-0,05"
    assert PARIS.parse_amount("12,5") == 1250
    assert BERLIN.parse_amount("1.234,50") == 123450
    assert ZURICH.parse_amount("1'234.50") == 123450
    assert DUBLIN.parse_amount("1,234.50") == 123450


def test_a_point_typed_on_a_keypad_is_a_decimal_point() -> None:
    assert PARIS.parse_amount("12.50") == 1250
    assert BERLIN.parse_amount("12.50") == 1250
    # Not silently 1234 euros: a clear refusal.
    with pytest.raises(RetailError, match="more than 2 decimals"):
        BERLIN.parse_amount("1.234")


@pytest.mark.parametrize("text", ["abc", "1,2,3", "1e5", "12,345", "--1", "1" * 40])
def test_refusals_say_how_to_write_an_amount(text: str) -> None:
    with pytest.raises(RetailError) as refused:
        PARIS.parse_amount(text)
    assert "amount" in str(refused.value) or "decimals" in str(refused.value)


def test_a_sale_belongs_to_the_stores_day() -> None:
    assert PARIS.business_day("2026-12-01T23:57:00.000Z") == date(2026, 12, 2)
    assert PARIS.time("2026-12-01T23:57:00.000Z") == "00:57"
    assert StoreLocale().business_day("2026-12-01T23:57:00.000Z") == date(2026, 12, 1)
    # The day clocks go forward is 23 hours long.
    start, end = PARIS.day_bounds(date(2026, 3, 29))
    assert (start, end) == ("2026-03-28T23:00:00.000Z", "2026-03-29T22:00:00.000Z")
    assert start <= "2026-03-28T23:00:00.000Z" < end


def test_unknown_locales_and_time_zones_are_refused() -> None:
    assert check_locale("fr-fr") == "fr_FR"
    assert check_time_zone(" Europe/Paris ") == "Europe/Paris"
    for bad in ("xx_YY", "", "../fr"):
        with pytest.raises(RetailError, match="unknown locale"):
            check_locale(bad)
    for bad in ("Mars/Base", "../../etc/passwd"):
        with pytest.raises(RetailError, match="unknown time zone"):
            check_time_zone(bad)
