"""The command line: one module per command group, each command a thin call into
the library."""
