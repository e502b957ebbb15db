"""Finding an item by name, over catalogs of tens of thousands of items, without
regard to case or accents: "creme" finds "Crème", "CRÈME" and "Creme" alike.

At the till, names that *start* with the text come first, from an index on the
name without case (``item_name_nocase``, created on the terminal's own database by
:func:`install`; it is local and never replicated). Names that merely *contain*
the text fill the rest of the page: that is a scan of the table, a few
milliseconds for 50,000 items (measured in ``bench/bench_scan.py``), stopped as soon
as a page is full. An exact SKU or barcode comes first of all.

Accents without a schema change (:func:`name_contains`, also the console's search):
the text searched for is folded (accents off, lower case: :func:`fold`), then each
of its letters is matched by any form a name may hold: "e" by "e", "E", "é", "È"...
(every letter of the Latin blocks that folds to it). SQLite matches them with a
``GLOB`` of character classes, after a ``LIKE`` that keeps the names that could
match ("cr_m_" for "creme") and is far cheaper per name; PostgreSQL with a regular
expression of the same classes. No database function or extension is needed, and
the locale of the database does not matter. Names are compared as written composed
(NFC), as the catalog's rules store them. Measured on 50,000 names, half of them
accented, on the busy 2-core test machine: a search finding a few names 1 to 15 ms
on SQLite (it was 1 to 25), 10 to 45 ms on PostgreSQL (as before); the worst, a
text of letters that all have accented forms and that no name holds ("zzz"),
40 to 80 ms on SQLite (it was 10 to 20).
"""

from __future__ import annotations

import unicodedata
from typing import Any

import sqlalchemy as sa

from possync.retail import prices
from possync.retail.schema import item, stock_level, store

PAGE = 20
_TOP = "\U0010ffff"  # sorts after every character: "abc" <= name < "abc" + _TOP is a prefix
# Latin-1, Latin Extended-A and B: the letters with accents European languages
# write. Latin Extended Additional (Vietnamese) adds its forms of those letters, not
# of others (its dotted consonants would take every letter out of _loose's pattern).
_LATIN = range(0xC0, 0x250)
_LATIN_ADDITIONAL = range(0x1E00, 0x1F00)


def fold(text: str) -> str:
    """``text`` as searches compare it: accents off, lower case ("Crème" -> "creme")."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _variants() -> dict[str, set[str]]:
    """Each letter other Latin letters fold to, and those letters ("e": "éÉèÈ...")."""
    table: dict[str, set[str]] = {}
    for block, more in ((_LATIN, True), (_LATIN_ADDITIONAL, False)):
        for letter in map(chr, block):
            folded = fold(letter)
            if len(folded) == 1 and folded != letter and (more or folded in table):
                table.setdefault(folded, set()).add(letter)
    return table


_VARIANTS = _variants()


def _forms(c: str) -> str:
    """Every form of the folded character ``c`` a name may hold, as a class."""
    upper = c.upper()
    forms = {c, *(upper if len(upper) == 1 else ""), *_VARIANTS.get(c, ())}
    return "[" + "".join(sorted(forms)) + "]"


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _loose(key: str) -> str:
    """A LIKE pattern every name holding ``key`` (folded) in any form matches, and
    few others: '_' for a letter that has other forms than its ASCII cases."""
    varied = (c.isalpha() and (c in _VARIANTS or not c.isascii()) for c in key)
    return "".join("_" if v else escape_like(c) for c, v in zip(key, varied, strict=True))


def _glob(key: str) -> str:
    special = {"*": "[*]", "?": "[?]", "[": "[[]"}
    return "".join(_forms(c) if c.isalpha() else special.get(c, c) for c in key)


def _regex(key: str) -> str:
    return "".join(_forms(c) if c.isalpha() else c if c.isalnum() else "\\" + c for c in key)


def name_contains(conn: sa.Connection, text: str) -> sa.ColumnElement[bool]:
    """The item's name contains ``text``, whatever the case and accents."""
    key = fold(" ".join(text.split()))
    name = item.c.name
    if conn.dialect.name != "sqlite":
        return name.op("~")(_regex(key))
    # In this order: SQLite keeps it, and a GLOB of classes costs ten LIKEs.
    loose = name.like(f"%{_loose(key)}%", escape="\\")
    return sa.and_(loose, name.op("GLOB")(f"*{_glob(key)}*"))


def install(conn: sa.Connection) -> None:
    conn.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS item_name_nocase ON item (name COLLATE NOCASE)"
    )


def _on_hand(conn: sa.Connection, store_id: str | None) -> sa.ColumnElement[Any]:
    """Each found item's stock in ``store_id`` (by default the database's only store,
    as on a till), as the column ``on_hand``: 0 for an item with no movement yet,
    NULL where no single store is known. One primary-key look-up per item shown."""
    if store_id is None:
        stores = conn.execute(sa.select(store.c.store_id).limit(2)).scalars().all()
        store_id = stores[0] if len(stores) == 1 else None
    if store_id is None:
        return sa.null().label("on_hand")
    level = (
        sa.select(stock_level.c.on_hand)
        .where(stock_level.c.store_id == store_id, stock_level.c.sku == item.c.sku)
        .scalar_subquery()
    )
    return sa.func.coalesce(level, 0).label("on_hand")


def search(
    conn: sa.Connection, text: str, limit: int = PAGE, *, store_id: str | None = None
) -> list[dict[str, Any]]:
    """Sellable items matching ``text``: exact code, then names starting with it,
    then names containing it; case and accents aside; at most ``limit``. Each with
    its ``on_hand`` in ``store_id`` (see :func:`_on_hand`)."""
    text = " ".join(text.split())
    if not text:
        return []
    key = fold(text)
    columns = (item.c.sku, item.c.barcode, item.c.name, prices.price(), _on_hand(conn, store_id))
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
