"""Fast columnar reading of record files: the fixed fields of every record, without the arguments.

Summaries (`mysysdig stats`, the interval counts, the per-process tables) only need the fields every
record has - pid, syscall, res, tid, comm, abi, nr, ts, lat - and there are many millions of lines (the
seed's nginx run wrote 2.16 GB). Building a `Record` per line in Python tops out near 200k lines/s, so
this reader works on blocks of ~8 MB with pyarrow's vectorised string kernels (RE2 and splitting in
C++): one pass validates whole lines against the record grammar, then the fixed fields are cut out by
splitting at separators that cannot occur inside a quoted string.

Why the splits are safe: inside quotes every `"` is escaped, so `="` never occurs inside a string. Hence
the last `", abi=` is the end of `comm`, the last `, comm="` is its start, the `, tid=` just before it is
the tid, and the first `, res=N` followed by `, data="` or by the end of the fields is the result.

Lines the fast pass does not accept (drop markers, header lines, bad lines, and any line where the two
readers might disagree) go through the ordinary parser (`mysysdig.decode.text.parse_numbered`) with
their line numbers, so bad lines are reported exactly as `mysysdig parse` reports them. The only
difference: duplicate argument names, which a regular expression cannot see, are not detected here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mysysdig.decode import grammar
from mysysdig.decode.binary import BinaryReader, is_binary
from mysysdig.decode.escapes import STRING_BODY, decode_user_string
from mysysdig.decode.text import ErrorHandler, parse_numbered
from mysysdig.model import Header, Marker, Record
from mysysdig.schema import SUMMARY_COLUMNS, SUMMARY_DTYPES
from mysysdig.source import STDIN

#: Bytes read per block. pyarrow's kernels pay a fixed cost per call, so blocks must not be small; the
#: working set is about ten copies of a block, so 8 MB (about 50k records) keeps the peak RSS near
#: 250 MB whatever the file's size, and measured no slower than 32 MB.
BLOCK_SIZE = 8 << 20

# An argument name that is not `res`: RE2 has no lookahead, so the grammar's `(?!res=)` is spelled out.
_NOT_RES = (
    r"(?:[A-Za-qs-z_][A-Za-z0-9_]*|r|r[A-Za-df-z0-9_][A-Za-z0-9_]*"
    r"|re|re[A-Za-rt-z0-9_][A-Za-z0-9_]*|res[A-Za-z0-9_]+)"
)
_ARG = f", {_NOT_RES}=(?:{grammar.ATOM}|{grammar.STRING}|{grammar.LIST}|{grammar.STRUCT})"

#: The record grammar of `mysysdig.decode.grammar.RECORD` in RE2 syntax, for whole lines with their "\n".
#: A result of more than 17 characters may not fit 64 bits; such (rare) lines go to the line parser,
#: which decides, so the fast path never has to check the range.
VALID_RECORD = (
    rf"\Apid=(?:0|[1-9][0-9]*), [A-Za-z0-9_]+(?:{_ARG})*"
    rf'(?:, res=(?:-?[0-9]{{1,17}}|0x[0-9a-fA-F]{{1,15}})(?:, data="{STRING_BODY}"(?:\.\.\.)?)?)?'
    rf', tid=[0-9]+, comm="{STRING_BODY}", abi=(?:64|32), nr=[0-9]+, ts=[0-9]+(?:, lat=[0-9]+)?\n\z'
)
_RES = r', res=(?P<res>-?[0-9]+|0x[0-9a-fA-F]+)(?:, data="|, tid=[0-9]+, comm=")'

ProgressHandler = Callable[[int], None]
MarkerHandler = Callable[[Marker], None]
HeaderHandler = Callable[[Header], None]


class ColumnReader:
    """Read a record file block by block into DataFrames of `mysysdig.schema.SUMMARY_COLUMNS`.

    Markers, headers and bad lines go to the handlers, as with `mysysdig.records.iter_events`.
    `progress` is called with the number of bytes consumed after each block. Commands that need the
    arguments of a few syscalls (open flags, mmap sizes, execve argv) name them in `select`: those lines
    are also parsed in full, and after each frame `take_selected()` returns their Records in file order.
    `columns` limits the frames to the columns a caller needs; fields not asked for are not extracted,
    which is most of the work (every line is still validated, so bad lines are reported all the same).
    """

    def __init__(
        self,
        on_error: ErrorHandler | None = None,
        on_marker: MarkerHandler | None = None,
        on_header: HeaderHandler | None = None,
        progress: ProgressHandler | None = None,
        block_size: int | None = None,
        select: frozenset[str] = frozenset(),
        columns: Iterable[str] = SUMMARY_COLUMNS,
    ) -> None:
        self.select = select
        self.need = frozenset(columns) | ({"syscall"} if select else frozenset())
        unknown = self.need - set(SUMMARY_COLUMNS)
        if unknown:
            raise ValueError(f"not summary columns: {sorted(unknown)}")
        #: Full Records of the calls named in `select`, from the last block read (see `take_selected`).
        self.selected: list[Record] = []
        self.on_error = on_error
        self.on_marker = on_marker
        self.on_header = on_header
        self.progress = progress
        self.block_size = block_size or BLOCK_SIZE
        self.lines = 0

    def frames(self, path: str | os.PathLike[str]) -> Iterator[pd.DataFrame]:
        """One frame per block (never an empty one, except a single one for a file without records).

        A binary record file (format=binary) is read by `mysysdig.decode.binary.BinaryReader` under the
        same contract, so every command reads both formats.
        """
        if is_binary(path):
            yield from self._binary_frames(path)
            return
        produced = False
        if str(path) == STDIN:
            import click

            stream: BinaryIO = click.get_binary_stream("stdin")
            frames = self._frames(stream)
        else:
            stream = open(path, "rb")  # noqa: SIM115 - closed below, after the generator is exhausted
            frames = self._frames(stream)
        try:
            for frame in frames:
                if len(frame):
                    produced = True
                    yield frame
        finally:
            if str(path) != STDIN:
                stream.close()
        if not produced:
            yield empty_frame(self.need)

    def _binary_frames(self, path: str | os.PathLike[str]) -> Iterator[pd.DataFrame]:
        reader = BinaryReader(self.on_error, self.on_marker, self.on_header, self.select)
        for frame in reader.frames(path):
            self.selected = reader.take_selected()
            yield frame[[c for c in SUMMARY_COLUMNS if c in self.need]]
        if self.progress is not None:
            self.progress(os.path.getsize(path))

    def take_selected(self) -> list[Record]:
        """The selected Records of the blocks read since the last call."""
        records, self.selected = self.selected, []
        return records

    def _frames(self, stream: BinaryIO) -> Iterator[pd.DataFrame]:
        carry = b""
        consumed = 0
        while True:
            chunk = stream.read(self.block_size)
            if not chunk:
                break
            consumed += len(chunk)
            data = carry + chunk
            cut = _block_end(data)
            if cut == 0:
                carry = data
                continue
            carry = data[cut:]
            yield self._block(data[:cut])
            if self.progress is not None:
                self.progress(consumed - len(carry))
        if carry:
            # The last line has no newline: cut off by a writer or a copy; the parser reports it.
            yield self._block(carry)
        if self.progress is not None:
            self.progress(consumed)

    def _block(self, data: bytes) -> pd.DataFrame:
        """Parse one block of whole lines (the last may lack its newline only at the end of input)."""
        first_line_no = self.lines + 1
        buf = np.frombuffer(data, dtype=np.uint8)
        ends = np.flatnonzero(buf == 10) + 1
        if len(ends) == 0 or ends[-1] != len(data):
            ends = np.append(ends, len(data))
        self.lines += len(ends)
        offsets = np.empty(len(ends) + 1, dtype=np.int64)
        offsets[0] = 0
        offsets[1:] = ends
        text = data
        if not data.isascii():
            # pyarrow's string kernels expect UTF-8; records are pure ASCII, so any other byte can be
            # replaced by one that no record contains (the line then goes to the slow path, unchanged).
            clean = buf.copy()
            clean[clean >= 0x80] = 0x01
            text = clean.tobytes()
        lines = pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(text))
        valid = pc.match_substring_regex(lines, VALID_RECORD).to_numpy(zero_copy_only=False)
        frames = []
        selected: list[tuple[int, str]] = []
        if valid.any():
            good = lines.filter(pa.array(valid)) if not valid.all() else lines
            frame = _fields(good, self.need)
            frames.append(frame)
            if self.select:
                wanted = frame["syscall"].isin(self.select).to_numpy()
                if wanted.any():
                    numbers = np.flatnonzero(valid)[wanted] + first_line_no
                    texts = good.filter(pa.array(wanted)).to_pylist()
                    selected = list(zip(numbers.tolist(), texts, strict=True))
        if not valid.all():
            slow = np.flatnonzero(~valid)
            pairs = [
                (first_line_no + int(i), data[offsets[i] : offsets[i + 1]].decode("latin-1")) for i in slow
            ]
            records = []
            for event in parse_numbered(pairs, self.on_error):
                if type(event) is Record:
                    records.append(event)
                    if event.syscall in self.select:
                        selected.append((event.line_no, ""))
                        self.selected.append(event)
                elif type(event) is Marker:
                    if self.on_marker is not None:
                        self.on_marker(event)
                elif self.on_header is not None:
                    self.on_header(event)
            if records:
                summary = records_summary(records)
                frames.append(summary[[c for c in summary.columns if c in self.need]])
        if selected:
            # Fast-path lines, parsed in full now; slow-path ones were appended above already.
            fast_lines = [(n, t) for n, t in selected if t]
            self.selected.extend(e for e in parse_numbered(fast_lines) if type(e) is Record)
            self.selected.sort(key=lambda r: r.line_no)
        if not frames:
            return empty_frame(self.need)
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _block_end(data: bytes) -> int:
    """Where to cut a block: after its last newline, but before a trailing run of header lines.

    A header and its symbol tables are gathered into one Header, so they must not be split between two
    blocks; they are carried over to the next one instead (0 means: all header lines, read on).
    """
    cut = data.rfind(b"\n") + 1
    while cut > 0:
        start = data.rfind(b"\n", 0, cut - 1) + 1
        if data[start : start + 1] != b"#":
            break
        cut = start
    return cut


def _pair(lists: pa.Array) -> tuple[pa.Array, pa.Array]:
    """The two halves of a split that is known to have found its separator in every row."""
    return pc.list_element(lists, 0), pc.list_element(lists, 1)


def _ints(strings: pa.Array) -> np.ndarray:
    return pc.cast(strings, pa.int64()).to_numpy(zero_copy_only=False)


def _fields(lines: pa.Array, need: frozenset[str]) -> pd.DataFrame:
    """The fixed fields in `need` of validated record lines, as a frame with those columns only.

    Work is done only for the fields asked for: counting syscalls needs one split of the head, while
    latency needs the tail and comm its own two splits.
    """
    columns: dict[str, Any] = {}
    if need & {"pid", "syscall"}:
        # The head: "pid=N, name[, ...]".
        parts = pc.split_pattern(lines, ", ", max_splits=2)
        if "pid" in need:
            columns["pid"] = _ints(pc.utf8_slice_codeunits(pc.list_element(parts, 0), 4))
        if "syscall" in need:
            columns["syscall"] = _categorical(pc.list_element(parts, 1))
    if need & {"tid", "comm", "abi", "nr", "ts", "lat_ns"}:
        before_abi, after_abi = _pair(pc.split_pattern(lines, '", abi=', max_splits=1, reverse=True))
        if need & {"tid", "comm"}:
            before_comm, comm = _pair(pc.split_pattern(before_abi, ', comm="', max_splits=1, reverse=True))
            if "tid" in need:
                columns["tid"] = _ints(
                    pc.list_element(pc.split_pattern(before_comm, ", tid=", max_splits=1, reverse=True), 1)
                )
            if "comm" in need:
                if pc.any(pc.match_substring(comm, "\\")).as_py():
                    comm = pa.array([decode_user_string(c) for c in comm.to_pylist()], pa.large_string())
                columns["comm"] = _categorical(comm)
        if need & {"abi", "nr", "ts", "lat_ns"}:
            # After the comm: "64, nr=N, ts=N[, lat=N]\n".
            tail = pc.split_pattern(pc.ascii_rtrim(after_abi, "\n"), ", ")
            if "abi" in need:
                columns["abi"] = _ints(pc.list_element(tail, 0))
            if "nr" in need:
                columns["nr"] = _ints(pc.utf8_slice_codeunits(pc.list_element(tail, 1), 3))
            if "ts" in need:
                columns["ts"] = _ints(pc.utf8_slice_codeunits(pc.list_element(tail, 2), 3))
            if "lat_ns" in need:
                has_lat = pc.list_value_length(tail).to_numpy() == 4
                lat = np.zeros(len(lines), dtype=np.int64)
                if has_lat.any():
                    with_lat = tail.filter(pa.array(has_lat)) if not has_lat.all() else tail
                    lat[has_lat] = _ints(pc.utf8_slice_codeunits(pc.list_element(with_lat, 3), 4))
                columns["lat_ns"] = pd.arrays.IntegerArray(lat, ~has_lat)
    if "res" in need:
        res_text = pc.struct_field(pc.extract_regex(lines, _RES), [0])
        has_res = pc.is_valid(res_text).to_numpy(zero_copy_only=False)
        res = np.zeros(len(lines), dtype=np.int64)
        if has_res.any():
            present = res_text.filter(pa.array(has_res))
            try:
                res[has_res] = _ints(present)
            except pa.ArrowInvalid:
                # Hex results (mmap addresses); the grammar keeps them within 64 bits.
                res[has_res] = [int(t, 0) for t in present.to_pylist()]
        columns["res"] = pd.arrays.IntegerArray(res, ~has_res)
    return pd.DataFrame(
        {c: columns[c] for c in SUMMARY_COLUMNS if c in columns}, index=pd.RangeIndex(len(lines))
    )


def _categorical(strings: pa.Array) -> pd.Categorical:
    """A pandas Categorical built in arrow: a handful of distinct names, no Python string per row."""
    encoded = pc.dictionary_encode(strings)
    categories = pd.Index(encoded.dictionary.to_pylist(), dtype=object)
    return pd.Categorical.from_codes(encoded.indices.to_numpy(zero_copy_only=False), categories)


def empty_frame(columns: Iterable[str] = SUMMARY_COLUMNS) -> pd.DataFrame:
    """A frame with the summary columns (or those of them given) and their dtypes, and no rows."""
    wanted = set(columns)
    return pd.DataFrame({c: pd.Series(dtype=SUMMARY_DTYPES[c]) for c in SUMMARY_COLUMNS if c in wanted})


def records_summary(records: list[Record]) -> pd.DataFrame:
    """The summary columns of Record objects (from the slow path, or from a filtered stream)."""
    data = {}
    for column in SUMMARY_COLUMNS:
        values = [getattr(r, column) for r in records]
        dtype = SUMMARY_DTYPES[column]
        data[column] = pd.Categorical(values) if dtype == "category" else pd.array(values, dtype=dtype)
    return pd.DataFrame(data)
