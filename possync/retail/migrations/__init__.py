"""Schema migrations of possync databases (Alembic scripts; see schema_version.py)."""
