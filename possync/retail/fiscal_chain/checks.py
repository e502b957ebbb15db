"""Checking a till's fiscal chain on the store and keeping what was found (see the
package's docstring; what a purge keeps of it: purged.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from operator import attrgetter
from typing import Any

import sqlalchemy as sa

from possync.retail.fiscal_chain.documents import (
    Chained,
    chained_tills,
    held_already,
    merged,
    stored,
)
from possync.retail.fiscal_chain.form import Row, genesis, seal, short
from possync.retail.schema import fiscal_chain_check, pos_terminal, store
from possync.sync.clock import utc_now


@dataclass(frozen=True)
class Problem:
    kind: str  # gap | altered | fork
    seq: int  # the first place in the chain it concerns
    detail: str


@dataclass(frozen=True)
class Walk:
    head_seq: int
    head_hash: str
    problem: Problem | None


def walk(
    anchor_seq: int, anchor_hash: str, documents: Iterable[Chained], known_head: int = 0
) -> Walk:
    """Follow a chain from its anchor through ``documents`` (in chain order) and
    report its head and the first fault. Documents at or before the anchor are
    outside what can be checked (a purge kept them back) and are skipped. A chain
    that ends before ``known_head`` (the head seen before) lost its last documents."""
    seq, previous, number = anchor_seq, anchor_hash, ""
    problem: Problem | None = None
    for doc in documents:
        if doc.seq <= anchor_seq:
            continue
        found: Problem | None = None
        if doc.seq == seq:
            found = Problem("fork", doc.seq, f"{number} and {doc.receipt_no} both hold it")
            problem = problem or found
            continue  # the chain goes on from the first of the two
        if doc.seq > seq + 1:
            missing = f"{seq + 1}" if doc.seq == seq + 2 else f"{seq + 1} to {doc.seq - 1}"
            found = Problem(
                "gap", seq + 1, f"no document in place {missing}, before {doc.receipt_no}"
            )
        elif seal(previous, doc.content) != doc.hash:
            found = Problem(
                "altered",
                doc.seq,
                f"{doc.receipt_no} does not hash to its chain hash from the document before",
            )
        problem = problem or found
        seq, previous, number = doc.seq, str(doc.hash), doc.receipt_no
    if problem is None and seq < known_head:
        problem = Problem("gap", seq + 1, f"the chain reached {known_head}; it now ends at {seq}")
    return Walk(seq, previous, problem)


# -- what the store keeps of each till's chain -------------------------------------------


@dataclass(frozen=True)
class ChainStatus:
    """A till's chain as the store last checked it (``state``: ok, broken, or
    none: no chained document received yet)."""

    store_id: str
    terminal_id: str
    state: str
    head_seq: int
    head_hash: str | None
    anchor_seq: int
    problem: str | None
    problem_seq: int | None
    problem_detail: str | None
    detected_at: str | None
    checked_at: str | None

    @property
    def head_short(self) -> str | None:
        return short(self.head_hash) if self.head_seq else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "head_short": self.head_short}


def check_row(conn: sa.Connection, store_id: str, terminal_id: str) -> Any:
    return conn.execute(
        sa.select(fiscal_chain_check).where(
            fiscal_chain_check.c.store_id == store_id,
            fiscal_chain_check.c.terminal_id == terminal_id,
        )
    ).first()


def save(conn: sa.Connection, store_id: str, terminal_id: str, values: Row) -> None:
    where = sa.and_(
        fiscal_chain_check.c.store_id == store_id,
        fiscal_chain_check.c.terminal_id == terminal_id,
    )
    if conn.execute(fiscal_chain_check.update().where(where).values(**values)).rowcount == 0:
        conn.execute(
            fiscal_chain_check.insert().values(store_id=store_id, terminal_id=terminal_id, **values)
        )


def verify(
    conn: sa.Connection, store_id: str, terminal_id: str, extra: Sequence[Chained] = ()
) -> ChainStatus:
    """Check the till's whole chain as held here (and ``extra``: documents being
    received in this transaction), from its anchor, and record what was found. A
    fault recorded at or before the anchor stands: its documents are gone."""
    row = check_row(conn, store_id, terminal_id)
    if row is None:
        anchor_seq, anchor_hash = 0, genesis(store_id, terminal_id)
    else:
        anchor_seq, anchor_hash = int(row.anchor_seq), str(row.anchor_hash)
    documents = merged(stored(conn, store_id, terminal_id, anchor_seq), extra)
    found = walk(anchor_seq, anchor_hash, documents, 0 if row is None else int(row.head_seq))
    now = utc_now()
    problem = found.problem
    kept_before = row is not None and row.problem and row.problem_seq <= anchor_seq
    values: Row = {
        "anchor_seq": anchor_seq,
        "anchor_hash": anchor_hash,
        "head_seq": found.head_seq,
        "head_hash": found.head_hash,
        "checked_at": now,
    }
    if kept_before:
        pass  # the fault's documents were purged: what was found then stands
    elif problem is None:
        values |= {"problem": None, "problem_seq": None, "problem_detail": None}
        values["detected_at"] = None
    else:
        same = row is not None and (row.problem, row.problem_seq) == (problem.kind, problem.seq)
        values |= {
            "problem": problem.kind,
            "problem_seq": problem.seq,
            "problem_detail": problem.detail,
            "detected_at": row.detected_at if same else now,
        }
    save(conn, store_id, terminal_id, values)
    return _status(check_row(conn, store_id, terminal_id))


_IN_CHAIN = attrgetter("seq", "receipt_no")  # (seq, receipt_no): a C call per document


def note_received(
    conn: sa.Connection,
    store_id: str,
    terminal_id: str,
    documents: Iterable[tuple[Row, Sequence[Row], Sequence[Row]]],
    z_reports: Iterable[Row] = (),
) -> None:
    """Check documents a till is pushing, as received (receipts: head, lines,
    payments; Z reports: their rows), in the transaction that stores them. The
    usual case, each the next link of the chain, costs one hash per document;
    anything else (a gap, a mismatch, a place taken again, one arriving late) has
    the whole chain checked again."""
    received = [Chained.of(h, ls, ps) for h, ls, ps in documents if type(h.get("chain_seq")) is int]
    received += [Chained.of_z(z) for z in z_reports if type(z.get("chain_seq")) is int]
    chained = sorted(received, key=_IN_CHAIN)
    if not chained:
        return
    row = check_row(conn, store_id, terminal_id)
    if row is None:
        verify(conn, store_id, terminal_id, chained)
        return
    seq, previous = int(row.head_seq), str(row.head_hash)
    for doc in chained:
        if doc.seq == seq + 1 and seal(previous, doc.content) == doc.hash:
            seq, previous = doc.seq, str(doc.hash)
        elif not held_already(conn, store_id, terminal_id, doc):
            verify(conn, store_id, terminal_id, chained)
            return
    save(
        conn,
        store_id,
        terminal_id,
        {"head_seq": seq, "head_hash": previous, "checked_at": utc_now()},
    )


def _status(row: Any) -> ChainStatus:
    return ChainStatus(
        store_id=row.store_id,
        terminal_id=row.terminal_id,
        state="broken" if row.problem else ("ok" if row.head_seq else "none"),
        head_seq=int(row.head_seq),
        head_hash=row.head_hash if row.head_seq else None,
        anchor_seq=int(row.anchor_seq),
        problem=row.problem,
        problem_seq=row.problem_seq,
        problem_detail=row.problem_detail,
        detected_at=row.detected_at,
        checked_at=row.checked_at,
    )


def _no_chain(store_id: str, terminal_id: str) -> ChainStatus:
    return ChainStatus(store_id, terminal_id, "none", 0, None, 0, None, None, None, None, None)


def _chains_held(conn: sa.Connection) -> set[tuple[str, str]]:
    """Every (store, till) with a chained document or a check record here."""
    checked = sa.select(fiscal_chain_check.c.store_id, fiscal_chain_check.c.terminal_id)
    return chained_tills(conn) | {(r[0], r[1]) for r in conn.execute(checked)}


def verify_all(conn: sa.Connection, terminal_id: str | None = None) -> list[ChainStatus]:
    """Check again every chain held here (or one till's), recording what is found."""
    chains = sorted(_chains_held(conn))
    if terminal_id is not None:
        chains = [c for c in chains if c[1] == terminal_id]
    verify_each = [verify(conn, store_id, till) for store_id, till in chains]
    return _with_silent_tills(conn, verify_each, terminal_id)


def statuses(conn: sa.Connection, terminal_id: str | None = None) -> list[ChainStatus]:
    """Each till's chain as last checked (the console, the dashboard's flag): the
    store's tills that sent no chained document yet are listed as ``none``."""
    rows = conn.execute(sa.select(fiscal_chain_check)).all()
    found = [_status(r) for r in rows if terminal_id is None or r.terminal_id == terminal_id]
    return _with_silent_tills(conn, found, terminal_id)


def status_by_terminal(conn: sa.Connection) -> dict[str, ChainStatus]:
    """Per till id, its chain's status (for a flag beside each till)."""
    return {s.terminal_id: s for s in statuses(conn)}


def _with_silent_tills(
    conn: sa.Connection, found: list[ChainStatus], terminal_id: str | None
) -> list[ChainStatus]:
    known = {s.terminal_id for s in found}
    own_store = conn.execute(sa.select(store.c.store_id)).scalars().first()
    tills = conn.execute(sa.select(pos_terminal.c.terminal_id, pos_terminal.c.store_id)).all()
    for till, store_id in tills:
        if till in known or (terminal_id is not None and till != terminal_id):
            continue
        found.append(_no_chain(store_id or own_store or "", till))
    return sorted(found, key=lambda s: (s.store_id, s.terminal_id))
