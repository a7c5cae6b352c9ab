"""Syscall frequency statistics that work on a whole DataFrame or on a stream of chunks.

A record file can be far larger than memory, so counts are computed per chunk and the small per-chunk
results (one row per distinct syscall, a few hundred at most) are added up; no chunk is kept.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

FrameOrChunks = pd.DataFrame | Iterable[pd.DataFrame]

#: Columns of `top_syscalls`' result.
TOP_COLUMNS = ("syscall", "count", "percent")


def count_syscalls(data: FrameOrChunks) -> pd.Series:
    """Count records per syscall name over a frame or an iterable of frames.

    Returns an int64 Series indexed by syscall name; the sum is the total number of records, which the
    top-N table alone cannot give.
    """
    frames = [data] if isinstance(data, pd.DataFrame) else data
    total = pd.Series(dtype="int64")
    for frame in frames:
        if len(frame) == 0:
            continue
        counts = frame["syscall"].astype(object).value_counts(sort=False)
        total = total.add(counts, fill_value=0)
    total = total.astype("int64")
    total.index = total.index.astype(object)
    total.index.name = "syscall"
    return total.rename("count")


def rank_syscalls(counts: pd.Series, top: int | None = 20) -> pd.DataFrame:
    """Turn per-syscall counts into the top-N table: syscall, count, percent of ALL records.

    Ties are broken by name so the output is stable from run to run. `percent` is 100 * count / total,
    unrounded; `top=None` keeps every syscall.
    """
    total = int(counts.sum())
    table = pd.DataFrame({"syscall": counts.index.astype(object), "count": counts.to_numpy(dtype="int64")})
    table = table.sort_values(["count", "syscall"], ascending=[False, True], kind="stable")
    if top is not None:
        table = table.head(top)
    table["percent"] = table["count"] * 100.0 / total if total else 0.0
    return table.reset_index(drop=True).astype({"count": "int64", "percent": "float64"})


def top_syscalls(data: FrameOrChunks, top: int | None = 20) -> pd.DataFrame:
    """The `top` most frequent syscalls with their count and percentage of all records.

    `data` is a DataFrame from `read_records` or an iterable of chunks from `iter_frames`; with chunks the
    memory used does not grow with the file.
    """
    return rank_syscalls(count_syscalls(data), top)
