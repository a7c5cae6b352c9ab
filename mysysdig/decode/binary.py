"""Decoder of the binary record format (module parameter `format=binary`, layout in docs/record-format.md).

Two ways in, for two kinds of use:

* `iter_frames` decodes only the fixed 28-byte record heads, a whole block at a time with numpy. That is
  everything `stats` needs (syscall, pid, tid, comm, result, latency) and it runs at millions of records per
  second because Python touches each block, not each record.
* `iter_events` gives the same `Record`/`Marker` objects as the text parser. It renders each record into
  exactly the line text mode would have written (the rules mirror kmod/syscalls/handlers.h) and parses that
  line, so a recording decodes identically whichever format it was written in.

Damage never stops decoding: a block whose magic, size or CRC is wrong is reported and skipped, and decoding
resumes at the next block that checks out.
"""

from __future__ import annotations

import ipaddress
import os
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np
import pandas as pd
from construct import Const, Int32ub, Int32ul, Struct

from mysysdig.decode import raw as rawfmt
from mysysdig.decode.checksum import checksum
from mysysdig.decode.escapes import escape_bytes
from mysysdig.decode.text import parse_line, parse_lines
from mysysdig.decode.varint import encode_varint as encode_varint  # fixtures build records with it
from mysysdig.model import Marker, ParseError, Record

MAGIC = b"MYSDBIN1"
BLOCK_MAGIC = b"SBLK"
VERSION = 2
KNOWN_ARCHES = ("x86_64", "aarch64")

FLAG_COMPAT, FLAG_NO_ENTRY, FLAG_NO_RETURN, FLAG_NO_ARGS = 1, 2, 4, 8
FLAG_LAT_WIDE, FLAG_RES_WIDE = 16, 32  # the value is a varint at the start of the variable part
LAT_UNKNOWN = FLAG_NO_ENTRY | FLAG_NO_RETURN
HEAD_SIZE = 28
MAX_BLOCK_HEADS, MAX_BLOCK_VAR = 1 << 16, 16 << 20  # far above what the module writes; beyond: damage
TYPE_SYSCALL, TYPE_THREAD, TYPE_DROP = 1, 2, 3
CAPF_CUT = 1
AT_FDCWD = -100
RLIM_INFINITY = 2**64 - 1


class BinaryFormatError(ValueError):
    """Not a binary record file this version can read: bad magic, newer version, odd byte order."""


def _layouts(little: bool) -> tuple[Struct, Struct, np.dtype]:
    """The file header, block header and record head, declared once for one byte order.

    The same declarations build test fixtures (`FILE_HEADER.build(...)`), so reader and fixtures cannot drift.
    """
    u32 = Int32ul if little else Int32ub
    file_header = Struct(
        "magic" / Const(MAGIC),
        "byte_order" / u32,
        "version" / u32,
        "text_len" / u32,
        "reserved" / u32,
    )
    block_header = Struct("magic" / Const(BLOCK_MAGIC), "count" / u32, "var_bytes" / u32, "crc" / u32)
    e = "<" if little else ">"
    head = np.dtype(
        [
            ("ts", e + "i8"),
            ("lat", e + "u4"),
            ("res", e + "i4"),
            ("tid", e + "u4"),
            ("nr", e + "u2"),
            ("type", "u1"),
            ("flags", "u1"),
            ("var_len", e + "u2"),
            ("nargs", "u1"),
            ("ncap", "u1"),
        ]
    )
    assert head.itemsize == HEAD_SIZE
    return file_header, block_header, head


FILE_HEADER, BLOCK_HEADER, HEAD = _layouts(little=True)


@dataclass
class SymbolTable:
    zero: str | None
    entries: list[tuple[str, int, int]]  # name, value, mask: in the module's matching order


@dataclass
class BinaryHeader:
    """Everything the header text says: the machine, and the tables that give numbers their meaning."""

    little: bool
    meta: dict[str, str]
    text: str
    raw: bool = False  # format=raw: chunks of ring events follow, not blocks
    version: int = VERSION  # the file's format version: which checksum its blocks or chunks carry
    names: dict[int, dict[int, str]] = field(default_factory=dict)  # abi -> nr -> name
    descs: dict[tuple[int, int], list[tuple[str, str, str | None]]] = field(default_factory=dict)
    tables: dict[str, SymbolTable] = field(default_factory=dict)

    @property
    def head_dtype(self) -> np.dtype:
        return _layouts(self.little)[2]


