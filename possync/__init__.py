"""possync: offline-first point-of-sale data synchronisation.

Layers (imports point one way: apps -> retail -> sync):

* ``possync.sync``      the replication engine; knows nothing of retail.
* ``possync.retail``    the retail domain: schema, rules, what syncs where.
* ``possync.transport`` the sync protocol over HTTP (server routes, client).
* ``possync.store``     the store server application.
* ``possync.terminal``  the POS terminal application.
* ``possync.cli``       the command line.
"""

__version__ = "0.3.0"
