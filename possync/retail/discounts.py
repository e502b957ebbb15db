"""Discounts: what a cashier takes off a line or off the whole basket.

A discount is a percentage or an amount, with a reason code (master data: the
``discount_reason`` table). A line discount comes off the line's amount (quantity x
price); a basket discount comes off what the lines come to after their own
discounts, and is spread over the lines in proportion to those amounts, by largest
remainder, so that the shares add up to the basket discount exactly. A receipt line
then carries its whole discount (``receipt_line.discount``, tax included), its amount
after it (``line_total``), and the tax contained in that amount at its rate: tax is
computed after discount.

Amounts are integer minor units (tax included, like prices); percentages are basis
points (1000 = 10 %). A cashier may give up to their own limit (``cashier.
discount_limit_bp``, NULL: none); above it a manager approves with their PIN.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import sqlalchemy as sa

from possync.retail.errors import FieldErrors, RetailError
from possync.retail.money import parse_amount
from possync.retail.schema import discount_reason

PERCENT, AMOUNT = "percent", "amount"
KINDS = (PERCENT, AMOUNT)
FULL_BP = 10_000  # 100 %
_PERCENT = re.compile(r"\s*([0-9]{1,3}(?:[.,][0-9]{0,2})?)\s*%\s*", re.ASCII)


@dataclass(frozen=True)
class Discount:
    """A discount as given: ``value`` is basis points (percent) or minor units
    (amount); ``approved_by`` the manager who approved it above the cashier's limit."""

    kind: str
    value: int
    reason: str
    approved_by: str | None = None

    def off(self, base: int) -> int:
        """What it takes off ``base`` (never more than ``base``, never negative)."""
        if base <= 0:
            return 0
        if self.kind == PERCENT:
            share = Decimal(base) * self.value / FULL_BP
            return min(int(share.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)), base)
        return min(self.value, base)

    def describe(self) -> str:
        """For people: "10 %" or "2.50" (amounts in the locale's way are the screen's job)."""
        if self.kind == PERCENT:
            whole, frac = divmod(self.value, 100)
            return f"{whole}{'.' + f'{frac:02d}'.rstrip('0') if frac else ''} %"
        return f"{self.value // 100}.{self.value % 100:02d}"


def parse(text: str, *, amount: Callable[[str], int] = parse_amount) -> tuple[str, int]:
    """``"10%"`` -> (percent, 1000); ``"2.50"`` -> (amount, 250). ``amount`` reads an
    amount (the store's locale's parser, or plain decimal notation). A percentage is
    above 0 and at most 100, with at most two decimals; an amount above 0."""
    text = (text or "").strip()
    if not text:
        raise RetailError("a discount is a percentage (10%) or an amount (2.50)")
    found = _PERCENT.fullmatch(text)
    if found:
        bp = parse_amount(found.group(1).replace(",", "."), negative=False)
        if not 0 < bp <= FULL_BP:
            raise RetailError("a percentage discount is above 0 and at most 100 %")
        return PERCENT, bp
    if "%" in text:
        raise RetailError(f"not a percentage: {text[:20]!r} (write it like 10% or 12.5%)")
    cents = amount(text)
    if cents <= 0:
        raise RetailError("a discount amount is above 0")
    return AMOUNT, cents