def is_binary(path: str | Path) -> bool:
    """Whether path is a binary or raw record file (by its magic); "-" (stdin) is read as text."""
    if str(path) == "-":
        return False
    with open(path, "rb") as f:
        return f.read(len(MAGIC)) in (MAGIC, rawfmt.MAGIC)


def read_header(f: BinaryIO) -> BinaryHeader:
    """Read and check the file header; raise BinaryFormatError naming what was found when it is unreadable."""
    head = f.read(24)
    if head[:8] not in (MAGIC, rawfmt.MAGIC):
        raise BinaryFormatError(f"not a mysysdig binary record file (magic {head[:8]!r})")
    is_raw = head[:8] == rawfmt.MAGIC
    (order_le,) = struct.unpack("<I", head[8:12])
    if order_le == 0x01020304:
        little = True
    elif order_le == 0x04030201:
        little = False
    else:
        raise BinaryFormatError(f"unknown byte-order mark 0x{order_le:08x}")
    e = "<" if little else ">"
    version, text_len = struct.unpack(e + "II", head[12:20])
    known = rawfmt.VERSION if is_raw else VERSION
    if version > known:
        raise BinaryFormatError(
            f"{'raw' if is_raw else 'binary'} record file version {version} is newer than this mysysdig"
            f" reads ({known})"
        )
    text = f.read(text_len).decode("ascii", errors="replace")
    header = BinaryHeader(little=little, meta={}, text=text, raw=is_raw, version=version)
    for line in text.splitlines():
        _header_line(header, line)
    arch = header.meta.get("arch", "?")
    if arch not in KNOWN_ARCHES:
        raise BinaryFormatError(
            f"binary record file from architecture {arch!r}; this mysysdig reads {KNOWN_ARCHES}"
        )
    return header


def _header_line(header: BinaryHeader, line: str) -> None:
    words = line.split()
    if line.startswith("# mysysdig record"):
        header.meta.update(w.split("=", 1) for w in words if "=" in w)
    elif words and words[0] == "#names":
        header.names[int(words[1])] = {int(nr): name for nr, name in (w.split("=", 1) for w in words[2:])}
    elif words and words[0] == "#desc":
        args = []
        for w in words[3:]:
            name, kind, *sym = w.split(":")
            args.append((name, kind, sym[0] if sym else None))
        header.descs[(int(words[1]), int(words[2]))] = args
    elif words and words[0] == "#render":
        entries = []
        for w in words[3:]:
            name, _, vm = w.partition("=")
            value, _, mask = vm.partition("/")
            entries.append((name, int(value, 16), int(mask, 16)))
        header.tables[words[1]] = SymbolTable(None if words[2] == "-" else words[2], entries)


# --- blocks ---


@dataclass
class Block:
    offset: int
    heads: np.ndarray
    var: bytes
    end: int = 0  # file offset just past it (for a raw file: past the drain's last chunk)

    @property
    def var_offsets(self) -> np.ndarray:
        ends = np.cumsum(self.heads["var_len"], dtype=np.int64)
        return ends - self.heads["var_len"]


ErrorHandler = Callable[[ParseError], None]


CHUNK = 8 << 20  # bytes read at a time: memory stays bounded whatever the file size


def iter_blocks(f: BinaryIO, header: BinaryHeader, on_error: ErrorHandler | None = None) -> Iterator[Block]:
    """Yield each intact block; report damaged stretches by byte offset and resume at the next good one.

    A raw file's chunks come out as blocks too, one per drain (`mysysdig.decode.raw`).
    """
    items = _Items(header, on_error)
    for offset, size, item in _scan(f, header, on_error, items.magic, items.noun, items.at):
        yield from items.blocks(item, offset, size)
    yield from items.rest()


