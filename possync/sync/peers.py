"""The nodes this node syncs with: registration, authentication and cursors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa

from possync.sync import credentials
from possync.sync.clock import utc_now
from possync.sync.errors import AuthenticationFailed, RegistrationFailed
from possync.sync.schema import sync_peer

PARENT = "parent"
CHILD = "child"
CODE_LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class Peer:
    node_id: str
    relation: str
    route_keys: tuple[str, ...]
    enabled: bool
    inbound_seq: int
    outbound_seq: int
    url: str | None = None
    secret: str | None = None
    registered: bool = False
    reported_head: int = 0
    sent_through: int = 0
    suspended_until: str | None = None
    installation_id: str | None = None

    @property
    def unsent(self) -> int:
        """Changes the child still had to send when it last reported (a lower bound
        of zero if it never reported)."""
        return max(self.reported_head - self.inbound_seq, 0)


def _peer(row: Any) -> Peer:
    return Peer(
        node_id=row.node_id,
        relation=row.relation,
        route_keys=tuple(orjson.loads(row.route_keys or "[]")),
        enabled=bool(row.enabled),
        inbound_seq=row.inbound_seq,
        outbound_seq=row.outbound_seq,
        url=row.url,
        secret=row.secret,
        registered=row.secret_hash is not None or row.secret is not None,
        reported_head=row.reported_head or 0,
        sent_through=row.sent_through or 0,
        suspended_until=row.suspended_until,
        installation_id=row.installation_id,
    )


def get(conn: sa.Connection, node_id: str) -> Peer | None:
    row = conn.execute(sa.select(sync_peer).where(sync_peer.c.node_id == node_id)).first()
    return _peer(row) if row else None


def children(conn: sa.Connection) -> list[Peer]:
    rows = conn.execute(
        sa.select(sync_peer).where(sync_peer.c.relation == CHILD).order_by(sync_peer.c.node_id)
    )
    return [_peer(r) for r in rows]


def parent(conn: sa.Connection, *, lock: bool = False) -> Peer | None:
    """``lock``: the row stays locked until the end of the transaction (PostgreSQL;
    SQLite's write transaction holds the whole database), so that its cursors
    cannot move meanwhile (see lock_inbound_seq)."""
    stmt = sa.select(sync_peer).where(sync_peer.c.relation == PARENT)
    row = conn.execute(stmt.with_for_update() if lock else stmt).first()
    return _peer(row) if row else None


def activity(conn: sa.Connection) -> dict[str, dict[str, Any]]:
    """Timestamps and last error of every peer, for status pages."""
    cols = sync_peer.c
    rows = conn.execute(
        sa.select(
            cols.node_id,
            cols.registered_at,
            cols.last_contact_at,
            cols.last_push_at,
            cols.last_pull_at,
            cols.last_error,
            cols.last_error_at,
            cols.last_sync_at,
            cols.reported_mode,
            cols.suspended_until,
            cols.installation_id,
            cols.refused_installation,
            cols.refused_installation_at,
        )
    )
    return {r.node_id: dict(r._mapping) for r in rows}


def add_child(conn: sa.Connection, node_id: str, route_keys: list[str]) -> str:
    """Create (or re-provision) a child; returns its one-time registration code.

    Re-provisioning revokes the old secret: the child must register again, and its
    log starts afresh, so our inbound cursor for it goes back to zero.
    """
    code = credentials.new_registration_code()
    values = {
        "relation": CHILD,
        "route_keys": orjson.dumps(route_keys).decode(),
        "code_hash": credentials.digest(credentials.normalise_code(code)),
        "code_expires_at": (datetime.now(UTC) + CODE_LIFETIME).isoformat(),
        "secret_hash": None,
        "enabled": True,
        "inbound_seq": 0,
        "outbound_seq": 0,
        "reported_head": 0,
        "sent_through": 0,
        "installation_id": None,  # the next installation to sync is the child
    }
    if get(conn, node_id) is None:
        conn.execute(sync_peer.insert().values(node_id=node_id, **values))
    else:
        conn.execute(sync_peer.update().where(sync_peer.c.node_id == node_id).values(**values))
    return code


def registration_refused(node_id: str) -> RegistrationFailed:
    """The one answer to an unknown node and to a wrong code alike, so that trying
    codes does not tell which node ids exist."""
    return RegistrationFailed(f"no pending registration for {node_id} with that code")


def code_matches(conn: sa.Connection, node_id: str, code: str) -> bool:
    """Whether ``code`` is ``node_id``'s pending registration code. Reads only, and
    hashes the code whether or not the node exists (the same work either way)."""
    row = conn.execute(
        sa.select(sync_peer.c.code_hash).where(
            sync_peer.c.node_id == node_id, sync_peer.c.relation == CHILD
        )
    ).first()
    expected = row.code_hash if row is not None and row.code_hash else _NO_CODE
    return credentials.matches(credentials.normalise_code(code), expected) and row is not None


_NO_CODE = "0" * 64  # a digest no code has in practice, compared when there is none


def register(conn: sa.Connection, node_id: str, code: str) -> tuple[Peer, str]:
    """Exchange a one-time code for a secret.

    The code stays good until the child first uses its secret (its first pull or
    push), so a child whose registration answer was lost can simply register again
    (which revokes the secret it never received); after that, never again.
    """
    row = conn.execute(
        sa.select(sync_peer)
        .where(sync_peer.c.node_id == node_id, sync_peer.c.relation == CHILD)
        .with_for_update()
    ).first()
    refused = registration_refused(node_id)
    if row is None or not credentials.matches(credentials.normalise_code(code), row.code_hash):
        raise refused
    if row.code_expires_at and datetime.fromisoformat(row.code_expires_at) < datetime.now(UTC):
        raise RegistrationFailed(
            f"the registration code for {node_id} has expired; ask for a new one"
        )
    secret = credentials.new_secret()
    now = utc_now()
    conn.execute(
        sync_peer.update()
        .where(sync_peer.c.node_id == node_id)
        .values(
            secret_hash=credentials.digest(secret),
            inbound_seq=0,
            outbound_seq=0,
            sent_through=0,
            registered_at=now,
            last_contact_at=now,
            installation_id=None,
        )
    )
    peer = get(conn, node_id)
    assert peer is not None
    return peer, secret


def authenticate(conn: sa.Connection, node_id: str, secret: str) -> Peer:
    row = conn.execute(
        sa.select(sync_peer).where(sync_peer.c.node_id == node_id, sync_peer.c.relation == CHILD)
    ).first()
    if row is None or not credentials.matches(secret, row.secret_hash):
        raise AuthenticationFailed("unknown node or wrong secret")
    peer = _peer(row)
    if not peer.enabled:
        raise AuthenticationFailed(f"node {node_id} is disabled on this server")
    return peer


def set_parent(
    conn: sa.Connection, node_id: str, url: str, secret: str, route_keys: list[str]
) -> None:
    conn.execute(sync_peer.delete().where(sync_peer.c.relation == PARENT))
    conn.execute(
        sync_peer.insert().values(
            node_id=node_id,
            relation=PARENT,
            url=url,
            secret=secret,
            route_keys=orjson.dumps(route_keys).decode(),
            enabled=True,
            inbound_seq=0,
            outbound_seq=0,
            registered_at=utc_now(),
        )
    )


def set_url(conn: sa.Connection, node_id: str, url: str) -> None:
    conn.execute(sync_peer.update().where(sync_peer.c.node_id == node_id).values(url=url))


def lock_inbound_seq(conn: sa.Connection, node_id: str) -> Peer:
    """The node's row, its inbound cursor locked until the end of the transaction
    (PostgreSQL), so two batches from one node can never be applied side by side;
    the whole row, so that the caller reads it once."""
    row = conn.execute(
        sa.select(sync_peer).where(sync_peer.c.node_id == node_id).with_for_update()
    ).one()
    return _peer(row)


# The child has used its secret: its registration code is spent.
_CODE_USED: dict[str, Any] = {"code_hash": None, "code_expires_at": None}


def set_inbound_seq(conn: sa.Connection, node_id: str, seq: int, *, pushed: bool) -> None:
    values: dict[str, Any] = {"inbound_seq": seq}
    if pushed:
        now = utc_now()
        values.update(last_contact_at=now, last_push_at=now, last_error=None, **_CODE_USED)
    conn.execute(sync_peer.update().where(sync_peer.c.node_id == node_id).values(**values))


def set_outbound_seq(
    conn: sa.Connection,
    node_id: str,
    seq: int,
    *,
    pulled: bool,
    reported_head: int | None = None,
    sent_through: int | None = None,
    caught_up: bool = False,
    mode: str | None = None,
) -> None:
    """Record what a child has acknowledged (``seq``) and, for a pull, what it was
    sent, whether that left it fully in step, and what it reported."""
    values: dict[str, Any] = {"outbound_seq": seq}
    if reported_head is not None:
        values["reported_head"] = reported_head
    if sent_through is not None:
        values["sent_through"] = sent_through
    if mode is not None:
        values["reported_mode"] = mode
    if pulled:
        now = utc_now()
        # A pull answered is a sync that works again: an earlier error is history.
        values.update(last_contact_at=now, last_pull_at=now, last_error=None, **_CODE_USED)
        if caught_up:
            values["last_sync_at"] = now
    conn.execute(sync_peer.update().where(sync_peer.c.node_id == node_id).values(**values))


def suspend(conn: sa.Connection, node_id: str, until: str | None) -> None:
    """Suspend a child's sync until ``until`` (ISO-8601 UTC), or resume it (None)."""
    done = conn.execute(
        sync_peer.update()
        .where(sync_peer.c.node_id == node_id, sync_peer.c.relation == CHILD)
        .values(suspended_until=until)
    )
    if done.rowcount != 1:
        raise KeyError(node_id)


def record_error(conn: sa.Connection, node_id: str, message: str) -> None:
    now = utc_now()
    conn.execute(
        sync_peer.update()
        .where(sync_peer.c.node_id == node_id)
        .values(last_error=message[:500], last_error_at=now, last_contact_at=now)
    )


def record_success(conn: sa.Connection, node_id: str) -> None:
    conn.execute(
        sync_peer.update()
        .where(sync_peer.c.node_id == node_id)
        .values(last_error=None, last_contact_at=utc_now())
    )


def bind_installation(conn: sa.Connection, node_id: str, installation: str) -> bool:
    """Bind a child to the installation that syncs first; False if another did."""
    bound = conn.execute(
        sync_peer.update()
        .where(sync_peer.c.node_id == node_id, sync_peer.c.installation_id.is_(None))
        .values(installation_id=installation)
    ).rowcount
    return bool(bound) or get(conn, node_id).installation_id == installation  # type: ignore[union-attr]


def refuse_installation(conn: sa.Connection, node_id: str, installation: str, why: str) -> None:
    now = utc_now()
    conn.execute(
        sync_peer.update()
        .where(sync_peer.c.node_id == node_id)
        .values(
            refused_installation=installation,
            refused_installation_at=now,
            last_error=why,
            last_error_at=now,
        )
    )
