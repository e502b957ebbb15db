"""What a till may push, checked by the store document by document.

The sync engine checks the form of every row and who owns it (possync.sync.intake,
with the rules declared in replication.py); this module is the retail part, the
engine's guard: a receipt must be a sale or a return of the sender's store, numbered
from the sender's own series, its total the sum of its lines, its payments its total,
its stock movements its lines, every amount and quantity within bounds. A document
that breaks a rule is quarantined whole, with the reason; the rest of the batch is
applied. See docs/reliability.md for the rule table. The guard also checks the
sender's fiscal chain as its documents arrive (fiscal_chain.py).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa

from possync.retail import cashup_integrity, fiscal_chain, numbering, stock, till_events
from possync.retail.basket import MAX_QTY
from possync.retail.money import MAX_AMOUNT, format_amount, included_tax
from possync.retail.schema import (
    cashier,
    customer,
    doc_series_used,
    item,
    payment_method,
    pos_terminal,
    store,
)
from possync.sync.log import Change
from possync.sync.quarantine import Reason, Rejection

MAX_LINES = 1000  # per receipt: more is a fault, not a basket
TILL_REASONS = {"sale": -1, "return": 1}  # the movements a till makes, and their sign
_DIGITS = re.compile(r"\d{1,18}")


# -- documents ------------------------------------------------------------------------


def documents(changes: Sequence[Change]) -> list[str]:
    """A receipt with its lines, payments and stock movements is one document;
    any other row is its own."""
    by_number = {
        c.row.get("receipt_no"): c.row.get("receipt_id")
        for c in changes
        if c.table == "receipt" and c.op != "D"
    }
    keys = []
    for c in changes:
        row = c.row
        if c.table in ("receipt", "receipt_line", "receipt_payment"):
            keys.append(f"receipt:{row.get('receipt_id')}")
        elif c.table == "stock_movement" and row.get("doc_ref") and row.get("terminal_id"):
            owner = by_number.get(row["doc_ref"])
            keys.append(f"receipt:{owner}" if owner else f"receipt-no:{row['doc_ref']}")
        elif c.table in cashup_integrity.TABLES:  # drawer sessions, cash movements, Z reports
            keys.append(str(cashup_integrity.key(c.table, row)))
        else:
            table_key = (
                row.get("customer_id")
                or row.get("movement_id")
                or row.get("event_id")  # a till event
                or row.get("sku")
            )
            keys.append(f"{c.table}:{table_key}")
    return keys


def aliases(changes: Sequence[Change]) -> set[str]:
    """The keys later parts of a held document may carry: its receipt's id and number."""
    found = set(documents(changes))
    for c in changes:
        if c.table == "receipt":
            found.add(f"receipt-no:{c.row.get('receipt_no')}")
    return found


# -- the guard ------------------------------------------------------------------------


class _Receipt:
    """A document's parts as received (a plain class: one is made per document of
    every batch)."""

    __slots__ = ("head", "lines", "movements", "other", "payments")

    def __init__(self) -> None:
        self.head: dict[str, Any] | None = None
        self.lines: list[dict[str, Any]] = []
        self.payments: list[dict[str, Any]] = []
        self.movements: list[dict[str, Any]] = []
        self.other: list[Change] = []


class _Refused(Exception):
    def __init__(self, code: Reason, message: str) -> None:
        super().__init__(message)
        self.rejection = Rejection(code, message)


def _rule(message: str) -> _Refused:
    return _Refused(Reason.RULE, message)


def relay_guard(
    conn: sa.Connection, sender: str, changes: Sequence[Change], keys: Sequence[str]
) -> dict[str, Rejection]:
    """The rules at head office for what store ``sender`` relays: its tills'
    documents, checked again for form and sums (a store server is trusted with its
    tills' series, which only it holds), and the stock movements made on it."""
    return guard(conn, sender, changes, keys, relayed=True)


