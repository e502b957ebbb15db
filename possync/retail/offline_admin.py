"""Store administration of offline use: the store's "Enable Offline Store" switch,
each terminal's "Off-line Enabled" flag and its document-number series.

Refusals say why; actions an administrator forces are written to ``admin_log``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from possync.retail import numbering
from possync.retail.errors import RetailError
from possync.retail.schema import (
    admin_log,
    customer,
    doc_series,
    pos_terminal,
    receipt,
    store,
    z_report,
)
from possync.sync import peers
from possync.sync.clock import utc_in, utc_now
from possync.sync.db import read_tx, write_tx


def _log(conn: sa.Connection, action: str, detail: str) -> None:
    conn.execute(admin_log.insert().values(at=utc_now(), action=action, detail=detail))


def _unsent(conn: sa.Connection, terminal_id: str) -> int:
    peer = peers.get(conn, terminal_id)
    return peer.unsent if peer else 0


def set_store_offline(engine: sa.Engine, enabled: bool, *, force: bool = False) -> None:
    """Enable Offline Store. Disabling it is refused while an offline-enabled
    terminal still has data to send (as of its last contact), unless forced."""
    with write_tx(engine) as conn:
        if not enabled:
            waiting = {
                t: n
                for t in conn.execute(
                    sa.select(pos_terminal.c.terminal_id).where(pos_terminal.c.offline_enabled)
                ).scalars()
                if (n := _unsent(conn, t))
            }
            if waiting and not force:
                raise RetailError(
                    "offline terminals still have unsynced data ("
                    + ", ".join(f"{t}: {n} changes" for t, n in sorted(waiting.items()))
                    + "); sync them first, or force it"
                )
            if waiting:
                _log(conn, "store_offline_disabled_forced", f"unsynced: {waiting}")
        conn.execute(store.update().values(offline_enabled=enabled))
        _log(conn, "store_offline", "enabled" if enabled else "disabled")


def set_terminal_offline(
    engine: sa.Engine, terminal_id: str, enabled: bool, *, force: bool = False
) -> None:
    """Mark a terminal Off-line Enabled (or not)."""
    with write_tx(engine) as conn:
        terminal = _terminal(conn, terminal_id)
        if enabled and not conn.execute(sa.select(store.c.offline_enabled)).scalar():
            raise RetailError("offline mode is disabled for this store: enable the store first")
        if not enabled and terminal.offline_enabled:
            unsent = _unsent(conn, terminal_id)
            if unsent and not force:
                raise RetailError(
                    f"terminal {terminal_id} still has {unsent} unsynced changes (as of its last "
                    "contact); disabling offline use now would strand them. Sync it first, or "
                    "force it"
                )
            if unsent:
                _log(conn, "terminal_offline_disabled_forced", f"{terminal_id}: {unsent} unsynced")
        conn.execute(
            pos_terminal.update()
            .where(pos_terminal.c.terminal_id == terminal_id)
            .values(offline_enabled=enabled)
        )
        _log(conn, "terminal_offline", f"{terminal_id}: {'enabled' if enabled else 'disabled'}")


def _terminal(conn: sa.Connection, terminal_id: str) -> sa.Row[Any]:
    row = conn.execute(
        sa.select(pos_terminal).where(pos_terminal.c.terminal_id == terminal_id)
    ).first()
    if row is None:
        raise RetailError(f"no terminal {terminal_id!r} in this store")
    return row


def highest_issued(conn: sa.Connection, kind: str, prefix: str) -> int:
    """The highest number of a series that has reached the store (0 if none)."""
    column, kind_filter = {
        numbering.RECEIPT: (receipt.c.receipt_no, receipt.c.kind == "sale"),
        numbering.RETURN: (receipt.c.receipt_no, receipt.c.kind == "return"),
        numbering.CUSTOMER: (customer.c.customer_no, sa.true()),
        numbering.Z_REPORT: (z_report.c.z_no, sa.true()),
    }[kind]
    highest = conn.execute(
        sa.select(column)
        .where(column.startswith(prefix, autoescape=True), kind_filter)
        .order_by(sa.func.length(column).desc(), column.desc())
        .limit(1)
    ).scalar()
    suffix = highest[len(prefix) :] if highest else ""
    return int(suffix) if suffix.isdigit() else 0


def change_series(
    engine: sa.Engine,
    terminal_id: str,
    kind: str,
    *,
    prefix: str | None = None,
    next_no: int | None = None,
    padding: int | None = None,
) -> dict[str, Any]:
    """Custom Series: change a terminal's series of one kind. Refused if it could
    overlap another series or issue a number that has already been issued."""
    with write_tx(engine) as conn:
        return _change_series(conn, terminal_id, kind, prefix, next_no, padding)


class SeriesRefused(RetailError):
    """Custom Series refused; ``errors`` maps "<kind>_<field>" (e.g. "return_prefix",
    "receipt_padding") to what is wrong there."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{where}: {why}" for where, why in errors.items()))
        self.errors = errors


