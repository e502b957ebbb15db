"""The encryption of a backup's payload: ChaCha20-Poly1305 over segments, streamed.

The (compressed) payload is cut into segments of SEGMENT bytes; each is sealed on
its own, so neither side ever holds more than one segment, whatever the file's
size. A segment's nonce is its number (11 bytes, big-endian) and a last byte that
is 1 for the final segment only, 0 otherwise. Hence

* segments cannot be reordered, dropped or repeated (their numbers are sealed in);
* a file cut at a segment boundary is refused: its new last segment was not sealed
  as final;
* nothing can follow the final one.

The key is unique to the file (derived from its import code and random salt), so
counter nonces never repeat under one key. Each sealed segment is SEGMENT + 16
bytes (the tag), except the final one, which holds 1 to SEGMENT bytes (none only
for an empty payload).
"""

from __future__ import annotations

from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

NAME = "chacha20-poly1305"
SEGMENT = 64 * 1024
TAG = 16
_MAX_SEGMENTS = 2**88  # 11 bytes of counter; never reached


class SegmentError(ValueError):
    """A sealed segment does not open: altered, cut, or another key."""


def _nonce(number: int, final: bool) -> bytes:
    if number >= _MAX_SEGMENTS:
        raise SegmentError("too many segments")
    return number.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


class _Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...


class _Source(Protocol):
    @property
    def remaining(self) -> int: ...

    def read(self, size: int = -1, /) -> bytes: ...


class EncryptingWriter:
    """A file-like sink: seals what is written into segments and writes them to
    ``out``. ``finish`` seals the final segment; ``flush`` never cuts one short."""

    def __init__(self, out: _Sink, key: bytes) -> None:
        self.out = out
        self.aead = ChaCha20Poly1305(key)
        self.buffer = bytearray()
        self.number = 0
        self.finished = False

    def write(self, data: bytes) -> int:
        self.buffer += data
        # Keep at least one byte back for the final segment, which only finish()
        # knows is final.
        while len(self.buffer) > SEGMENT:
            self._seal(bytes(self.buffer[:SEGMENT]), final=False)
            del self.buffer[:SEGMENT]
        return len(data)

    def flush(self) -> None:
        self.out.flush()

    def finish(self) -> None:
        if not self.finished:
            self._seal(bytes(self.buffer), final=True)
            self.buffer.clear()
            self.finished = True

    def _seal(self, plain: bytes, *, final: bool) -> None:
        self.out.write(self.aead.encrypt(_nonce(self.number, final), plain, None))
        self.number += 1


class DecryptingReader:
    """A file-like source: reads sealed segments from ``source`` (which says how
    many bytes it has ``remaining``), opens them, and hands out the plain bytes."""

    def __init__(self, source: _Source, key: bytes) -> None:
        self.source = source
        self.aead = ChaCha20Poly1305(key)
        self.plain = b""
        self.at = 0
        self.number = 0
        self.done = False

    def read(self, size: int = -1) -> bytes:
        while self.at >= len(self.plain) and not self.done:
            self._open_next()
        if size < 0:
            size = len(self.plain) - self.at
        out = self.plain[self.at : self.at + size]
        self.at += len(out)
        return out

    def _open_next(self) -> None:
        sealed = self.source.read(SEGMENT + TAG)
        final = self.source.remaining == 0
        if len(sealed) < TAG or (not final and len(sealed) < SEGMENT + TAG):
            raise SegmentError(f"segment {self.number} is cut short")
        try:
            self.plain = self.aead.decrypt(_nonce(self.number, final), sealed, None)
        except InvalidTag:
            raise SegmentError(f"segment {self.number} does not open") from None
        self.at = 0
        self.number += 1
        self.done = final
