"""The console's menu, named as store staff know it from their back-office."""

from __future__ import annotations

NAV: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Replication",
        [
            ("Dashboard", "/console/"),
            ("Quarantine", "/console/quarantine"),
            ("Conflicts", "/console/quarantine/conflicts"),
            ("Fiscal chain", "/console/chain"),
        ],
    ),
    (
        "Retail Configuration",
        [
            ("POS", "/console/terminals"),
            ("Items", "/console/items"),
            ("Customers", "/console/customers"),
            ("Cashiers", "/console/cashiers"),
            ("Payment methods", "/console/payment-methods"),
            ("Tax rates", "/console/tax-rates"),
            ("Discount reasons", "/console/discount-reasons"),
        ],
    ),
    (
        "Transactions",
        [
            ("Receipts", "/console/receipts"),
            ("Stock", "/console/stock"),
            ("Till events", "/console/till-events"),
            ("Z reports", "/console/z-reports"),
            ("Day summary", "/console/day-summary"),
        ],
    ),
    (
        "Administration",
        [("IT Administration > Enable Offline Store", "/console/admin/offline-store")],
    ),
]
