"""Document numbers from each terminal's own series.

A number is taken in the same transaction as the document that uses it, so a
crash before commit gives it back and one after keeps it: per terminal the
numbers are strictly increasing, gapless, and never reused. Series of different
terminals never overlap because no prefix may start another (see
:func:`check_prefixes`).
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from possync.retail.errors import RetailError
from possync.retail.prepared import Prepared
from possync.retail.schema import doc_counter, doc_series, doc_series_used, pos_terminal
from possync.sync.clock import utc_now

RECEIPT, RETURN, CUSTOMER = "receipt", "return", "customer"
Z_REPORT = "z_report"  # a drawer session's closing report (retail/cashup.py)
KINDS = (RECEIPT, RETURN, CUSTOMER, Z_REPORT)
_SUFFIX = {RECEIPT: "", RETURN: "R", CUSTOMER: "C", Z_REPORT: "Z"}
DEFAULT_PADDING = 6
MAX_PADDING = 12


class SeriesError(RetailError):
    """A series refused, saying which: ``owners`` are the (terminal, kind) pairs
    concerned and ``field`` the part at fault (prefix, next or padding), so a form
    can show the error beside the right field."""

    def __init__(self, message: str, owners: list[tuple[str, str]], field: str) -> None:
        super().__init__(message)
        self.owners, self.field = owners, field


def check_series(series: dict[str, object]) -> None:
    """Refuse a series that is malformed on its own (see check_prefixes for overlaps)."""
    prefix, start_no, padding = series["prefix"], series["start_no"], series["padding"]
    owner = [(str(series["terminal_id"]), str(series["kind"]))]
    if not isinstance(prefix, str) or not 1 <= len(prefix) <= 32 or prefix[-1].isdigit():
        raise SeriesError(
            "a prefix is 1 to 32 characters and must not end with a digit", owner, "prefix"
        )
    if not isinstance(padding, int) or not 1 <= padding <= MAX_PADDING:
        raise SeriesError(f"padding must be 1 to {MAX_PADDING} digits", owner, "padding")
    if not isinstance(start_no, int) or start_no < 1:
        raise SeriesError("the next number must be at least 1", owner, "next")


def default_series(store_id: str, terminal_id: str) -> list[dict[str, object]]:
    return [
        {
            "terminal_id": terminal_id,
            "kind": kind,
            "prefix": f"{store_id}-{terminal_id}-{_SUFFIX[kind]}",
            "start_no": 1,
            "padding": DEFAULT_PADDING,
        }
        for kind in KINDS
    ]


def check_prefixes(series: Iterable[dict[str, object]]) -> None:
    """Refuse series that could ever issue the same number.

    A number is its prefix followed by digits, so two series can collide only when
    one prefix is the other followed by nothing but digits ("S01-T1-" and
    "S01-T1-5" collide at "S01-T1-5000001"; "S01-T1-" and "S01-T1-R" never do).
    """
    named = [(str(s["prefix"]), (str(s["terminal_id"]), str(s["kind"]))) for s in series]
    for a, owner_a in named:
        for b, owner_b in named:
            if owner_a != owner_b and b.startswith(a) and (b == a or b[len(a) :].isdigit()):
                raise SeriesError(
                    f"series {'/'.join(owner_b)} (prefix {b!r}) could issue the same numbers "
                    f"as {'/'.join(owner_a)} (prefix {a!r})",
                    [owner_b, owner_a],
                    "prefix",
                )


# The series and how far it has got, in one read (the counter is NULL before its
# first number); then the counter moves on, in the same transaction.
_SERIES = Prepared(
    sa.select(
        doc_series.c.prefix, doc_series.c.start_no, doc_series.c.padding, doc_counter.c.last_no
    )
    .select_from(
        doc_series.outerjoin(
            doc_counter,
            (doc_counter.c.kind == doc_series.c.kind)
            & (doc_counter.c.prefix == doc_series.c.prefix),
        )
    )
    .where(doc_series.c.terminal_id == sa.bindparam("terminal_id"))
    .where(doc_series.c.kind == sa.bindparam("kind"))
)
_upsert = sqlite_insert(doc_counter)
_MOVE_ON = Prepared(
    _upsert.on_conflict_do_update(
        index_elements=["kind", "prefix"], set_={"last_no": _upsert.excluded.last_no}
    )
)


def next_number(conn: sa.Connection, terminal_id: str, kind: str) -> str:
    """Issue the next number of a terminal's series (terminal databases only)."""
    series = _SERIES.first(conn, {"terminal_id": terminal_id, "kind": kind})
    if series is None:
        raise RetailError(f"terminal {terminal_id} has no {kind} series; sync with the store")
    prefix, start_no, padding, last_no = series
    number = max((last_no or 0) + 1, start_no)
    _MOVE_ON.run(conn, {"kind": kind, "prefix": prefix, "last_no": number})
    return f"{prefix}{number:0{padding}d}"


def remember(conn: sa.Connection, series: Iterable[dict[str, object]]) -> None:
    """Record the prefixes given to terminals (store side): a terminal's pushed
    numbers are checked against every prefix it ever had, and a prefix stays with
    its terminal for good."""
    used = doc_series_used.c
    for s in series:
        found = conn.execute(
            sa.select(used.terminal_id).where(used.prefix == s["prefix"], used.kind == s["kind"])
        ).first()
        if found is None:
            conn.execute(
                doc_series_used.insert().values(
                    prefix=s["prefix"],
                    kind=s["kind"],
                    terminal_id=s["terminal_id"],
                    since=utc_now(),
                )
            )


def all_given(conn: sa.Connection) -> list[dict[str, object]]:
    """Every series as it stands, and every prefix given before, for check_prefixes."""
    current = [dict(r._mapping) for r in conn.execute(sa.select(doc_series))]
    earlier = [
        {"terminal_id": r.terminal_id, "kind": r.kind, "prefix": r.prefix}
        for r in conn.execute(sa.select(doc_series_used))
    ]
    return current + earlier


def add_missing_series(conn: sa.Connection, kind: str) -> list[dict[str, object]]:
    """Give every terminal this store has given series to, but none of ``kind`` (a
    kind added by an upgrade), its default series of that kind; the change log takes
    it down to the till. A default prefix already taken (a custom series) is
    followed by a letter until it is free. Only the store gives series: a till's
    database has given none (``doc_series_used`` is empty there) and gets nothing."""
    have = set(
        conn.execute(sa.select(doc_series.c.terminal_id).where(doc_series.c.kind == kind)).scalars()
    )
    given = set(conn.execute(sa.select(doc_series_used.c.terminal_id)).scalars())
    added: list[dict[str, object]] = []
    tills = conn.execute(sa.select(pos_terminal.c.terminal_id, pos_terminal.c.store_id))
    for terminal_id, store_id in sorted(tills):
        if terminal_id in have or terminal_id not in given:
            continue
        (row,) = [s for s in default_series(store_id, terminal_id) if s["kind"] == kind]
        for extra in ("", *"ABCDEFGHJKLMNPQRSTUVWXY"):
            candidate = {**row, "prefix": f"{row['prefix']}{extra}"}
            try:
                check_prefixes([*all_given(conn), candidate])
            except SeriesError:
                continue
            conn.execute(doc_series.insert().values(**candidate))
            remember(conn, [candidate])
            added.append(candidate)
            break
    return added
