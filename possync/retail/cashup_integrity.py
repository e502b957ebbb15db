"""The store's rules for the cash-up rows a till pushes (integrity.py's guard calls
them): each row is its own document, of the sender's store, its amounts within
bounds and consistent, a Z report numbered from the till's own Z report series."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

from possync.retail import numbering
from possync.retail.cashup import MAX_REASON
from possync.retail.cashup_totals import IN, OUT
from possync.retail.money import MAX_AMOUNT

TABLES = {"drawer_session": "session_id", "cash_movement": "movement_id", "z_report": "z_report_id"}
MAX_TOTALS = 65_536  # characters of a Z report's figures: far more than any has
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_HASH = re.compile(r"[0-9a-f]{64}")


def key(table: str, row: dict[str, Any]) -> str | None:
    """The document a cash-up row is (itself), or None for another table."""
    column = TABLES.get(table)
    return None if column is None else f"{table}:{row.get(column)}"


def _amount(value: Any, what: str, low: int = -MAX_AMOUNT) -> str | None:
    if type(value) is not int or not low <= value <= MAX_AMOUNT:
        return f"{what} is {value!r:.30}, outside {low:,} to {MAX_AMOUNT:,}"
    return None


def problem(
    table: str,
    row: dict[str, Any],
    store_id: str | None,
    currency: str | None,
    numbered: Callable[[Any, str], bool],
) -> str | None:
    """What is wrong with a cash-up row, or None."""
    if row.get("store_id") != store_id:
        return f"a {table} row names store {row.get('store_id')!r}, not {store_id}"
    if table == "drawer_session":
        return _amount(row.get("opening_float"), "a drawer session's float", 0)
    if table == "cash_movement":
        reason = row.get("reason")
        if row.get("kind") not in (IN, OUT):
            return f"a cash movement of kind {row.get('kind')!r}: neither {IN} nor {OUT}"
        if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
            return f"a cash movement needs a reason of 1 to {MAX_REASON} characters"
        return _amount(row.get("amount"), "a cash movement's amount", 1)
    return _z_problem(row, currency, numbered)


def _z_problem(
    row: dict[str, Any], currency: str | None, numbered: Callable[[Any, str], bool]
) -> str | None:
    number = row.get("z_no")
    if not numbered(number, numbering.Z_REPORT):
        return f"{number!r:.50} is not a number of the till's Z report series"
    if row.get("currency") != currency:
        return f"Z report {number} is in {row.get('currency')!r}, not {currency}"
    for column, low in (
        ("opening_float", 0),
        ("expected_cash", -MAX_AMOUNT),
        ("counted_cash", 0),
        ("over_short", -2 * MAX_AMOUNT),
    ):
        found = _amount(row.get(column), f"Z report {number}'s {column}", low)
        if found and column != "over_short":
            return found
    if row.get("over_short") != row["counted_cash"] - row["expected_cash"]:
        return f"Z report {number}: its over/short is not counted less expected cash"
    if not isinstance(row.get("business_day"), str) or not _DAY.fullmatch(row["business_day"]):
        return f"Z report {number}: a business day of {row.get('business_day')!r:.30}"
    totals = row.get("totals")
    if not isinstance(totals, str) or len(totals) > MAX_TOTALS or not _is_object(totals):
        return f"Z report {number}: its figures are not a JSON object of at most {MAX_TOTALS:,}"
    seq, chain_hash = row.get("chain_seq"), row.get("chain_hash")
    if seq is not None and (type(seq) is not int or seq < 1):
        return f"Z report {number}: a place in the chain of {seq!r:.30}"
    for column in ("chain_hash", "chain_previous"):
        value = row.get(column)
        if value is not None and not (isinstance(value, str) and _HASH.fullmatch(value)):
            return f"Z report {number}: its {column} is not a SHA-256 in hex"
    if (seq is None) != (chain_hash is None):
        return f"Z report {number}: a place in the chain without its hash, or the reverse"
    return None


def _is_object(text: str) -> bool:
    try:
        return isinstance(orjson.loads(text), dict)
    except orjson.JSONDecodeError:
        return False
