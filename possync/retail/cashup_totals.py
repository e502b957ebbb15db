"""The figures of an X or Z report: what a till took since its last Z report.

Every receipt of a till belongs to exactly one Z report: those after the previous
Z report's place in the till's fiscal chain, up to its own. So a sale made while no
drawer session was open is not lost: it counts in the next Z report. Amounts are
integer minor units; a return's amounts are negative, as stored.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa

from possync.retail.schema import (
    cash_movement,
    payment_method,
    receipt,
    receipt_line,
    receipt_payment,
    z_report,
)

IN, OUT = "in", "out"


@dataclass
class Totals:
    """What a report shows, before the count. ``as_json`` is its canonical text."""

    after_seq: int  # the previous Z report's place in the chain (0: none)
    sales_count: int = 0
    sales_total: int = 0
    returns_count: int = 0
    returns_total: int = 0  # negative
    tax: list[dict[str, Any]] = field(default_factory=list)  # per code and rate
    payments: list[dict[str, Any]] = field(default_factory=list)  # per method
    cash_taken: int = 0
    cash_refunded: int = 0  # positive: what went out of the drawer
    paid_in: int = 0
    paid_out: int = 0
    opening_float: int = 0

    @property
    def net(self) -> int:
        return self.sales_total + self.returns_total

    @property
    def expected_cash(self) -> int:
        return (
            self.opening_float + self.cash_taken - self.cash_refunded + self.paid_in - self.paid_out
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "net": self.net, "expected_cash": self.expected_cash}


def canonical(document: dict[str, Any]) -> str:
    """JSON with sorted keys and no spaces: the same figures, the same text."""
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()


def last_z_seq(conn: sa.Connection, terminal_id: str) -> int:
    found = conn.execute(
        sa.select(sa.func.max(z_report.c.chain_seq)).where(z_report.c.terminal_id == terminal_id)
    ).scalar()
    return int(found or 0)


def since_last_z(
    conn: sa.Connection, terminal_id: str, session_id: str | None, opening_float: int
) -> Totals:
    """The till's figures since its last Z report, with the open session's float
    and paid in / paid out (none without a session)."""
    totals = Totals(after_seq=last_z_seq(conn, terminal_id), opening_float=opening_float)
    covered = sa.and_(
        receipt.c.terminal_id == terminal_id,
        receipt.c.chain_seq.is_not(None),
        receipt.c.chain_seq > totals.after_seq,
    )
    for kind, count, total in conn.execute(
        sa.select(
            receipt.c.kind, sa.func.count(), sa.func.coalesce(sa.func.sum(receipt.c.total), 0)
        )
        .where(covered)
        .group_by(receipt.c.kind)
    ):
        if kind == "sale":
            totals.sales_count, totals.sales_total = int(count), int(total)
        else:
            totals.returns_count, totals.returns_total = int(count), int(total)
    ids = sa.select(receipt.c.receipt_id).where(covered).scalar_subquery()
    totals.tax = tax_per_rate(conn, ids)
    pay = receipt_payment.c
    kinds = dict(conn.execute(sa.select(payment_method.c.method_code, payment_method.c.kind)).all())
    for code, count, taken, refunded in conn.execute(
        sa.select(
            pay.method_code,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(sa.case((pay.amount > 0, pay.amount), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((pay.amount < 0, -pay.amount), else_=0)), 0),
        )
        .where(pay.receipt_id.in_(ids))
        .group_by(pay.method_code)
        .order_by(pay.method_code)
    ):
        kind = kinds.get(code, "other")
        totals.payments.append(
            {
                "method_code": code,
                "kind": kind,
                "count": int(count),
                "taken": int(taken),
                "refunded": int(refunded),
            }
        )
        if kind == "cash":
            totals.cash_taken += int(taken)
            totals.cash_refunded += int(refunded)
    if session_id is not None:
        for kind, total in conn.execute(
            sa.select(cash_movement.c.kind, sa.func.sum(cash_movement.c.amount))
            .where(cash_movement.c.session_id == session_id)
            .group_by(cash_movement.c.kind)
        ):
            if kind == IN:
                totals.paid_in = int(total)
            elif kind == OUT:
                totals.paid_out = int(total)
    return totals


def tax_per_rate(conn: sa.Connection, receipt_ids: sa.ScalarSelect[Any]) -> list[dict[str, Any]]:
    """Gross and tax per tax rate of the lines of ``receipt_ids`` (the sums of what
    each line stored, so they add up to the receipts' totals to the cent), lowest
    rate first. Shared by the Z report and the store's day summary."""
    line = receipt_line.c
    return [
        {"tax_code": code, "rate_bp": int(rate), "gross": int(gross), "tax": int(tax)}
        for code, rate, gross, tax in conn.execute(
            sa.select(
                line.tax_code,
                line.tax_rate_bp,
                sa.func.sum(line.line_total),
                sa.func.sum(line.tax_amount),
            )
            .where(line.receipt_id.in_(receipt_ids))
            .group_by(line.tax_code, line.tax_rate_bp)
            .order_by(line.tax_rate_bp, line.tax_code)
        )
    ]
