"""Setting up a store and its terminals (the store database)."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from possync.retail import database, fiscal_chain, numbering, store_locale
from possync.retail.errors import RetailError
from possync.retail.offline_admin import highest_issued
from possync.retail.schema import (
    doc_series,
    payment_method,
    pos_terminal,
    store,
    tax_rate,
)
from possync.sync import install as sync_install
from possync.sync import peers
from possync.sync.db import read_tx, write_tx

DEFAULT_TAX_RATES = (
    {"tax_code": "STD", "name": "Standard rate", "rate_bp": 2000},
    {"tax_code": "RED", "name": "Reduced rate", "rate_bp": 550},
    {"tax_code": "ZERO", "name": "Zero rate", "rate_bp": 0},
)
DEFAULT_PAYMENT_METHODS = (
    {"method_code": "CASH", "name": "Cash", "kind": "cash", "active": True},
    {"method_code": "CARD", "name": "Card", "kind": "card", "active": True},
)


@dataclass(frozen=True)
class NewTerminal:
    terminal_id: str
    registration_code: str
    series: list[dict[str, Any]]


def check_id(value: str, what: str) -> None:
    if not value or len(value) > 16 or not value.replace("_", "").replace("-", "").isalnum():
        raise RetailError(f"{what} must be 1 to 16 letters, digits, '-' or '_': {value!r}")


def init_store(
    engine: sa.Engine,
    store_id: str,
    name: str,
    currency: str = "EUR",
    *,
    offline_enabled: bool = True,
) -> None:
    check_id(store_id, "a store id")
    create_private(engine)
    existing = sync_install.node_id(engine)
    if existing is not None and existing != store_id:
        raise RetailError(f"this database already belongs to store {existing}")
    database.install(engine, store_id)
    with write_tx(engine) as conn:
        if conn.execute(sa.select(store.c.store_id)).first() is None:
            conn.execute(
                store.insert().values(
                    store_id=store_id, name=name, currency=currency, offline_enabled=offline_enabled
                )
            )
            conn.execute(tax_rate.insert(), list(DEFAULT_TAX_RATES))
            conn.execute(payment_method.insert(), list(DEFAULT_PAYMENT_METHODS))


def create_private(engine: sa.Engine) -> None:
    """Create a new SQLite store database readable by its owner only (0600): it
    holds the terminals' credential hashes and the backup key. SQLite gives the
    -wal and -shm files it makes later the main file's mode. An existing file is
    left as its owner set it."""
    path = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    # O_EXCL: an existing file (a store already set up) is never touched.
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def set_details(
    engine: sa.Engine,
    *,
    address: str | None = None,
    vat_number: str | None = None,
    locale: str | None = None,
    time_zone: str | None = None,
) -> dict[str, Any]:
    """Change what receipts print about the store, and how its tills write amounts
    and times (None: leave as is; "": clear, back to English / UTC). The change
    reaches the tills at their next sync. Returns the store's row."""
    values: dict[str, Any] = {}
    for name, value, limit in (("address", address, 200), ("vat_number", vat_number, 32)):
        if value is None:
            continue
        value = " ".join(value.split())
        if len(value) > limit:
            raise RetailError(f"the {name.replace('_', ' ')} has at most {limit} characters")
        values[name] = value or None
    for name, value, check in (
        ("locale", locale, store_locale.check_locale),
        ("time_zone", time_zone, store_locale.check_time_zone),
    ):
        if value is not None:
            values[name] = check(value) if value.strip() else None
    with write_tx(engine) as conn:
        if values:
            conn.execute(store.update().values(**values))
        row = conn.execute(sa.select(store)).first()
    if row is None:
        raise RetailError("this database has no store; run 'possync store init' first")
    return dict(row._mapping)


def require_store(engine: sa.Engine) -> None:
    """Refuse a database that is not (yet) a store's, before touching it."""
    if not sa.inspect(engine).has_table(store.name):
        raise RetailError("this database has no store; run 'possync store init' first")


def store_row(conn: sa.Connection) -> sa.Row[Any]:
    row = conn.execute(sa.select(store)).first()
    if row is None:
        raise RetailError("this database has no store; run 'possync store init' first")
    return row


