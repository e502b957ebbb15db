"""The item catalog: the rules of an item, and importing a catalog CSV.

:func:`check_item` is the one validation of an item's fields, used by the console's
item form (``master_data.save_item``) and by the CSV import alike, with the same
messages. Each message names its field, so it reads the same beside a form field
and after a line number.

The import is all or nothing, with line-precise errors. It takes what spreadsheets
export: UTF-8 with or without a BOM (or UTF-16 with one), else Windows-1252 /
Latin-1; the separator ``,``, ``;`` or a tab, found from the header line; with
``;`` or a tab, prices may have a decimal comma (``1,99``). It reports what it
changed, item by item, old value -> new value.

A barcode belongs to one item: a write that would give an item a barcode another
item already has is refused, naming that item (checked inside the write
transaction; on PostgreSQL the item writers of this module take one advisory lock,
so two of them cannot both pass the check).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from possync.retail.errors import RetailError
from possync.retail.money import format_amount, parse_amount
from possync.retail.schema import item, tax_rate

COLUMNS = ("sku", "barcode", "name", "price", "tax_code")
SKU_MAX, BARCODE_MAX, NAME_MAX = 32, 32, 200
MAX_ERRORS = 20
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}
# Letters, digits, '-', '_', '.': a SKU is typed in URLs and in ``pos sell SKU:QTY``.
_SKU = re.compile(r"[\w.-]+")
# The key of the advisory lock item writers take on PostgreSQL (any fixed number).
_CATALOG_LOCK = 0x1735_0001
_BOMS = (
    (codecs.BOM_UTF8, "utf-8", "UTF-8 with BOM"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)


class CatalogError(RetailError):
    def __init__(self, errors: list[str]) -> None:
        shown = errors[:MAX_ERRORS]
        more = f"\n... and {len(errors) - MAX_ERRORS} more" if len(errors) > MAX_ERRORS else ""
        super().__init__("catalog not imported, nothing changed:\n" + "\n".join(shown) + more)
        self.errors = errors


@dataclass(frozen=True)
class ItemFields:
    """An item as typed: in the console's form or on a line of a CSV file."""

    sku: str
    barcode: str
    name: str
    price: str
    tax_code: str
    active: bool = True


def check_item(
    fields: ItemFields, tax_codes: Collection[str], *, new: bool, decimal_comma: bool = False
) -> tuple[dict[str, Any], dict[str, str]]:
    """The item's row and, by field, what is wrong with it (empty if nothing).
    The SKU's characters are checked for a new item only: items made before the
    rule keep working. ``decimal_comma``: "1,99" is read as 1.99."""
    errors: dict[str, str] = {}
    sku, barcode = fields.sku.strip(), fields.barcode.strip()
    name = unicodedata.normalize("NFC", fields.name.strip())  # "é" as one character: searched so
    if not sku or len(sku) > SKU_MAX:
        errors["sku"] = f"sku must be 1 to {SKU_MAX} characters"
    elif new and not _SKU.fullmatch(sku):
        errors["sku"] = f"sku {sku!r}: letters, digits, '-', '_' or '.' only"
    if len(barcode) > BARCODE_MAX:
        errors["barcode"] = f"barcode must be at most {BARCODE_MAX} characters"
    if not name or len(name) > NAME_MAX:
        errors["name"] = f"name must be 1 to {NAME_MAX} characters"
    price_text = fields.price.strip()
    if decimal_comma and price_text.count(",") == 1 and "." not in price_text:
        price_text = price_text.replace(",", ".")
    price = 0
    try:
        price = parse_amount(price_text, negative=False)
    except RetailError as exc:
        errors["price"] = f"price: {exc}"
    tax_code = fields.tax_code.strip()
    if tax_code not in tax_codes:
        errors["tax_code"] = (
            f"unknown tax code {tax_code!r} (known: {', '.join(sorted(tax_codes))})"
        )
    row = {
        "sku": sku,
        "barcode": barcode or None,
        "name": name,
        "price": price,
        "tax_code": tax_code,
        "active": fields.active,
    }
    return row, errors


def tax_codes_of(conn: sa.Connection) -> set[str]:
    return set(conn.execute(sa.select(tax_rate.c.tax_code)).scalars())


