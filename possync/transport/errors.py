"""How engine errors map to HTTP statuses, shared by server and client."""

from __future__ import annotations

from possync.sync import errors

STATUS_BY_CODE = {
    errors.BadBatch.code: 422,
    errors.OutOfSequence.code: 409,
    errors.OutOfScope.code: 403,
    errors.Conflict.code: 409,
    errors.NotAllowed.code: 403,
    errors.Suspended.code: 503,
    errors.Busy.code: 503,
    errors.UnsupportedProtocol.code: 409,
    errors.ForeignInstallation.code: 409,
    errors.LogDiverged.code: 409,
    errors.AuthenticationFailed.code: 401,
    errors.RegistrationFailed.code: 403,
    errors.NotProvisioned.code: 409,
    errors.SyncError.code: 503,
}
