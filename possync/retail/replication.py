"""What replicates where: the retail tables as the sync engine sees them."""

from __future__ import annotations

from possync.retail import schema as s
from possync.sync.tables import Baseline, Direction, SyncSpec, SyncTable

DOWN, UP, BOTH = Direction.DOWN, Direction.UP, Direction.BOTH

SPEC = SyncSpec(
    tables=(
        # Master data, in the order a new terminal loads it.
        SyncTable(s.store, DOWN, route_column="store_id"),
        SyncTable(s.pos_terminal, DOWN, route_column="terminal_id"),
        SyncTable(s.doc_series, DOWN, route_column="terminal_id"),
        SyncTable(s.tax_rate, DOWN),
        SyncTable(s.item, DOWN),
        SyncTable(s.payment_method, DOWN),
        SyncTable(s.cashier, DOWN),
        # Created on terminals and on the store.
        SyncTable(s.customer, BOTH, owner_column="origin_terminal_id"),
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
    ),
    baselines=(Baseline(s.stock_level, route_column="store_id"),),
)
