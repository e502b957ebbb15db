"""How long an idle HTTP connection stays open between two requests, on each side;
and the uvicorn options of the sync servers, which set it (``server_options``).

A server that closes an idle connection at the very moment its client sends the
next request on it makes that request fail ("server disconnected without sending a
response", "connection reset by peer"), and the client cannot tell whether it was
handled. uvicorn and httpx both default to 5 s, so a till whose next request came
about 5 s after its last one hit that race: under 50 tills at once, a till applying
a pulled batch of other tills' stock movements idled that long, and two of the 50
tills' syncs failed so. The rule of keep-alive: the client gives a connection up
well before the server would, so the server never closes one a client may still
reuse. A till's periodic sync comes minutes apart and opens a new connection anyway.
"""

from __future__ import annotations

from typing import Any

SERVER_SECONDS = 75  # uvicorn's timeout_keep_alive on the store and head office
CLIENT_SECONDS = 30  # httpx's keepalive_expiry on every sync client


def server_options(host: str, port: int, **extra: Any) -> dict[str, Any]:
    """uvicorn's options for a sync server (store, head office): quiet logs, and
    the keep-alive above; ``extra`` adds TLS files and the like."""
    return {
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,
        "timeout_keep_alive": SERVER_SECONDS,
        **extra,
    }
