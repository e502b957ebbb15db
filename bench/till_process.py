"""One till of bench/many_tills.py, in a process of its own (as a till is).

Opens its terminal directory, says it is ready (writes ``<out>.ready``), waits
for the go file, runs ``syncer.sync`` (the real push and pull of ``pos sync``)
and writes what happened to ``<out>`` as JSON: start and end on the machine's
monotonic clock (shared by all processes), the changes pushed, or the error.

    python bench/till_process.py DATA_DIR STORE_URL GO_FILE OUT_FILE
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from possync.terminal import syncer
from possync.terminal.local import Terminal


def main() -> None:
    data, url, go, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
    terminal = Terminal.open(data)
    terminal.child.pending()  # connect and warm up before the start
    Path(f"{out}.ready").write_text("")
    while not go.exists():
        time.sleep(0.001)
    result: dict[str, object] = {"start": time.monotonic()}
    try:
        report = syncer.sync(terminal, url=url, timeout=300)
        result["pushed"] = report.pushed
    except Exception as exc:  # reported, counted as an error reaching the till
        result["error"] = f"{type(exc).__name__}: {exc}"
    result["end"] = time.monotonic()
    terminal.close()
    out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
