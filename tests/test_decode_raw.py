"""The raw record decoder on files built here: ring events laid out as kmod/event.h declares them, in chunks
as kmod/binfmt.h declares them. Expected times are worked out by hand from each chunk's clock pair.
"""

from __future__ import annotations

import struct
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from test_decode_binary import HEADER_TEXT, fixture_sum, records

from mysysdig.decode.binary import FILE_HEADER, BinaryFormatError, follow_events, iter_frames
from mysysdig.decode.raw import MAGIC, chunk_layout
from mysysdig.model import Marker, ParseError, Record

CHUNK = chunk_layout("<")
REAL = 1_700_000_000_000_000_000  # wall clock minus ktime_get_ns()
CLOCK = dict(stamp=1_000_000, ns=5_000_000_000, mult=3 << 31)  # 1.5 ns per tick


def ns(stamp: int) -> int:
    return CLOCK["ns"] + (stamp - CLOCK["stamp"]) * 3 // 2


def event(
    nr: int,
    enter: int,
    exit_: int,
    ret: int,
    args: tuple[int, ...] = (),
    captures: tuple[bytes, ...] = (),
    tid: int = 7,
    pid: int = 5,
    comm: bytes = b"nginx",
    flags: int = 0,
) -> bytes:
    """struct sc_event and its struct sc_capture records, each padded to 8 bytes."""
    caps = b""
    for i, data in enumerate(captures):
        cap = struct.pack("<BBHI", 1 + i, 0, len(data), 0) + data
        caps += cap + bytes(-len(cap) % 8)
    body = struct.pack("<HIBBxxiiQQq", flags, nr, len(args), len(captures), tid, pid, enter, exit_, ret)
    body += comm.ljust(16, b"\0") + struct.pack(f"<{len(args)}Q", *(a % 2**64 for a in args)) + caps
    return struct.pack("<IH", 6 + len(body), 2) + body


def pad(length: int) -> bytes:
    return struct.pack("<IH", length, 1) + bytes(length - 6)


def chunk(
    data: bytes,
    cpu: int = 0,
    part: int = 0,
    parts: int = 1,
    seq: int = 0,
    dropped: int = 0,
    kind: int = 1,
    header_pad: int = 0,
    version: int = 2,
) -> bytes:
    """header_pad zeros after the header, as the module writes them to align the ring's blocks in the file.
    The sum (fixture_sum) covers the header, its crc 0, and the data."""
    fields = [
        b"SRAW",
        0,
        CHUNK.size + header_pad,
        len(data),
        kind,
        1,
        cpu,
        part,
        parts,
        seq,
        0,
        dropped,
        CLOCK["stamp"],
        CLOCK["ns"],
        CLOCK["mult"],
        REAL,
    ]
    data = bytes(header_pad) + data
    summed = CHUNK.pack(*fields) + data
    fields[1] = fixture_sum(summed, version)
    return CHUNK.pack(*fields) + data


def file_bytes(*chunks: bytes, version: int = 2) -> bytes:
    text = HEADER_TEXT.encode()
    header = FILE_HEADER.build(
        {"byte_order": 0x01020304, "version": version, "text_len": len(text), "reserved": 0}
    )
    return MAGIC + header[8:] + text + b"".join(chunks)


# one drain over two CPUs: CPU 1's read completed before CPU 0's openat, so it comes first
READ = event(0, enter=1_000_100, exit_=1_000_300, ret=5, args=(3, 0x7FFD0000, 4096), captures=(b"GET /",))
OPENAT = event(
    257,
    enter=1_000_200,
    exit_=1_000_400,
    ret=-2,
    args=(-100, 0x1000, 0x41, 0o640),
    captures=(b"/etc/x",),
    tid=8,
    comm=b"worker",
)
MMAP = event(9, enter=999_000, exit_=1_000_500, ret=0x7F0000001000, args=(0, 8192, 3, 0x22, -1, 0))
EXIT = event(231, enter=1_000_600, exit_=1_000_600, ret=0, flags=4)  # exit_group: no return, no latency


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "rec.raw"
    path.write_bytes(
        file_bytes(
            chunk(OPENAT + MMAP, cpu=0, part=0, parts=2, seq=0),
            chunk(READ + pad(40), cpu=1, part=1, parts=2, seq=0, dropped=12),
            chunk(EXIT, cpu=1, seq=1),
            chunk(b"", kind=2, dropped=1, seq=2),
        )
    )
    return path


def test_a_drain_is_merged_by_exit_time_and_stamps_become_wall_clock(good: Path) -> None:
    read, openat, mmap, drop, exit_, cap = records(good)
    assert (read.syscall, read.pid, read.tid, read.comm, read.res) == ("read", 5, 7, "nginx", 5)
    assert read.ts == REAL + ns(1_000_100) and read.lat_ns == 300
    assert read.args == {"fd": 3, "count": 4096, "data": "GET /"}
    assert (openat.tid, openat.comm, openat.errno, openat.lat_ns) == (8, "worker", "ENOENT", 300)
    assert openat.args == {
        "dfd": "AT_FDCWD",
        "filename": "/etc/x",
        "flags": "O_WRONLY|O_CREAT",
        "mode": 0o640,
    }
    # a stamp before the chunk's pair converts backwards; a result beyond 32 bits stays whole
    assert mmap.ts == REAL + CLOCK["ns"] - 1500 and mmap.lat_ns == 2250 and mmap.res == 0x7F0000001000
    assert isinstance(drop, Marker) and (drop.drop, drop.reason, drop.cpu, drop.ts) == (
        12,
        "ring",
        1,
        REAL + CLOCK["ns"],
    )
    assert (exit_.syscall, exit_.res, exit_.lat_ns) == ("unknown", None, None)
    assert isinstance(cap, Marker) and (cap.drop, cap.reason) == (1, "cap")


