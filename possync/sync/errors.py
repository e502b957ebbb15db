"""Errors the engine raises; each carries a stable machine-readable code."""

from __future__ import annotations

from typing import Any


class SyncError(Exception):
    """Base class. ``code`` is stable and documented in docs/protocol.md."""

    code = "sync_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadBatch(SyncError):
    """The batch is not well formed: wrong types, unknown tables or columns."""

    code = "invalid_batch"


class UnstorableText(BadBatch):
    """Text this database cannot store (PostgreSQL: a NUL character), which another
    database (SQLite) took: refused as bad input, or quarantined by the receiver
    when it comes in a batch, so that one such row never blocks a channel."""


class OutOfSequence(SyncError):
    """The batch does not continue where the receiver stands."""

    code = "out_of_sequence"


class OutOfScope(SyncError):
    """The batch touches data the sender may not write."""

    code = "out_of_scope"


class Conflict(SyncError):
    """The batch is well formed but clashes with data the receiver holds (e.g. a
    document number already used by another record)."""

    code = "conflict"


class NotAllowed(SyncError):
    """The application's policy refuses this node now (e.g. offline use disabled)."""

    code = "not_allowed"


class Suspended(SyncError):
    """An administrator has suspended this node's sync for a while."""

    code = "sync_suspended"


class Busy(SyncError):
    """The receiver could not take the batch now (its database rolled it back again
    and again: deadlocks or serialization failures under load). Nothing of it was
    applied; the sender tries again after ``retry_after`` seconds."""

    code = "busy"


class UnsupportedProtocol(SyncError):
    """The peer speaks a sync protocol this node does not (see shapes.py): a parent
    speaks its own protocol and the one before; a child needs its parent's."""

    code = "protocol_unsupported"


class ForeignInstallation(SyncError):
    """The credentials are right, but the child's identity is bound to another
    installation: this one is a copy (or was installed again) and must not sync."""

    code = "installation_mismatch"


class LogDiverged(SyncError):
    """The child's log is behind what the parent already applied from it: it was
    restored from an older copy or started again, and its new changes would be
    taken for re-sends of old ones."""

    code = "log_diverged"


class AuthenticationFailed(SyncError):
    code = "unauthenticated"


class RegistrationFailed(SyncError):
    code = "registration_failed"


class NotProvisioned(SyncError):
    """The local node has not been set up (or set up only half-way)."""

    code = "not_provisioned"
