"""Records as pandas DataFrames, built chunk by chunk from the streaming parser.

Chunking keeps memory bounded for consumers that aggregate (see `mysysdig.stats`): only one chunk of
Record objects is alive at a time. `read_records` simply concatenates the chunks for callers that want the
whole trace in one frame.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence

import pandas as pd

from mysysdig.decode import binary
from mysysdig.decode.binary import is_binary
from mysysdig.decode.text import ErrorHandler, Event, parse_lines
from mysysdig.model import Header, Marker, Record
from mysysdig.schema import DTYPES, FRAME_COLUMNS
from mysysdig.source import open_source

#: Records per DataFrame chunk: large enough that pandas' per-frame overhead vanishes, small enough that
#: a chunk of Python objects stays in the tens of megabytes.
CHUNK_SIZE = 50_000

MarkerHandler = Callable[[Marker], None]
HeaderHandler = Callable[[Header], None]


def iter_events(path: str | os.PathLike[str], on_error: ErrorHandler | None = None) -> Iterator[Event]:
    """Stream the Records and Markers of a record file ("-" for stdin); bad lines go to `on_error`.

    Text and binary files (format=binary, recognised by their magic) give the same events.
    """
    if is_binary(path):
        yield from binary.iter_events(path, on_error)
        return
    with open_source(path) as lines:
        yield from parse_lines(lines, on_error)


def iter_records(path: str | os.PathLike[str], on_error: ErrorHandler | None = None) -> Iterator[Record]:
    """Stream only the Records of a record file, skipping drop markers and headers."""
    for event in iter_events(path, on_error):
        if type(event) is Record:
            yield event


def records_frame(records: Sequence[Record], columns: Sequence[str] = FRAME_COLUMNS) -> pd.DataFrame:
    """Build a DataFrame with the schema's dtypes from Record objects (empty input gives an empty frame).

    `columns` lets an aggregation ask for only what it needs; converting the `args` dicts is the most
    expensive column and most statistics never look at it.
    """
    data = {}
    for column in columns:
        dtype = DTYPES[column]
        values = [getattr(r, column) for r in records]
        if dtype == "object":
            data[column] = pd.Series(values, dtype=object)
        else:
            data[column] = pd.array(values, dtype=dtype)
    return pd.DataFrame(data, columns=list(columns))


def iter_frames(
    events: Iterable[Event],
    chunk_size: int = CHUNK_SIZE,
    on_marker: MarkerHandler | None = None,
    columns: Sequence[str] = FRAME_COLUMNS,
    on_header: HeaderHandler | None = None,
) -> Iterator[pd.DataFrame]:
    """Group a stream of events into DataFrames of at most `chunk_size` records.

    Markers and headers are not rows (they have none of the record columns); they go to `on_marker` and
    `on_header` instead so a caller can total the drops or resolve symbols. No empty frame is produced
    unless the input holds no record at all, in which case one empty frame with the right columns is, so
    consumers always see the schema.
    """
    chunk: list[Record] = []
    produced = False
    for event in events:
        if type(event) is Record:
            chunk.append(event)
            if len(chunk) >= chunk_size:
                yield records_frame(chunk, columns)
                produced = True
                chunk = []
        elif type(event) is Marker:
            if on_marker is not None:
                on_marker(event)
        elif on_header is not None:
            on_header(event)
    if chunk or not produced:
        yield records_frame(chunk, columns)


def read_summary(path: str | os.PathLike[str], on_error: ErrorHandler | None = None) -> pd.DataFrame:
    """Read the fixed fields of every record (no arguments) with the fast columnar reader.

    Columns are `mysysdig.schema.SUMMARY_COLUMNS` (comm and syscall as categoricals); this is what the
    statistics use, several times faster than `read_records` and a fraction of its memory.

    >>> df = mysysdig.read_summary("/etc/syscall-record/record")  # doctest: +SKIP
    >>> df.groupby("syscall", observed=True).lat_ns.describe()  # doctest: +SKIP
    """
    from mysysdig.decode.columns import ColumnReader

    frames = list(ColumnReader(on_error).frames(path))
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def read_records(
    path: str | os.PathLike[str],
    on_error: ErrorHandler | None = None,
    on_marker: MarkerHandler | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> pd.DataFrame:
    """Read a whole record file ("-" for stdin) into one DataFrame with the columns of `mysysdig.schema`.

    Every record is one row: ts, pid, tid, comm, syscall, nr, abi, res, lat_ns, args (a dict, with the
    captured buffer as "data") and truncated. Bad lines are skipped and passed to `on_error` (see
    `mysysdig.decode.ErrorCollector`); drop markers are passed to `on_marker`. The whole file is held in
    memory; for large files use `read_summary` (no arguments, much faster) or aggregate `iter_frames`.

    Example - the files nginx failed to open, and how often:

    >>> import mysysdig
    >>> df = mysysdig.read_records("/etc/syscall-record/record")  # doctest: +SKIP
    >>> opens = df[df.syscall.isin(["open", "openat"]) & (df.comm == "nginx") & (df.res < 0)]
    ... # doctest: +SKIP
    >>> opens.args.map(lambda a: a["filename"]).value_counts()  # doctest: +SKIP
    """
    frames = list(iter_frames(iter_events(path, on_error), chunk_size, on_marker))
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)
