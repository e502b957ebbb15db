"""Errors a cashier or an administrator can act on."""


class RetailError(Exception):
    """A rule of the domain refused the operation; nothing was written."""
