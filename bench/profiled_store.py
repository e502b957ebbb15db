"""Run the store server exactly as ``possync store serve`` does, but under cProfile.

The sync API runs its database work on worker threads (``run_in_threadpool``), and
cProfile only sees the thread it was enabled on, so every new thread gets its own
profiler (through ``threading.setprofile``). When the server stops (SIGTERM, as
``StoreProcess.stop`` sends), the profiles of all threads are merged and written to
``--out`` for ``pstats``. Started by ``bench_sync.py --profile``; not meant to be run
by hand, though it can be.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import signal
import threading
import time
from typing import Any

from possync.store.server import serve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True, help="where to write the merged profile")
    args = parser.parse_args()

    profilers: list[cProfile.Profile] = []
    # POSSYNC_PROFILE_CPU=1: each thread's CPU time, not wall time, so that waits
    # (for the network, locks, fsync, other processes on a busy machine) drop out.
    timer: Any = time.thread_time if os.environ.get("POSSYNC_PROFILE_CPU") else time.perf_counter

    def profile_new_thread(*_: Any) -> None:
        # Called once, on the first event of a new thread: enable() replaces this
        # hook with the thread's own profiler.
        profiler = cProfile.Profile(timer)
        profilers.append(profiler)
        profiler.enable()

    # uvicorn stops gracefully on SIGTERM, then raises the signal again for the
    # handler that was there before it: make that one harmless, so that serve()
    # returns and the profile gets written.
    signal.signal(signal.SIGTERM, lambda *_: None)
    threading.setprofile(profile_new_thread)
    main_profiler = cProfile.Profile(timer)
    main_profiler.enable()
    try:
        serve(args.db, "127.0.0.1", args.port)
    finally:
        main_profiler.disable()
        threading.setprofile(None)  # type: ignore[arg-type]
        stats = pstats.Stats(main_profiler)
        for profiler in profilers:
            stats.add(profiler)
        stats.dump_stats(args.out)


if __name__ == "__main__":
    main()
