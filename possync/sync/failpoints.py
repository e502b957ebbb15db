"""Fault injection for the crash tests: ``POSSYNC_FAILPOINT=<name>`` kills the
process with SIGKILL when it reaches the failpoint of that name, as a power cut
would there. Without the variable (always, in production) :func:`hit` does
nothing but read it.

The failpoints, each placed between two durable steps:

``push-before-ack``
    terminal/syncer.py: the store has answered a push (it committed the batch) and
    the terminal has not yet recorded the acknowledgement.
``pull-before-apply``
    terminal/syncer.py: a pulled batch has arrived, not yet applied on the terminal.
``pull-after-apply``
    terminal/syncer.py: a pulled batch is applied and committed on the terminal;
    the next pull, which acknowledges it to the store, has not been sent.
``load-after-start``
    terminal/provision.py: the initial load's start (cursor, baselines) is
    committed, no chunk yet.
``load-before-chunk``
    terminal/provision.py: a chunk of the initial load has arrived, not yet
    committed.
``load-after-chunk``
    terminal/provision.py: a chunk of the initial load is committed.
``import-before-rename``
    terminal/restore.py: the imported database is complete in its temporary
    directory, not yet moved into place.
``import-after-rename``
    terminal/restore.py: the imported database is in place, the rename not yet
    made durable.
``purge-before``
    terminal/purge.py (``pos purge``) and store/purge.py (``store purge``): the
    purge is about to start.

``POSSYNC_FAILPOINT_SKIP=N`` lets the named failpoint pass N times first (e.g. the
third chunk rather than the first).
"""

from __future__ import annotations

import os
import signal

ENV = "POSSYNC_FAILPOINT"
SKIP_ENV = "POSSYNC_FAILPOINT_SKIP"

NAMES = (
    "push-before-ack",
    "pull-before-apply",
    "pull-after-apply",
    "load-after-start",
    "load-before-chunk",
    "load-after-chunk",
    "import-before-rename",
    "import-after-rename",
    "purge-before",
)

_passed: dict[str, int] = {}


def hit(name: str) -> None:
    """SIGKILL this process if ``POSSYNC_FAILPOINT`` names this failpoint (after it
    has let it pass ``POSSYNC_FAILPOINT_SKIP`` times)."""
    if os.environ.get(ENV) != name:
        return
    passed = _passed.get(name, 0)
    if passed < int(os.environ.get(SKIP_ENV) or 0):
        _passed[name] = passed + 1
        return
    os.kill(os.getpid(), signal.SIGKILL)
