"""Errors a cashier or an administrator can act on."""


class RetailError(Exception):
    """A rule of the domain refused the operation; nothing was written."""


class FieldErrors(RetailError):
    """A record refused, with what is wrong with each field (for forms)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {why}" for field, why in errors.items()))
        self.errors = errors