class _Items:
    """What a file holds after its header, and how each piece becomes blocks: binary blocks as they are,
    raw chunks through a `RawAssembler` (a drain's block comes once all its chunks are in)."""

    def __init__(self, header: BinaryHeader, on_error: ErrorHandler | None = None) -> None:
        self.header = header
        self.e = "<" if header.little else ">"
        self.magic, self.noun = (rawfmt.CHUNK_MAGIC, "chunk") if header.raw else (BLOCK_MAGIC, "block")
        self.assembler = rawfmt.RawAssembler(self.e, header.head_dtype, on_error)

    def at(self, data: bytes, pos: int) -> tuple[Any, int]:
        """The item at pos and its size, as `_block_at` tells it."""
        if self.header.raw:
            return rawfmt.chunk_at(data, pos, self.e, self.header.version)
        return _block_at(data, pos, self.e, self.header)

    def blocks(self, item: Any, offset: int, size: int) -> Iterator[Block]:
        """The blocks that the item found at file offset `offset` completes."""
        item.offset, item.end = offset, offset + size
        if not self.header.raw:
            yield item
            return
        for start, end, heads, var in self.assembler.feed(item):
            yield Block(start, heads, var, end)

    def rest(self) -> Iterator[Block]:
        """At the end of the file: a raw drain whose chunks did not all come."""
        for start, end, heads, var in self.assembler.flush():
            yield Block(start, heads, var, end)


def _scan(
    f: BinaryIO,
    header: BinaryHeader,
    on_error: ErrorHandler | None,
    magic: bytes,
    noun: str,
    at: Callable[[bytes, int], tuple[Any, int]],
) -> Iterator[tuple[int, int, Any]]:
    """(file offset, size, item) of each intact item `at` finds; damaged stretches reported and skipped.

    The file is read in chunks; an item is taken once all of it is in the buffer, so at most one item
    (under 1 MiB as the module writes them) plus two chunks are held at a time.
    """
    buf = b""
    pos = 0  # start of the unread part of buf
    base = 24 + len(header.text.encode("ascii", errors="replace"))  # file offset of buf[pos]
    eof = False
    bad_from: int | None = None  # file offset where a damaged stretch began

    def report(end: int, why: str) -> None:
        nonlocal bad_from
        if on_error is not None and bad_from is not None:
            on_error(ParseError(bad_from, f"{why}: skipped {end - bad_from} bytes at offset {bad_from}", ""))
        bad_from = None

    def refill(want: int) -> None:
        nonlocal buf, pos, eof
        more = f.read(max(want, CHUNK))
        eof = not more
        buf = buf[pos:] + more
        pos = 0

    while True:
        if not eof and len(buf) - pos < CHUNK // 2:
            refill(CHUNK)
        if pos >= len(buf):
            break
        item, size = at(buf, pos)
        if item is not None:
            report(base, f"damaged {noun}")
            yield base, size, item
            pos, base = pos + size, base + size
            continue
        if size < 0 and not eof:  # an item that is not all read yet
            refill(-size)
            continue
        if bad_from is None:
            bad_from = base
        nxt = buf.find(magic, pos + 1)
        if nxt == -1:
            if eof:
                report(base + len(buf) - pos, f"truncated {noun}" if size < 0 else f"damaged {noun}")
                break
            keep = len(buf) - (len(magic) - 1)  # the magic may straddle the next chunk
            pos, base = keep, base + keep - pos
            continue
        pos, base = nxt, base + nxt - pos


def _block_at(data: bytes, pos: int, e: str, header: BinaryHeader) -> tuple[Block | None, int]:
    """The block at pos and its size; (None, -size) when it is not all in data yet, (None, 0) when bad."""
    if not data.startswith(BLOCK_MAGIC, pos):
        return None, 0
    if pos + 16 > len(data):
        return None, -16
    count, var_bytes, crc = struct.unpack_from(e + "III", data, pos + 4)
    size = 16 + count * HEAD_SIZE + var_bytes
    if count > MAX_BLOCK_HEADS or var_bytes > MAX_BLOCK_VAR:
        return None, 0
    if pos + size > len(data):
        return None, -size
    body = data[pos + 16 : pos + size]
    if checksum(header.version, b"", body) != crc:
        return None, 0
    heads = np.frombuffer(body, dtype=header.head_dtype, count=count)
    if int(heads["var_len"].sum()) != var_bytes:
        return None, 0
    return Block(pos, heads, body[count * HEAD_SIZE :]), size


# --- the fast path: DataFrames from heads only ---


FRAME_ROWS = 1 << 18  # records per DataFrame: large enough that pandas' fixed costs vanish


Threads = dict[int, tuple[int, str]]  # tid -> (pid, comm), from thread records