def test_padded_headers_read_as_plain_ones(good: Path, tmp_path: Path) -> None:
    """With direct I/O the module pads a chunk's header with zeros (header_len > 88, up to a block) so
    that the ring's first whole block falls on one in the file; the CRC covers the padding."""
    padded = tmp_path / "padded.raw"
    padded.write_bytes(
        file_bytes(
            chunk(OPENAT + MMAP, cpu=0, part=0, parts=2, seq=0, header_pad=424),
            chunk(READ + pad(40), cpu=1, part=1, parts=2, seq=0, dropped=12, header_pad=8),
            chunk(EXIT, cpu=1, seq=1, header_pad=511),
            chunk(b"", kind=2, dropped=1, seq=2),
        )
    )
    errors: list[ParseError] = []
    at_any_offset = [[replace(e, line_no=0) for e in records(path, errors)] for path in (padded, good)]
    assert at_any_offset[0] == at_any_offset[1] and len(at_any_offset[0]) == 6 and not errors


def test_frames_read_raw_files_too(good: Path) -> None:
    frame = pd.concat(list(iter_frames(good)))
    assert list(frame["syscall"]) == ["read", "openat", "mmap", "unknown"]
    assert list(frame["comm"]) == ["nginx", "worker", "nginx", "nginx"]
    assert list(frame["pid"]) == [5, 5, 5, 5]


def test_damaged_chunk_is_skipped_and_reported(good: Path, tmp_path: Path) -> None:
    raw = bytearray(good.read_bytes())
    first = raw.index(b"SRAW")
    raw[first + CHUNK.size + 20] ^= 0xFF  # inside the first chunk's events: its CRC no longer matches
    bad = tmp_path / "bad.raw"
    bad.write_bytes(bytes(raw))
    errors: list[ParseError] = []
    events = records(bad, errors)
    assert [e.syscall for e in events if isinstance(e, Record)] == ["read", "unknown"]
    assert len(errors) == 1 and "damaged chunk" in errors[0].reason and errors[0].line_no == first


def test_event_that_overruns_its_chunk_is_reported(tmp_path: Path) -> None:
    broken = bytearray(READ)
    broken[0:4] = struct.pack("<I", 4096)
    path = tmp_path / "overrun.raw"
    path.write_bytes(file_bytes(chunk(OPENAT + bytes(broken))))
    errors: list[ParseError] = []
    assert [e.syscall for e in records(path, errors)] == ["openat"]
    assert len(errors) == 1 and "event length 4096" in errors[0].reason


def test_truncated_last_chunk_is_reported(good: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.raw"
    whole = good.read_bytes()
    cut.write_bytes(whole[: whole.rindex(b"SRAW") - 10])
    errors: list[ParseError] = []
    events = records(cut, errors)
    assert [e.syscall for e in events if isinstance(e, Record)] == ["read", "openat", "mmap"]
    assert len(errors) == 1 and "truncated chunk" in errors[0].reason


def test_newer_version_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "v3.raw"
    data = bytearray(file_bytes(chunk(READ)))
    data[12:16] = struct.pack("<I", 3)
    path.write_bytes(bytes(data))
    with pytest.raises(BinaryFormatError, match="raw record file version 3 is newer"):
        records(path)


def test_version_1_files_with_crc32_chunks_still_decode(tmp_path: Path) -> None:
    """Raw files from modules before version 2 carry CRC-32 sums; a chunk whose sum is the other
    version's is damage."""
    old = tmp_path / "v1.raw"
    old.write_bytes(file_bytes(chunk(READ, version=1), chunk(MMAP, seq=1, version=1), version=1))
    errors: list[ParseError] = []
    assert [e.syscall for e in records(old, errors) if isinstance(e, Record)] == ["read", "mmap"]
    assert not errors
    mixed = tmp_path / "mixed.raw"
    mixed.write_bytes(file_bytes(chunk(READ), chunk(MMAP, seq=1, version=1)))
    assert [e.syscall for e in records(mixed, errors) if isinstance(e, Record)] == ["read"]
    assert len(errors) == 1 and "damaged chunk" in errors[0].reason


def test_follow_waits_for_the_drains_last_chunk(tmp_path: Path) -> None:
    """A drain's records come out merged, so following waits until its last chunk is in the file."""
    path = tmp_path / "live.raw"
    first = chunk(OPENAT, cpu=0, part=0, parts=2)
    path.write_bytes(file_bytes(first))
    seen: list[list[str]] = []
    appended = False

    def idle() -> None:
        nonlocal appended
        seen.append([])
        if not appended:
            with open(path, "ab") as f:
                f.write(chunk(READ, cpu=1, part=1, parts=2))
            appended = True

    got: list[str] = []
    for e in follow_events(path, from_start=True, poll_s=0, stop=lambda: len(seen) > 3, on_idle=idle):
        if isinstance(e, Record):
            got.append(e.syscall)
            seen.append([e.syscall])
    assert got == ["read", "openat"]
    assert seen[0] == []  # the first idle came before either record