def guard(
    conn: sa.Connection,
    sender: str,
    changes: Sequence[Change],
    keys: Sequence[str],
    *,
    relayed: bool = False,
) -> dict[str, Rejection]:
    """The retail rules for what terminal ``sender`` pushed (see the module doc);
    ``relayed``: ``sender`` is a store sending for its tills (relay_guard)."""
    docs: dict[str, _Receipt] = {}
    for change, key in zip(changes, keys, strict=True):
        doc = docs.get(key)
        if doc is None:  # not setdefault: that would make a _Receipt for every change
            doc = docs[key] = _Receipt()
        if change.op == "D":
            doc.other.append(change)
        elif change.table == "receipt":
            doc.head = change.row
        elif change.table == "receipt_line":
            doc.lines.append(change.row)
        elif change.table == "receipt_payment":
            doc.payments.append(change.row)
        elif change.table == "stock_movement" and key.startswith("receipt"):
            doc.movements.append(change.row)
        else:
            doc.other.append(change)
    facts = _Facts(conn, sender, changes, relayed)
    rejected: dict[str, Rejection] = {}
    for key, doc in docs.items():
        try:
            if key.startswith("receipt"):
                _check_receipt(facts, doc)
            for change in doc.other:
                _check_row(facts, change)
        except _Refused as refused:
            rejected[key] = refused.rejection
    if not relayed and facts.store_id is not None:
        # The till's fiscal chain, checked on the documents as received: a fault
        # is recorded, never a reason to hold a document (its data is the till's).
        fiscal_chain.note_received(
            conn,
            facts.store_id,
            sender,
            (
                (doc.head, doc.lines, doc.payments)
                for key, doc in docs.items()
                if doc.head is not None and key not in rejected
            ),
            [
                c.row
                for key, doc in docs.items()
                if key not in rejected
                for c in doc.other
                if c.table == "z_report" and c.op != "D"
            ],
        )
    return rejected


class _Facts:
    """What the rules look up, read once per batch."""

    def __init__(
        self, conn: sa.Connection, sender: str, changes: Sequence[Change], relayed: bool
    ) -> None:
        self.conn = conn
        self.sender = sender
        self.relayed = relayed
        if relayed:  # head office: the sender is a store, one of many held here
            shop = conn.execute(
                sa.select(store.c.store_id, store.c.currency).where(store.c.store_id == sender)
            ).first()
            till = None
        else:
            shop = conn.execute(sa.select(store.c.store_id, store.c.currency)).first()
            till = conn.execute(
                sa.select(pos_terminal.c.store_id).where(pos_terminal.c.terminal_id == sender)
            ).first()
        self.store_id = till.store_id if till else (shop.store_id if shop else None)
        self.currency = shop.currency if shop else None
        self.prefixes: dict[str, list[str]] = {}
        for kind, prefix in conn.execute(
            sa.select(doc_series_used.c.kind, doc_series_used.c.prefix).where(
                doc_series_used.c.terminal_id == sender
            )
        ):
            self.prefixes.setdefault(kind, []).append(prefix)
        # What the batch names, gathered in one pass over its changes (not one per
        # kind of value): a value absent from a row is None, which is never looked up.
        skus: set[Any] = set()
        methods: set[Any] = set()
        customer_ids: set[Any] = set()
        new_customers: set[Any] = set()
        cashier_ids: set[Any] = set()
        for c in changes:
            row = c.row
            if "sku" in row:
                skus.add(row["sku"])
            if "customer_id" in row:
                customer_ids.add(row["customer_id"])
            if "cashier_id" in row:
                cashier_ids.add(row["cashier_id"])
            if c.table == "receipt_payment":
                methods.add(row.get("method_code"))
            elif c.table == "customer":
                new_customers.add(row.get("customer_id"))
        self.skus = _existing(conn, item.c.sku, skus)
        self.methods = _existing(conn, payment_method.c.method_code, methods)
        self.customers = _existing(conn, customer.c.customer_id, customer_ids) | new_customers
        self.cashiers = _existing(conn, cashier.c.cashier_id, cashier_ids)

    def numbered(self, number: Any, kind: str) -> bool:
        """Whether ``number`` comes from one of the sender's series of ``kind``, as
        they are or as they ever were (a prefix, once given, stays with its till).
        Relayed by a store: its tills' series are the store's to check."""
        if not isinstance(number, str):
            return False
        if self.relayed:
            return bool(number)
        for prefix in self.prefixes.get(kind, ()):
            if number.startswith(prefix) and _DIGITS.fullmatch(number[len(prefix) :]):
                return int(number[len(prefix) :]) >= 1
        return False

    def till(self, head: dict[str, Any]) -> Any:
        """The till a document must come from: the sender, or for a store relaying,
        the till the receipt names (the store checked it was its own)."""
        return head.get("terminal_id") if self.relayed else self.sender


