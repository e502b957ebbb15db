"""Taking in a received batch so that one bad document never blocks the channel.

The batch has already been parsed and checked for form (a malformed batch is
refused whole before this). Here, inside the receiver's transaction:

1. Documents held earlier as incomplete whose missing part arrives now are taken
   up again with it (a till of an older release may split a receipt across two
   batches).
2. From a child, each change is checked against the row as it stands: what the
   table lets a child do (create, change, delete), whose row it is, which columns
   may change (``SyncTable``'s rules); then the application's own rules (a guard).
3. What passes is applied in one go, inside a savepoint. If the database refuses
   it (a unique number already in use...), it is applied again document by
   document, each in its own savepoint, and the documents that clash are set aside.
4. Whatever was refused is held in the quarantine, whole, with its reason.

The receiver then moves its cursor past the whole batch: held documents are
acknowledged like applied ones, and are resolved by an administrator (or by the
part that completes them), never by the sender sending them again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from possync.sync import conflicts, hlc, quarantine
from possync.sync.apply import Applier
from possync.sync.errors import UnstorableText
from possync.sync.log import Change, Op
from possync.sync.quarantine import Reason, Rejection
from possync.sync.tables import SyncSpec, SyncTable

# The application's rules: given the changes (rows already checked for form) and
# the document of each, the documents it refuses and why.
Guard = Callable[[sa.Connection, str, Sequence[Change], Sequence[str]], dict[str, Rejection]]

UP, DOWN = "up", "down"
SYSTEM = "possync"  # who "decides" when a later batch completes a held document
_VERBS = {Op.UPSERT: "create", Op.UPDATE: "change", Op.DELETE: "delete"}
_LOOKUP_CHUNK = 500


@dataclass
class Outcome:
    applied: int = 0
    held: list[str] = field(default_factory=list)  # documents set aside by this batch
    completed: list[str] = field(default_factory=list)  # held ones taken up again


class Intake:
    def __init__(
        self,
        spec: SyncSpec,
        applier: Applier,
        guard: Guard | None = None,
        *,
        relaying: bool = False,
    ) -> None:
        """``relaying``: the children write for their own subtrees (see child_rules)."""
        self.spec = spec
        self.applier = applier
        self.guard = guard
        self.relaying = relaying

    def take(
        self,
        conn: sa.Connection,
        sender: str,
        direction: str,
        changes: Sequence[Change],
        *,
        origin: str | None,
        from_child: bool,
        reopen: bool = True,
    ) -> Outcome:
        """Apply ``changes`` from ``sender`` (see the module docstring); ``origin``
        stamps what the capture triggers record; ``reopen``: take up held parts."""
        outcome = Outcome()
        changes = list(changes)
        if not changes:
            # Nothing can complete a held document or break a rule (a pull that only
            # moves the cursor; a push that only re-sends): no look-up to make.
            return outcome
        keys = self.spec.document_keys(changes)
        reopened = self._reopen(conn, sender, direction, set(keys)) if reopen else {}
        if reopened:
            earlier = [c for held in reopened.values() for c in held.as_changes()]
            changes = earlier + changes
            keys = self.spec.document_keys(changes)
        rejected: dict[str, Rejection] = {}
        if from_child:
            rejected |= child_rules(conn, self.spec, sender, changes, keys, relaying=self.relaying)
        # The usual batch breaks no rule: its changes and keys are passed on as they
        # are, not copied change by change into pairs and back (10,000 a push).
        if self.guard is not None:
            found = self.guard(conn, sender, *_passing(changes, keys, rejected))
            rejected |= {k: r for k, r in found.items() if k not in rejected}
        accepted, accepted_keys = _passing(changes, keys, rejected)
        found: list[tuple[str, tuple[Any, ...], hlc.Conflict]] = []
        rejected |= self._apply(conn, accepted, accepted_keys, origin, found)
        if direction == UP:  # the parent, where every node's edits meet, keeps them
            conflicts.record(conn, sender, found)
        outcome.applied = (
            sum(1 for k in accepted_keys if k not in rejected) if rejected else len(accepted)
        )

        for document, held in reopened.items():
            quarantine.decide(
                conn,
                held.quarantine_id,
                quarantine.Status.RESUBMITTED,
                by=SYSTEM,
                note="taken up again with a later batch"
                + ("; held again, see the newer entry" if document in rejected else ""),
            )
            if document not in rejected:
                outcome.completed.append(document)
        by_document: dict[str, list[Change]] = {}
        if rejected:
            for change, key in zip(changes, keys, strict=True):
                if key in rejected:
                    by_document.setdefault(key, []).append(change)
        quarantine.hold(
            conn, sender, direction, ((k, rejected[k], cs) for k, cs in by_document.items())
        )
        outcome.held = list(by_document)
        return outcome

    def _reopen(
        self, conn: sa.Connection, sender: str, direction: str, keys: set[str]
    ) -> dict[str, quarantine.Held]:
        waiting = {}
        # Only incomplete documents wait for a part: however many others a sender
        # has in the quarantine, they cost this look-up nothing.
        for held in quarantine.listing(conn, peer=sender, code=Reason.INCOMPLETE.value):
            if held.direction != direction:
                continue
            if keys & self.spec.aliases_of(held.as_changes(), held.document):
                waiting[held.document] = held
        return waiting

    def _apply(
        self,
        conn: sa.Connection,
        accepted: list[Change],
        keys: list[str],
        origin: str | None,
        found: list[tuple[str, tuple[Any, ...], hlc.Conflict]],
    ) -> dict[str, Rejection]:
        """Apply in one go; if the database refuses, document by document
        (``keys``: the document of each change)."""
        if not accepted:
            return {}
        try:
            with conn.begin_nested():
                self.applier.apply(conn, accepted, origin=origin, conflicts=found)
            return {}
        except (sa.exc.IntegrityError, sa.exc.DataError, UnstorableText):
            found.clear()
        documents: dict[str, list[Change]] = {}
        for change, key in zip(accepted, keys, strict=True):
            documents.setdefault(key, []).append(change)
        clashes: dict[str, Rejection] = {}
        for key, changes in documents.items():
            mine: list[tuple[str, tuple[Any, ...], hlc.Conflict]] = []
            try:
                with conn.begin_nested():
                    self.applier.apply(conn, changes, origin=origin, conflicts=mine)
                found += mine
            except UnstorableText as exc:
                clashes[key] = Rejection(Reason.RULE, str(exc))
            except sa.exc.DataError as exc:
                # Taken by the sender's database, not by this one (text with a NUL
                # character from SQLite into PostgreSQL...): held, never a blocked channel.
                reason = str(exc.orig).splitlines()[0] if exc.orig else "an invalid value"
                clashes[key] = Rejection(
                    Reason.RULE, f"this database cannot store a value of it ({reason})"
                )
            except sa.exc.IntegrityError as exc:
                reason = str(exc.orig).splitlines()[0] if exc.orig else "constraint violated"
                clashes[key] = Rejection(
                    Reason.CONFLICT, f"it clashes with data held here ({reason})"
                )
        return clashes


def _passing(
    changes: list[Change], keys: list[str], rejected: dict[str, Rejection]
) -> tuple[list[Change], list[str]]:
    """The changes (and their keys) of the documents not in ``rejected``: the lists
    themselves when none is."""
    if not rejected:
        return changes, keys
    kept = [i for i, k in enumerate(keys) if k not in rejected]
    return [changes[i] for i in kept], [keys[i] for i in kept]


def child_rules(
    conn: sa.Connection,
    spec: SyncSpec,
    sender: str,
    changes: Sequence[Change],
    keys: Sequence[str],
    *,
    relaying: bool = False,
) -> dict[str, Rejection]:
    """What a child may write, checked against the rows as they stand (and as the
    batch itself changes them, in order). ``relaying``: the sender writes for the
    nodes below it too, so a row's owner may be any of them; whose subtree a row is
    in was checked by its route (Parent._check_scope), and an owner still never
    changes."""
    rejected: dict[str, Rejection] = {}
    # Facts (immutable rows) a child may create need no look-up: the common case of
    # a push, so it costs one dict look-up per change, and what is left (none, in a
    # push of sales) is all that is read and checked.
    free = {t.name for t in spec.tables if t.immutable and Op.UPSERT in t.ops_for_children}
    checked = [i for i, c in enumerate(changes) if c.table not in free]
    if not checked:
        return rejected
    current = _Current(conn, spec, [changes[i] for i in checked])
    for i in checked:
        change, key = changes[i], keys[i]
        table = spec.table(change.table)
        assert table is not None  # the batch reader admits known tables only
        problem = _check(table, sender, change, current.get(table, change), relaying)
        if problem is None and key not in rejected:
            current.note(table, change)  # what the next change of the row meets
        elif key not in rejected:
            rejected[key] = problem
    return rejected


def _check(
    table: SyncTable,
    sender: str,
    change: Change,
    stored: dict[str, Any] | None,
    relaying: bool = False,
) -> Rejection | None:
    ops = table.ops_for_children
    name, row, owner = table.name, change.row, table.owner_column
    if table.immutable:
        if Op.UPSERT not in ops:
            return Rejection(Reason.NOT_ALLOWED, f"{sender} may not create {name} rows")
        return None  # a fact already held is left as it is (inserted or ignored)
    op = change.op
    if stored is not None and op in (Op.UPSERT, Op.UPDATE):
        op = Op.UPDATE  # an upsert of a row that exists changes it
    elif stored is None and op == Op.UPDATE:
        op = Op.UPSERT
    if op not in ops:
        return Rejection(Reason.NOT_ALLOWED, f"{sender} may not {_VERBS[op]} {name} rows")
    if stored is None:
        if op == Op.UPSERT and owner and row.get(owner) != sender and not relaying:
            return Rejection(
                Reason.NOT_OWNER, f"a new {name} row must name {sender} as its {owner}"
            )
        return None
    if owner:
        if op != Op.DELETE and row.get(owner) != stored.get(owner):
            return Rejection(
                Reason.NOT_OWNER, f"{name}.{owner} never changes (it is {stored.get(owner)!r})"
            )
        route = table.route_column
        if relaying and route and op != Op.DELETE and row.get(route) != stored.get(route):
            # The new route was checked to be the sender's; the stored one must be too.
            return Rejection(
                Reason.NOT_OWNER, f"{name}.{route} never changes (it is {stored.get(route)!r})"
            )
        if stored.get(owner) != sender and not table.shared and not relaying:
            return Rejection(
                Reason.NOT_OWNER,
                f"{sender} may not {_VERBS[op]} a {name} row of {stored.get(owner)!r}",
            )
    if op == Op.UPDATE and table.editable is not None:
        fixed = [
            c
            for c in table.column_names
            if c not in table.editable and c in row and row[c] != stored.get(c)
        ]
        if fixed:
            return Rejection(
                Reason.NOT_ALLOWED,
                f"{sender} may change only {', '.join(table.editable)} of a {name} row, "
                f"not {', '.join(fixed)}",
            )
    return None


class _Current:
    """The stored rows the batch touches (mutable tables only), then kept up to
    date with the batch's own changes as they are checked."""

    def __init__(self, conn: sa.Connection, spec: SyncSpec, changes: Sequence[Change]) -> None:
        wanted: dict[str, set[tuple[Any, ...]]] = {}
        for change in changes:
            table = spec.table(change.table)
            if table is not None and not table.immutable:
                wanted.setdefault(table.name, set()).add(_key(table, change.row))
        self.rows: dict[str, dict[tuple[Any, ...], dict[str, Any] | None]] = {}
        for name, keys in wanted.items():
            table = spec.table(name)
            assert table is not None
            self.rows[name] = dict.fromkeys(keys)
            self.rows[name].update(_lookup(conn, table, sorted(keys, key=repr)))

    def get(self, table: SyncTable, change: Change) -> dict[str, Any] | None:
        return self.rows.get(table.name, {}).get(_key(table, change.row))

    def note(self, table: SyncTable, change: Change) -> None:
        if table.immutable:
            return
        key = _key(table, change.row)
        stored = self.rows[table.name].get(key)
        if change.op == Op.DELETE:
            self.rows[table.name][key] = None
        else:
            self.rows[table.name][key] = {**(stored or {}), **change.row}


def _key(table: SyncTable, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row.get(k) for k in table.key_columns)


def _lookup(
    conn: sa.Connection, table: SyncTable, keys: list[tuple[Any, ...]]
) -> dict[tuple[Any, ...], dict[str, Any]]:
    t = table.table
    columns = [t.c[k] for k in table.key_columns]
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for i in range(0, len(keys), _LOOKUP_CHUNK):
        chunk = keys[i : i + _LOOKUP_CHUNK]
        if len(columns) == 1:
            where = columns[0].in_([k[0] for k in chunk])
        else:
            where = sa.tuple_(*columns).in_(chunk)
        for row in conn.execute(sa.select(t).where(where)).mappings():
            plain = {str(k): v for k, v in row.items()}
            found[_key(table, plain)] = plain
    return found