def lock_items(conn: sa.Connection) -> None:
    """Item writers one at a time on PostgreSQL, until the transaction ends, so a
    barcode checked free stays free until written (SQLite has one writer anyway)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_CATALOG_LOCK)))


def barcode_taken(conn: sa.Connection, barcode: str, sku: str) -> str | None:
    """The message refusing ``barcode`` for item ``sku`` if another item has it."""
    other = conn.execute(
        sa.select(item.c.sku, item.c.name)
        .where(item.c.barcode == barcode, item.c.sku != sku)
        .order_by(item.c.sku)
        .limit(1)
    ).first()
    return None if other is None else _taken(barcode, other.sku, other.name)


def _taken(barcode: str, sku: str, name: str) -> str:
    return f"barcode {barcode} is already item {sku}'s ({name})"


# -- reading a file -----------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was read in."""
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec), label
            except UnicodeDecodeError as exc:
                raise CatalogError(
                    [f"the file starts as {label} but is not (byte {exc.start + len(bom)})"]
                ) from None
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252 (Latin-1)"
    except UnicodeDecodeError:  # five bytes cp1252 leaves undefined
        return data.decode("latin-1"), "ISO-8859-1 (Latin-1)"


def sniff_separator(header_line: str) -> str:
    """The separator that splits the header line into the expected columns, else
    the most frequent one (the header check then says what it found)."""
    for separator in SEPARATORS:
        names = [h.strip().strip('"').strip().lower() for h in header_line.split(separator)]
        if names == list(COLUMNS):
            return separator
    return max(SEPARATORS, key=header_line.count)


@dataclass(frozen=True)
class CatalogFile:
    rows: list[dict[str, Any]]
    encoding: str
    separator: str


def read(
    data: bytes | str, tax_codes: set[str], stored: Mapping[str, Mapping[str, Any]]
) -> CatalogFile:
    """Decode, find the separator and parse; CatalogError names every bad line.
    ``stored``: the catalog's items by SKU, for the barcodes they hold."""
    text, encoding = decode(data) if isinstance(data, bytes) else (data, "UTF-8")
    text = text.removeprefix("\ufeff")
    separator = sniff_separator(text.split("\n", 1)[0])
    rows = parse(io.StringIO(text), tax_codes, separator=separator, stored=stored)
    return CatalogFile(rows, encoding, separator)


