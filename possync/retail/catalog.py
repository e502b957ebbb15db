"""Importing the item catalog from CSV: all or nothing, with line-precise errors."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from possync.retail.errors import RetailError
from possync.retail.money import parse_amount
from possync.retail.schema import item, tax_rate

COLUMNS = ("sku", "barcode", "name", "price", "tax_code")
MAX_ERRORS = 20


class CatalogError(RetailError):
    def __init__(self, errors: list[str]) -> None:
        shown = errors[:MAX_ERRORS]
        more = f"\n... and {len(errors) - MAX_ERRORS} more" if len(errors) > MAX_ERRORS else ""
        super().__init__("catalog not imported, nothing changed:\n" + "\n".join(shown) + more)
        self.errors = errors


def parse(lines: Iterable[str], tax_codes: set[str]) -> list[dict[str, Any]]:
    """Rows ready to upsert; raises CatalogError naming every bad line."""
    reader = csv.reader(lines)
    try:
        return _parse(reader, tax_codes)
    except csv.Error as exc:  # a stray quote or carriage return, a field over csv's limit
        raise CatalogError([f"line {reader.line_num}: not CSV ({exc})"]) from None


def _parse(reader: Any, tax_codes: set[str]) -> list[dict[str, Any]]:
    header = next(reader, None)
    if header is None:
        raise CatalogError(["line 1: the file is empty; expected a header " + ",".join(COLUMNS)])
    header = [h.strip().lower() for h in header]
    if header[: len(COLUMNS)] != list(COLUMNS) or len(header) != len(COLUMNS):
        raise CatalogError(
            [f"line 1: expected the header {','.join(COLUMNS)}, got {','.join(header)}"]
        )
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for fields in reader:
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(COLUMNS):
            errors.append(f"line {line}: expected {len(COLUMNS)} fields, got {len(fields)}")
            continue
        sku, barcode, name, price_text, tax_code = (f.strip() for f in fields)
        problems = []
        if not sku or len(sku) > 32:
            problems.append("sku must be 1 to 32 characters")
        elif sku in seen:
            problems.append(f"sku {sku!r} already on line {seen[sku]}")
        if len(barcode) > 32:
            problems.append("barcode must be at most 32 characters")
        if not name or len(name) > 200:
            problems.append("name must be 1 to 200 characters")
        try:
            price = parse_amount(price_text, negative=False)
        except RetailError as exc:
            problems.append(f"price: {exc}")
            price = 0
        if tax_code not in tax_codes:
            problems.append(
                f"unknown tax code {tax_code!r} (known: {', '.join(sorted(tax_codes))})"
            )
        if problems:
            errors.append(f"line {line}: " + "; ".join(problems))
            continue
        seen[sku] = line
        rows.append(
            {
                "sku": sku,
                "barcode": barcode or None,
                "name": name,
                "price": price,
                "tax_code": tax_code,
                "active": True,
            }
        )
    if errors:
        raise CatalogError(errors)
    return rows


def import_csv(conn: sa.Connection, text: str) -> int:
    """Insert or update every item of the file, in the caller's transaction."""
    codes = set(conn.execute(sa.select(tax_rate.c.tax_code)).scalars())
    rows = parse(io.StringIO(text), codes)
    if not rows:
        return 0
    if conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    stmt = insert(item)
    stmt = stmt.on_conflict_do_update(
        index_elements=["sku"],
        set_={c: stmt.excluded[c] for c in ("barcode", "name", "price", "tax_code", "active")},
    )
    conn.execute(stmt, rows)
    return len(rows)
