"""What a child node does toward its parent: hand over its own changes in
batches, apply the batches it pulls, and take its initial load.

The methods do the database side only; the caller moves the batches (over HTTP
for a terminal), which is what makes every step here testable in-process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import sqlalchemy as sa

from possync.sync import log, peers, state
from possync.sync.apply import Applier
from possync.sync.batch import Batch, BatchReader
from possync.sync.db import read_tx, write_tx
from possync.sync.errors import BadBatch, NotProvisioned, OutOfSequence
from possync.sync.intake import DOWN, Intake
from possync.sync.log import Change, LogFilter, Op
from possync.sync.peers import Peer
from possync.sync.rows import RowChecker
from possync.sync.schema import sync_load_progress
from possync.sync.tables import Direction, SyncSpec, SyncTable

LOAD_CURSOR = "initial_load_cursor"
LOAD_DONE = "initial_load_done"
# How far before and after a full batch's last change to look for the rest of its
# document (a receipt of up to this many rows is never split).
DOCUMENT_WINDOW = 600
# A relay (a store under head office) looks this far for the rest of the documents a
# full batch holds: a child's push of up to 10,000 changes, applied table by table.
RELAY_WINDOW = 40_000
RELOAD = "reload_tables"  # JSON list: tables to load again (after a schema upgrade)
# Run in the transaction of a pulled batch that leaves the node in step: (the
# connection, the parent's node id).
CaughtUp = Callable[[sa.Connection, str], None]


class Child:
    def __init__(self, engine: sa.Engine, spec: SyncSpec, *, relays: bool = False) -> None:
        """``relays``: this node has children of its own, so what it pulls must be
        captured again (stamped with the parent's id) to flow further down."""
        self.engine = engine
        self.spec = spec
        self.relays = relays
        self.applier = Applier(spec)
        self.intake = Intake(spec, self.applier)
        self.reader = BatchReader(spec, Direction.DOWN)
        self._baseline_checkers = {
            b.table.name: RowChecker(SyncTable(b.table, Direction.DOWN)) for b in spec.baselines
        }

    # -- identity ---------------------------------------------------------------

    def node_id(self, conn: sa.Connection) -> str:
        node = state.get(conn, state.NODE_ID)
        if node is None:
            raise NotProvisioned("this database has no node id; initialise it first")
        return node

    def parent(self, conn: sa.Connection) -> Peer:
        found = peers.parent(conn)
        if found is None:
            raise NotProvisioned("this node is not registered with a parent")
        return found

    # -- push -------------------------------------------------------------------

    def _up_filter(self, parent: Peer) -> LogFilter:
        return LogFilter(tables=self.spec.names(self.spec.up_tables), exclude_origin=parent.node_id)

    def outgoing(self, limit: int, after: int | None = None) -> Batch | None:
        """The next batch to push, or None when the parent has everything.

        ``after`` prepares the batch that follows one still in flight (the caller
        assumes it will be acknowledged up to its end); by default the batch starts
        where the parent's acknowledgements stand.
        """
        with read_tx(self.engine) as conn:
            parent = self.parent(conn)
            start = parent.outbound_seq if after is None else after
            head = log.head(conn)
            if head <= start:
                return None
            filt = self._up_filter(parent)
            changes = log.read(conn, filt, after=start, through=head, limit=limit, raw=True)
            full = len(changes) == limit
            if full:
                changes += self._rest_of_document(conn, filt, start, changes[-1].seq, head)
            source = self.node_id(conn)
        through = changes[-1].seq if full else head
        return Batch(
            source,
            start,
            through,
            changes,
            more=through < head,
            protocol=self.spec.protocol,
            head=head,
        )

    def _rest_of_document(
        self, conn: sa.Connection, filt: LogFilter, start: int, last: int, head: int
    ) -> list[Change]:
        """A full batch never ends inside a document (a receipt and its lines...):
        the changes after ``last`` that complete the documents the batch holds, so
        that the parent can check and apply (or quarantine) each document whole.

        A node's own documents lie together in its log: the rest is the run of
        changes after ``last`` that belong to the last one. A relay's log holds its
        children's batches as it applied them, table by table (every receipt of a
        till's push, then every line...): there the batch extends to the last change
        of any document it holds, and again for documents that extension starts,
        within one child's batch of changes after ``last``."""
        if self.relays:
            return self._rest_of_relayed(conn, filt, start, last, head)
        window = log.read(
            conn, filt, after=max(start, last - DOCUMENT_WINDOW), through=head,
            limit=2 * DOCUMENT_WINDOW,
        )  # fmt: skip
        keys = self.spec.document_keys(window)
        cut = next(i for i, c in enumerate(window) if c.seq == last)
        rest = []
        for change, key in zip(window[cut + 1 :], keys[cut + 1 :], strict=True):
            if key != keys[cut]:
                break
            rest.append(change)
        return rest

    def _rest_of_relayed(
        self, conn: sa.Connection, filt: LogFilter, start: int, last: int, head: int
    ) -> list[Change]:
        window = log.read(conn, filt, after=start, through=head, limit=RELAY_WINDOW)
        keys = self.spec.document_keys(window)
        aliases = [self.spec.aliases_of([c], k) for c, k in zip(window, keys, strict=True)]
        end = last
        while True:
            held: set[str] = set()
            for change, names in zip(window, aliases, strict=True):
                if change.seq > end:
                    break
                held |= names
            further = max(
                (c.seq for c, names in zip(window, aliases, strict=True) if names & held),
                default=end,
            )
            if further <= end:
                return [c for c in window if last < c.seq <= end]
            end = further

    def acknowledged(self, through: int) -> int:
        """The parent has durably applied our changes up to ``through``. Returns this
        node's log head as it stood then: nothing more to push if it is ``through``."""
        with write_tx(self.engine) as conn:
            parent = self.parent(conn)
            head, compacted = log.bounds(conn)
            if through > head:
                raise OutOfSequence(
                    f"the parent acknowledged {through}, beyond this node's log ({head})"
                )
            if through < compacted:
                # The parent lost changes we have already purged (its database was
                # restored from an older copy): re-sending what is left would hand it
                # an incomplete history, so stop and say so.
                raise OutOfSequence(
                    f"the parent has this node's changes only up to {through}, but changes "
                    f"up to {compacted} were purged here after it had "
                    "acknowledged them: its database was restored from an older copy; "
                    "recover it from a newer copy"
                )
            peers.set_outbound_seq(conn, parent.node_id, max(through, 0), pulled=False)
        return head

    def pending(self) -> int:
        with read_tx(self.engine) as conn:
            parent = peers.parent(conn)
            if parent is None:
                return 0
            return log.count(
                conn, self._up_filter(parent), after=parent.outbound_seq, through=log.head(conn)
            )

    # -- pull -------------------------------------------------------------------

    def log_head(self) -> int:
        with read_tx(self.engine) as conn:
            return log.head(conn)

    def inbound_cursor(self) -> int:
        with read_tx(self.engine) as conn:
            return self.parent(conn).inbound_seq

    def pull_position(self) -> tuple[int, int]:
        """Where the next pull starts, and this node's log head (reported to the
        parent for its dashboard), read together: one transaction per pull."""
        with read_tx(self.engine) as conn:
            return self.parent(conn).inbound_seq, log.head(conn)

    def apply_pulled(self, body: Any, caught_up: CaughtUp | None = None) -> Batch:
        """Apply a pulled batch and advance the cursor in the same transaction.
        ``caught_up`` is run in that transaction too if the batch leaves this node in
        step with its parent (nothing in it, nothing more behind it): the caller's
        record of a sync done, without a transaction of its own."""
        batch = self.reader.parse(body)
        with write_tx(self.engine) as conn:
            # Locked (on PostgreSQL, a store pulling from head office): two batches
            # are never applied side by side.
            parent = peers.parent(conn, lock=True)
            if parent is None:
                raise NotProvisioned("this node is not registered with a parent")
            if batch.source != parent.node_id:
                raise BadBatch(f"batch comes from {batch.source!r}, not from {parent.node_id!r}")
            current = parent.inbound_seq
            if batch.after != current:
                raise OutOfSequence(
                    f"pulled batch starts after {batch.after}, but this node stands at {current}",
                    expected_after=current,
                )
            origin = parent.node_id if self.relays else log.SUPPRESS
            # What clashes with data held here is quarantined, not a blocked channel.
            self.intake.take(
                conn, parent.node_id, DOWN, batch.changes, origin=origin, from_child=False
            )
            peers.set_inbound_seq(conn, parent.node_id, batch.through, pushed=False)
            if caught_up is not None and not batch.changes and not batch.more:
                caught_up(conn, parent.node_id)
        return batch

    # -- initial load -------------------------------------------------------------

    def load_state(self) -> str:
        """ "none" (not started), "loading" or "done"."""
        with read_tx(self.engine) as conn:
            if state.get(conn, LOAD_DONE):
                return "done"
            return "loading" if state.get(conn, LOAD_CURSOR) else "none"

    def begin_load(
        self,
        cursor: Any,
        tables: Any,
        baselines: Any,
        counts: Any = None,
        *,
        keep_baselines: bool = False,
    ) -> None:
        """Record where the load starts and write the baselines, in one transaction.
        ``keep_baselines``: this node's own derived tables stand (a node that already
        has a history, joining a parent: they go up as its changes instead)."""
        if type(cursor) is not int or cursor < 0:
            raise BadBatch("cursor: expected a non-negative integer")
        known = {t.name for t in self.spec.down_tables if t.initial_load}
        if not isinstance(tables, list) or not set(tables) <= known:
            raise BadBatch(f"tables: expected a list drawn from {sorted(known)}")
        counts = counts if isinstance(counts, dict) else {}
        if keep_baselines:
            baselines = {name: [] for name in self._baseline_checkers}
        if not isinstance(baselines, dict) or baselines.keys() != self._baseline_checkers.keys():
            raise BadBatch(f"baselines: expected {sorted(self._baseline_checkers)}")
        checked = {
            name: [
                self._baseline_checkers[name].check(row, Op.UPSERT, f"baselines.{name}[{i}]")
                for i, row in enumerate(rows if isinstance(rows, list) else [None])
            ]
            for name, rows in baselines.items()
        }
        with write_tx(self.engine) as conn:
            for baseline in () if keep_baselines else self.spec.baselines:
                conn.execute(baseline.table.delete())
                if checked[baseline.table.name]:
                    conn.execute(baseline.table.insert(), checked[baseline.table.name])
            conn.execute(sync_load_progress.delete())
            conn.execute(
                sync_load_progress.insert(),
                [
                    {
                        "table_name": t,
                        "last_key": None,
                        "rows_loaded": 0,
                        "rows_total": counts.get(t) if type(counts.get(t)) is int else 0,
                        "done": False,
                    }
                    for t in tables
                ],
            )
            state.put(conn, LOAD_CURSOR, str(cursor))
            state.delete(conn, LOAD_DONE)

    def load_progress(self) -> list[dict[str, Any]]:
        with read_tx(self.engine) as conn:
            rows = conn.execute(sa.select(sync_load_progress)).mappings().all()
        order = {t.name: i for i, t in enumerate(self.spec.tables)}
        return sorted((dict(r) for r in rows), key=lambda r: order[r["table_name"]])

    def apply_chunk(
        self, table_name: str, rows: Any, last_key: Any, more: bool, *, protocol: int | None = None
    ) -> int:
        """Upsert one chunk of the initial load and remember how far it got.
        ``protocol``: the one the rows are shaped for, if older than ours (an offline
        backup made by an older release): they get the columns added since."""
        table = self.spec.table(table_name)
        if table is None:
            raise BadBatch(f"table: unknown table {table_name!r}")
        if not isinstance(rows, list):
            raise BadBatch("rows: expected a list")
        if protocol is not None and protocol != self.spec.protocol:
            adapter = self.spec.adapters[protocol]
            rows = [
                adapter.complete(table_name, Op.UPSERT, r, f"rows[{i}]") for i, r in enumerate(rows)
            ]
        checker = RowChecker(table)
        checked = [checker.check(r, Op.UPSERT, f"rows[{i}]") for i, r in enumerate(rows)]
        with write_tx(self.engine) as conn:
            origin = self._parent_id(conn) if self.relays else log.SUPPRESS
            self.applier.upsert_rows(conn, table_name, checked, origin)
            p = sync_load_progress.c
            conn.execute(
                sync_load_progress.update()
                .where(p.table_name == table_name)
                .values(
                    last_key=None if last_key is None else _json(last_key),
                    rows_loaded=p.rows_loaded + len(checked),
                    done=not more,
                )
            )
        return len(checked)

    def finish_load(self) -> None:
        """Start incremental sync from the load's cursor."""
        with write_tx(self.engine) as conn:
            cursor = state.get(conn, LOAD_CURSOR)
            if cursor is None:
                raise NotProvisioned("no initial load was started")
            unfinished = conn.execute(
                sa.select(sa.func.count()).where(sync_load_progress.c.done.is_(False))
            ).scalar_one()
            if unfinished:
                raise NotProvisioned(f"{unfinished} table(s) of the initial load are unfinished")
            peers.set_inbound_seq(conn, self._parent_id(conn), int(cursor), pushed=False)
            state.put(conn, LOAD_DONE, "1")

    # -- reload after an upgrade ----------------------------------------------------

    def request_reload(self, conn: sa.Connection, protocol: int) -> list[str]:
        """This node has just been upgraded from ``protocol``: what it pulled until
        now was cut to that protocol's shape, so the tables that changed shape since
        must be loaded again, whole, before the next pull. Returns their names."""
        adapter = self.spec.adapters.get(protocol)
        if adapter is None or peers.parent(conn) is None:
            return []
        names = [
            t.name for t in self.spec.down_tables if t.initial_load and t.name in adapter.reshaped
        ]
        if names:
            state.put(conn, RELOAD, _json(sorted(set(names) | set(self.pending_reloads(conn)))))
        return names

    def pending_reloads(self, conn: sa.Connection | None = None) -> list[str]:
        if conn is None:
            with read_tx(self.engine) as c:
                return self.pending_reloads(c)
        raw = state.get(conn, RELOAD)
        return list(orjson.loads(raw)) if raw else []

    def reload_chunk(self, table_name: str, rows: Any, more: bool) -> int:
        """Upsert a chunk of a table being loaded again; after its last chunk the
        table is done. The parent's current rows may be newer than this node's
        cursor: the pull that follows replays the log forward, so rows end as new as
        the parent's. An interrupted reload starts its table again."""
        if table_name not in self.pending_reloads():
            raise BadBatch(f"table: {table_name!r} is not being loaded again")
        table = self.spec.table(table_name)
        assert table is not None
        if not isinstance(rows, list):
            raise BadBatch("rows: expected a list")
        checker = RowChecker(table)
        checked = [checker.check(r, Op.UPSERT, f"rows[{i}]") for i, r in enumerate(rows)]
        with write_tx(self.engine) as conn:
            origin = self._parent_id(conn) if self.relays else log.SUPPRESS
            self.applier.upsert_rows(conn, table_name, checked, origin)
            if not more:
                left = [n for n in self.pending_reloads(conn) if n != table_name]
                if left:
                    state.put(conn, RELOAD, _json(left))
                else:
                    state.delete(conn, RELOAD)
        return len(checked)

    def _parent_id(self, conn: sa.Connection) -> str:
        return self.parent(conn).node_id


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()