def parse(
    lines: Iterable[str],
    tax_codes: set[str],
    *,
    separator: str = ",",
    stored: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Rows ready to upsert; raises CatalogError naming every bad line. ``stored``:
    the catalog's items by SKU (for their barcodes, and the rules of new items)."""
    reader = csv.reader(lines, delimiter=separator)
    line_of: dict[str, int] = {}  # sku -> its line
    try:
        rows, errors = _parse(reader, tax_codes, separator, stored or {}, line_of)
    except csv.Error as exc:  # a stray quote or carriage return, a field over csv's limit
        raise CatalogError([f"line {reader.line_num}: not CSV ({exc})"]) from None
    errors += _barcode_clashes(rows, line_of, stored or {})
    if errors:
        raise CatalogError([message for _, message in sorted(errors)])
    return rows


Problems = list[tuple[int, str]]  # (line, message)


def _parse(
    reader: Any,
    tax_codes: set[str],
    separator: str,
    stored: Mapping[str, Mapping[str, Any]],
    line_of: dict[str, int],
) -> tuple[list[dict[str, Any]], Problems]:
    header = next(reader, None)
    if header is None:
        raise CatalogError(["line 1: the file is empty; expected a header " + ",".join(COLUMNS)])
    header = [h.strip().lower() for h in header]
    if header != list(COLUMNS):
        raise CatalogError(
            [
                f"line 1: expected the header {','.join(COLUMNS)} (separated by commas, "
                f"semicolons or tabs), got {','.join(header)}"
            ]
        )
    rows: list[dict[str, Any]] = []
    errors: Problems = []
    for fields in reader:
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(COLUMNS):
            errors.append((line, f"line {line}: expected {len(COLUMNS)} fields, got {len(fields)}"))
            continue
        typed = ItemFields(*fields)
        row, problems = check_item(
            typed, tax_codes, new=typed.sku.strip() not in stored, decimal_comma=separator != ","
        )
        messages = list(problems.values())
        if "sku" not in problems and row["sku"] in line_of:
            messages.insert(0, f"sku {row['sku']!r} already on line {line_of[row['sku']]}")
        if messages:
            errors.append((line, f"line {line}: " + "; ".join(messages)))
            continue
        line_of[row["sku"]] = line
        rows.append(row)
    return rows, errors


def _barcode_clashes(
    rows: list[dict[str, Any]], line_of: dict[str, int], stored: Mapping[str, Mapping[str, Any]]
) -> Problems:
    """The lines that would give an item a barcode another item has once the file
    is imported. Barcodes items already share (from before the rule) are left."""
    in_file = {row["sku"] for row in rows}
    holders: dict[str, list[tuple[str, str]]] = {}
    for sku, old in stored.items():
        if old["barcode"] and sku not in in_file:
            holders.setdefault(old["barcode"], []).append((sku, old["name"]))
    for row in rows:
        if row["barcode"]:
            holders.setdefault(row["barcode"], []).append((row["sku"], row["name"]))

    def claims(sku: str, barcode: str) -> bool:  # gives the item a barcode it lacks
        return sku in line_of and (sku not in stored or stored[sku]["barcode"] != barcode)

    errors: Problems = []
    for row in rows:
        sku, barcode = row["sku"], row["barcode"]
        if not barcode or not claims(sku, barcode):
            continue
        line = line_of[sku]
        # The item that keeps it, or the line that claimed it first, has it.
        before = [
            (0 if not claims(s, barcode) else line_of[s], s, n)
            for s, n in holders[barcode]
            if s != sku and (not claims(s, barcode) or line_of[s] < line)
        ]
        if before:
            _, other_sku, other_name = min(before)
            where = f" (line {line_of[other_sku]})" if other_sku in line_of else ""
            errors.append((line, f"line {line}: {_taken(barcode, other_sku, other_name)}{where}"))
    return errors


# -- importing ----------------------------------------------------------------------

_COMPARED = ("barcode", "name", "price", "tax_code", "active")


def _shown(column: str, value: Any) -> str:
    if column == "price":
        return format_amount(value)
    if column == "active":
        return "yes" if value else "no"
    return "(none)" if value is None else str(value)


@dataclass(frozen=True)
class ItemChange:
    sku: str
    name: str
    changes: dict[str, tuple[str, str]]  # column -> (old, new), as shown

    def describe(self) -> str:
        said = ", ".join(f"{c} {old} -> {new}" for c, (old, new) in self.changes.items())
        return f"{self.sku} ({self.name}): {said}"


@dataclass(frozen=True)
class ImportReport:
    """What an import read and what it changed."""

    encoding: str
    separator: str
    added: list[str] = field(default_factory=list)
    changed: list[ItemChange] = field(default_factory=list)
    unchanged: int = 0
    not_in_file: int = 0  # items of the catalog the file does not name: left as they were

    @property
    def imported(self) -> int:
        """Items the file holds."""
        return len(self.added) + len(self.changed) + self.unchanged

    def summary(self) -> str:
        left = f"; {self.not_in_file} items not in the file left as they were"
        return (
            f"Imported {self.imported} items (read as {self.encoding}, separated by "
            f"{SEPARATORS[self.separator]}s): {len(self.added)} added, {len(self.changed)} "
            f"changed, {self.unchanged} unchanged{left if self.not_in_file else ''}"
        )

    def details(self, most: int = 50) -> list[str]:
        """One line per changed item, then the added SKUs."""
        said = [f"changed {c.describe()}" for c in self.changed[:most]]
        if len(self.changed) > most:
            said.append(f"... and {len(self.changed) - most} more changed")
        if self.added:
            shown = ", ".join(self.added[:most])
            more = f" ... and {len(self.added) - most} more" if len(self.added) > most else ""
            said.append(f"added {shown}{more}")
        return said

    def as_dict(self) -> dict[str, Any]:
        return {
            "encoding": self.encoding,
            "separator": SEPARATORS[self.separator],
            "imported": self.imported,
            "added": self.added,
            "changed": [{"sku": c.sku, "name": c.name, "changes": c.changes} for c in self.changed],
            "unchanged": self.unchanged,
            "not_in_file": self.not_in_file,
        }


def import_catalog(conn: sa.Connection, data: bytes | str) -> ImportReport:
    """Insert or update every item of the file, in the caller's transaction, and
    report what changed. ``data``: the file's bytes (its encoding is found) or text."""
    lock_items(conn)
    stored = {r.sku: r._asdict() for r in conn.execute(sa.select(item))}
    found = read(data, tax_codes_of(conn), stored)
    added: list[str] = []
    changed: list[ItemChange] = []
    writes = []
    for row in found.rows:
        old = stored.get(row["sku"])
        if old is None:
            added.append(row["sku"])
            writes.append(row)
            continue
        changes = {c: (_shown(c, old[c]), _shown(c, row[c])) for c in _COMPARED if old[c] != row[c]}
        if changes:
            changed.append(ItemChange(row["sku"], row["name"], changes))
            writes.append(row)
    _upsert(conn, writes)
    stored_in_file = len(found.rows) - len(added)
    return ImportReport(
        found.encoding,
        found.separator,
        added,
        changed,
        unchanged=stored_in_file - len(changed),
        not_in_file=len(stored) - stored_in_file,
    )


def import_csv(conn: sa.Connection, text: str | bytes) -> int:
    """:func:`import_catalog`, for callers that need only the number of items."""
    return import_catalog(conn, text).imported


def _upsert(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    stmt = insert(item)
    stmt = stmt.on_conflict_do_update(
        index_elements=["sku"], set_={c: stmt.excluded[c] for c in _COMPARED}
    )
    conn.execute(stmt, rows)