def _note_threads(block: Block, threads: Threads) -> None:
    """Thread records say a tid's pid (in res) and comm (the variable part): remember them."""
    h = block.heads
    found = np.flatnonzero(h["type"] == TYPE_THREAD)
    if not len(found):
        return
    offs = block.var_offsets
    for i in found:
        start = int(offs[i])
        comm = block.var[start : start + int(h["var_len"][i])].decode("latin-1")
        threads[int(h["tid"][i])] = (int(h["res"][i]), comm)


class BinaryReader:
    """Frames of the fixed record fields, block by block, with the contract of `ColumnReader`.

    Drop records go to `on_marker` as Markers (they are not rows), the header to `on_header` as the text
    parser's Header, damaged blocks to `on_error`. Commands that need the arguments of a few syscalls name
    them in `select`: after each frame, `take_selected()` returns those records in full, in file order.
    """

    def __init__(
        self,
        on_error: ErrorHandler | None = None,
        on_marker: Callable[[Marker], None] | None = None,
        on_header: Callable[[Any], None] | None = None,
        select: frozenset[str] = frozenset(),
        frame_rows: int = FRAME_ROWS,
    ) -> None:
        self.on_error = on_error
        self.on_marker = on_marker
        self.on_header = on_header
        self.select = select
        self.frame_rows = frame_rows
        self.selected: list[Record] = []

    def take_selected(self) -> list[Record]:
        records, self.selected = self.selected, []
        return records

    def frames(self, path: str | Path) -> Iterator[pd.DataFrame]:
        threads: Threads = {}
        with open(path, "rb") as f:
            header = read_header(f)
            if self.on_header is not None:
                for event in header_events(header):
                    self.on_header(event)
            names = _SyscallCodes(header.names)
            renderer = _Renderer(header)
            batch: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
            rows = 0
            produced = False
            for block in iter_blocks(f, header, self.on_error):
                h = block.heads
                offs = block.var_offsets
                _note_threads(block, threads)
                drops = np.flatnonzero(h["type"] == TYPE_DROP)
                if self.on_marker is not None:
                    for i in drops:
                        self.on_marker(
                            _drop(h[i], block.var[int(offs[i]) : int(offs[i]) + int(h["var_len"][i])])
                        )
                if self.select:
                    self._select(block, header, renderer, threads)
                keep = h["type"] == TYPE_SYSCALL
                lat, res = _wide_values(block)
                batch.append((h[keep], lat[keep], res[keep]))
                rows += int(keep.sum())
                if rows >= self.frame_rows:
                    yield _frame(batch, threads, names)
                    batch, rows, produced = [], 0, True
            if rows:
                yield _frame(batch, threads, names)
            elif not produced:  # consumers always see the schema, as with text files
                yield _empty_frame()

    def _select(self, block: Block, header: BinaryHeader, renderer: _Renderer, threads: Threads) -> None:
        h = block.heads
        offs = block.var_offsets
        for i in np.flatnonzero(h["type"] == TYPE_SYSCALL):
            abi = 32 if int(h["flags"][i]) & FLAG_COMPAT else 64
            if header.names.get(abi, {}).get(int(h["nr"][i]), "unknown") not in self.select:
                continue
            var = block.var[int(offs[i]) : int(offs[i]) + int(h["var_len"][i])]
            event = parse_line(renderer.line(h[i], var, threads.get(int(h["tid"][i]), (0, ""))), block.offset)
            if isinstance(event, Record):
                self.selected.append(event)


def header_events(header: BinaryHeader) -> list[Any]:
    """The header as the text parser's Header event (the same lines open a text record file)."""
    lines = [line + "\n" for line in header.text.splitlines() if line.startswith(("# mysysdig", "#sym "))]
    return [e for e in parse_lines(lines) if not isinstance(e, (Record, Marker))]


def iter_frames(path: str | Path, on_error: ErrorHandler | None = None) -> Iterator[pd.DataFrame]:
    """DataFrames of up to FRAME_ROWS records with the columns that need no argument decoding.

    Columns: ts, pid, tid, comm, syscall, nr, abi, res (nullable), lat_ns (nullable): the text format's
    summary columns (`mysysdig.schema.SUMMARY_COLUMNS`), comm and syscall as categoricals.
    """
    yield from BinaryReader(on_error).frames(path)


