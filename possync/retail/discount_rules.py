"""Giving a discount in a cashier's basket: its reason, the cashier's limit, and a
manager's approval above it.

A cashier may give, alone, a discount of up to their own limit
(``cashier.discount_limit_bp``; NULL: none) of what the line, or the basket, comes
to; a manager (``cashier.manager``) any. The limit also holds for the sale as a
whole: the discounts given without a manager (the lines' and the sale's together)
may not take more than the limit off what the sale comes to before discounts, so
a 10 % line discount and a 10 % sale discount do not pass a 10 % limit. Above it,
a manager approves with their id and PIN (checked by the caller, which also counts
wrong PINs towards the manager's lock-out); the approval is logged as a till event
(``till_events``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import sqlalchemy as sa

from possync.retail import basket, discounts, till_events
from possync.retail.discounts import Discount
from possync.retail.errors import RetailError
from possync.retail.money import format_amount, parse_amount
from possync.retail.sales import Till
from possync.retail.schema import cashier


class ApprovalNeeded(RetailError):
    """The discount is above the cashier's limit: a manager must approve it."""


@dataclass(frozen=True)
class Authority:
    cashier_id: str
    limit_bp: int  # 0: none
    manager: bool


def authority(conn: sa.Connection, cashier_id: str) -> Authority:
    row = conn.execute(
        sa.select(cashier.c.discount_limit_bp, cashier.c.manager, cashier.c.active).where(
            cashier.c.cashier_id == cashier_id
        )
    ).first()
    if row is None or not row.active:
        return Authority(cashier_id, 0, False)
    return Authority(cashier_id, row.discount_limit_bp or 0, bool(row.manager))


def give(
    conn: sa.Connection,
    till: Till,
    cashier_id: str,
    line_no: int,
    text: str,
    reason: str,
    *,
    approved_by: str | None = None,
    read_amount: Callable[[str], int] = parse_amount,
) -> Discount:
    """Give a discount (``text``: "10%" or "2.50") on a basket line, or at
    ``basket.BASKET_LINE`` on the whole basket. Raises ApprovalNeeded above the
    cashier's limit unless ``approved_by`` names a manager whose PIN the caller has
    checked; an approval is logged with the sale's figures."""
    kind, value = discounts.parse(text, amount=read_amount)
    code = discounts.check_reason(conn, reason)
    current = basket.view(conn, cashier_id)
    on_line = line_no != basket.BASKET_LINE
    if on_line and not any(ln.line_no == line_no for ln in current.lines):
        raise RetailError("that line is no longer in the basket")
    base = current.after_own_discounts(None) if not on_line else _gross(current, line_no)
    if base <= 0:
        raise RetailError("nothing to discount")
    if kind == discounts.AMOUNT and value > base:
        raise RetailError(
            f"a discount of {format_amount(value)} is more than the "
            f"{'line' if on_line else 'sale'} comes to ({format_amount(base)})"
        )
    discount = Discount(kind, value, code)
    mine = authority(conn, cashier_id)
    alone = discounts.within(mine.limit_bp, discount, base)
    together = _unapproved_share(current, line_no, discount)
    if not mine.manager and (not alone or together > mine.limit_bp):
        if approved_by is None:
            limit = discounts.Discount(discounts.PERCENT, mine.limit_bp, "").describe()
            if alone:
                raise ApprovalNeeded(
                    f"with the sale's other discounts, {_percent(together)} comes off the "
                    f"sale, above your limit ({limit}): a manager must approve it"
                )
            raise ApprovalNeeded(
                f"a discount of {discount.describe()} is above your limit ({limit}): "
                "a manager must approve it"
            )
        approver = authority(conn, approved_by)
        if not approver.manager or approver.cashier_id == cashier_id:
            raise RetailError(f"{approved_by} is not a manager: a manager must approve it")
        discount = Discount(kind, value, code, approved_by)
        till_events.record(
            conn,
            till,
            cashier_id,
            till_events.DISCOUNT_APPROVED,
            code,
            {
                "line_no": line_no,
                "sku": next((ln.sku for ln in current.lines if ln.line_no == line_no), None),
                "kind": kind,
                "value": value,
                "off": discount.off(base),
                "base": base,
            },
            approved_by=approved_by,
        )
    basket.set_discount(conn, cashier_id, line_no, discount)
    return discount


def _unapproved_share(current: basket.Basket, line_no: int, new: Discount) -> Fraction:
    """What the discounts given without a manager would take off the sale, ``new``
    given at ``line_no`` (in place of what is there), as a share of the sale before
    discounts in basis points. Percentages count as given, before the cent's
    rounding, so that one 10 % discount never counts as 10.2 %."""
    on_line = line_no != basket.BASKET_LINE
    off = Fraction(0)
    after_lines = 0
    for ln in current.lines:
        own = new if on_line and ln.line_no == line_no else ln.own_discount
        after_lines += ln.gross - (own.off(ln.gross) if own else 0)
        if own and own.approved_by is None:
            off += _exact_off(own, ln.gross)
    sale = current.discount if on_line else new
    if sale and sale.approved_by is None:
        off += _exact_off(sale, after_lines)
    return off * discounts.FULL_BP / current.gross if current.gross > 0 else Fraction(0)


def _exact_off(discount: Discount, base: int) -> Fraction:
    if discount.kind == discounts.PERCENT:
        return Fraction(max(base, 0) * discount.value, discounts.FULL_BP)
    return Fraction(min(discount.value, max(base, 0)))


def _percent(share_bp: Fraction) -> str:
    rounded_up = -(-share_bp.numerator // share_bp.denominator)
    return discounts.Discount(discounts.PERCENT, rounded_up, "").describe()


def _gross(current: basket.Basket, line_no: int) -> int:
    return next(ln.gross for ln in current.lines if ln.line_no == line_no)
