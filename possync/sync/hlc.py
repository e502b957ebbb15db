"""Hybrid logical clocks, and merging rows field by field with them.

Some replicated rows are changed on several nodes (a customer's phone on one till,
its email on another, offline). Such a table names the columns that merge
(``SyncTable.merged``) and a column that carries, per merged column, the clock of
its value and the clock of the value it replaced (``SyncTable.clock_column``, JSON:
``{"phone": [clock, base], ...}``). A receiver keeps, for each column, the value
with the higher clock: edits of different columns both survive, and of one column
the later wins, the same on every node whatever order the changes arrive in.

A clock is ``<wall ms, 13 digits>-<counter, 6 digits>-<node id>``: a hybrid logical
clock, which follows the wall clock but never goes back and always moves past every
clock the node has seen, so an edit made after seeing another is always later, even
between machines whose clocks disagree. The node id breaks ties. Strings of this
form sort as the clocks do. A value without a clock (written by a release before
0.2.0) is older than any clock.

Two edits of one column are *concurrent* when neither was made on top of the other
(neither's base is the other's clock): the loser is then recorded as a conflict,
with both values, by the node that keeps them (the store).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from possync.sync import state

CLOCK = "hlc"  # sync_state key: the last clock this node made or saw
_WIDTH = 13


def _parse(clock: str) -> tuple[int, int]:
    wall, counter, _node = clock.split("-", 2)
    return int(wall), int(counter)


def _format(wall: int, counter: int, node: str) -> str:
    return f"{wall:0{_WIDTH}d}-{counter:06d}-{node}"


def tick(conn: sa.Connection, node: str, *, now_ms: int | None = None) -> str:
    """A new clock, later than every clock this node has made or seen."""
    wall_now = int(time.time() * 1000) if now_ms is None else now_ms
    last = state.get(conn, CLOCK)
    wall, counter = _parse(last) if last else (0, 0)
    if wall_now > wall:
        wall, counter = wall_now, 0
    else:
        counter += 1
    clock = _format(wall, counter, node)
    state.put(conn, CLOCK, clock)
    return clock


def observe(conn: sa.Connection, clocks: Sequence[str]) -> None:
    """Move this node's clock past clocks it received, so its next edit is later."""
    seen = [c for c in clocks if c]
    if not seen:
        return
    last = state.get(conn, CLOCK)
    newest = max(seen, key=_parse)
    if last is None or _parse(newest) > _parse(last):
        wall, counter = _parse(newest)
        state.put(conn, CLOCK, _format(wall, counter, "-"))


def stamp(
    conn: sa.Connection,
    node: str,
    before: dict[str, Any] | None,
    after: dict[str, Any],
    merged: Sequence[str],
    clock_column: str,
) -> dict[str, Any]:
    """``after`` with the clocks of the merged columns this local edit changed (all
    of them for a new row); call it before writing a row changed here."""
    lineages = dict(clocks_of(before, clock_column)) if before else {}
    now = None
    for column in merged:
        if before is not None and before.get(column) == after.get(column):
            continue
        now = now or tick(conn, node)
        lineages[column] = [now, *lineages.get(column, [])][:LINEAGE]
    return {**after, clock_column: encode(lineages)}


# Each column keeps the clocks of its value and of the values it replaced, newest
# first, up to this many: a value met again that is among them is an ancestor (an
# older version), not a concurrent edit.
LINEAGE = 16


def clocks_of(row: dict[str, Any] | None, clock_column: str) -> dict[str, list[str]]:
    raw = (row or {}).get(clock_column)
    if not raw:
        return {}
    try:
        found = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(found, dict):
        return {}
    return {
        str(k): [str(c) for c in v][:LINEAGE]
        for k, v in found.items()
        if isinstance(v, list) and v and all(isinstance(c, str) and c for c in v)
    }


def encode(lineages: dict[str, list[str]]) -> str:
    return orjson.dumps(dict(sorted(lineages.items()))).decode()


@dataclass(frozen=True)
class Conflict:
    """Concurrent edits of one column: the kept one and the one that lost."""

    column: str
    kept: Any
    kept_clock: str
    lost: Any
    lost_clock: str


def later(a: str, b: str) -> bool:
    """Whether clock ``a`` is later than ``b`` ("" is older than any clock)."""
    if not a or not b:
        return bool(a) and not b
    return (_parse(a), a) > (_parse(b), b)


def merge(
    stored: dict[str, Any] | None,
    incoming: dict[str, Any],
    merged: Sequence[str],
    clock_column: str,
) -> tuple[dict[str, Any], list[Conflict]]:
    """The row to keep when ``incoming`` meets ``stored``, and the conflicts: for
    each merged column the value with the later clock, with its lineage; a conflict
    when neither value is an ancestor of the other and they differ."""
    if stored is None:
        return incoming, []
    mine, theirs = clocks_of(stored, clock_column), clocks_of(incoming, clock_column)
    row = dict(incoming)
    lineages = dict(theirs)
    found = []
    for column in merged:
        m_line, t_line = mine.get(column, []), theirs.get(column, [])
        m_clock, t_clock = (m_line or [""])[0], (t_line or [""])[0]
        if m_clock == t_clock:
            if m_clock:  # the same version on both sides
                row[column] = stored[column]
            continue  # neither clocked (releases before 0.2.0): the one applied last
        incoming_wins = later(t_clock, m_clock)
        winner, loser = (incoming, stored) if incoming_wins else (stored, incoming)
        w_line, l_line = (t_line, m_line) if incoming_wins else (m_line, t_line)
        row[column] = winner[column]
        if w_line:
            lineages[column] = w_line
        l_clock = l_line[0] if l_line else ""
        ancestor = not l_clock or l_clock in w_line or w_line[0] in l_line
        if not ancestor and winner[column] != loser[column]:
            found.append(Conflict(column, winner[column], w_line[0], loser[column], l_clock))
    row[clock_column] = encode(lineages) if lineages else stored.get(clock_column)
    return row, found
