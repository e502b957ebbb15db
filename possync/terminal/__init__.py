"""The POS terminal: a local SQLite database that keeps selling offline, and the
agent that syncs it with the store."""
