"""The binary record decoder on files built here from the same layout declarations the reader uses.

Expected values are written out by hand from what each record encodes, not taken from the decoder.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import google_crc32c
import numpy as np
import pandas as pd
import pytest

from mysysdig.decode.binary import (
    BLOCK_HEADER,
    FILE_HEADER,
    HEAD,
    BinaryFormatError,
    BinaryReader,
    encode_varint,
    follow_events,
    iter_events,
    iter_frames,
)
from mysysdig.model import Header, Marker, ParseError, Record

HEADER_TEXT = "\n".join(
    [
        "# mysysdig record v1 arch=x86_64 compat=ia32 release=6.1.0-test snaplen=64",
        "#sym open O_RDONLY=0x0 O_WRONLY=0x1 O_CREAT=0x40",
        "#names 64 0=read 3=close 9=mmap 257=openat",
        "#names 32 3=read",
        "#desc 64 0 fd:FD buf:BUF_RET count:ULONG",
        "#desc 64 3 fd:FD",
        "#desc 64 9 addr:PTR len:ULONG prot:FLAGS:prot flags:FLAGS:mmap fd:FD off:HEX",
        "#desc 64 257 dfd:DIRFD filename:STR flags:FLAGS:open mode:OCT",
        "#render open O_RDONLY O_RDONLY=0x0/0x3 O_WRONLY=0x1/0x3 O_RDWR=0x2/0x3 O_CREAT=0x40/0x40",
        "#render prot PROT_NONE PROT_READ=0x1/0x1 PROT_WRITE=0x2/0x2",
        "#render mmap - MAP_SHARED=0x1/0xf MAP_PRIVATE=0x2/0xf MAP_ANONYMOUS=0x20/0x20",
        "#render af - AF_UNIX=0x1/0x1 AF_INET=0x2/0x2 AF_INET6=0xa/0xa",
        "",
    ]
)


varint = encode_varint


def capture(arg: int, data: bytes, flags: int = 0) -> bytes:
    return bytes([arg, flags]) + len(data).to_bytes(2, "little") + data


def head(**fields: int) -> np.ndarray:
    h = np.zeros(1, dtype=HEAD)
    for k, v in fields.items():
        h[k] = v
    return h


def fixture_sum(data: bytes, version: int) -> int:
    """What a version-`version` file stores as a block's or chunk's sum, computed here with the CRC
    libraries directly rather than with the reader's mysysdig.decode.checksum: CRC-32C from version 2,
    zlib's CRC-32 uninverted before."""
    return google_crc32c.value(data) if version >= 2 else zlib.crc32(data) ^ 0xFFFFFFFF


def block(records: list[tuple[np.ndarray, bytes]], version: int = 2) -> bytes:
    """A block whose sum is its version's (fixture_sum)."""
    heads = np.concatenate([h for h, _ in records])
    heads["var_len"] = [len(v) for _, v in records]
    body = heads.tobytes() + b"".join(v for _, v in records)
    crc = fixture_sum(body, version)
    return (
        BLOCK_HEADER.build({"count": len(records), "var_bytes": len(body) - len(heads.tobytes()), "crc": crc})
        + body
    )


def file_bytes(*blocks: bytes, version: int = 2, text: str = HEADER_TEXT) -> bytes:
    raw = text.encode()
    header = FILE_HEADER.build(
        {"byte_order": 0x01020304, "version": version, "text_len": len(raw), "reserved": 0}
    )
    return header + raw + b"".join(blocks)


TS = 1_700_000_000_000_000_000
THREAD = (head(ts=TS, tid=7, res=5, type=2), b"nginx")  # pid in res
READ = (
    head(ts=TS + 10, lat=250, res=5, tid=7, nr=0, type=1, nargs=3, ncap=1),
    varint(3) + varint(0x7FFD0000) + varint(4096) + capture(1, b"GET /"),
)
MMAP = (  # result beyond 32 bits: the wide-result flag and a varint before the arguments
    head(ts=TS + 20, lat=99, tid=7, nr=9, type=1, flags=32, nargs=6),
    varint(0x7F0000001000) + b"".join(varint(v) for v in (0, 8192, 3, 0x22, -1, 0)),
)
OPEN_FAIL = (
    head(ts=TS + 30, lat=7, res=-2, tid=7, nr=257, type=1, nargs=4, ncap=1),
    b"".join(varint(v) for v in (-100, 0x1000, 0x41, 0o640)) + capture(1, b"/etc/x"),
)
EXIT = (head(ts=TS + 40, tid=7, nr=231, type=1, flags=4), b"")  # no return: no res, no lat
DROP = (head(ts=TS + 50, res=12, tid=1, nr=1, type=3), b"")


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "rec.bin"
    path.write_bytes(file_bytes(block([THREAD, READ, MMAP]), block([OPEN_FAIL, EXIT, DROP])))
    return path


def records(path: Path, errors: list[ParseError] | None = None) -> list[Record | Marker]:
    events = iter_events(path, errors.append if errors is not None else None)
    return [e for e in events if isinstance(e, (Record, Marker))]


def test_header_comes_first_as_in_text_files(good: Path) -> None:
    header = next(iter_events(good))
    assert isinstance(header, Header)
    assert (header.arch, header.compat, header.release, header.snaplen) == (
        "x86_64",
        "ia32",
        "6.1.0-test",
        64,
    )
    assert header.symbols == {"O_RDONLY": 0, "O_WRONLY": 1, "O_CREAT": 0x40}


