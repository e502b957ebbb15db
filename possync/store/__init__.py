"""The store server: the store's database behind the sync API (and, later, its
management console)."""
