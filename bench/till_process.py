"""One till of bench/many_tills.py, in a process of its own (as a till is).

Opens its terminal directory, says it is ready (writes ``<out>.ready``), waits
for the go file, runs ``syncer.sync`` (the real push and pull of ``pos sync``)
and writes what happened to ``<out>`` as JSON: start, end and the last push
acknowledgement on the machine's monotonic clock (shared by all processes), the
changes pushed and pulled, or the error.

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

    def progress(stage: str, _count: int) -> None:
        if stage == "push":  # the last push acknowledgement: where the pull starts
            result["pushed_at"] = time.monotonic()

    try:
        report = syncer.sync(terminal, url=url, timeout=300, progress=progress)
        result["pushed"] = report.pushed
        result["pulled"] = report.pulled
    except Exception as exc:  # reported, counted as an error reaching the till
        result["error"] = f"{type(exc).__name__}: {exc}"
    result["end"] = time.monotonic()
    terminal.close()
    out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
