"""Exact money: integer minor units, parsed and printed as decimal strings.

Every amount a person types (the till's payment, a price in the console, the
catalog CSV, ``pos sell --pay``) goes through :func:`parse_amount`. It accepts plain
decimal notation only: ``Decimal(text)`` would also take ``1e999990``, whose
arithmetic froze the till, or ``1e5000``, a number too long to print on its
receipt. A regular expression on a bounded string refuses those in microseconds,
before any arithmetic.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal

from possync.retail.errors import RetailError

MINOR_DIGITS = 2
_SCALE = 10**MINOR_DIGITS

# The largest amount anyone may enter, in minor units: 1,000,000,000.00. No shop
# takes a payment or sets a price above it, and it keeps every total of a receipt
# (a line is at most MAX_QTY units) well inside a signed 64-bit column.
MAX_AMOUNT = 100_000_000_000
# Longer input is refused before the pattern runs: room for the largest amount with
# its sign and decimals, leading zeros and trailing zero decimals ("0000012.500").
MAX_AMOUNT_TEXT = 32

# Sign, then digits with an optional point and decimals ("12", "12.5", "12.", ".5").
# ASCII digits only: no exponent, no underscores, no other scripts' digits.
_AMOUNT = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?", re.ASCII)


def _shown(text: str) -> str:
    """The input as quoted in a message: never a whole megabyte of it."""
    return repr(text if len(text) <= 20 else text[:20] + "...")


def parse_amount(text: str, *, negative: bool = True) -> int:
    """``"12.5"`` -> 1250. Refuses anything but plain decimal notation, more
    decimals than the currency has, and more than :data:`MAX_AMOUNT` either way;
    with ``negative=False``, refuses a minus sign too."""
    if not isinstance(text, str):
        raise RetailError(f"not an amount: {text!r}")
    stripped = text.strip()
    if len(stripped) > MAX_AMOUNT_TEXT:
        raise RetailError(f"not an amount: {_shown(stripped)} is too long")
    found = _AMOUNT.fullmatch(stripped)
    if found is None or not (found.group(2) or found.group(3)):
        raise RetailError(f"not an amount: {_shown(text)} (write it like 12.50)")
    sign, whole, frac = found.group(1), found.group(2), found.group(3) or ""
    frac = frac.rstrip("0")
    if len(frac) > MINOR_DIGITS:
        raise RetailError(f"{_shown(text)} has more than {MINOR_DIGITS} decimals")
    # At most 32 characters: int() here is cheap whatever the digits are.
    minor = int(whole or "0") * _SCALE + int(frac.ljust(MINOR_DIGITS, "0"))
    if minor > MAX_AMOUNT:
        raise RetailError(
            f"{_shown(text)} is more than the largest amount allowed, {format_amount(MAX_AMOUNT)}"
        )
    if sign == "-":
        if not negative and minor:
            raise RetailError(f"must not be negative: {_shown(text)}")
        return -minor
    return minor


def format_amount(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), _SCALE)
    return f"{sign}{whole}.{frac:0{MINOR_DIGITS}d}"


def included_tax(gross: int, rate_bp: int) -> int:
    """The tax contained in a tax-inclusive amount, rounded half to even."""
    tax = Decimal(gross) * rate_bp / (10_000 + rate_bp)
    return int(tax.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