class _SyscallCodes:
    """Category codes of syscall names, per ABI and number, so a frame's names cost one numpy lookup.

    Categorical columns are built from integer codes; strings are never materialized per record.
    """

    def __init__(self, tables: dict[int, dict[int, str]]) -> None:
        self.categories = sorted({n for t in tables.values() for n in t.values()} | {"unknown"})
        index = {name: i for i, name in enumerate(self.categories)}
        self.unknown = index["unknown"]
        self.by_abi = {}
        for abi, table in tables.items():
            codes = np.full(max(table, default=0) + 2, self.unknown, dtype=np.int32)
            for nr, name in table.items():
                codes[nr] = index[name]
            self.by_abi[abi] = codes


def _wide_values(block: Block) -> tuple[np.ndarray, np.ndarray]:
    """Latency and result as int64 for every head, reading the few wide ones from the variable part."""
    h = block.heads
    lat = h["lat"].astype(np.int64)
    res = h["res"].astype(np.int64)
    wide = np.flatnonzero(h["flags"] & (FLAG_LAT_WIDE | FLAG_RES_WIDE))
    if len(wide):
        offs = block.var_offsets
        for i in wide:
            flags = int(h["flags"][i])
            n = bool(flags & FLAG_LAT_WIDE) + bool(flags & FLAG_RES_WIDE)
            values, _ = _varints(block.var[int(offs[i]) : int(offs[i]) + int(h["var_len"][i])], n)
            if flags & FLAG_LAT_WIDE:
                lat[i] = values.pop(0)
            if flags & FLAG_RES_WIDE:
                res[i] = values[0]
    return lat, res


def _frame(
    batch: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    threads: Threads,
    names: _SyscallCodes,
) -> pd.DataFrame:
    """syscall and comm are categorical (built from codes: pandas' per-string costs would dominate)."""
    h = np.concatenate([b[0] for b in batch])
    lat_ns = np.concatenate([b[1] for b in batch])
    res_v = np.concatenate([b[2] for b in batch])
    syscall = h["type"] == TYPE_SYSCALL
    abi = np.where(h["flags"] & FLAG_COMPAT, 32, 64)
    nr = h["nr"].astype(np.int64)
    codes = np.full(len(h), names.unknown, dtype=np.int32)
    for a, table in names.by_abi.items():
        sel = syscall & (abi == a)
        if sel.any():
            codes[sel] = table[np.minimum(nr[sel], len(table) - 1)]
    tid = h["tid"].astype(np.int64)
    tids, inverse = np.unique(tid, return_inverse=True)
    tid_threads = [threads.get(int(t), (0, None)) for t in tids]
    tid_comms = [comm for _, comm in tid_threads]
    pid = np.array([p for p, _ in tid_threads], dtype=np.int64)[inverse]
    comm_categories = sorted({c for c in tid_comms if c is not None})
    comm_index = {c: i for i, c in enumerate(comm_categories)}
    comm_codes = np.array([comm_index.get(c, -1) for c in tid_comms], dtype=np.int32)[inverse]
    no_res = (h["flags"] & FLAG_NO_RETURN) != 0
    return pd.DataFrame(
        {
            "ts": h["ts"],
            "pid": pid,
            "tid": tid,
            "comm": pd.Categorical.from_codes(comm_codes, categories=comm_categories),
            "syscall": pd.Categorical.from_codes(codes, categories=names.categories),
            "nr": nr,
            "abi": abi,
            "res": pd.arrays.IntegerArray(res_v, no_res & syscall),
            "lat_ns": pd.arrays.IntegerArray(lat_ns, (h["flags"] & LAT_UNKNOWN) != 0),
        }
    )


# --- the exact path: the text line, then the text parser ---


def iter_events(path: str | Path, on_error: ErrorHandler | None = None) -> Iterator[Any]:
    """Header, records and drop markers, identical to what the text parser gives for a text recording."""
    threads: Threads = {}
    with open(path, "rb") as f:
        header = read_header(f)
        yield from header_events(header)
        renderer = _Renderer(header)
        for block in iter_blocks(f, header, on_error):
            yield from _block_events(block, renderer, threads)


def _block_events(block: Block, renderer: _Renderer, threads: Threads) -> Iterator[Record | Marker]:
    """A block's records and drop markers; its thread records update `threads`."""
    offs = block.var_offsets
    for i, h in enumerate(block.heads):
        var = block.var[int(offs[i]) : int(offs[i]) + int(h["var_len"])]
        if h["type"] == TYPE_THREAD:
            threads[int(h["tid"])] = (int(h["res"]), var.decode("latin-1"))
        elif h["type"] == TYPE_DROP:
            yield _drop(h, var)
        else:
            event = parse_line(renderer.line(h, var, threads.get(int(h["tid"]), (0, ""))), block.offset)
            if isinstance(event, Record):
                yield event


