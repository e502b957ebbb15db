"""A long fuzz run: the fuzz tests of tests/security with many more examples than
in CI, then the cases run and the 5xx found, per target.

    .venv/bin/python bench/fuzz_all.py [--scale 1000] [--backend sqlite|postgres|both]

``--scale`` is a percentage of each target's CI examples (``POSSYNC_FUZZ_EXAMPLES``,
tests/security/fuzzing.py): 1000 runs ten times as many. Hypothesis draws new
examples each run (no example database), so runs add up. Exits non-zero when a
test fails; the failing example is printed by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = [
    "tests/security/test_fuzz_sync_api.py",
    "tests/security/test_fuzz_ho_api.py",
    "tests/security/test_fuzz_till.py",
    "tests/security/test_fuzz_console.py",
    "tests/security/test_fuzz_batches.py",
    "tests/security/test_fuzz_backup.py",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=1000)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    select = (
        []
        if args.backend == "both"
        else ["-k", f"{args.backend} or not (sync or console or ho_api)"]
    )
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "fuzz.jsonl"
        env = {
            **os.environ,
            "POSSYNC_FUZZ_EXAMPLES": str(args.scale),
            "POSSYNC_FUZZ_REPORT": str(report),
        }
        started = time.perf_counter()
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                *TESTS,
                *select,
                "-q",
                "-n",
                "0",
                "-p",
                "no:cacheprovider",
                "--timeout=0",  # CI's 300 s per test is for CI's examples
            ],
            cwd=ROOT,
            env=env,
        )
        took = time.perf_counter() - started
        records = (
            [json.loads(line) for line in report.read_text().splitlines()]
            if report.exists()
            else []
        )
    print(f"\n{'target':40} {'cases':>8} {'5xx':>5}")
    for r in records:
        print(f"{r['target']:40} {r['cases']:>8} {r['server_errors']:>5}")
    total = sum(r["cases"] for r in records)
    errors = sum(r["server_errors"] for r in records)
    print(f"{'all':40} {total:>8} {errors:>5}   in {took:.0f} s")
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
