"""What a parent node does for its children: receive their batches, hand them
the changes routed to them, and serve their initial load.

Nothing here knows about HTTP; the transport layer calls these methods with an
authenticated :class:`~possync.sync.peers.Peer`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from possync.sync import log, peers, quarantine, resends, routed, turns
from possync.sync.apply import Applier
from possync.sync.batch import Batch, BatchReader
from possync.sync.clock import seconds_until
from possync.sync.db import is_retryable, read_tx, write_retried, write_tx
from possync.sync.errors import (
    BadBatch,
    Busy,
    Conflict,
    ForeignInstallation,
    LogDiverged,
    NotAllowed,
    NotProvisioned,
    OutOfScope,
    OutOfSequence,
    Suspended,
    SyncError,
    UnsupportedProtocol,
)
from possync.sync.intake import UP, Guard, Intake, Outcome
from possync.sync.log import Change, LogFilter
from possync.sync.peers import Peer
from possync.sync.rows import INT_MAX, INT_MIN
from possync.sync.scope import check_scope
from possync.sync.shapes import Adapter
from possync.sync.tables import Direction, SyncSpec, SyncTable
from possync.sync.turns import Turns

MAX_PULL_LIMIT = 10_000
RETRIES = 5  # a push rolled back by a deadlock or serialization failure
MAX_CHUNK_LIMIT = 10_000


@dataclass(frozen=True)
class LoadStart:
    cursor: int
    baselines: dict[str, list[dict[str, Any]]]
    tables: list[str]
    counts: dict[str, int]  # rows per table, for progress and an ETA


# Asked before serving a child: returns why the child may not sync now, or None.
Admission = Callable[[sa.Connection, str], str | None]


class Parent:
    def __init__(
        self,
        engine: sa.Engine,
        spec: SyncSpec,
        node_id: str,
        admission: Admission | None = None,
        guard: Guard | None = None,
        *,
        children_relay: bool = False,
    ) -> None:
        """``guard``: the application's rules for what children push (intake.py).
        ``children_relay``: the children are themselves parents (head office above
        stores): each may write rows owned by any node of its subtree, which the
        route keys delimit (see ``_check_scope``)."""
        self.engine = engine
        self.spec = spec
        self.node_id = node_id
        self.admission = admission
        self.children_relay = children_relay
        self.applier = Applier(spec)
        self.intake = Intake(spec, self.applier, guard, relaying=children_relay)
        self.reader = BatchReader(spec, Direction.UP)
        self.turns = Turns()  # pushes of one child handled side by side (turns.py)

    def admit(
        self, node_id: str, conn: sa.Connection | None = None, peer: Peer | None = None
    ) -> None:
        """Raise Suspended if an administrator has paused this child's sync, and
        NotAllowed if the application's policy refuses it now; read in ``conn``
        when given (a request's own transaction), else in a transaction of its own.
        ``peer``: the child's row as just read in ``conn`` (not read again)."""
        if conn is None:
            with read_tx(self.engine) as own:
                return self.admit(node_id, own)
        if peer is None:
            peer = peers.get(conn, node_id)
        if peer is not None:
            _check_suspended(peer)
        reason = self.admission(conn, node_id) if self.admission else None
        if reason:
            raise NotAllowed(reason)
        return None

    def check_installation(self, peer: Peer, installation: str | None) -> None:
        """Bind the child to the first installation that syncs after it was
        provisioned; refuse any other (see docs/reliability.md). A request that
        names none comes from a release before 0.2.0: it is let through while the
        child is not bound yet."""
        if installation is not None and installation == peer.installation_id:
            return
        if installation is None and peer.installation_id is None:
            return
        with write_tx(self.engine) as conn:
            if installation is not None and peers.bind_installation(
                conn, peer.node_id, installation
            ):
                return
            bound = peers.get(conn, peer.node_id)
            why = (
                f"{peer.node_id} is bound to another installation "
                f"({(bound.installation_id if bound else None) or '?'}); this one "
                f"({installation or 'of an older release'}) is a copy or was installed "
                "again, and is refused: its unsynced data stays on it (it can hand it to "
                "this server's quarantine: rescue); provision it again to use it"
            )
            peers.refuse_installation(conn, peer.node_id, installation or "-", why)
        raise ForeignInstallation(why)

    def register(self, node_id: str, code: str) -> tuple[Peer, str]:
        self.admit(node_id)
        with write_tx(self.engine) as conn:
            return peers.register(conn, node_id, code)

    # -- pushes from children -------------------------------------------------

    def receive(self, peer: Peer, body: Any, counted: bool = False) -> int:
        """Apply a pushed batch exactly once; returns the new inbound cursor.
        ``counted``: the caller counts this push as being handled already
        (``turns.handling``, from before its body was read)."""
        _check_suspended(peer)  # as authenticated: a suspended child's batch is not read
        if counted:
            return self._receive(peer, body)
        with self.turns.handling(peer.node_id):
            return self._receive(peer, body)

    def _receive(self, peer: Peer, body: Any) -> int:
        batch = self.reader.parse(body)
        if batch.source != peer.node_id:
            raise OutOfScope(
                f"batch claims to come from {batch.source!r} but the credentials are "
                f"{peer.node_id!r}'s"
            )
        check_scope(self.spec, peer, batch, relaying=self.children_relay)

        def apply(conn: sa.Connection) -> int:
            # The child's row, locked: its cursor (two batches of one child are never
            # applied side by side) and whether it is suspended, in one read.
            locked = peers.lock_inbound_seq(conn, peer.node_id)
            self.admit(peer.node_id, conn, locked)  # in the push's own transaction
            current = locked.inbound_seq
            if batch.after > current:
                raise OutOfSequence(
                    f"batch starts after {batch.after} but this server has applied "
                    f"{peer.node_id}'s changes only up to {current}",
                    expected_after=current,
                )
            if batch.head is not None and batch.head < current:
                raise LogDiverged(
                    f"{peer.node_id}'s log ends at {batch.head}, but this server has "
                    f"applied its changes up to {current}: its database was restored "
                    "from an older copy or started again, and its new changes would be "
                    "taken for re-sends; provision it again (its unsynced data stays "
                    "on it: it can hand it to this server's quarantine: rescue)"
                )
            resends.check(conn, self.spec, peer.node_id, batch, current)
            fresh = [c for c in batch.changes if c.seq > current]
            # Refused documents are quarantined; the cursor still moves past them.
            self.intake.take(conn, peer.node_id, UP, fresh, origin=peer.node_id, from_child=True)
            resends.remember(conn, self.spec, peer.node_id, fresh)
            new_seq = max(current, batch.through)
            peers.set_inbound_seq(conn, peer.node_id, new_seq, pushed=True)
            return new_seq

        # A batch sent before its predecessor was acknowledged may get here first:
        # it waits for that one if this process is handling it (turns.py).
        deadline = time.monotonic() + turns.WAIT_SECONDS
        while True:
            mark = self.turns.finished(peer.node_id)
            try:
                with self.turns.applying(peer.node_id):
                    return self._apply_retried(peer, apply)
            except OutOfSequence as exc:
                behind = exc.details.get("expected_after", batch.after) < batch.after
                if not (behind and self.turns.wait_for_another(peer.node_id, mark, deadline)):
                    raise

    def _apply_retried(self, peer: Peer, apply: Callable[[sa.Connection], int]) -> int:
        # Pushes of other children at the same moment may lock the same rows; the
        # database then rolls one back (deadlock): it is taken again, a few times.
        try:
            return write_retried(self.engine, apply, RETRIES)
        except sa.exc.IntegrityError as exc:
            # Rolled back whole. Say which constraint, not the SQL.
            reason = str(exc.orig).splitlines()[0] if exc.orig else "constraint violated"
            raise Conflict(
                f"the batch from {peer.node_id} clashes with data on this server "
                f"({reason}); nothing of it was applied"
            ) from None
        except sa.exc.OperationalError as exc:
            if not is_retryable(exc):
                raise
            raise Busy(
                f"this server is too busy to take the batch from {peer.node_id} now "
                f"(rolled back {RETRIES} times: {str(exc.orig).splitlines()[0]}); "
                "nothing of it was applied: send it again later",
                retry_after=1,
            ) from None

    # -- the quarantine ----------------------------------------------------------

    def rescue(self, peer: Peer, body: Any, installation: str | None) -> int:
        """Take the unsynced changes of a refused installation of ``peer`` (a copy,
        or one installed again) into the quarantine, never applied by themselves:
        an administrator decides. Returns the documents held."""
        batch = self.reader.parse(body)
        if batch.source != peer.node_id:
            raise OutOfScope(
                f"batch claims to come from {batch.source!r} but the credentials are "
                f"{peer.node_id!r}'s"
            )
        keys = self.spec.document_keys(batch.changes)
        documents: dict[str, list[Change]] = {}
        for change, key in zip(batch.changes, keys, strict=True):
            documents.setdefault(key, []).append(change)
        why = quarantine.Rejection(
            quarantine.Reason.FOREIGN,
            f"sent by installation {installation or 'of an older release'} of {peer.node_id}, "
            "which was refused (a copy, or installed again): check whether these are real "
            "sales before resubmitting them",
        )
        with write_tx(self.engine) as conn:
            return quarantine.hold(
                conn, peer.node_id, UP, ((k, why, cs) for k, cs in documents.items())
            )

    def resubmit(self, quarantine_id: int, *, by: str, note: str | None = None) -> Outcome:
        """Apply a held document again, as if its sender pushed it now (after an
        administrator fixed what it needed). Refused again, it is held again, in a
        new entry with the new reason; either way this entry is closed."""
        with write_tx(self.engine) as conn:
            held = self._open_entry(conn, quarantine_id)
            quarantine.decide(conn, quarantine_id, quarantine.Status.RESUBMITTED, by=by, note=note)
            return self.intake.take(
                conn,
                held.peer,
                held.direction,
                held.as_changes(),
                origin=held.peer,
                from_child=held.direction == UP,
            )  # other held parts of the same document are taken up with it

    def discard(self, quarantine_id: int, *, by: str, note: str) -> None:
        if not note.strip():
            raise BadBatch("say why the document is discarded")
        with write_tx(self.engine) as conn:
            self._open_entry(conn, quarantine_id)
            quarantine.decide(conn, quarantine_id, quarantine.Status.DISCARDED, by=by, note=note)

    def _open_entry(self, conn: sa.Connection, quarantine_id: int) -> quarantine.Held:
        held = quarantine.get(conn, quarantine_id, lock=True)
        if held is None:
            raise NotProvisioned(f"no quarantine entry {quarantine_id}")
        if held.status != quarantine.Status.HELD:
            raise Conflict(f"quarantine entry {quarantine_id} is already {held.status}")
        return held

    # -- pulls by children ------------------------------------------------------

    def _filter(self, peer: Peer) -> LogFilter:
        return LogFilter(
            tables=self.spec.names(self.spec.down_tables),
            exclude_origin=peer.node_id,
            route_keys=peer.route_keys,
        )

    def publish(self) -> None:
        """Number committed changes (a no-op on SQLite)."""
        if self.engine.dialect.name != "sqlite":
            with write_tx(self.engine) as conn:
                log.publish(conn)

    def changes_for(
        self,
        peer: Peer,
        after: int,
        limit: int,
        reported_head: int | None = None,
        reported_mode: str | None = None,
        protocol: int | None = None,
    ) -> Batch:
        """The next batch for a child. Asking for what follows ``after`` acknowledges
        everything up to ``after``; ``reported_head`` is the head of the child's own
        log, kept to tell how much it still has to send; ``reported_mode`` is the
        child's working mode, kept for dashboards; ``protocol`` the sync protocol
        the child speaks (default: ours), which shapes the rows."""
        protocol, adapter = self._shape(protocol)
        if reported_head is not None and reported_head < peer.inbound_seq:
            raise LogDiverged(
                f"{peer.node_id}'s log ends at {reported_head}, but this server has applied "
                f"its changes up to {peer.inbound_seq}: its database was restored from an "
                "older copy or started again; provision it again (its unsynced data stays "
                "on it: it can hand it to this server's quarantine: rescue)"
            )
        if not 1 <= limit <= MAX_PULL_LIMIT:
            raise BadBatch(f"limit: expected 1 to {MAX_PULL_LIMIT}, got {limit}")

        raw = adapter is None  # rows pass through untouched unless they must be reshaped

        def sent(conn: sa.Connection, changes: list[Change], through: int, more: bool) -> None:
            peers.set_outbound_seq(
                conn,
                peer.node_id,
                after,
                pulled=True,
                reported_head=reported_head,
                sent_through=max(through, peer.sent_through) if changes else None,
                caught_up=not more,
                mode=reported_mode,
            )

        if self.engine.dialect.name == "sqlite":
            # One writer at a time: the log is read without holding the write lock (a
            # large pull reads for a while), then the cursor is written.
            with read_tx(self.engine) as conn:
                changes, through, more = self._read_for(conn, peer, after, limit, raw)
            with write_tx(self.engine) as conn:
                sent(conn, changes, through, more)
        else:
            # One connection: the publishing committed first (readers rely on it), then
            # the read and the cursor in one transaction (a write blocks no reader
            # here). Each transaction and each checkout of a connection costs round
            # trips to the database: the pull took three checkouts and three
            # transactions before (docs/benchmarks.md, periodic sync).
            with self.engine.connect() as conn:
                with conn.begin():
                    log.publish(conn)
                with conn.begin():
                    changes, through, more = self._read_for(conn, peer, after, limit, raw)
                    sent(conn, changes, through, more)
        if adapter is not None:
            changes = adapter.outgoing(changes)  # after ``through``: the cursor covers all
        return Batch(self.node_id, after, through, changes, more=more, protocol=protocol)

    def _shape(self, protocol: int | None) -> tuple[int, Adapter | None]:
        protocol = self.spec.protocol if protocol is None else protocol
        if protocol not in self.spec.protocols:
            raise UnsupportedProtocol(
                f"sync protocol {protocol} is not one this node speaks "
                f"({', '.join(map(str, self.spec.protocols))})",
                supported=list(self.spec.protocols),
            )
        return protocol, self.spec.adapter(protocol)

    def _read_for(
        self, conn: sa.Connection, peer: Peer, after: int, limit: int, raw: bool
    ) -> tuple[list[Change], int, bool]:
        """The changes for ``peer`` after ``after`` (at most ``limit``), where the
        batch ends and whether more follow; the child's admission checked first, in
        the same transaction (the child's row as authenticated for this request)."""
        self.admit(peer.node_id, conn, peer)
        return log.window(conn, self._filter(peer), peer.node_id, after, limit, raw=raw)

    def sent_unacknowledged(self, conn: sa.Connection, peer: Peer) -> int:
        """Changes served to this child in pulls that it has not acknowledged yet."""
        if peer.sent_through <= peer.outbound_seq:
            return 0
        return log.count(
            conn, self._filter(peer), after=peer.outbound_seq, through=peer.sent_through
        )

    def backlog(self, conn: sa.Connection, peer: Peer, after: int | None = None) -> int:
        """How many changes wait for this child after ``after`` (default: after what
        it has acknowledged)."""
        start = peer.outbound_seq if after is None else after
        return log.count(conn, self._filter(peer), after=start, through=log.head(conn))

    def lag(self, peer: Peer, after: int) -> dict[str, int]:
        """For a child's status: this node's log head and the changes waiting for it."""
        self.admit(peer.node_id)
        self.publish()
        with read_tx(self.engine) as conn:
            return {"head": log.head(conn), "backlog": self.backlog(conn, peer, after)}

    # -- initial load -----------------------------------------------------------

    def _load_tables(self, adapter: Adapter | None = None) -> list[SyncTable]:
        return [
            t
            for t in self.spec.down_tables
            if t.initial_load and (adapter is None or adapter.sends(t.name))
        ]

    def start_load(self, peer: Peer, attempts: int = 20, protocol: int | None = None) -> LoadStart:
        """The cursor a new child starts from, and the baselines as of that cursor.

        Both come from one database snapshot. On PostgreSQL that snapshot must not
        hold committed-but-unnumbered changes (they would get numbers above the
        cursor and be counted twice); if it does, number them and take another.
        """
        _, adapter = self._shape(protocol)
        self.admit(peer.node_id)
        for _ in range(attempts):
            self.publish()
            with read_tx(self.engine, repeatable=True) as conn:
                if log.unpublished_count(conn):
                    continue
                cursor = log.head(conn)
                baselines = {
                    str(b.table.name): routed.rows(conn, b.table, b.route_column, peer.route_keys)
                    for b in self.spec.baselines
                }
                counts = {
                    t.name: routed.count(conn, t.table, t.route_column, peer.route_keys)
                    for t in self._load_tables(adapter)
                }
            with write_tx(self.engine) as conn:
                peers.set_outbound_seq(conn, peer.node_id, cursor, pulled=True)
            tables = [t.name for t in self._load_tables(adapter)]
            return LoadStart(cursor, baselines, tables, counts)
        raise SyncError("the server is too busy to start an initial load; try again")

    def load_chunk(
        self,
        peer: Peer,
        table_name: str,
        after_key: list[Any] | None,
        limit: int,
        protocol: int | None = None,
    ) -> tuple[list[dict[str, Any]], list[Any] | None, bool]:
        """Rows of a table in key order, after ``after_key``: (rows, last key, more)."""
        _, adapter = self._shape(protocol)
        self.admit(peer.node_id)
        table = self.spec.table(table_name)
        if table is None or table not in self._load_tables(adapter):
            raise BadBatch(f"table: {table_name!r} is not part of the initial load")
        if not 1 <= limit <= MAX_CHUNK_LIMIT:
            raise BadBatch(f"limit: expected 1 to {MAX_CHUNK_LIMIT}, got {limit}")
        keys = [table.table.c[k] for k in table.key_columns]
        if after_key is not None and (
            not isinstance(after_key, list) or len(after_key) != len(keys)
        ):
            raise BadBatch(f"after: expected a list of {len(keys)} key value(s)")
        for column, value in zip(keys, after_key or (), strict=False):  # length checked
            # Each value is compared with its column in SQL: a list, an object or an
            # integer beyond 64 bits would fail there (a 500), as would a string
            # against an integer column on PostgreSQL.
            if isinstance(column.type, sa.Integer):
                if type(value) is not int or not INT_MIN <= value <= INT_MAX:
                    raise BadBatch(f"after: {column.name} must be an integer, got {value!r:.40}")
            elif type(value) is not str:
                raise BadBatch(f"after: {column.name} must be a string, got {value!r:.40}")
        with read_tx(self.engine) as conn:
            stmt = routed.select(table.table, table.route_column, peer.route_keys)
            if after_key is not None:
                stmt = stmt.where(sa.tuple_(*keys) > sa.tuple_(*after_key))
            rows = routed.dicts(conn.execute(stmt.order_by(*keys).limit(limit + 1)))
        more = len(rows) > limit
        rows = rows[:limit]
        last = [rows[-1][k] for k in table.key_columns] if rows else after_key
        if adapter is not None:
            rows = [adapter.cut(table_name, row) for row in rows]
        return rows, last, more


def _check_suspended(peer: Peer) -> None:
    if peer.suspended_until:
        left = seconds_until(peer.suspended_until)
        if left > 0:
            raise Suspended(
                f"sync of {peer.node_id} is suspended by an administrator until "
                f"{peer.suspended_until}",
                retry_after=left,
            )