def follow_events(
    path: str | Path,
    *,
    from_start: bool = False,
    poll_s: float = 0.2,
    stop: Callable[[], bool] = lambda: False,
    on_idle: Callable[[], None] | None = None,
    on_restart: Callable[[str], None] | None = None,
) -> Iterator[Any]:
    """Follow a live binary record file like `mysysdig.follow.follow_lines` follows a text one.

    Yields the header, then the records and markers of each block the module appends. Starting at the end
    (not `from_start`), the blocks already there are skimmed only for their thread records, so the comm of
    a thread that started earlier is known. When the file shrinks or is replaced, `on_restart(reason)` is
    called and following starts over at the new file's header.
    """
    f = open(path, "rb")  # noqa: SIM115 - kept open across restarts, closed in finally
    try:
        skim = not from_start
        while not stop():
            if os.fstat(f.fileno()).st_size < 24:
                if on_idle is not None:
                    on_idle()
                time.sleep(poll_s)
                continue
            f.seek(0)
            header = read_header(f)
            yield from header_events(header)
            renderer, threads = _Renderer(header), {}
            take = _taker(header)
            if skim:
                for block in iter_blocks(f, header):
                    _note_threads(block, threads)
                f.seek(block_end(path, header))
                skim = False
            buf = b""
            while not stop():
                chunk = f.read(1 << 20)
                if chunk:
                    buf += chunk
                    blocks, used = take(buf)
                    buf = buf[used:]
                    for block in blocks:
                        yield from _block_events(block, renderer, threads)
                    continue
                st = _stat(path)
                ino = os.fstat(f.fileno()).st_ino
                if st is not None and (st.st_ino != ino or st.st_size < f.tell()):
                    if on_restart is not None:
                        on_restart("replaced" if st.st_ino != ino else "truncated")
                    if st.st_ino != ino:
                        f.close()
                        f = open(path, "rb")  # noqa: SIM115
                    break
                if on_idle is not None:
                    on_idle()
                time.sleep(poll_s)
    finally:
        f.close()


def _taker(header: BinaryHeader) -> Callable[[bytes], tuple[list[Block], int]]:
    """For following a file: the blocks whole at the start of a buffer, and the bytes they took."""
    items = _Items(header)

    def take(buf: bytes) -> tuple[list[Block], int]:
        blocks: list[Block] = []
        used = 0
        while (found := items.at(buf, used))[0] is not None:
            item, size = found
            blocks.extend(items.blocks(item, used, size))
            used += size
        return blocks, used

    return take


def block_end(path: str | Path, header: BinaryHeader) -> int:
    """Offset just past the last complete block: where appending continues."""
    with open(path, "rb") as f:
        read_header(f)
        end = 24 + len(header.text.encode("ascii", errors="replace"))
        for block in iter_blocks(f, header):
            end = block.end
    return end


