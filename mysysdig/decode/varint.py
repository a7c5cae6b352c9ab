"""The module's zigzag LEB128 varints (kmod/binary.c put_varint()), shared by the binary and raw decoders."""

from __future__ import annotations

U64 = 2**64


def to_s64(v: int) -> int:
    """v wrapped to a signed 64-bit value, as C's u64 arithmetic stored into an s64 leaves it."""
    v %= U64
    return v - U64 if v >= 1 << 63 else v


def encode_varint(v: int) -> bytes:
    """One value as the module encodes it: taken as s64 (a u64 argument wraps), zigzag, then LEB128.

    The raw decoder builds binary blocks with it; tests build fixtures with it.
    """
    v = to_s64(v)
    z = ((v << 1) ^ (v >> 63)) % U64
    out = bytearray()
    while z >= 0x80:
        out.append(z & 0x7F | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)
