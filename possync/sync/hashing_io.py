"""File wrappers that count and hash the bytes passing through them (backups)."""

from __future__ import annotations

import hashlib
from typing import IO


class HashingWriter:
    """Counts and hashes what gzip writes, on its way to the file."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.digest = hashlib.sha256()
        self.count = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.count += len(data)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


class HashingReader:
    """Hands gzip at most ``limit`` bytes of the file, hashing them."""

    def __init__(self, f: IO[bytes], limit: int) -> None:
        self.f = f
        self.remaining = limit
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > self.remaining:
            size = self.remaining
        data = self.f.read(size)
        self.remaining -= len(data)
        self.digest.update(data)
        return data
