"""The README's main command runs the whole story and ends with a converged store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.helpers import cli

pytestmark = pytest.mark.e2e


def test_demo_sells_offline_syncs_and_prints_the_store_status(tmp_path: Path) -> None:
    out = cli("demo", "--workdir", str(tmp_path / "demo")).stdout
    assert "cannot sync while the store is down" in out
    status = json.loads(out[out.index("{\n") :])
    assert status["receipts"]["sales"] == 6
    # 100 received, each of the two terminals sold 3 SKU1, 3 SKU2 and 6 SKU3
    assert status["stock"] == {"SKU1": 94, "SKU2": 94, "SKU3": 88}
    assert [t["backlog"] for t in status["terminals"]] == [0, 0]
