"""The background sync agent of ``possync pos run``.

It syncs on a schedule, backs off while the store is unreachable, never makes a
sale wait (sales only need the local database), and stops cleanly: a stop request
is honoured between batches, and every batch is atomic on both sides.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from possync.retail.errors import RetailError
from possync.sync.errors import Suspended, SyncError
from possync.sync.schedule import SyncSchedule
from possync.terminal import syncer
from possync.terminal.local import SyncBusy, Terminal
from possync.transport.client import Refused, Unreachable

log = logging.getLogger("possync.agent")


@dataclass
class AgentEvent:
    ok: bool
    message: str
    next_in: float


class SyncAgent:
    def __init__(
        self,
        terminal: Terminal,
        schedule: SyncSchedule,
        *,
        on_event: Callable[[AgentEvent], None] | None = None,
        maintenance: Callable[[], None] | None = None,
    ) -> None:
        self.terminal = terminal
        self.schedule = schedule
        self.stop_event = threading.Event()
        self.on_event = on_event or (lambda _e: None)
        self.maintenance = maintenance  # e.g. the daily purge, run between syncs

    def stop(self) -> None:
        self.stop_event.set()

    def run_once(self) -> AgentEvent:
        try:
            report = syncer.sync(self.terminal, should_stop=self.stop_event.is_set)
        except SyncBusy:
            return AgentEvent(True, "a manual sync is running", self.schedule.after_busy())
        except Refused as exc:
            if exc.code == Suspended.code:
                wait = float(exc.details.get("retry_after") or self.schedule.interval)
                return AgentEvent(False, str(exc), self.schedule.after_suspension(wait))
            return AgentEvent(False, str(exc), self.schedule.after_failure())
        except (Unreachable, SyncError) as exc:
            return AgentEvent(False, str(exc), self.schedule.after_failure())
        return AgentEvent(
            True, f"pushed {report.pushed}, pulled {report.pulled}", self.schedule.after_success()
        )

    def run(self) -> None:
        """Sync until stopped."""
        while not self.stop_event.is_set():
            event = self.run_once()
            if event.ok:
                log.info("sync: %s; next in %.0fs", event.message, event.next_in)
            else:
                log.warning("sync failed: %s; retrying in %.1fs", event.message, event.next_in)
            self.on_event(event)
            if self.maintenance is not None and not self.stop_event.is_set():
                try:
                    self.maintenance()
                except (RetailError, SyncError) as exc:
                    log.warning("maintenance failed: %s", exc)
            self.stop_event.wait(event.next_in)
