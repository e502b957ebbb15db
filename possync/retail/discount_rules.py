"""Giving a discount in a cashier's basket: its reason, the cashier's limit, and a
manager's approval above it.

A cashier may give, alone, a discount of up to their own limit
(``cashier.discount_limit_bp``; NULL: none) of what the line, or the basket, comes
to; a manager (``cashier.manager``) any. Above the limit, a manager approves with
their id and PIN (checked by the caller, which also counts wrong PINs towards the
manager's lock-out); the approval is logged as a till event (``till_events``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
    if not mine.manager and not discounts.within(mine.limit_bp, discount, base):
        if approved_by is None:
            raise ApprovalNeeded(
                f"a discount of {discount.describe()} is above your limit "
                f"({discounts.Discount(discounts.PERCENT, mine.limit_bp, '').describe()}): "
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


def _gross(current: basket.Basket, line_no: int) -> int:
    return next(ln.gross for ln in current.lines if ln.line_no == line_no)
