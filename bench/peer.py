"""The peer figures, from the same run: PouchDB replicating to express-pouchdb
(../shared/peers/pouchdb, push at PouchDB's default 100 documents per request) and
the bare-SQLite floor behind loopback HTTP (../shared/peers/sqlite_limit.py).

The peer folder is read-only and ships without node_modules: it is copied to a
cache directory once and ``npm ci`` is run there (the npm registry, as the
folder's README says); later runs reuse the copy.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from fixtures import loadavg

LINE = re.compile(r"^(pouchdb|sqlite) (\w+) (.*)$")


def prepare(source: Path, cache: Path) -> Path:
    if not (cache / "pouchdb" / "node_modules").exists():
        if cache.exists():
            shutil.rmtree(cache)
        shutil.copytree(source, cache)
        for path in [cache, *cache.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=cache / "pouchdb", check=True)
    return cache


def _lines(cmd: list[str], cwd: Path) -> list[tuple[str, str, dict[str, str]]]:
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900, check=True)
    found = []
    for line in out.stdout.splitlines():
        m = LINE.match(line)
        if m:
            found.append((m[1], m[2], dict(p.split("=", 1) for p in m[3].split())))
    return found


def run_peers(peers: Path, n: int) -> dict[str, Any]:
    """One run of each: PouchDB's phases and the SQLite floor's, docs/s."""
    results: dict[str, Any] = {"n": n, "load_before": loadavg()}
    for system, phase, kv in _lines(["node", "bench.js", str(n)], peers / "pouchdb"):
        results[f"{system}_{phase}"] = float(kv["docs_per_s"])
    for system, phase, kv in _lines(
        [sys.executable, "sqlite_limit.py", str(n), "--mode", "rows"], peers
    ):
        results[f"{system}_{phase}"] = float(kv["docs_per_s"])
    return results
