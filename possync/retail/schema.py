"""Retail tables, shared by head office, store and terminal databases.

Money is in integer minor units (cents); quantities are integer units; timestamps
are ISO-8601 UTC text, for people to read (nothing is ordered by them). Replicated
tables carry no foreign keys: rows arrive in capture order, and purge works table
by table; the rules in this package keep them consistent where they are written.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

ID = sa.String(36)  # UUIDs made where the record is created
CODE = sa.String(32)
MONEY = sa.BigInteger
TIMESTAMP = sa.String(32)

# -- master data: head office -> store -> terminal -----------------------------------

store = sa.Table(
    "store",
    metadata,
    sa.Column("store_id", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("offline_enabled", sa.Boolean, nullable=False),
    # Printed on receipts (schema 0002, release 0.2.0).
    sa.Column("address", sa.String(200)),
    sa.Column("vat_number", sa.String(32)),
    # How the store's tills, console and receipts write numbers, money and times
    # (schema 0008): a locale such as "fr_FR" (NULL: English) and an IANA time zone
    # such as "Europe/Paris" (NULL: UTC), which also decides a sale's business day.
    sa.Column("locale", sa.String(16)),
    sa.Column("time_zone", sa.String(64)),
)

pos_terminal = sa.Table(
    "pos_terminal",
    metadata,
    sa.Column("terminal_id", sa.String(16), primary_key=True),
    sa.Column("store_id", sa.String(16), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("offline_enabled", sa.Boolean, nullable=False),
)

# The document-number series each terminal owns (receipts, returns, customers).
doc_series = sa.Table(
    "doc_series",
    metadata,
    sa.Column("terminal_id", sa.String(16), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("prefix", sa.String(32), nullable=False),
    sa.Column("start_no", sa.BigInteger, nullable=False),
    sa.Column("padding", sa.Integer, nullable=False),
)

tax_rate = sa.Table(
    "tax_rate",
    metadata,
    sa.Column("tax_code", sa.String(8), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("rate_bp", sa.Integer, nullable=False),  # basis points: 2000 = 20 %
)

item = sa.Table(
    "item",
    metadata,
    sa.Column("sku", CODE, primary_key=True),
    sa.Column("barcode", CODE, index=True),
    sa.Column("name", sa.String(200), nullable=False, index=True),
    sa.Column("price", MONEY, nullable=False),  # tax included
    sa.Column("tax_code", sa.String(8), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
)

# A store's own price of an item, set at head office (schema 0005, release 0.3.0):
# routed to that store only, it wins over the chain's ``item.price`` there.
store_price = sa.Table(
    "store_price",
    metadata,
    sa.Column("store_id", sa.String(16), primary_key=True),
    sa.Column("sku", CODE, primary_key=True),
    sa.Column("price", MONEY, nullable=False),  # tax included
)

payment_method = sa.Table(
    "payment_method",
    metadata,
    sa.Column("method_code", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # cash | card | other
    sa.Column("active", sa.Boolean, nullable=False),
)

cashier = sa.Table(
    "cashier",
    metadata,
    sa.Column("cashier_id", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("pin_hash", sa.String(200)),
    sa.Column("active", sa.Boolean, nullable=False),
    # The store a cashier works at, as head office assigns them: the row reaches that
    # store and its tills only. NULL: every store (and a store's own cashiers).
    sa.Column("store_id", sa.String(16)),
    # The largest discount they may give alone, in basis points of what it comes off
    # (NULL: none), and whether they are a manager, who approves above it (schema 0010).
    sa.Column("discount_limit_bp", sa.Integer),
    sa.Column("manager", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
)

# -- created anywhere, flows both ways ------------------------------------------------

customer = sa.Table(
    "customer",
    metadata,
    sa.Column("customer_id", ID, primary_key=True),
    sa.Column("customer_no", sa.String(40), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(200)),
    sa.Column("phone", sa.String(40)),
    sa.Column("origin_terminal_id", sa.String(16)),  # NULL: created on the store
    sa.Column("created_at", TIMESTAMP, nullable=False),
    # Per contact field, the hybrid logical clock of its value and of the value it
    # replaced (sync/hlc.py): edits made on several nodes merge field by field.
    # NULL: written by release 0.1.0 (older than any clock). Schema 0003.
    sa.Column("field_clocks", sa.Text),
)

stock_movement = sa.Table(
    "stock_movement",
    metadata,
    sa.Column("movement_id", ID, primary_key=True),
    sa.Column("store_id", sa.String(16), nullable=False),
    sa.Column("sku", CODE, nullable=False),
    sa.Column("qty", sa.BigInteger, nullable=False),  # signed: sales negative
    sa.Column("reason", sa.String(16), nullable=False),
    sa.Column("doc_ref", sa.String(40)),
    sa.Column("terminal_id", sa.String(16)),  # NULL: made on the store
    sa.Column("created_at", TIMESTAMP, nullable=False),
)

# -- transactions: terminal -> store -> head office -------------------------------------

receipt = sa.Table(
    "receipt",
    metadata,
    sa.Column("receipt_id", ID, primary_key=True),
    sa.Column("receipt_no", sa.String(40), nullable=False, unique=True),
    sa.Column("kind", sa.String(8), nullable=False),  # sale | return
    sa.Column("store_id", sa.String(16), nullable=False),
    sa.Column("terminal_id", sa.String(16), nullable=False),
    sa.Column("cashier_id", sa.String(16)),
    sa.Column("customer_id", ID),
    sa.Column("original_receipt_id", ID),  # a return's sale
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("total", MONEY, nullable=False),  # negative for returns
    sa.Column("tax_total", MONEY, nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    # The issuing till's fiscal chain (retail/fiscal_chain.py; schema 0006, release
    # 0.3.0): its place in the till's chain and the SHA-256 linking it to the one
    # before. NULL: issued before the upgrade, or by a till of an older release.
    sa.Column("chain_seq", sa.BigInteger),
    sa.Column("chain_hash", sa.String(64)),
    sa.Index("receipt_by_terminal", "terminal_id", "receipt_no"),
    sa.Index("receipt_by_original", "original_receipt_id"),
    sa.Index("receipt_by_chain", "terminal_id", "chain_seq"),
)

receipt_line = sa.Table(
    "receipt_line",
    metadata,
    sa.Column("receipt_id", ID, primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True),
    sa.Column("store_id", sa.String(16), nullable=False),
    sa.Column("terminal_id", sa.String(16), nullable=False),
    sa.Column("sku", CODE, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("qty", sa.BigInteger, nullable=False),  # negative on returns
    sa.Column("unit_price", MONEY, nullable=False),
    sa.Column("line_total", MONEY, nullable=False),  # after discount
    sa.Column("tax_code", sa.String(8), nullable=False),
    sa.Column("tax_rate_bp", sa.Integer, nullable=False),
    sa.Column("tax_amount", MONEY, nullable=False),
    sa.Column("original_line_no", sa.Integer),
    # What discounts took off the line, tax included (schema 0002, release 0.2.0;
    # a till of an older release sends none, so it arrives as 0).
    sa.Column("discount", MONEY, nullable=False, default=0, server_default="0"),
    # The reason code(s) of that discount (schema 0010). Not in the fiscal chain's
    # form (possync-chain-1): the amounts are; this only explains them.
    sa.Column("discount_reason", sa.String(64)),
)

receipt_payment = sa.Table(
    "receipt_payment",
    metadata,
    sa.Column("receipt_id", ID, primary_key=True),
    sa.Column("payment_no", sa.Integer, primary_key=True),
    sa.Column("store_id", sa.String(16), nullable=False),
    sa.Column("terminal_id", sa.String(16), nullable=False),
    sa.Column("method_code", sa.String(16), nullable=False),
    sa.Column("amount", MONEY, nullable=False),  # negative for refunds
    sa.Column("reference", sa.String(64)),
)

# -- local, derived, never replicated ---------------------------------------------------

# On-hand stock per item, kept by a trigger from stock_movement inserts.
stock_level = sa.Table(
    "stock_level",
    metadata,
    sa.Column("store_id", sa.String(16), primary_key=True),
    sa.Column("sku", CODE, primary_key=True),
    sa.Column("on_hand", sa.BigInteger, nullable=False),
)

# The last number a terminal issued in each of its series, per prefix (so going
# back to an earlier prefix continues after its last number). Local only: the
# store's doc_series says where a series starts, this how far the terminal has got.
doc_counter = sa.Table(
    "doc_counter",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("prefix", sa.String(32), primary_key=True),
    sa.Column("last_no", sa.BigInteger, nullable=False),
)

# Every prefix each terminal's series ever had (store only). A number pushed by a
# terminal must come from one of its own prefixes, including ones it had before a
# series change; and a prefix, once given, is never given to another terminal.
doc_series_used = sa.Table(
    "doc_series_used",
    metadata,
    sa.Column("prefix", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("terminal_id", sa.String(16), nullable=False),
    sa.Column("since", TIMESTAMP, nullable=False),
)

# What administrators forced (e.g. disabling offline use with data still unsynced).
admin_log = sa.Table(
    "admin_log",
    metadata,
    sa.Column("entry_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", TIMESTAMP, nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
)


# The head of each fiscal chain this node issues documents in (a till: its own; a
# store: its own documents, when it issues any): taken and moved on in the
# transaction that writes a document, so it survives any purge. Local only.
fiscal_chain_head = sa.Table(
    "fiscal_chain_head",
    metadata,
    sa.Column("issuer_id", sa.String(16), primary_key=True),
    sa.Column("store_id", sa.String(16), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# Where a till's chain goes on once it is provisioned again (a new database, with no
# head of its own): the newest chained document of the till the store holds. Written
# by the store when it provisions the till again, replicated to that till only.
fiscal_chain_start = sa.Table(
    "fiscal_chain_start",
    metadata,
    sa.Column("terminal_id", sa.String(16), primary_key=True),
    sa.Column("store_id", sa.String(16), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# What the store found checking each till's chain (retail/fiscal_chain.py): where
# checking starts (the anchor: the genesis value, or the newest document a purge
# removed), the head as verified, and the first fault found. Local only.
fiscal_chain_check = sa.Table(
    "fiscal_chain_check",
    metadata,
    sa.Column("store_id", sa.String(16), primary_key=True),
    sa.Column("terminal_id", sa.String(16), primary_key=True),
    sa.Column("anchor_seq", sa.BigInteger, nullable=False),
    sa.Column("anchor_hash", sa.String(64), nullable=False),
    sa.Column("head_seq", sa.BigInteger, nullable=False),
    sa.Column("head_hash", sa.String(64), nullable=False),
    sa.Column("problem", sa.String(16)),  # gap | altered | fork; NULL: none
    sa.Column("problem_seq", sa.BigInteger),
    sa.Column("problem_detail", sa.Text),
    sa.Column("detected_at", TIMESTAMP),
    sa.Column("checked_at", TIMESTAMP, nullable=False),
)


# -- cash-up: terminal -> store -> head office (schema 0009, release 0.3.0) ---------------
# See retail/cashup.py. A till has at most one open drawer session; closing it writes
# its Z report, numbered from the till's own "z_report" series and taking the next
# place in the till's fiscal chain.

drawer_session = sa.Table(
    "drawer_session",
    metadata,
    sa.Column("session_id", ID, primary_key=True),
    sa.Column("store_id", sa.String(16), nullable=False),
    sa.Column("terminal_id", sa.String(16), nullable=False),
    sa.Column("opened_by", sa.String(16)),  # a cashier
    sa.Column("opened_at", TIMESTAMP, nullable=False),
    sa.Column("opening_float", MONEY, nullable=False),
    # Set once, at close (the session's only update), with the Z report it closed with.
    sa.Column("closed_by", sa.String(16)),
    sa.Column("closed_at", TIMESTAMP),
    sa.Column("z_report_id", ID),
    sa.Index("drawer_session_by_terminal", "terminal_id", "closed_at"),
)

# Cash put into (paid in) or taken out of (paid out) the drawer, not for a sale.
cash_movement = sa.Table(
    "cash_movement",
    metadata,
    sa.Column("movement_id", ID, primary_key=True),
    sa.Column("session_id", ID, nullable=False),
    sa.Column("store_id", sa.String(16), nullable=False),
    sa.Column("terminal_id", sa.String(16), nullable=False),
    sa.Column("cashier_id", sa.String(16)),
    sa.Column("kind", sa.String(8), nullable=False),  # in | out
    sa.Column("amount", MONEY, nullable=False),  # > 0
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Index("cash_movement_by_session", "session_id"),
)

# A drawer session's closing report. Its figures are columns where the store adds
# them up (per till, per day) and the whole report, as printed, in ``totals``
# (canonical JSON: sales, returns, tax per rate, payments per method, the count by
# denomination). ``chain_previous`` is the till's chain head at close, printed on it.
z_report = sa.Table(
    "z_report",
    metadata,
    sa.Column("z_report_id", ID, primary_key=True),
    sa.Column("z_no", sa.String(40), nullable=False, unique=True),
    sa.Column("session_id", ID, nullable=False),
    sa.Column("store_id", sa.String(16), nullable=False),
    sa.Column("terminal_id", sa.String(16), nullable=False),
    sa.Column("cashier_id", sa.String(16)),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("business_day", sa.String(10), nullable=False),  # the store's day, YYYY-MM-DD
    sa.Column("opened_at", TIMESTAMP, nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=False),  # the close
    sa.Column("opening_float", MONEY, nullable=False),
    sa.Column("expected_cash", MONEY, nullable=False),
    sa.Column("counted_cash", MONEY, nullable=False),
    sa.Column("over_short", MONEY, nullable=False),  # counted - expected
    sa.Column("totals", sa.Text, nullable=False),
    sa.Column("chain_seq", sa.BigInteger),
    sa.Column("chain_hash", sa.String(64)),
    sa.Column("chain_previous", sa.String(64)),
    sa.Index("z_report_by_chain", "terminal_id", "chain_seq"),
    sa.Index("z_report_by_day", "store_id", "business_day"),
)


# -- discounts, voids and cancellations (schema 0010, release 0.3.0) ------------------
# See retail/discounts.py and retail/till_events.py.

# Why a discount was given: master data (head office -> store -> tills; a store
# without head office makes its own).
discount_reason = sa.Table(
    "discount_reason",
    metadata,
    sa.Column("code", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
)

# What happened at a till with no document of its own: a line voided, a sale
# cancelled, a discount a manager approved above a cashier's limit. Immutable, up.
till_event = sa.Table(
    "till_event",
    metadata,
    sa.Column("event_id", ID, primary_key=True),
    sa.Column("store_id", sa.String(16), nullable=False),
    sa.Column("terminal_id", sa.String(16), nullable=False),
    sa.Column("cashier_id", sa.String(16)),
    sa.Column("kind", sa.String(24), nullable=False),  # line_voided | sale_cancelled | ...
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),  # JSON: the line(s), the amounts
    sa.Column("approved_by", sa.String(16)),  # the manager, for an approval
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Index("till_event_by_terminal", "terminal_id", "created_at"),
)