def _existing(conn: sa.Connection, column: sa.Column[Any], values: set[Any]) -> set[Any]:
    """Which of ``values`` the column holds: one query, the values as one parameter
    (an array on PostgreSQL, JSON on SQLite), whatever their number."""
    wanted = [v for v in values if v is not None]
    if not wanted:
        return set()
    table, name = column.table.name, column.name  # type: ignore[attr-defined]
    if conn.dialect.name == "sqlite":
        sql = f'SELECT "{name}" FROM "{table}" WHERE "{name}" IN (SELECT value FROM json_each(:v))'
        # SQLite builds the IN list's index from the values as given: in order, a
        # batch's few thousand skus are taken a third faster (the sort included).
        # Values of mixed types stay as they are: the order does not change what
        # is found.
        with contextlib.suppress(TypeError):
            wanted.sort()
        bound: Any = orjson.dumps(wanted).decode()
    else:
        sql = f'SELECT "{name}" FROM "{table}" WHERE "{name}" = ANY(:v)'
        bound = wanted
    # Fetched all at once: a row at a time through the result costs more than the
    # query itself (thousands of items a batch).
    return set(conn.execute(sa.text(sql), {"v": bound}).scalars().all())


def _bounded(value: Any, what: str, limit: int = MAX_AMOUNT) -> int:
    if type(value) is not int or not -limit <= value <= limit:
        raise _beyond(what, value, limit)
    return value


def _beyond(what: str, value: Any, limit: int = MAX_AMOUNT) -> _Refused:
    # The checks of receipts and lines test bounds inline and name the value only
    # when it is refused: building each message beforehand cost more than the test.
    return _rule(f"{what} is {value!r:.30}, beyond the maximum of {limit:,}")


def _money(value: int) -> str:
    return format_amount(value)


