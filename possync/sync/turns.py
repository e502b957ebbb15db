"""Whose turn it is to apply: pushes of one child handled side by side in one process.

A child may send its next batch before the previous one is acknowledged
(``transport/exchange.py``), so that the parent reads and checks batch N+1 while it
applies N. The two requests race: N+1 may reach the apply first, and would then be
refused as out of sequence (its ``after`` is N's ``through``, which the parent has
not applied yet). So a batch that finds a gap before it waits here while another push
of the same child is still being handled in this process, and tries again once that
one is done: in the usual case the gap is then closed.

This is an optimisation and never what makes a batch exactly-once: the cursor check
in the database transaction is. A batch whose predecessor went to another worker
process, or never came, is refused as out of sequence as before, and the child sends
it again once its predecessor is acknowledged.

Pushes of one child are also applied one at a time here (a lock per child), as the
database would serialise them anyway (the child's row is locked for the apply): on
SQLite a second writer would otherwise wait in SQLite's busy handler, which sleeps in
steps of up to 100 ms instead of waking when the first commits.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

WAIT_SECONDS = 30.0  # at most, for a predecessor still being handled here


class Turns:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._handling: Counter[str] = Counter()  # pushes of each child in this process
        self._finished: Counter[str] = Counter()  # how many of them have ended
        self._applying: dict[str, threading.Lock] = {}

    @contextmanager
    def handling(self, node: str) -> Iterator[None]:
        """Around the whole handling of one push of ``node``, from before it is read."""
        with self._changed:
            self._handling[node] += 1
        try:
            yield
        finally:
            with self._changed:
                self._handling[node] -= 1
                if not self._handling[node]:
                    del self._handling[node]
                self._finished[node] += 1
                self._changed.notify_all()

    @contextmanager
    def applying(self, node: str) -> Iterator[None]:
        """One push of ``node`` applied at a time in this process."""
        with self._changed:
            lock = self._applying.setdefault(node, threading.Lock())
        with lock:
            yield

    def finished(self, node: str) -> int:
        """A mark to pass to :meth:`wait_for_another`, taken before trying."""
        with self._changed:
            return self._finished[node]

    def wait_for_another(self, node: str, mark: int, deadline: float) -> bool:
        """After finding a gap before a batch: wait until another push of ``node``
        handled here ends (since ``mark``). False, at once, if no other is being
        handled here, or when the deadline (``time.monotonic``) passes."""
        with self._changed:
            while self._finished[node] == mark:
                remaining = deadline - time.monotonic()
                if self._handling[node] <= 1 or remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True
