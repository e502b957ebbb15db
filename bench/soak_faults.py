"""Soak of the fault tests: the cut, kill and property tests run again and again
with other seeds and many more points than in CI.

    .venv/bin/python bench/soak_faults.py [--rounds 5] [--scale 10] [--examples 1000]
                                          [--backend sqlite|postgres|both]

Each round runs tests/e2e/test_cuts.py with ``POSSYNC_CUT_SCALE`` (random cut points
per message, times the CI default) and a new ``POSSYNC_CUT_SEED``,
tests/e2e/test_kills.py with a new ``POSSYNC_KILL_SEED``, and the property tests
with ``POSSYNC_PROPERTY_EXAMPLES``. Stops at the first failure and prints the seed
to run it again.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="sqlite")
    args = parser.parse_args()
    select = [] if args.backend == "both" else ["-k", args.backend]
    for n in range(args.rounds):
        seed = random.SystemRandom().randrange(1, 2**31)
        env = {
            **os.environ,
            "POSSYNC_CUT_SCALE": str(args.scale),
            "POSSYNC_CUT_SEED": str(seed),
            "POSSYNC_KILL_SEED": str(seed),
            "POSSYNC_PROPERTY_EXAMPLES": str(args.examples),
        }
        began = time.monotonic()
        for tests, extra in (
            (["tests/e2e/test_cuts.py", "tests/e2e/test_kills.py"], select),
            (["tests/property"], []),
        ):
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-s", "-x", *tests, *extra],
                cwd=ROOT,
                env=env,
                check=False,
            )
            if done.returncode != 0:
                print(f"round {n + 1}: FAILED with seed {seed}")
                return 1
        print(f"round {n + 1}: passed (seed {seed}) in {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