def _check_receipt(facts: _Facts, doc: _Receipt) -> None:
    head = doc.head
    if head is None:
        parts = len(doc.lines) + len(doc.payments) + len(doc.movements)
        raise _Refused(Reason.INCOMPLETE, f"{parts} part(s) of a receipt that was not received")
    number = head["receipt_no"]
    kind = head["kind"]
    if kind not in TILL_REASONS:
        raise _rule(f"receipt {number}: kind {kind!r} is neither sale nor return")
    if head["store_id"] != facts.store_id:
        raise _rule(f"receipt {number} names store {head['store_id']!r}, not {facts.store_id}")
    if head["currency"] != facts.currency:
        raise _rule(f"receipt {number} is in {head['currency']!r}, not {facts.currency}")
    series = numbering.RECEIPT if kind == "sale" else numbering.RETURN
    if not facts.numbered(number, series):
        raise _rule(f"{number!r} is not a number of {facts.till(head)}'s {series} series")
    if head["customer_id"] is not None and head["customer_id"] not in facts.customers:
        raise _Refused(Reason.INCOMPLETE, f"receipt {number}: unknown customer")
    # Relayed by a store: its own cashiers (made before it joined, or on it) are the
    # store's to check, as its tills' series are; head office may never have had them.
    cashier_id = head["cashier_id"]
    if cashier_id is not None and not facts.relayed and cashier_id not in facts.cashiers:
        raise _rule(f"receipt {number}: unknown cashier {cashier_id!r}")
    if kind == "return" and head["original_receipt_id"] is None:
        raise _rule(f"return {number} names no sale")
    if not doc.lines:
        raise _Refused(Reason.INCOMPLETE, f"receipt {number} has no lines (yet)")
    if len(doc.lines) > MAX_LINES:
        raise _rule(f"receipt {number} has {len(doc.lines)} lines; at most {MAX_LINES}")

    sign = 1 if kind == "sale" else -1
    till = facts.till(head)
    sold: dict[str, int] = {}
    lines_total = lines_tax = 0  # summed in line order, as sum() would
    for line in doc.lines:
        _check_line(facts, head, line, sign, till)
        sku = line["sku"]
        sold[sku] = sold.get(sku, 0) + line["qty"]
        lines_total += line["line_total"]
        lines_tax += line["tax_amount"]
    total = head["total"]
    if type(total) is not int or not -MAX_AMOUNT <= total <= MAX_AMOUNT:
        raise _beyond(f"receipt {number}'s total", total)
    tax_total = head["tax_total"]
    if type(tax_total) is not int or not -MAX_AMOUNT <= tax_total <= MAX_AMOUNT:
        raise _beyond(f"receipt {number}'s tax", tax_total)
    if total != lines_total:
        raise _Refused(
            Reason.INCOMPLETE,
            f"receipt {number}: its total {_money(total)} is not the sum of its lines "
            f"{_money(lines_total)} (received so far)",
        )
    if tax_total != lines_tax:
        raise _rule(f"receipt {number}: its tax {_money(tax_total)} is not its lines' tax")
    paid = 0
    for payment in doc.payments:
        amount = payment["amount"]
        if type(amount) is not int or not -MAX_AMOUNT <= amount <= MAX_AMOUNT:
            raise _beyond(f"receipt {number}'s payment", amount)
        if payment["method_code"] not in facts.methods:
            raise _rule(f"receipt {number}: unknown payment method {payment['method_code']!r}")
        if amount * sign < 0:
            raise _rule(f"receipt {number}: a {kind} cannot have a payment of {_money(amount)}")
        if (payment["store_id"], payment["terminal_id"]) != (head["store_id"], till):
            raise _rule(f"receipt {number}: a payment names another store or terminal")
        paid += amount
    if paid != total:
        raise _Refused(
            Reason.INCOMPLETE,
            f"receipt {number}: payments of {_money(paid)} for a total of {_money(total)} "
            "(received so far)",
        )
    moved: dict[str, int] = {}
    for movement in doc.movements:
        if movement["reason"] != kind or movement["doc_ref"] != number:
            raise _rule(f"receipt {number}: a stock movement of reason {movement['reason']!r}")
        if movement["store_id"] != head["store_id"]:
            raise _rule(f"receipt {number}: a stock movement names another store")
        moved[movement["sku"]] = moved.get(movement["sku"], 0) + movement["qty"]
    if moved != {sku: -qty for sku, qty in sold.items()}:
        raise _Refused(
            Reason.INCOMPLETE,
            f"receipt {number}: its stock movements do not match its lines (received so far)",
        )


def _check_line(
    facts: _Facts, head: dict[str, Any], line: dict[str, Any], sign: int, till: Any
) -> None:
    """``till``: facts.till(head), worked out once per receipt."""
    # Thousands of lines a batch: the place named in a message ("receipt R-1 line
    # 2") is only written out when a line is refused.
    number = head["receipt_no"]
    line_no = line["line_no"]
    qty = line["qty"]
    if type(qty) is not int or not -MAX_QTY <= qty <= MAX_QTY:
        raise _beyond(f"{_where(number, line_no)}: quantity", qty, MAX_QTY)
    if qty == 0 or (qty > 0) != (sign > 0):
        raise _rule(f"{_where(number, line_no)}: a quantity of {qty} on a {head['kind']}")
    # Relayed: the store checked the item against its catalog when the till sold it;
    # a store that traded before joining sold items head office never had.
    if line["sku"] not in facts.skus and not facts.relayed:
        raise _rule(f"{_where(number, line_no)}: unknown item {line['sku']!r}")
    if (line["store_id"], line["terminal_id"]) != (head["store_id"], till):
        raise _rule(f"{_where(number, line_no)} names another store or terminal")
    price = line["unit_price"]
    if type(price) is not int or not -MAX_AMOUNT <= price <= MAX_AMOUNT:
        raise _beyond(f"{_where(number, line_no)}: price", price)
    line_total = line["line_total"]
    if type(line_total) is not int or not -MAX_AMOUNT <= line_total <= MAX_AMOUNT:
        raise _beyond(f"{_where(number, line_no)}: amount", line_total)
    discount = line["discount"]
    if type(discount) is not int or not -MAX_AMOUNT <= discount <= MAX_AMOUNT:
        raise _beyond(f"{_where(number, line_no)}: discount", discount)
    if price < 0:
        raise _rule(f"{_where(number, line_no)}: a negative price")
    if line_total != qty * price - discount or not 0 <= discount * sign <= qty * price * sign:
        raise _rule(
            f"{_where(number, line_no)}: {qty} x {_money(price)} less a discount of "
            f"{_money(discount)} is not {_money(line_total)}"
        )
    if not 0 <= line["tax_rate_bp"] <= 10_000:
        raise _rule(f"{_where(number, line_no)}: a tax rate of {line['tax_rate_bp']} basis points")
    if line["tax_amount"] != included_tax(line_total, line["tax_rate_bp"]):
        raise _rule(
            f"{_where(number, line_no)}: its tax {_money(line['tax_amount'])} is not its rate's"
        )


