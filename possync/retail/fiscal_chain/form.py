"""The fiscal chain's canonical form and links: what a document's hash is made of,
and taking the next place in an issuer's chain (see the package's docstring)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import Any

import orjson
import sqlalchemy as sa

from possync.retail.prepared import Prepared
from possync.retail.schema import fiscal_chain_head, fiscal_chain_start, receipt, z_report

FORM = "possync-chain-1"  # names the canonical form and the hashing; a new one, a new name
SHORT = 12  # hex digits of a hash shown on a receipt

# The fields hashed, in this order. A field added to a document later is added at
# the end of a new form, never slipped in here: old hashes must still verify.
HEAD_FIELDS = (
    "receipt_id",
    "receipt_no",
    "kind",
    "store_id",
    "terminal_id",
    "cashier_id",
    "customer_id",
    "original_receipt_id",
    "currency",
    "total",
    "tax_total",
    "created_at",
    "chain_seq",
)
LINE_FIELDS = (
    "line_no",
    "store_id",
    "terminal_id",
    "sku",
    "name",
    "qty",
    "unit_price",
    "line_total",
    "tax_code",
    "tax_rate_bp",
    "tax_amount",
    "original_line_no",
    "discount",
)
# Columns of a line that its hash does not cover, each added after this form was
# fixed (a new form, with a new name, would seal them): ``discount_reason`` (schema
# 0010) names why a discount was given; the discount itself is sealed.
LINE_NOT_SEALED = frozenset({"discount_reason"})
PAYMENT_FIELDS = (
    "payment_no",
    "store_id",
    "terminal_id",
    "method_code",
    "amount",
    "reference",
)

Row = dict[str, Any]


# -- the canonical form and the links -------------------------------------------------


def genesis(store_id: str, issuer_id: str) -> str:
    """What an issuer's first document links to."""
    return hashlib.sha256(f"{FORM}\ngenesis\n{store_id}\n{issuer_id}".encode()).hexdigest()


def _order(value: Any) -> tuple[int, Any]:
    # Numbered parts sort by number; anything else (a row altered by hand) still
    # sorts, the same way on every node.
    return (0, value) if type(value) is int else (1, repr(value))


def content(head: Row, lines: Iterable[Row], payments: Iterable[Row]) -> bytes:
    """A receipt's canonical form: JSON arrays of its fields in a fixed order, its
    lines by number, then its payments by number. Values are hashed as stored
    (amounts are integers of minor units), so any change of any field changes it."""
    form = [
        "receipt",
        _fields(_HEAD_GET, HEAD_FIELDS, head),
        [_fields(_LINE_GET, LINE_FIELDS, ln) for ln in _numbered(lines, "line_no")],
        [_fields(_PAYMENT_GET, PAYMENT_FIELDS, p) for p in _numbered(payments, "payment_no")],
    ]
    return dumps(form)


# Every receipt received or verified is put in its form, thousands a batch: the
# fields are read by one C call per row (a tuple, which JSON writes as the array
# the list was). A row without one of them (altered by hand) takes the slow way,
# which reads the missing field as null, as it always did.
_HEAD_GET = itemgetter(*HEAD_FIELDS)
_LINE_GET = itemgetter(*LINE_FIELDS)
_PAYMENT_GET = itemgetter(*PAYMENT_FIELDS)


def _fields(get: Callable[[Row], tuple[Any, ...]], names: tuple[str, ...], row: Row) -> Any:
    try:
        return get(row)
    except KeyError:
        return [row.get(f) for f in names]


def _numbered(rows: Iterable[Row], number: str) -> list[Row]:
    """``rows`` by ``number`` (see _order). Rows as a till sends them are numbered
    1, 2, 3... in order already: that is checked, and they are sorted only if not
    (a stable sort of rows in order leaves them as they are)."""
    rows = list(rows)
    previous = None
    for row in rows:
        value = row.get(number)
        if type(value) is not int or (previous is not None and value < previous):
            return sorted(rows, key=lambda r: _order(r.get(number)))
        previous = value
    return rows


def dumps(form: list[Any]) -> bytes:
    """A document's form as bytes (receipts here, Z reports in z_form.py)."""
    try:
        return orjson.dumps(form)
    except TypeError:
        # What no till writes (text with a lone surrogate, an integer beyond 64
        # bits) may still arrive: it gets a form too, which no seal will match.
        return json.dumps(form, ensure_ascii=False, default=repr).encode("utf-8", "surrogatepass")