def add_terminal(
    engine: sa.Engine,
    terminal_id: str,
    *,
    name: str | None = None,
    offline_enabled: bool = True,
    series: list[dict[str, Any]] | None = None,
) -> NewTerminal:
    """Add a terminal (or re-provision one) and return its one-time code."""
    check_id(terminal_id, "a terminal id")
    with write_tx(engine) as conn:
        the_store = store_row(conn)
        if (
            conn.execute(
                sa.select(pos_terminal).where(pos_terminal.c.terminal_id == terminal_id)
            ).first()
            is None
        ):
            if offline_enabled and not the_store.offline_enabled:
                raise RetailError(
                    "offline mode is disabled for this store: enable the store first "
                    "(possync store offline enable), or add the terminal --online-only"
                )
            conn.execute(
                pos_terminal.insert().values(
                    terminal_id=terminal_id,
                    store_id=the_store.store_id,
                    name=name or terminal_id,
                    offline_enabled=offline_enabled,
                )
            )
            rows = _with_defaults(the_store.store_id, terminal_id, series or [])
            numbering.check_prefixes(numbering.all_given(conn) + rows)
            conn.execute(doc_series.insert(), rows)
            numbering.remember(conn, rows)
        else:
            _continue_series(conn, terminal_id)
            fiscal_chain.note_provisioned(conn, the_store.store_id, terminal_id)
        code = peers.add_child(conn, terminal_id, [the_store.store_id, terminal_id])
        current = [
            dict(r._mapping)
            for r in conn.execute(
                sa.select(doc_series).where(doc_series.c.terminal_id == terminal_id)
            )
        ]
    return NewTerminal(terminal_id, code, current)


def _with_defaults(
    store_id: str, terminal_id: str, custom: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The terminal's series: the default for each kind, unless one is given."""
    given = {s["kind"]: {**s, "terminal_id": terminal_id} for s in custom}
    unknown = set(given) - set(numbering.KINDS)
    if unknown:
        raise RetailError(f"unknown series kind {sorted(unknown)[0]!r}")
    rows = [given.get(str(d["kind"]), d) for d in numbering.default_series(store_id, terminal_id)]
    for row in rows:
        numbering.check_series(row)
    return rows


def set_terminal_name(engine: sa.Engine, terminal_id: str, name: str) -> None:
    if not name.strip() or len(name) > 100:
        raise RetailError("a terminal's name is 1 to 100 characters")
    with write_tx(engine) as conn:
        done = conn.execute(
            pos_terminal.update()
            .where(pos_terminal.c.terminal_id == terminal_id)
            .values(name=name.strip())
        )
    if done.rowcount != 1:
        raise RetailError(f"no terminal {terminal_id!r} in this store")


def terminal_listing(engine: sa.Engine) -> list[dict[str, Any]]:
    """Every terminal with its flags, series and whether it has registered."""
    with read_tx(engine) as conn:
        series: dict[str, list[dict[str, Any]]] = {}
        for s in conn.execute(sa.select(doc_series).order_by(doc_series.c.kind)):
            series.setdefault(s.terminal_id, []).append(dict(s._mapping))
        registered = {p.node_id: p.registered for p in peers.children(conn)}
        return [
            {
                **t._mapping,
                "series": series.get(t.terminal_id, []),
                "registered": registered.get(t.terminal_id, False),
                "provisioned": t.terminal_id in registered,
            }
            for t in conn.execute(sa.select(pos_terminal).order_by(pos_terminal.c.terminal_id))
        ]


def _continue_series(conn: sa.Connection, terminal_id: str) -> None:
    """A re-provisioned terminal starts with an empty database: move each of its
    series past the highest number the store has received, so none repeats."""
    for series in conn.execute(
        sa.select(doc_series).where(doc_series.c.terminal_id == terminal_id)
    ):
        issued = highest_issued(conn, series.kind, series.prefix)
        if issued >= series.start_no:
            conn.execute(
                doc_series.update()
                .where(doc_series.c.terminal_id == terminal_id, doc_series.c.kind == series.kind)
                .values(start_no=issued + 1)
            )
