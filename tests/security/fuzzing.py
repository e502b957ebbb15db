"""What the fuzz tests share: how many examples to run, a snapshot of a database
to prove that a refused request wrote nothing, and a tally of the cases run.

CI runs a bounded number of examples per target (``DEFAULT_EXAMPLES``); a long run
sets ``POSSYNC_FUZZ_EXAMPLES`` (bench/fuzz_all.py does), and ``POSSYNC_FUZZ_REPORT``
names a JSON-lines file that each target appends its tally to.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

DEFAULT_EXAMPLES = 100

# Bookkeeping a refusal is allowed to write: the sync API remembers the last error
# of a terminal and when it was last heard from (shown on the dashboard), and the
# guessing limits count failed attempts (a password, a PIN, a code) in guess_limit.
EVERY_COLUMN = "*"
BOOKKEEPING = {
    "sync_peer": {"last_error", "last_error_at", "last_contact_at"},
    "guess_limit": {EVERY_COLUMN},
}


def examples(default: int = DEFAULT_EXAMPLES) -> int:
    """Examples per target: ``default`` (scaled by POSSYNC_FUZZ_EXAMPLES / 100)."""
    scale = os.environ.get("POSSYNC_FUZZ_EXAMPLES")
    return max(1, default * int(scale) // 100) if scale else default


Snapshot = dict[str, list[str]]


class Tables:
    """The tables of a database, reflected once, to snapshot before and after each
    request cheaply: on PostgreSQL one round trip of a digest per table."""

    def __init__(self, engine: sa.Engine, ignore: dict[str, set[str]] | None = None) -> None:
        ignore = BOOKKEEPING if ignore is None else ignore
        self.engine = engine
        metadata = sa.MetaData()
        metadata.reflect(engine)
        self._columns = {
            name: [c for c in table.columns if c.name not in ignore.get(name, set())]
            for name, table in metadata.tables.items()
            if EVERY_COLUMN not in ignore.get(name, set())
        }
        self._digests: sa.Select[Any] | None = None
        if engine.dialect.name == "postgresql":
            parts = []
            for name, columns in self._columns.items():
                text = sa.func.concat_ws("|", *[sa.cast(c, sa.Text) for c in columns])
                rows = sa.func.string_agg(text, sa.literal_column("'\n' ORDER BY 1"))
                parts.append(sa.select(sa.literal(name), sa.func.md5(sa.func.coalesce(rows, ""))))
            self._digests = sa.union_all(*parts)  # type: ignore[assignment]

    def snapshot(self) -> Snapshot:
        """Every row of every table, as sorted text (or its digest), less the
        ignored columns."""
        with self.engine.connect() as conn:
            if self._digests is not None:
                return {name: [digest] for name, digest in conn.execute(self._digests)}
            return {
                name: sorted(repr(tuple(r)) for r in conn.execute(sa.select(*columns)))
                for name, columns in self._columns.items()
            }


def differences(before: Snapshot, after: Snapshot) -> list[str]:
    """The tables whose rows changed, and how many rows were added and removed."""
    changed = []
    for name in sorted(before.keys() | after.keys()):
        old, new = set(before.get(name, [])), set(after.get(name, []))
        if old != new:
            changed.append(f"{name}: +{len(new - old)} -{len(old - new)}")
    return changed


@dataclass
class Tally:
    """Cases run against one target, by answer."""

    target: str
    cases: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)

    def count(self, status: int, what: str = "") -> None:
        self.cases += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status >= 500:
            self.server_errors.append(f"{status} {what}"[:300])

    def report(self) -> str:
        """A line for the test's output, also appended to POSSYNC_FUZZ_REPORT."""
        line = (
            f"fuzz {self.target}: {self.cases} cases, {len(self.server_errors)} x 5xx, "
            f"statuses {dict(sorted(self.statuses.items()))}"
        )
        path = os.environ.get("POSSYNC_FUZZ_REPORT")
        if path:
            record = {
                "target": self.target,
                "cases": self.cases,
                "server_errors": len(self.server_errors),
                "statuses": self.statuses,
            }
            with open(path, "a") as out:
                out.write(json.dumps(record) + "\n")
        print(line)
        return line
