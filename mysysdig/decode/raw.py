"""Decoder of the raw record format (module parameter `format=raw`, layout in docs/binary-format.md).

The module writes its rings' events as the probes left them, one CPU's share of a drain per chunk, so that
the kernel does no per-record work but counting. What the binary writer does per record is done here
instead: stamps to wall-clock ns, the merge of a drain's CPUs by exit time, thread records, varints. A
drain comes out as one binary `Block`, byte for byte what the binary writer would have made of the same
events, so every reader of binary files (frames, the exact text path, follow) reads raw files too.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from mysysdig.decode.checksum import checksum
from mysysdig.decode.varint import encode_varint, to_s64
from mysysdig.model import ParseError

MAGIC = b"MYSDRAW1"
CHUNK_MAGIC = b"SRAW"
VERSION = 2
KIND_EVENTS, KIND_CAP = 1, 2
MAX_HEADER, MAX_DATA = 1 << 16, 64 << 20  # far above what the module writes; beyond: damage

# kmod/event.h: struct sc_event from its flags on, and struct sc_capture's head
EV_PAD, EV_SYSCALL = 1, 2
EVENT_HEAD = 64
EVENT_FIELDS = "HIBBxxiiQQq"  # flags nr nargs ncap (reserved) tid pid enter_ns exit_ns ret, from byte 6
COMM_AT, COMM_LEN = 48, 16
MAX_ARGS = 6

# binary record heads (mysysdig.decode.binary)
TYPE_SYSCALL, TYPE_THREAD, TYPE_DROP = 1, 2, 3
FLAG_NO_ENTRY, FLAG_NO_RETURN = 2, 4
FLAG_LAT_WIDE, FLAG_RES_WIDE = 16, 32
DROP_RING, DROP_CAP = 1, 2
U32_MAX, U64 = 2**32 - 1, 2**64


def chunk_layout(e: str) -> struct.Struct:
    """struct sc_raw_chunk (kmod/binfmt.h) in byte order `e`; fixtures are built from it too."""
    return struct.Struct(e + "4sIIIHHIIIQQQQQQq")


@dataclass
class Chunk:
    offset: int
    end: int
    kind: int
    cpu: int
    part: int
    parts: int
    seq: int
    dropped: int
    clock_stamp: int
    clock_ns: int
    clock_mult: int
    real_offset: int
    data: bytes

    def ns(self, stamp: int) -> int:
        """A probe's stamp in ns since boot, exactly as the binary writer's sc_clock_ns() computes it."""
        if stamp >= self.clock_stamp:
            return (self.clock_ns + ((stamp - self.clock_stamp) * self.clock_mult >> 32)) % U64
        return (self.clock_ns - ((self.clock_stamp - stamp) * self.clock_mult >> 32)) % U64

    @property
    def drain_ts(self) -> int:
        """Wall-clock ns of the drain: a drop's time."""
        return to_s64(self.clock_ns + self.real_offset)


def chunk_at(data: bytes, pos: int, e: str, version: int = VERSION) -> tuple[Chunk | None, int]:
    """The chunk at pos and its size; (None, -size) when it is not all in data yet, (None, 0) when bad.

    `version` is the file's: it says which checksum the chunk carries."""
    layout = chunk_layout(e)
    if not data.startswith(CHUNK_MAGIC, pos):
        return None, 0
    if pos + layout.size > len(data):
        return None, -layout.size
    (_, crc, header_len, data_len, kind, _, cpu, part, parts, seq, _, dropped, stamp, ns, mult, real) = (
        layout.unpack_from(data, pos)
    )
    if (
        not layout.size <= header_len <= MAX_HEADER
        or data_len > MAX_DATA
        or kind not in (KIND_EVENTS, KIND_CAP)
    ):
        return None, 0
    size = header_len + data_len
    if pos + size > len(data):
        return None, -size
    body = data[pos + 8 : pos + size]
    if checksum(version, data[pos : pos + 4] + bytes(4), body) != crc:
        return None, 0
    chunk = Chunk(
        pos,
        pos + size,
        kind,
        cpu,
        part,
        parts,
        seq,
        dropped,
        stamp,
        ns,
        mult,
        real,
        data[pos + header_len : pos + size],
    )
    return chunk, size


@dataclass
class _Event:
    exit_stamp: int
    flags: int
    nr: int
    tid: int
    pid: int
    enter: int
    exit: int
    ret: int
    comm: bytes
    args: tuple[int, ...]
    captures: list[tuple[int, int, bytes]]  # arg, flags, bytes


def _events(data: bytes, e: str) -> tuple[list[_Event], str | None]:
    """A chunk's events in ring order, and what is wrong with the rest of it if something is."""
    events: list[_Event] = []
    pos = 0
    while pos < len(data):
        if pos + 8 > len(data):
            return events, "event head cut off"
        length, kind = struct.unpack_from(e + "IH", data, pos)
        if length < 8 or length % 8 or pos + length > len(data):
            return events, f"event length {length}"
        if kind == EV_PAD:
            pos += length
            continue
        if kind != EV_SYSCALL or length < EVENT_HEAD:
            return events, f"event type {kind}"
        flags, nr, nargs, ncap, tid, pid, enter, exit_, ret = struct.unpack_from(
            e + EVENT_FIELDS, data, pos + 6
        )
        at = pos + EVENT_HEAD + 8 * nargs
        if nargs > MAX_ARGS or at > pos + length:
            return events, f"{nargs} arguments"
        args = struct.unpack_from(f"{e}{nargs}Q", data, pos + EVENT_HEAD)
        captures = []
        for _ in range(ncap):
            if at + 8 > pos + length:
                return events, "capture head cut off"
            arg, cflags, clen = struct.unpack_from(e + "BBH", data, at)
            if at + 8 + clen > pos + length:
                return events, f"capture of {clen} bytes"
            captures.append((arg, cflags, data[at + 8 : at + 8 + clen]))
            at += (8 + clen + 7) & ~7
        comm = data[pos + COMM_AT : pos + COMM_AT + COMM_LEN].split(b"\0", 1)[0]
        events.append(_Event(exit_, flags, nr, tid, pid, enter, exit_, ret, comm, args, captures))
        pos += length
    return events, None


