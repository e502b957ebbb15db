"""The store server's sync with head office, in the background of ``store serve``:
on a schedule, backing off while head office does not answer (the store's tills
keep syncing with the store meanwhile: the two links are independent)."""

from __future__ import annotations

import logging
import threading

import sqlalchemy as sa

from possync.store import upstream
from possync.sync.errors import Suspended, SyncError
from possync.sync.schedule import SyncSchedule
from possync.transport.client import Refused, Unreachable

log = logging.getLogger("possync.upstream")


class UpstreamAgent:
    def __init__(self, engine: sa.Engine, schedule: SyncSchedule) -> None:
        self.engine = engine
        self.schedule = schedule
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, name="possync-upstream", daemon=True)

    def start(self) -> UpstreamAgent:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()

    def run_once(self) -> float:
        """One sync; returns the seconds to wait before the next."""
        try:
            report = upstream.sync(self.engine)
        except upstream.SyncBusy:
            return self.schedule.after_busy()
        except Refused as exc:
            log.warning("sync with head office refused: %s", exc)
            if exc.code == Suspended.code:
                wait = float(exc.details.get("retry_after") or self.schedule.interval)
                return self.schedule.after_suspension(wait)
            return self.schedule.after_failure()
        except (Unreachable, SyncError) as exc:
            delay = self.schedule.after_failure()
            log.warning("sync with head office failed: %s; retrying in %.1fs", exc, delay)
            return delay
        log.info("head office: pushed %d, pulled %d", report.pushed, report.pulled)
        return self.schedule.after_success()

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.stop_event.wait(self.run_once())
