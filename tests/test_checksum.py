"""The block and chunk sums against the published check values of both CRCs (the CRC catalogue's
"123456789" inputs: CRC-32 0xCBF43926, CRC-32C 0xE3069283), not against another run of our code."""

from __future__ import annotations

from mysysdig.decode.checksum import checksum


def test_version_2_sums_are_crc32c() -> None:
    assert checksum(2, b"", b"123456789") == 0xE3069283
    assert checksum(2, b"1234", b"56789") == 0xE3069283  # a chunk's head and body are one stream


def test_version_1_sums_are_crc32_without_the_final_inversion() -> None:
    assert checksum(1, b"", b"123456789") == 0xCBF43926 ^ 0xFFFFFFFF
    assert checksum(1, b"12345", b"6789") == 0xCBF43926 ^ 0xFFFFFFFF