def test_records_decode_like_text_records(good: Path) -> None:
    events = records(good)
    read, mmap, openat, exit_, drop = events
    assert (read.syscall, read.pid, read.tid, read.comm, read.ts, read.lat_ns, read.res) == (
        "read",
        5,
        7,
        "nginx",
        TS + 10,
        250,
        5,
    )
    assert read.args == {"fd": 3, "count": 4096, "data": "GET /"}
    assert mmap.res == 0x7F0000001000
    assert mmap.args == {
        "addr": None,
        "len": 8192,
        "prot": "PROT_READ|PROT_WRITE",
        "flags": "MAP_PRIVATE|MAP_ANONYMOUS",
        "fd": -1,
        "off": 0,
    }
    assert openat.args == {
        "dfd": "AT_FDCWD",
        "filename": "/etc/x",
        "flags": "O_WRONLY|O_CREAT",
        "mode": 0o640,
    }
    assert openat.res == -2 and openat.errno == "ENOENT"
    assert (exit_.syscall, exit_.res, exit_.lat_ns) == ("unknown", None, None)  # 231 is not in #names here
    assert isinstance(drop, Marker) and (drop.drop, drop.reason, drop.cpu) == (12, "ring", 1)


def test_frames_from_heads_only(good: Path) -> None:
    frame = pd.concat(list(iter_frames(good)))
    assert list(frame["syscall"]) == ["read", "mmap", "openat", "unknown"]
    assert list(frame["comm"]) == ["nginx"] * 4
    assert frame["res"].tolist()[:3] == [5, 0x7F0000001000, -2]
    assert frame["lat_ns"].isna().tolist() == [False, False, False, True]
    assert frame["res"].iloc[3] is pd.NA


def test_reader_hands_out_markers_headers_and_selected_records(good: Path) -> None:
    markers: list[Marker] = []
    headers: list[object] = []
    reader = BinaryReader(on_marker=markers.append, on_header=headers.append, select=frozenset({"openat"}))
    frames = list(reader.frames(good))
    assert sum(len(f) for f in frames) == 4
    assert [(m.drop, m.reason) for m in markers] == [(12, "ring")]
    assert [h.arch for h in headers] == ["x86_64"] and headers[0].symbols["O_CREAT"] == 0x40
    [openat] = reader.take_selected()
    assert openat.args["filename"] == "/etc/x" and reader.take_selected() == []


def test_damaged_block_is_skipped_and_reported(good: Path, tmp_path: Path) -> None:
    raw = bytearray(good.read_bytes())
    first = raw.index(b"SBLK")
    raw[first + 16 + 5] ^= 0xFF  # inside the first block's heads: its CRC no longer matches
    bad = tmp_path / "bad.bin"
    bad.write_bytes(bytes(raw))
    errors: list[ParseError] = []
    events = records(bad, errors)
    assert [e.syscall for e in events if isinstance(e, Record)] == ["openat", "unknown"]
    assert len(errors) == 1 and "damaged block" in errors[0].reason and errors[0].line_no == first


def test_truncated_last_block_is_reported(good: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.bin"
    cut.write_bytes(good.read_bytes()[:-10])
    errors: list[ParseError] = []
    events = records(cut, errors)
    assert [e.syscall for e in events if isinstance(e, Record)] == ["read", "mmap"]
    assert len(errors) == 1 and "truncated block" in errors[0].reason


def test_newer_version_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "v3.bin"
    path.write_bytes(file_bytes(block([READ]), version=3))
    with pytest.raises(BinaryFormatError, match="version 3 is newer"):
        records(path)


def test_version_1_files_with_crc32_blocks_still_decode(tmp_path: Path) -> None:
    """Modules before version 2 summed blocks with CRC-32: their files stay readable, and each version's
    blocks are checked with its own sum (a version 1 block in a version 2 file is damage)."""
    old = tmp_path / "v1.bin"
    old.write_bytes(file_bytes(block([READ], version=1), block([MMAP], version=1), version=1))
    errors: list[ParseError] = []
    assert [e.syscall for e in records(old, errors) if isinstance(e, Record)] == ["read", "mmap"]
    assert not errors
    mixed = tmp_path / "mixed.bin"
    mixed.write_bytes(file_bytes(block([READ]), block([MMAP], version=1)))
    assert [e.syscall for e in records(mixed, errors) if isinstance(e, Record)] == ["read"]
    assert len(errors) == 1 and "damaged block" in errors[0].reason


def test_unknown_architecture_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "riscv.bin"
    path.write_bytes(file_bytes(block([READ]), text=HEADER_TEXT.replace("arch=x86_64", "arch=riscv64")))
    with pytest.raises(BinaryFormatError, match="'riscv64'"):
        records(path)


def test_commands_read_binary_files(good: Path) -> None:
    from click.testing import CliRunner

    from mysysdig.cli import main

    out = CliRunner().invoke(main, ["stats", str(good), "--format", "json"])
    assert out.exit_code == 0, out.output
    assert '"dropped": 12' in out.output and '"total": 4' in out.output


def test_follow_appended_blocks_and_a_truncation(good: Path) -> None:
    """From the end: existing threads' comms are known, new blocks appear, a truncation starts over."""
    seen: list[object] = []
    restarts: list[str] = []
    steps = iter(
        [
            lambda: good.open("ab").write(block([OPEN_FAIL])),  # a record of tid 7, whose comm came before
            lambda: good.write_bytes(file_bytes(block([THREAD, READ]))),  # truncated and written anew
        ]
    )

    def idle() -> None:
        step = next(steps, None)
        if step is not None:
            step()

    events = follow_events(
        good, poll_s=0.01, stop=lambda: len(seen) >= 4, on_idle=idle, on_restart=restarts.append
    )
    for event in events:
        seen.append(event)
    header, appended, header2, read = seen
    assert isinstance(header, Header) and isinstance(header2, Header)
    assert (appended.syscall, appended.comm, appended.res) == ("openat", "nginx", -2)
    assert (read.syscall, read.args["data"]) == ("read", "GET /")
    assert restarts == ["truncated"]
