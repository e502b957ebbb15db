"""Finding an item by name, over catalogs of tens of thousands of items, without
regard to case or accents: "creme" finds "Crème", "CRÈME" and "Creme" alike.

At the till, names that *start* with the text come first, from an index on the
name without case (``item_name_nocase``, created on the terminal's own database by
:func:`install`; it is local and never replicated). Names that merely *contain*
the text fill the rest of the page: that is a scan of the table, a few
milliseconds for 50,000 items (measured in ``bench/bench_scan.py``), stopped as soon
as a page is full. An exact SKU or barcode comes first of all.

Accents without a schema change (:func:`name_contains`, also the console's search):
the text searched for is folded (accents off, lower case, :func:`fold`), and so is
each name, in the query. SQLite's ``LIKE`` already ignores the case of ASCII
letters, so only names holding other characters need folding, by :func:`fold`
registered as an SQL function; a ``GLOB`` picks them out first, in C. PostgreSQL
folds with ``translate`` (built in; no ``unaccent`` extension needed) over the
Latin letters, by the table :func:`fold` gives.
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Any

import sqlalchemy as sa

from possync.retail import prices
from possync.retail.schema import item

PAGE = 20
_TOP = "\U0010ffff"  # sorts after every character: "abc" <= name < "abc" + _TOP is a prefix
_NOT_ASCII = "*[^ -~]*"  # GLOB: holds a character outside printable ASCII


def fold(text: str) -> str:
    """``text`` as searches compare it: accents off, lower case ("Crème" -> "creme")."""
    return text.lower() if text.isascii() else _fold(text)


@functools.lru_cache(maxsize=65_536)  # the same names are folded search after search
def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _latin_table() -> tuple[str, str]:
    """The Latin letters beyond ASCII (Latin-1, Latin Extended-A and B) that fold to
    another single letter ("é" -> "e", "Œ" -> "œ"), and those letters: PostgreSQL's
    ``translate`` arguments. Folding them here does not depend on the database's
    locale, whose ``lower`` may leave letters beyond ASCII as they are."""
    letters = [chr(c) for c in range(0xC0, 0x250)]
    pairs = [(c, fold(c)) for c in letters if len(fold(c)) == 1 and fold(c) != c]
    return "".join(c for c, _ in pairs), "".join(f for _, f in pairs)


_ACCENTED, _PLAIN = _latin_table()


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _register_fold(conn: sa.Connection) -> None:
    """``possync_fold(text)`` on this SQLite connection (registering is idempotent,
    and cheaper than remembering which pooled connections have it)."""
    driver = conn.connection.driver_connection
    driver.create_function("possync_fold", 1, fold, deterministic=True)  # type: ignore[union-attr]


def name_like(conn: sa.Connection, pattern: str) -> sa.ColumnElement[bool]:
    """The item's name, folded, is LIKE ``pattern`` (made of folded text, escaped
    with a backslash)."""
    name = item.c.name
    if conn.dialect.name == "sqlite":
        _register_fold(conn)
        # ASCII names are matched by LIKE alone; Python folds only the others.
        return sa.or_(
            name.like(pattern, escape="\\"),
            sa.and_(
                name.op("GLOB")(_NOT_ASCII),
                sa.func.possync_fold(name).like(pattern, escape="\\"),
            ),
        )
    return sa.func.lower(sa.func.translate(name, _ACCENTED, _PLAIN)).like(pattern, escape="\\")


def name_contains(conn: sa.Connection, text: str) -> sa.ColumnElement[bool]:
    """The item's name contains ``text``, whatever the case and accents."""
    return name_like(conn, f"%{escape_like(fold(' '.join(text.split())))}%")


def install(conn: sa.Connection) -> None:
    conn.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS item_name_nocase ON item (name COLLATE NOCASE)"
    )


def search(conn: sa.Connection, text: str, limit: int = PAGE) -> list[dict[str, Any]]:
    """Sellable items matching ``text``: exact code, then names starting with it,
    then names containing it; case and accents aside; at most ``limit``."""
    text = " ".join(text.split())
    if not text:
        return []
    key = fold(text)
    columns = (item.c.sku, item.c.barcode, item.c.name, prices.price())
    name = sa.collate(item.c.name, "NOCASE")
    found: dict[str, dict[str, Any]] = {}

    def rows(stmt: sa.Select[Any]) -> list[dict[str, Any]]:
        # ``limit`` rows always suffice: at most len(found) of them were found before
        return [dict(r._mapping) for r in conn.execute(stmt.limit(limit))]

    def take(found_rows: list[dict[str, Any]]) -> None:
        for row in found_rows:
            if len(found) < limit:
                found.setdefault(row["sku"], row)

    priced = sa.select(*columns).select_from(prices.priced_items()).where(item.c.active)
    take(rows(priced.where(sa.or_(item.c.sku == text, item.c.barcode == text))))
    for start in dict.fromkeys((text, key)):  # indexed: as typed, and without accents
        take(rows(priced.where(name >= start, name < start + _TOP).order_by(name, item.c.sku)))
    if len(found) < limit:
        containing = rows(priced.where(name_contains(conn, text)).order_by(name, item.c.sku))
        # Names that start with the text once folded ("Crème..." for "creme") first.
        take([r for r in containing if fold(r["name"]).startswith(key)])
        take(containing)
    return list(found.values())
