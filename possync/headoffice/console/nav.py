"""Head office console's menu."""

from __future__ import annotations

NAV: list[tuple[str, list[tuple[str, str]]]] = [
    ("Replication", [("Dashboard", "/console/")]),
    ("Stores", [("Add store", "/console/stores/new")]),
    ("Stock", [("On hand per store", "/console/stock")]),
]