def seal(previous: str, canonical: bytes) -> str:
    """A document's chain hash: SHA-256 over the form's name, the previous
    document's hash and the document's canonical form."""
    return hashlib.sha256(f"{FORM}\n{previous}\n".encode() + canonical).hexdigest()


def short(chain_hash: str | None) -> str | None:
    return chain_hash[:SHORT] if chain_hash else None


def link(
    conn: sa.Connection, store_id: str, issuer_id: str, canonical: Callable[[int], bytes]
) -> tuple[int, str]:
    """Take the issuer's next place in its chain for a document being written in
    this transaction: its ``chain_seq`` and ``chain_hash`` (``canonical`` gives the
    document's form once it has its place). The head moves with the document. An
    issuer with no head yet goes on from where its store says its chain stands (a
    till provisioned again), or starts from its genesis value."""
    head, before = _heads(conn, issuer_id)
    seq = 1 if before is None else before[0] + 1
    previous = genesis(store_id, issuer_id) if before is None else before[1]
    chain_hash = seal(previous, canonical(seq))
    if head is None:
        conn.execute(
            fiscal_chain_head.insert().values(
                issuer_id=issuer_id, store_id=store_id, seq=seq, hash=chain_hash
            )
        )
    else:
        _MOVE_HEAD.run(conn, {"issuer": issuer_id, "new_seq": seq, "new_hash": chain_hash})
    return seq, chain_hash


# Built once: a till runs them at every sale.
_HEAD = Prepared(
    sa.select(fiscal_chain_head.c.seq, fiscal_chain_head.c.hash)
    .where(fiscal_chain_head.c.issuer_id == sa.bindparam("issuer"))
    .with_for_update()
)
_START = Prepared(
    sa.select(fiscal_chain_start.c.seq, fiscal_chain_start.c.hash).where(
        fiscal_chain_start.c.terminal_id == sa.bindparam("issuer")
    )
)
_MOVE_HEAD = Prepared(
    fiscal_chain_head.update()
    .where(fiscal_chain_head.c.issuer_id == sa.bindparam("issuer"))
    .values(seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash"))
)


def _heads(conn: sa.Connection, issuer_id: str) -> tuple[Any, Any]:
    """The issuer's own head (locked), and what its next document follows: that
    head, or where the store says its chain stands (a till provisioned again); each
    (seq, hash) or None."""
    head = _HEAD.first(conn, {"issuer": issuer_id})
    before = head or _START.first(conn, {"issuer": issuer_id})
    return head, before


def previous_hash(conn: sa.Connection, store_id: str, issuer_id: str) -> str:
    """What the issuer's next document links to: its chain head now (a Z report
    prints it), or its genesis value. Read in the transaction that links it."""
    _, before = _heads(conn, issuer_id)
    return genesis(store_id, issuer_id) if before is None else str(before[1])


def note_provisioned(conn: sa.Connection, store_id: str, terminal_id: str) -> None:
    """The store provisions a till again (a new database, no head of its own): its
    chain is to go on from the newest chained document of it held here (a purge
    keeps it), which reaches the till with its initial load."""
    found = [
        conn.execute(
            sa.select(table.c.chain_seq, table.c.chain_hash)
            .where(
                table.c.store_id == store_id,
                table.c.terminal_id == terminal_id,
                table.c.chain_seq.is_not(None),
            )
            .order_by(table.c.chain_seq.desc())
            .limit(1)
        ).first()
        for table in (receipt, z_report)  # the till's documents: receipts, Z reports
    ]
    held = [row for row in found if row is not None]
    if not held:
        return
    newest = max(held, key=lambda row: int(row.chain_seq))
    values = {"store_id": store_id, "seq": newest.chain_seq, "hash": newest.chain_hash}
    where = fiscal_chain_start.c.terminal_id == terminal_id
    if conn.execute(fiscal_chain_start.update().where(where).values(**values)).rowcount == 0:
        conn.execute(fiscal_chain_start.insert().values(terminal_id=terminal_id, **values))


def head_of(conn: sa.Connection, issuer_id: str) -> tuple[int, str] | None:
    """The issuer's chain head on this node (what a Z report will print)."""
    row = conn.execute(
        sa.select(fiscal_chain_head.c.seq, fiscal_chain_head.c.hash).where(
            fiscal_chain_head.c.issuer_id == issuer_id
        )
    ).first()
    return None if row is None else (int(row.seq), str(row.hash))