def spread(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` shared in proportion to ``weights`` (non-negative), by largest
    remainder: the shares add up to ``total`` exactly, each share at most its weight
    when ``total`` is at most their sum. Ties go to the earlier line."""
    whole = sum(weights)
    if total <= 0 or whole <= 0:
        return [0] * len(weights)
    shares = [total * w // whole for w in weights]
    remainders = [total * w % whole for w in weights]
    left = total - sum(shares)
    for i in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        shares[i] += 1
    return shares


@dataclass(frozen=True)
class Priced:
    """A line's amounts once discounts are applied."""

    gross: int  # quantity x price
    discount: int  # line discount plus its share of the basket's
    line_total: int  # gross - discount
    reasons: tuple[str, ...]  # the reason codes of what it carries

    @property
    def reason_text(self) -> str | None:
        return " + ".join(self.reasons) or None


def apply(
    grosses: Sequence[int], line_discounts: Sequence[Discount | None], basket: Discount | None
) -> list[Priced]:
    """Each line's discount and total: its own discount first, then its share of the
    basket discount (spread over what the lines come to after their own)."""
    own = [d.off(g) if d else 0 for g, d in zip(grosses, line_discounts, strict=True)]
    after = [g - o for g, o in zip(grosses, own, strict=True)]
    basket_off = basket.off(sum(after)) if basket else 0
    shares = spread(basket_off, after)
    priced = []
    for g, d, o, share in zip(grosses, line_discounts, own, shares, strict=True):
        reasons = tuple(
            r
            for r in (
                (d.reason if d and o else None),
                (basket.reason if basket and share else None),
            )
            if r
        )
        priced.append(Priced(g, o + share, g - o - share, reasons))
    return priced


# -- the cashier's limit --------------------------------------------------------------


def share_bp(off: int, base: int) -> int:
    """``off`` as a share of ``base`` in basis points, rounded up (so that a limit of
    10 % is never passed by a rounding)."""
    if base <= 0:
        return 0
    return -(-off * FULL_BP // base)


def within(limit_bp: int | None, discount: Discount, base: int) -> bool:
    """Whether a cashier whose limit is ``limit_bp`` may give ``discount`` on ``base``
    alone."""
    limit = limit_bp or 0
    if discount.kind == PERCENT:
        return discount.value <= limit
    return share_bp(discount.off(base), base) <= limit


def parse_limit(text: str | None) -> int | None:
    """A cashier's limit as typed, in percent ("10", "12.5"; empty: none) -> basis points."""
    if text is None or not str(text).strip():
        return None
    try:
        bp = parse_amount(str(text).strip().rstrip("%").replace(",", "."), negative=False)
    except RetailError:
        bp = -1
    if not 0 <= bp <= FULL_BP:
        raise FieldErrors({"discount_limit": "a percentage from 0 to 100, at most 2 decimals"})
    return bp


def authority(manager: bool | None, limit: str | None) -> dict[str, Any]:
    """``cashiers.save``'s discount arguments from a command line's options: only
    those given (a cashier changed keeps the others)."""
    given: dict[str, Any] = {}
    if manager is not None:
        given["manager"] = manager
    if limit is not None:
        given["discount_limit_bp"] = parse_limit(limit)
    return given


# -- reason codes (master data) -----------------------------------------------------


def reasons(conn: sa.Connection, *, active_only: bool = True) -> list[dict[str, Any]]:
    r = discount_reason
    query = sa.select(r.c.code, r.c.name, r.c.active).order_by(r.c.code)
    if active_only:
        query = query.where(r.c.active)
    return [dict(row._mapping) for row in conn.execute(query)]


def check_reason(conn: sa.Connection, code: str) -> str:
    """The reason code as stored, if it is an active one; RetailError otherwise."""
    r = discount_reason
    found = conn.execute(
        sa.select(r.c.code).where(r.c.code == (code or "").strip(), r.c.active)
    ).scalar()
    if found is None:
        raise RetailError("choose a reason for the discount")
    return str(found)


def save_reason(conn: sa.Connection, code: str, name: str, *, active: bool = True) -> None:
    """Add a reason code or change one (the tills take it at their next sync)."""
    r = discount_reason
    errors: dict[str, str] = {}
    code = code.strip()
    name = name.strip()
    if not code or len(code) > 16 or not code.replace("-", "").replace("_", "").isalnum():
        errors["code"] = "a reason code is 1 to 16 letters, digits, - or _"
    if not name or len(name) > 100:
        errors["name"] = "a reason's name is 1 to 100 characters"
    if errors:
        raise FieldErrors(errors)
    values = {"name": name, "active": active}
    if conn.execute(sa.select(r.c.code).where(r.c.code == code)).first() is None:
        conn.execute(r.insert().values(code=code, **values))
    else:
        conn.execute(r.update().where(r.c.code == code).values(**values))
