"""The notes and coins of a currency, for counting a drawer at close, largest first,
in minor units. A currency not listed here is counted in a 1-2-5 series, which any
drawer's contents can be made of."""

from __future__ import annotations

from possync.retail.errors import RetailError
from possync.retail.money import MAX_AMOUNT

_KNOWN: dict[str, tuple[int, ...]] = {
    "EUR": (50000, 20000, 10000, 5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1),
    "GBP": (5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1),
    "USD": (10000, 5000, 2000, 1000, 500, 200, 100, 25, 10, 5, 1),
    "CHF": (100000, 20000, 10000, 5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5),
}
_SERIES = (50000, 20000, 10000, 5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1)
MAX_PIECES = 100_000  # of one denomination in one drawer: more is a typing slip


def of(currency: str) -> tuple[int, ...]:
    return _KNOWN.get(currency, _SERIES)


def counted_total(currency: str, counts: dict[int, int]) -> int:
    """The cash counted, from pieces per denomination; refused if a denomination
    is not the currency's or a count is negative or implausible."""
    allowed = set(of(currency))
    total = 0
    for value, pieces in counts.items():
        if value not in allowed:
            raise RetailError(f"{currency} has no note or coin of {value} minor units")
        if type(pieces) is not int or not 0 <= pieces <= MAX_PIECES:
            raise RetailError(f"count 0 to {MAX_PIECES:,} pieces of each note or coin")
        total += value * pieces
    if total > MAX_AMOUNT:
        raise RetailError("the count is more than the largest amount allowed")
    return total
