"""How write-ahead log records are framed, in a log file and in a log object alike.

Each record::

    magic/version u8 | payload length u32 | lsn u64 | crc32 u32 | payload

little-endian, where the CRC (zlib.crc32) covers the payload and then the first 13 header bytes,
so a flipped length or LSN is caught as well as a flipped payload byte.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import BinaryIO

MAGIC = 0xA1  # high nibble: "WAL", low nibble: framing version 1
HEADER = struct.Struct("<BIQI")
_PREFIX = struct.Struct("<BIQ")  # the part of the header the CRC covers
MAX_RECORD = 2**32 - 1


class BadRecord(Exception):
    """A record at ``offset`` fails framing; a torn tail if it is at the end of the last log file."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"{reason} at byte {offset}")
        self.offset = offset


def frame(lsn: int, payload_crc: int, length: int) -> bytes:
    """The header of a record whose payload has CRC ``payload_crc`` and ``length`` bytes."""
    prefix = _PREFIX.pack(MAGIC, length, lsn)
    return prefix + (zlib.crc32(prefix, payload_crc) & 0xFFFFFFFF).to_bytes(4, "little")


def read_records(f: BinaryIO, size: int, first_lsn: int, *, skip_to: int = 0) -> Iterator[tuple[int, bytes]]:
    """Yield (lsn, payload) from ``size`` bytes of framed records; raise BadRecord at the first bad frame.

    Payloads of records with lsn <= skip_to are not returned (b"") but still CRC-checked,
    because an unchecked length could send us past a torn frame.
    """
    offset, expected = 0, first_lsn
    while offset < size:
        header = f.read(HEADER.size)
        if len(header) < HEADER.size:
            raise BadRecord(offset, "truncated header")
        magic, length, lsn, crc = HEADER.unpack(header)
        if magic != MAGIC:
            raise BadRecord(offset, f"bad magic {magic:#x}")
        if length > size - offset - HEADER.size:
            raise BadRecord(offset, "truncated payload")
        payload = f.read(length)
        if zlib.crc32(header[: _PREFIX.size], zlib.crc32(payload)) & 0xFFFFFFFF != crc:
            raise BadRecord(offset, "checksum mismatch")
        if lsn != expected:
            raise BadRecord(offset, f"lsn {lsn} where {expected} was expected")
        yield lsn, (payload if lsn > skip_to else b"")
        offset += HEADER.size + length
        expected += 1