def change_series_many(
    engine: sa.Engine, terminal_id: str, changes: dict[str, dict[str, Any]]
) -> None:
    """The Custom Series dialog: change several series at once, all or none.
    ``changes`` maps a kind to its new prefix/next_no/padding."""
    errors: dict[str, str] = {}
    with write_tx(engine) as conn:
        for kind, change in changes.items():
            try:
                _change_series(conn, terminal_id, kind, **change)
            except numbering.SeriesError as exc:
                errors[f"{kind}_{exc.field}"] = str(exc)
        if errors:
            raise SeriesRefused(errors)  # rolls back the kinds that were accepted


def _change_series(
    conn: sa.Connection,
    terminal_id: str,
    kind: str,
    prefix: str | None = None,
    next_no: int | None = None,
    padding: int | None = None,
) -> dict[str, Any]:
    if kind not in numbering.KINDS:
        raise RetailError(f"unknown series kind {kind!r}; one of {', '.join(numbering.KINDS)}")
    _terminal(conn, terminal_id)
    key = (doc_series.c.terminal_id == terminal_id, doc_series.c.kind == kind)
    current = conn.execute(sa.select(doc_series).where(*key)).first()
    if current is None:
        raise RetailError(f"terminal {terminal_id} has no {kind} series")
    new = {
        "terminal_id": terminal_id,
        "kind": kind,
        "prefix": current.prefix if prefix is None else prefix,
        "start_no": current.start_no if next_no is None else next_no,
        "padding": current.padding if padding is None else padding,
    }
    numbering.check_series(new)
    others = [
        s for s in numbering.all_given(conn) if (s["terminal_id"], s["kind"]) != (terminal_id, kind)
    ]
    numbering.check_prefixes([*others, new])
    issued = highest_issued(conn, kind, new["prefix"])
    if new["start_no"] <= issued:
        raise numbering.SeriesError(
            f"{new['prefix']}{issued:0{new['padding']}d} has already been issued: the next "
            f"number must be at least {issued + 1}",
            [(terminal_id, kind)],
            "next",
        )
    conn.execute(doc_series.update().where(*key).values(**new))
    numbering.remember(conn, [new])
    _log(conn, "series_changed", f"{terminal_id}/{kind}: {new}")
    return new


def series_of(engine: sa.Engine, terminal_id: str) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        return [
            dict(r._mapping)
            for r in conn.execute(
                sa.select(doc_series)
                .where(doc_series.c.terminal_id == terminal_id)
                .order_by(doc_series.c.kind)
            )
        ]


MAX_SUSPEND_MINUTES = 7 * 24 * 60


def suspend_sync(engine: sa.Engine, terminal_id: str, minutes: int | None) -> str | None:
    """Suspend a terminal's sync for ``minutes`` (it keeps selling offline and is
    told when to come back), or resume it (None). Returns when the suspension ends."""
    if minutes is not None and not 1 <= minutes <= MAX_SUSPEND_MINUTES:
        raise RetailError(f"suspend for 1 to {MAX_SUSPEND_MINUTES} minutes (7 days)")
    until = utc_in(minutes * 60) if minutes is not None else None
    with write_tx(engine) as conn:
        _terminal(conn, terminal_id)
        try:
            peers.suspend(conn, terminal_id, until)
        except KeyError:
            raise RetailError(f"terminal {terminal_id} has never been provisioned") from None
        _log(
            conn,
            "sync_suspended" if until else "sync_resumed",
            f"{terminal_id}: until {until}" if until else terminal_id,
        )
    return until
