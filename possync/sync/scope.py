"""Whether a pushed batch is the sender's to write, before anything is read from
the database: each row's owner column names the sender (or, for a relaying child,
its route places the row in the sender's subtree) and its route column is one of
the sender's route keys. What depends on stored rows is intake.child_rules'."""

from __future__ import annotations

from possync.sync.batch import Batch
from possync.sync.errors import OutOfScope
from possync.sync.peers import Peer
from possync.sync.tables import SyncSpec


def check_scope(spec: SyncSpec, peer: Peer, batch: Batch, *, relaying: bool) -> None:
    """Each change of ``batch`` is ``peer``'s to write: the first that is not is
    refused, with the batch. ``relaying``: the children write for their subtrees
    (head office above stores), which their route keys delimit."""
    # Runs for every change of every push: what each table asks is worked out
    # once per batch (its owner column, unless shared, and its route column), so
    # a change costs a few dict look-ups. Same checks, same order, as one
    # change at a time.
    plans = {
        t.name: (t.name, t.owner_column if not t.shared else None, t.route_column)
        for t in spec.tables
    }
    node, route_keys, relay = peer.node_id, peer.route_keys, relaying
    for index, change in enumerate(batch.changes):
        name, owner_column, route_column = plans[change.table]  # known: the reader
        row = change.row
        # A shared table's rows may be changed by others than their owner: the
        # owner is checked against the stored row (intake.child_rules), not here.
        if owner_column and owner_column in row:
            if not relay:
                owner = row[owner_column]
                if owner != node:
                    raise OutOfScope(
                        f"changes[{index}]: {name}.{owner_column} is {owner!r}; "
                        f"{node} may only write its own rows"
                    )
            elif row.get(route_column or "") is None:
                # A relay writes for the nodes below it, which only the route
                # tells: a row owned by a node but without a route could be anyone's.
                raise OutOfScope(
                    f"changes[{index}]: a {name} row without its "
                    f"{route_column or 'route'} cannot be placed in {node}'s subtree"
                )
        if route_column and route_column in row:
            route = row[route_column]
            if route is not None and route not in route_keys:
                raise OutOfScope(
                    f"changes[{index}]: {name}.{route_column} is {route!r}, "
                    f"outside what {node} may write ({', '.join(route_keys)})"
                )
