"""What replicates where: the retail tables as the sync engine sees them."""

from __future__ import annotations

from possync.retail import integrity
from possync.retail import schema as s
from possync.sync.shapes import OlderShape
from possync.sync.tables import Baseline, Direction, SyncSpec, SyncTable

DOWN, UP, BOTH = Direction.DOWN, Direction.UP, Direction.BOTH

# The sync protocol: raised whenever a replicated table changes shape, with the
# previous shape kept below so that a store serves tills not yet upgraded.
#   1  release 0.1.0
#   2  release 0.2.0: store.address, store.vat_number, receipt_line.discount,
#      customer.field_clocks
#   3  release 0.3.0: store_price (a store's own prices, from head office)
#   4  release 0.3.0: receipt.chain_seq, receipt.chain_hash, fiscal_chain_start (the
#      fiscal chain); cashier.store_id (cashiers assigned to a store by head office);
#      store.locale, store.time_zone; drawer_session, cash_movement, z_report (cash-up);
#      discount_reason, till_event, cashier.discount_limit_bp and .manager,
#      receipt_line.discount_reason (discounts)
PROTOCOL = 4

# Cash-up (schema 0009): tills of protocols 1 to 3 neither have these tables nor
# send them; a till that has no Z report series yet receives it from the store.
CASH_UP = frozenset({"drawer_session", "cash_movement", "z_report"})

# Discounts, voids and cancellations (schema 0010): tills of protocols 1 to 3 neither
# have these tables nor send them; they get cashiers and send receipt lines without
# the new columns.
DISCOUNTS = frozenset({"discount_reason", "till_event"})
RECEIPT_LINE_BEFORE_REASONS = (
    "receipt_id",
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

# The receipt as tills sent it before the fiscal chain (protocols 1 to 3).
RECEIPT_BEFORE_CHAIN = (
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
)

# The cashier before head office assigned cashiers to stores (protocols 1 to 3):
# a till of those receives its store's cashiers (routing is the parent's), without
# the column.
CASHIER_BEFORE_STORES = ("cashier_id", "name", "pin_hash", "active")

# The store before it had a locale and a time zone (protocols 2 and 3): a till of
# those writes amounts and times as it always did.
STORE_BEFORE_LOCALE = ("store_id", "name", "currency", "offline_enabled", "address", "vat_number")

# A till of protocol 3 sends receipts without a place in a fiscal chain: they
# arrive with none (NULL), like those issued before the upgrade, and its chain
# starts with its first document once it is upgraded.
PROTOCOL_3 = OlderShape(
    protocol=3,
    absent=frozenset({"fiscal_chain_start"}) | CASH_UP | DISCOUNTS,
    columns={
        "receipt": RECEIPT_BEFORE_CHAIN,
        "receipt_line": RECEIPT_LINE_BEFORE_REASONS,
        "cashier": CASHIER_BEFORE_STORES,
        "store": STORE_BEFORE_LOCALE,
    },
)

# A till of protocol 2 receives no store prices: it sells at the chain's price
# until it is upgraded (then it loads store_price whole before its next pull).
PROTOCOL_2 = OlderShape(
    protocol=2,
    absent=frozenset({"store_price", "fiscal_chain_start"}) | CASH_UP | DISCOUNTS,
    columns={
        "receipt": RECEIPT_BEFORE_CHAIN,
        "receipt_line": RECEIPT_LINE_BEFORE_REASONS,
        "cashier": CASHIER_BEFORE_STORES,
        "store": STORE_BEFORE_LOCALE,
    },
)

PROTOCOL_1 = OlderShape(
    protocol=1,
    absent=frozenset({"store_price", "fiscal_chain_start"}) | CASH_UP | DISCOUNTS,
    columns={
        "store": ("store_id", "name", "currency", "offline_enabled"),
        "customer": (
            "customer_id",
            "customer_no",
            "name",
            "email",
            "phone",
            "origin_terminal_id",
            "created_at",
        ),
        "receipt_line": (
            "receipt_id",
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
        ),
        "receipt": RECEIPT_BEFORE_CHAIN,
        "cashier": CASHIER_BEFORE_STORES,
    },
)

SPEC = SyncSpec(
    tables=(
        # Master data, in the order a new terminal loads it.
        SyncTable(s.store, DOWN, route_column="store_id"),
        SyncTable(s.pos_terminal, DOWN, route_column="terminal_id"),
        SyncTable(s.doc_series, DOWN, route_column="terminal_id"),
        # Where a till provisioned again goes on with its fiscal chain.
        SyncTable(s.fiscal_chain_start, DOWN, route_column="terminal_id"),
        SyncTable(s.tax_rate, DOWN),
        SyncTable(s.item, DOWN),
        SyncTable(s.store_price, DOWN, route_column="store_id"),
        SyncTable(s.payment_method, DOWN),
        # A cashier reaches the store head office assigns them to (NULL: every store).
        SyncTable(s.cashier, DOWN, route_column="store_id"),
        SyncTable(s.discount_reason, DOWN),
        # Created on terminals and on the store. Any till of the store may change a
        # customer's contact fields (customers move between tills); none deletes one
        # (the console deactivates).
        SyncTable(
            s.customer,
            BOTH,
            owner_column="origin_terminal_id",
            child_ops=frozenset({"I", "U"}),
            shared=True,
            editable=("name", "email", "phone", "field_clocks"),
            merged=("name", "email", "phone"),
            clock_column="field_clocks",
        ),
        # Stock moves as immutable movements; every node sums them itself. A new
        # terminal starts from the stock_level baseline instead of old movements.
        SyncTable(
            s.stock_movement,
            BOTH,
            route_column="store_id",
            owner_column="terminal_id",
            immutable=True,
            initial_load=False,
        ),
        # Transactions, up only.
        SyncTable(
            s.receipt, UP, route_column="store_id", owner_column="terminal_id", immutable=True
        ),
        SyncTable(
            s.receipt_line, UP, route_column="store_id", owner_column="terminal_id", immutable=True
        ),
        SyncTable(
            s.receipt_payment,
            UP,
            route_column="store_id",
            owner_column="terminal_id",
            immutable=True,
        ),
        # Cash-up, up only. A drawer session is written at open and changed once,
        # at close (never deleted); its movements and Z report are facts.
        SyncTable(
            s.drawer_session,
            UP,
            route_column="store_id",
            owner_column="terminal_id",
            child_ops=frozenset({"I", "U"}),
            editable=("closed_by", "closed_at", "z_report_id"),
        ),
        SyncTable(
            s.cash_movement, UP, route_column="store_id", owner_column="terminal_id", immutable=True
        ),
        SyncTable(
            s.z_report, UP, route_column="store_id", owner_column="terminal_id", immutable=True
        ),
        # Voids, cancellations and approved discounts, up only: facts, never changed.
        SyncTable(
            s.till_event, UP, route_column="store_id", owner_column="terminal_id", immutable=True
        ),
    ),
    baselines=(Baseline(s.stock_level, route_column="store_id"),),
    protocol=PROTOCOL,
    older_shapes=(PROTOCOL_1, PROTOCOL_2, PROTOCOL_3),
    documents=integrity.documents,
    document_aliases=integrity.aliases,
)
