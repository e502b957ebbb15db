"""The replication engine.

It moves rows of declared tables between nodes of a tree (head office -> store ->
terminal) with exactly-once semantics. It knows tables, rows, nodes, cursors and
batches; it knows nothing of receipts, items or HTTP.
"""