def _where(number: Any, line_no: Any) -> str:
    return f"receipt {number} line {line_no}"


def _check_row(facts: _Facts, change: Change) -> None:
    """Rows that are not part of a receipt: customers, stock movements (a till
    makes movements only with its receipts) and cash-up rows (cashup_integrity.py)."""
    row = change.row
    if change.table in cashup_integrity.TABLES:
        found = change.op != "D" and cashup_integrity.problem(
            change.table, row, facts.store_id, facts.currency, facts.numbered
        )
        if found:
            raise _rule(found)
        return
    if change.table == "stock_movement" and facts.relayed:
        # Made on the store (goods received, a count, a transfer) or a till's: a
        # till's movement outside a receipt would have been held by the store.
        if row.get("reason") not in stock.REASONS or row.get("terminal_id") is not None:
            raise _rule(
                f"a stock movement of {row.get('sku')!r} ({row.get('reason')!r}) made "
                "outside a receipt must be the store's own, for a known reason"
            )
        _bounded(row.get("qty"), f"a stock movement of {row.get('sku')!r}", stock.MAX_MOVEMENT)
        return
    if change.table == "stock_movement":
        raise _Refused(
            Reason.INCOMPLETE
            if row.get("reason") in TILL_REASONS and row.get("doc_ref")
            else Reason.RULE,
            f"a stock movement of {row.get('sku')!r} ({row.get('reason')!r}) that is not "
            "part of a receipt of this terminal",
        )
    if change.table == "till_event":
        _check_till_event(facts, row)
        return
    if change.table != "customer" or change.op != "I":
        return
    number = row.get("customer_no")
    if facts.relayed:
        return  # a store's tills' customer series are the store's to check
    if row.get("origin_terminal_id") != facts.sender or _is_update(facts, row):
        return  # another's customer, changed: the engine's rules decide (contact fields)
    if not facts.numbered(number, numbering.CUSTOMER):
        raise _rule(f"{number!r} is not a number of {facts.sender}'s customer series")


def _is_update(facts: _Facts, row: dict[str, Any]) -> bool:
    return (
        facts.conn.execute(
            sa.select(customer.c.customer_no).where(customer.c.customer_id == row["customer_id"])
        ).scalar()
        == row["customer_no"]
    )


# -- till events (schema 0010) ---------------------------------------------------------


def _check_till_event(facts: _Facts, row: dict[str, Any]) -> None:
    """A voided line, a cancelled sale, an approved discount: the sender's own, of a
    known kind, with a reason (a till never logs one without)."""
    what = f"till event {row.get('event_id')!r}"
    if row.get("kind") not in till_events.KINDS:
        raise _rule(f"{what}: unknown kind {row.get('kind')!r}")
    if not facts.relayed and (row.get("store_id"), row.get("terminal_id")) != (
        facts.store_id,
        facts.sender,
    ):
        raise _rule(f"{what} names another store or terminal")
    if not str(row.get("reason") or "").strip():
        raise _rule(f"{what} has no reason")