class _BlockBuilder:
    """Record heads and variable parts of one block, added the way kmod/binary.c adds them."""

    def __init__(self, e: str) -> None:
        self.e = e
        self.rows: list[tuple[int, ...]] = []
        self.var: list[bytes] = []

    def add(
        self,
        ts: int,
        lat: int,
        res: int,
        tid: int,
        nr: int,
        kind: int,
        flags: int,
        var: bytes,
        nargs: int = 0,
        ncap: int = 0,
    ) -> None:
        self.rows.append((ts, lat, res, tid, nr, kind, flags, len(var), nargs, ncap))
        self.var.append(var)

    def result(self, res: int) -> tuple[int, int, bytes]:
        """The head's 32-bit result, or the flag and varint that carry a wider one."""
        res = to_s64(res)
        if -(2**31) <= res < 2**31:
            return res, 0, b""
        return 0, FLAG_RES_WIDE, encode_varint(res)

    def syscall(self, ev: _Event, chunk: Chunk) -> None:
        enter_ns = chunk.ns(ev.enter)
        ts = to_s64(enter_ns + chunk.real_offset)
        flags, lat, var = ev.flags, 0, b""
        if not flags & (FLAG_NO_ENTRY | FLAG_NO_RETURN):
            lat = (chunk.ns(ev.exit) - enter_ns) % U64
            if lat > U32_MAX:
                flags, var, lat = flags | FLAG_LAT_WIDE, encode_varint(lat), 0
        res, wide, res_var = self.result(ev.ret)
        parts = [var, res_var, *(encode_varint(a) for a in ev.args)]
        for arg, cflags, raw in ev.captures:
            parts.append(struct.pack(self.e + "BBH", arg, cflags, len(raw)) + raw)
        self.add(
            ts,
            lat,
            res,
            ev.tid % 2**32,
            ev.nr % 2**16,
            TYPE_SYSCALL,
            flags | wide,
            b"".join(parts),
            len(ev.args),
            len(ev.captures),
        )

    def drop(self, reason: int, where: int, count: int, ts: int) -> None:
        res, wide, var = self.result(count)
        self.add(ts, 0, res, where, reason, TYPE_DROP, wide, var)

    def heads(self, dtype: np.dtype) -> np.ndarray:
        return np.array(self.rows, dtype=dtype)


ErrorHandler = Callable[[ParseError], None]


class RawAssembler:
    """Chunks in, one block per drain out, once the drain's chunks are all in or the next drain begins.

    `threads` remembers what the reader was told about each tid, so that a thread record comes before a
    tid's first record and after each change of its pid or comm (execve), as the binary writer does.
    """

    def __init__(self, e: str, dtype: np.dtype, on_error: ErrorHandler | None = None) -> None:
        self.e = e
        self.dtype = dtype
        self.on_error = on_error
        self.threads: dict[int, tuple[int, bytes]] = {}
        self.pending: list[Chunk] = []

    def feed(self, chunk: Chunk) -> Iterator[tuple[int, int, np.ndarray, bytes]]:
        """Blocks as (offset, end, heads, var) that this chunk completes."""
        if self.pending and (chunk.kind != KIND_EVENTS or chunk.seq != self.pending[0].seq):
            yield from self.flush()
        if chunk.kind == KIND_CAP:
            b = _BlockBuilder(self.e)
            b.drop(DROP_CAP, U32_MAX, chunk.dropped, chunk.drain_ts)
            yield chunk.offset, chunk.end, b.heads(self.dtype), b"".join(b.var)
            return
        self.pending.append(chunk)
        if len(self.pending) >= chunk.parts:
            yield from self.flush()

    def flush(self) -> Iterator[tuple[int, int, np.ndarray, bytes]]:
        """The pending drain's block: its events merged by exit time, then its ring drops."""
        chunks, self.pending = self.pending, []
        if not chunks:
            return
        merged: list[tuple[int, int, int, _Event, Chunk]] = []
        for ci, chunk in enumerate(chunks):
            events, damage = _events(chunk.data, self.e)
            if damage and self.on_error is not None:
                self.on_error(
                    ParseError(
                        chunk.offset,
                        f"damaged chunk: {damage}: the rest of the chunk at offset {chunk.offset} skipped",
                        "",
                    )
                )
            merged.extend((ev.exit_stamp, ci, i, ev, chunk) for i, ev in enumerate(events))
        merged.sort(key=lambda m: m[:3])
        b = _BlockBuilder(self.e)
        for _, _, _, ev, chunk in merged:
            self._note_thread(b, ev, chunk)
            b.syscall(ev, chunk)
        for chunk in chunks:
            if chunk.dropped:
                b.drop(DROP_RING, chunk.cpu, chunk.dropped, chunk.drain_ts)
        if b.rows:
            yield chunks[0].offset, chunks[-1].end, b.heads(self.dtype), b"".join(b.var)

    def _note_thread(self, b: _BlockBuilder, ev: _Event, chunk: Chunk) -> None:
        known = (ev.pid, ev.comm)
        if self.threads.get(ev.tid) == known:
            return
        self.threads[ev.tid] = known
        b.add(
            to_s64(chunk.ns(ev.enter) + chunk.real_offset),
            0,
            ev.pid,
            ev.tid % 2**32,
            0,
            TYPE_THREAD,
            0,
            ev.comm,
        )
