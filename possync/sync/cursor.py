"""A position in a node's change log."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True, slots=True)
class Cursor:
    """The sequence number of the last change a reader has taken from a change log.

    Sequence numbers are assigned by the node that owns the log, strictly increase
    in the order changes become visible there, and never depend on a clock.
    ``Cursor(0)`` means "nothing yet".
    """

    seq: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.seq, bool) or not isinstance(self.seq, int) or self.seq < 0:
            raise ValueError(f"a cursor is a non-negative integer, not {self.seq!r}")

    @classmethod
    def parse(cls, text: str) -> Cursor:
        try:
            return cls(int(text, 10))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"not a cursor: {text!r}") from exc

    @property
    def is_zero(self) -> bool:
        return self.seq == 0

    def __str__(self) -> str:
        return str(self.seq)


ZERO = Cursor(0)
