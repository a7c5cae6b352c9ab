"""The checksum that guards binary blocks and raw chunks, which depends on the file's format version.

Version 2 files carry CRC-32C (the module computes it with the CPU's crc32 instructions, kmod/crc.c);
version 1 files, from modules before it, carry zlib's CRC-32 without its final inversion. Both stay
readable: a record file outlives the module that wrote it.
"""

from __future__ import annotations

import zlib

import google_crc32c

FIRST_CRC32C_VERSION = 2


def checksum(version: int, head: bytes, body: bytes | memoryview) -> int:
    """The sum a version-`version` file stores for `head` followed by `body`."""
    if version >= FIRST_CRC32C_VERSION:
        return google_crc32c.extend(google_crc32c.value(head), body)
    return zlib.crc32(body, zlib.crc32(head)) ^ 0xFFFFFFFF
