"""Exact money: integer minor units, parsed and printed as decimal strings."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from possync.retail.errors import RetailError

MINOR_DIGITS = 2
_SCALE = 10**MINOR_DIGITS


def parse_amount(text: str) -> int:
    """``"12.5"`` -> 1250. Refuses more decimals than the currency has."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise RetailError(f"not an amount: {text!r}") from None
    if not value.is_finite():
        raise RetailError(f"not an amount: {text!r}")
    minor = value * _SCALE
    if minor != minor.to_integral_value():
        raise RetailError(f"{text!r} has more than {MINOR_DIGITS} decimals")
    return int(minor)


def format_amount(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), _SCALE)
    return f"{sign}{whole}.{frac:0{MINOR_DIGITS}d}"


def included_tax(gross: int, rate_bp: int) -> int:
    """The tax contained in a tax-inclusive amount, rounded half to even."""
    tax = Decimal(gross) * rate_bp / (10_000 + rate_bp)
    return int(tax.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
