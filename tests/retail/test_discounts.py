"""Discount arithmetic (possync/retail/discounts.py): parsing, what a discount takes
off, the basket discount spread over the lines to the cent, the cashier's limit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from possync.retail import discounts
from possync.retail.discounts import AMOUNT, PERCENT, Discount
from possync.retail.errors import FieldErrors, RetailError
from possync.retail.money import included_tax


def test_parse_percent_and_amount() -> None:
    assert discounts.parse("10%") == (PERCENT, 1000)
    assert discounts.parse(" 12,5 % ") == (PERCENT, 1250)
    assert discounts.parse("100%") == (PERCENT, 10_000)
    assert discounts.parse("2.50") == (AMOUNT, 250)
    for bad, words in [
        ("", "a discount is a percentage"),
        ("0%", "above 0 and at most 100"),
        ("101%", "above 0 and at most 100"),
        ("1.234%", "not a percentage"),
        ("%", "not a percentage"),
        ("0", "above 0"),
        ("-2", "above 0"),
        ("1e5", "not an amount"),
    ]:
        with pytest.raises(RetailError, match=words):
            discounts.parse(bad)


def test_what_a_discount_takes_off() -> None:
    assert Discount(PERCENT, 1000, "R").off(1999) == 200  # 199.9, half-even
    assert Discount(PERCENT, 1250, "R").off(1000) == 125
    assert Discount(AMOUNT, 500, "R").off(300) == 300  # never more than the line
    assert Discount(AMOUNT, 500, "R").off(0) == 0
    assert Discount(PERCENT, 1250, "R").describe() == "12.5 %"
    assert Discount(PERCENT, 1000, "R").describe() == "10 %"
    assert Discount(AMOUNT, 250, "R").describe() == "2.50"


def test_spread_is_exact_and_by_largest_remainder() -> None:
    assert discounts.spread(100, [1, 1, 1]) == [34, 33, 33]  # ties: the earlier line
    assert discounts.spread(10, [500, 300, 200]) == [5, 3, 2]
    assert discounts.spread(7, [333, 333, 334]) == [2, 2, 3]
    assert discounts.spread(0, [5, 5]) == [0, 0]
    assert discounts.spread(5, [0, 0]) == [0, 0]


@given(
    st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=30),
    st.integers(min_value=0, max_value=10**9),
)
def test_spread_adds_up_and_stays_within_each_line(weights: list[int], total: int) -> None:
    total = min(total, sum(weights))
    shares = discounts.spread(total, weights)
    assert sum(shares) == (total if sum(weights) else 0)
    assert all(0 <= s <= w for s, w in zip(shares, weights, strict=True))


def test_apply_line_then_basket_and_tax_after_discount() -> None:
    # 3 x 10.00 with 10 % off the line; 5.00 at 5.5 %; then 10 % off the basket
    priced = discounts.apply(
        [3000, 500],
        [Discount(PERCENT, 1000, "DAMAGED"), None],
        Discount(PERCENT, 1000, "STAFF"),
    )
    assert [p.discount for p in priced] == [300 + 270, 50]  # basket: 10 % of 32.00 = 3.20
    assert [p.line_total for p in priced] == [2430, 450]
    assert sum(p.gross - p.line_total for p in priced) == 300 + 320
    assert priced[0].reason_text == "DAMAGED + STAFF" and priced[1].reason_text == "STAFF"
    # tax is what the discounted amount contains, at the line's rate
    assert included_tax(priced[0].line_total, 2000) == 405
    none = discounts.apply([100], [None], None)
    assert (none[0].discount, none[0].reason_text) == (0, None)


def test_the_cashiers_limit() -> None:
    ten = Discount(PERCENT, 1000, "R")
    assert discounts.within(1000, ten, 5000)
    assert not discounts.within(999, ten, 5000)
    assert not discounts.within(None, ten, 5000)  # no limit set: nothing alone
    # an amount is measured against what it comes off, rounded up
    assert discounts.within(1000, Discount(AMOUNT, 100, "R"), 1000)
    assert not discounts.within(1000, Discount(AMOUNT, 101, "R"), 1000)
    assert discounts.share_bp(1, 3) == 3334
    assert discounts.parse_limit("12.5") == 1250
    assert discounts.parse_limit("") is None
    with pytest.raises(FieldErrors):
        discounts.parse_limit("150")
