"""What the status bar says, in a cashier's words: the working mode and the link to
the store are two different facts, shown apart.

Offline is an offline-enabled till's normal mode, not a fault: the mode is a neutral
label. The link (can the till reach the store, since when not, when was the last
sync) is the coloured signal, and red only when sales are refused because of it (an
online till that cannot reach the store and does not fall back to offline).

Error texts from the network layer ("[Errno 111] Connection refused") never reach
the cashier: :func:`plain_error` turns them into a sentence; the screen keeps the
original in a ``title`` attribute (and the agent's log has it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from possync.terminal import modes

UP, DOWN, REFUSED, UNKNOWN = "up", "down", "refused", "unknown"

# "cannot reach URL: <what httpx said>" (transport/client.py); the messages about a
# TLS certificate that follow the same prefix are sentences already and stay.
_CANNOT_REACH = re.compile(r"cannot reach (?P<url>\w+://[^\s]+?): (?P<raw>(?!its TLS)[^)]*)")
_ERRNO = re.compile(r"\[Errno -?\d+\]\s*")
# A refusal by the store: "<message> (<code>, HTTP <status>)" (transport/client.py)
_REFUSAL = re.compile(r"\s*\((?P<code>[a-z_]+), HTTP (?P<status>\d{3})\)\s*$")
# an instant as the store writes it ("suspended ... until 2026-12-01T10:40:00.000Z")
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}[0-9:.]*(?:Z|[+-]\d{2}:\d{2})")

MODE_WORDS = {
    modes.OFFLINE: (
        "Offline mode",
        "sales are kept on this till and sent to the store automatically",
    ),
    modes.ONLINE: ("Online mode", "each sale is confirmed by the store"),
}


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def why_unreachable(raw: str, url: str = "") -> str:
    """A sentence for what the network layer said when the store could not be reached."""
    where = f" at {_host(url)}" if url else ""
    text = raw.lower()
    if "errno 111" in text or "connection refused" in text or "connection attempts failed" in text:
        return f"nothing answers{where}: the store server may be stopped"
    if "timed out" in text or "timeout" in text:
        return f"the store{where} did not answer in time"
    if "name or service not known" in text or "errno -2" in text or "errno -3" in text:
        return "the store's name is not known on this network"
    if "unreachable" in text or "no route" in text or "errno 101" in text:
        return "no network path to the store: check the cable or Wi-Fi"
    if "truncated" in text or "invalid answer" in text or "no acknowledgement" in text:
        return "the connection to the store broke off"
    return "the network connection to the store failed"


def plain_error(message: str | None) -> str:
    """``message`` without the network layer's jargon: "cannot reach http://x:
    [Errno 111] Connection refused" -> "cannot reach the store: nothing answers at
    x: the store server may be stopped"; a store's refusal loses its code."""
    if not message:
        return ""

    def reach(found: re.Match[str]) -> str:
        return f"cannot reach the store: {why_unreachable(found['raw'], found['url'])}"

    text = _CANNOT_REACH.sub(reach, message)
    text = _REFUSAL.sub("", text)
    text = _INSTANT.sub(lambda found: clock(found[0].replace("Z", "+00:00")), text)
    return _ERRNO.sub("", text).strip()


def clock(iso: str | None, zone: str | None = None) -> str:
    """HH:MM in ``zone`` (the store's time zone, as on the till's receipts; this
    machine's without one); the date too when it is not today there."""
    if not iso:
        return ""
    where = ZoneInfo(zone) if zone else None
    try:
        at = datetime.fromisoformat(iso).astimezone(where)
    except ValueError:
        return iso
    if at.date() == datetime.now(where).astimezone(where).date():
        return at.strftime("%H:%M")
    return at.strftime("%d %b %H:%M")


@dataclass(frozen=True)
class Link:
    """The link to the store as of the last sync attempt (the bar does not probe)."""

    state: str  # UP / DOWN / REFUSED / UNKNOWN
    text: str  # "Store reachable", "Store not reachable since 10:40", ...
    reason: str  # a plain sentence, or ""
    detail: str  # the error as recorded, for the title attribute; or ""
    last_sync: str  # "10:42", or "never"
    alarm: bool  # sales are refused because of it: the only red on the bar


def _is_unreachable(error: str) -> bool:
    return (
        error.startswith("cannot reach")
        or _CANNOT_REACH.search(error) is not None
        or any(
            words in error for words in ("truncated or invalid answer", "has no acknowledgement")
        )
    )


def describe(facts: dict[str, Any]) -> Link:
    """``facts``: :func:`possync.terminal.status.terminal_status`'s, plus
    ``failing_since`` (the first failed sync since the last one that worked)."""
    error: str = facts.get("last_error") or ""
    zone = facts.get("store_time_zone")
    last_sync = clock(facts.get("last_sync_at"), zone) or "never"
    since = clock(facts.get("failing_since") or facts.get("last_error_at"), zone)
    online = facts.get("mode") == modes.ONLINE
    refused_sales = online and not facts.get("falls_back_to_offline")
    if not error:
        if facts.get("last_sync_at"):
            return Link(UP, "Store reachable", "", "", last_sync, False)
        return Link(UNKNOWN, "Store not contacted yet", "", "", last_sync, False)
    if _is_unreachable(error):
        found = _CANNOT_REACH.search(error)
        reason = why_unreachable(found["raw"], found["url"]) if found else plain_error(error)
        return Link(
            DOWN, f"Store not reachable since {since}", reason, error, last_sync, refused_sales
        )
    reason = plain_error(error)
    return Link(
        REFUSED, f"Store refuses to sync since {since}", reason, error, last_sync, refused_sales
    )
