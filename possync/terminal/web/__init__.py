"""The cashier's screen: a small web app served by ``possync pos run`` on the
terminal itself. It reads and writes only the terminal's local database (plus the
store, for a few things that need it: a receipt sold elsewhere, Store Operations),
so it works the same with the store unreachable."""
