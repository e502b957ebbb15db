"""The segmented encryption of backup payloads: what goes in comes out, and a payload
cut, reordered, extended or altered anywhere does not open."""

from __future__ import annotations

import io
import os

import pytest

from possync.sync.backup_cipher import (
    SEGMENT,
    TAG,
    DecryptingReader,
    EncryptingWriter,
    SegmentError,
)

KEY = bytes(range(32))


class Source:
    """What the backup reader hands the decryptor: bytes, and how many are left."""

    def __init__(self, data: bytes) -> None:
        self.f = io.BytesIO(data)
        self.remaining = len(data)

    def read(self, size: int = -1) -> bytes:
        data = self.f.read(self.remaining if size < 0 else min(size, self.remaining))
        self.remaining -= len(data)
        return data


def seal(plain: bytes, pieces: int = 7) -> bytes:
    sink = io.BytesIO()
    writer = EncryptingWriter(sink, KEY)
    step = max(1, len(plain) // pieces)
    for at in range(0, len(plain), step):  # written in uneven pieces, as gzip does
        writer.write(plain[at : at + step])
    writer.flush()  # never cuts a segment short
    writer.finish()
    return sink.getvalue()


def opened(sealed: bytes, key: bytes = KEY) -> bytes:
    reader = DecryptingReader(Source(sealed), key)
    return b"".join(iter(lambda: reader.read(10_000), b""))


@pytest.mark.parametrize("size", [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT, 200_003])
def test_what_is_sealed_opens_whole(size: int) -> None:
    plain = os.urandom(size)
    sealed = seal(plain)
    segments = max(1, -(-size // SEGMENT))
    assert len(sealed) == size + segments * TAG
    # The plaintext does not show through. Only for 16 bytes or more: a byte or
    # two of random plaintext turns up in random ciphertext by chance (1 in 15 for
    # one byte against 17 bytes sealed), which says nothing about the cipher.
    if size >= 16:
        assert plain[:64] not in sealed
    assert opened(sealed) == plain


def test_a_payload_cut_at_a_segment_boundary_does_not_open() -> None:
    sealed = seal(os.urandom(3 * SEGMENT + 10))
    for segments in (1, 2, 3):
        with pytest.raises(SegmentError, match=f"segment {segments - 1} does not open"):
            opened(sealed[: segments * (SEGMENT + TAG)])


def test_a_payload_cut_inside_a_segment_or_altered_does_not_open() -> None:
    sealed = seal(os.urandom(2 * SEGMENT + 10))
    with pytest.raises(SegmentError, match="segment 2"):
        opened(sealed[:-1])
    with pytest.raises(SegmentError, match="segment 0 does not open"):
        opened(sealed[: SEGMENT // 2])
    flipped = bytearray(sealed)
    flipped[SEGMENT + TAG + 5] ^= 1
    with pytest.raises(SegmentError, match="segment 1 does not open"):
        opened(bytes(flipped))
    with pytest.raises(SegmentError, match="segment 2"):
        opened(sealed + b"more")


def test_segments_cannot_be_reordered_or_repeated_nor_opened_with_another_key() -> None:
    sealed = seal(os.urandom(3 * SEGMENT + 10))
    one, two = sealed[: SEGMENT + TAG], sealed[SEGMENT + TAG : 2 * (SEGMENT + TAG)]
    rest = sealed[2 * (SEGMENT + TAG) :]
    with pytest.raises(SegmentError, match="segment 0 does not open"):
        opened(two + one + rest)
    with pytest.raises(SegmentError, match="segment 1 does not open"):
        opened(one + one + rest)
    with pytest.raises(SegmentError, match="segment 0 does not open"):
        opened(sealed, key=bytes(32))