def _stat(path: str | Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _drop(h: np.void, var: bytes) -> Marker:
    count = _varints(var, 1)[0][0] if int(h["flags"]) & FLAG_RES_WIDE else int(h["res"])
    if int(h["nr"]) == 1:
        return Marker(count, "ring", int(h["ts"]), int(h["tid"]))
    return Marker(count, "cap", int(h["ts"]), None)


def _varints(data: bytes, n: int) -> tuple[list[int], int]:
    values, pos = [], 0
    for _ in range(n):
        shift = value = 0
        while True:
            b = data[pos]
            pos += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        values.append((value >> 1) ^ -(value & 1))  # zigzag
    return values, pos


def _quoted(raw: bytes, cut: bool) -> str:
    return f'"{escape_bytes(raw)}"' + ("..." if cut else "")


class _Renderer:
    """Text-mode rendering in Python: the same rules as kmod/syscalls/handlers.h, kind by kind."""

    def __init__(self, header: BinaryHeader) -> None:
        self.h = header
        self.order: Literal["little", "big"] = "little" if header.little else "big"
        self.e = "<" if header.little else ">"
        af = {name: value for name, value, _ in header.tables["af"].entries}
        self.af_inet, self.af_inet6, self.af_unix = af["AF_INET"], af["AF_INET6"], af["AF_UNIX"]

    def line(self, h: np.void, var: bytes, thread: tuple[int, str]) -> str:
        pid, comm = thread
        flags = int(h["flags"])
        compat = bool(flags & FLAG_COMPAT)
        abi = 32 if compat else 64
        nr = int(h["nr"])
        lat, res = int(h["lat"]), int(h["res"])
        wide, pos = _varints(var, bool(flags & FLAG_LAT_WIDE) + bool(flags & FLAG_RES_WIDE))
        if flags & FLAG_LAT_WIDE:
            lat = wide.pop(0)
        if flags & FLAG_RES_WIDE:
            res = wide[0]
        args, used = _varints(var[pos:], int(h["nargs"]))
        pos += used
        caps: dict[int, tuple[int, bytes]] = {}
        for _ in range(int(h["ncap"])):
            arg, cflags, length = var[pos], var[pos + 1], int.from_bytes(var[pos + 2 : pos + 4], self.order)
            caps[arg] = (cflags, var[pos + 4 : pos + 4 + length])
            pos += 4 + length
        desc = [] if flags & FLAG_NO_ARGS else self.h.descs.get((abi, nr), [])
        parts = [f"pid={pid}", self.h.names.get(abi, {}).get(nr, "unknown")]
        data = None
        for i, (name, kind, sym) in enumerate(desc[: len(args)]):
            if kind in ("BUF_IN", "BUF_RET"):
                data = (kind, args[i], caps.get(i))
                continue
            parts.append(f"{name}={self.arg(kind, sym, args[i], caps.get(i), compat)}")
        if not flags & FLAG_NO_RETURN:
            parts.append(f"res={res}")
        if data is not None and data[2] is not None:
            cflags, raw = data[2]
            parts.append(f"data={_quoted(raw, bool(cflags & CAPF_CUT))}")
        parts.append(f"tid={int(h['tid'])}")
        parts.append(f"comm={_quoted(comm.encode('latin-1'), False)}")
        parts.append(f"abi={abi}")
        parts.append(f"nr={nr}")
        parts.append(f"ts={int(h['ts'])}")
        if not flags & LAT_UNKNOWN:
            parts.append(f"lat={lat}")
        return ", ".join(parts) + "\n"

    def flags(self, table: str, v: int) -> str:
        t = self.h.tables[table]
        if v == 0:
            return t.zero or "0"
        used, out = 0, []
        for name, value, mask in t.entries:
            if not mask or mask & used or v & mask != value:
                continue
            out.append(name)
            used |= mask
        if v & ~used:
            out.append(hex(v & ~used))
        return "|".join(out)

    def enum(self, table: str, v: int) -> str:
        t = self.h.tables[table]
        if v == 0 and t.zero:
            return t.zero
        for name, value, _ in t.entries:
            if value == v & 0xFFFFFFFFFFFFFFFF:
                return name
        return str(v)

    def arg(self, kind: str, sym: str | None, v: int, cap: tuple[int, bytes] | None, compat: bool) -> str:
        u = v & 0xFFFFFFFFFFFFFFFF
        i32 = ((u & 0xFFFFFFFF) ^ 0x80000000) - 0x80000000
        if kind in ("INT", "FD"):
            return str(i32)
        if kind == "DIRFD":
            return "AT_FDCWD" if i32 == AT_FDCWD else str(i32)
        if kind == "UID":
            return "-1" if i32 == -1 else str(u & 0xFFFFFFFF)
        if kind == "UINT":
            return str(u & 0xFFFFFFFF)
        if kind == "LONG":
            return str(i32 if compat else v)
        if kind == "ULONG":
            return str(u)
        if kind == "HEX":
            return hex(u)
        if kind == "OCT":
            return "0" + format(u, "o")
        if kind == "FLAGS":
            return self.flags(sym or "", u & 0xFFFFFFFF)
        if kind == "ENUM":
            return self.enum(sym or "", i32)
        if kind == "CLONE_FLAGS":
            return self.clone_flags(u)
        if cap is None:
            return hex(u) if u else "NULL"
        cflags, raw = cap
        if kind in ("STR", "STR_OUT", "STR_ENTRY"):
            return _quoted(raw, bool(cflags & CAPF_CUT))
        if kind == "ARGV":
            return self.argv(raw, bool(cflags & CAPF_CUT))
        return self.structure(kind, raw, compat)

    def clone_flags(self, v: int) -> str:
        sig, rest = v & 0xFF, v & ~0xFF
        out = self.flags("clone", rest) if rest else ""
        if not sig and rest:
            return out
        return (out + "|" if rest else "") + self.enum("signal", sig)

    def argv(self, raw: bytes, cut: bool) -> str:
        items, pos = [], 0
        while pos + 4 <= len(raw):
            iflags, length = raw[pos], int.from_bytes(raw[pos + 2 : pos + 4], self.order)
            pos += 4
            if pos + length > len(raw):
                break
            items.append(_quoted(raw[pos : pos + length], bool(iflags & CAPF_CUT)))
            pos += length
        if cut:
            items.append("...")
        return "[" + ", ".join(items) + "]"

    def structure(self, kind: str, raw: bytes, compat: bool) -> str:
        def words(fmt: str) -> tuple[int, ...]:
            size = struct.calcsize(self.e + fmt)
            return struct.unpack(self.e + fmt, raw[:size].ljust(size, b"\0"))

        if kind in ("TIMESPEC", "TIMESPEC_INOUT"):
            sec, nsec = words("ii" if compat else "qq")
            return f"{{tv_sec={sec}, tv_nsec={nsec}}}"
        if kind in ("SOCKADDR", "SOCKADDR_OUT"):
            return self.sockaddr(raw)
        if kind == "FDPAIR":
            a, b = words("ii")
            return f"[{a}, {b}]"
        if kind == "ID_OUT":
            return f"[{words('I')[0]}]"
        if kind in ("RLIMIT", "RLIMIT_OUT"):
            cur, mx = words("II") if compat else words("QQ")
            if compat:
                cur, mx = (RLIM_INFINITY if x == 0xFFFFFFFF else x for x in (cur, mx))
            show = ["RLIM_INFINITY" if x == RLIM_INFINITY else str(x) for x in (cur, mx)]
            return f"{{rlim_cur={show[0]}, rlim_max={show[1]}}}"
        if kind == "CLONE_ARGS":
            flags, _pidfd, _ctid, _ptid, exit_signal, stack, stack_size = words("QQQQQQQ")
            return (
                f"{{flags={self.flags('clone', flags)}, exit_signal={self.enum('signal', exit_signal)}, "
                f"stack={hex(stack)}, stack_size={stack_size}}}"
            )
        if kind == "OPEN_HOW":
            flags, mode, resolve = words("QQQ")
            resolved = self.flags("resolve", resolve)
            return f"{{flags={self.flags('open', flags)}, mode=0{mode:o}, resolve={resolved}}}"
        if kind == "CAP_HEADER":
            version, pid = words("Ii")
            return f"{{version={self.enum('capver', version)}, pid={pid}}}"
        if kind == "CAP_DATA":
            e0, p0, i0, e1, p1, i1 = words("IIIIII")
            return (
                f"{{effective={hex(e0 | e1 << 32)}, permitted={hex(p0 | p1 << 32)}, "
                f"inheritable={hex(i0 | i1 << 32)}}}"
            )
        if kind == "URING_PARAMS":
            sq, cq, flags, _cpu, _idle, features = words("IIIIII")
            return (
                f"{{sq_entries={sq}, cq_entries={cq}, flags={self.flags('uring_setup', flags)}, "
                f"features={hex(features)}}}"
            )
        return "NULL"

    def sockaddr(self, raw: bytes) -> str:
        family = int.from_bytes(raw[:2].ljust(2, b"\0"), self.order)
        out = f"{{family={self.enum('af', family)}"
        if family == self.af_inet and len(raw) >= 16:  # port and address in network order
            port = int.from_bytes(raw[2:4], "big")
            out += f', addr="{ipaddress.IPv4Address(raw[4:8])}", port={port}'
        elif family == self.af_inet6 and len(raw) >= 28:
            port = int.from_bytes(raw[2:4], "big")
            out += f', addr="{ipaddress.IPv6Address(raw[8:24]).compressed}", port={port}'
        elif family == self.af_unix and len(raw) > 2:
            path = raw[2:]
            if path[:1] != b"\0":
                path = path.split(b"\0", 1)[0]
            out += f", path={_quoted(path, False)}"
        return out + "}"


def _empty_frame() -> pd.DataFrame:
    from mysysdig.decode.columns import empty_frame

    return empty_frame()
