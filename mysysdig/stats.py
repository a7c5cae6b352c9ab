"""Syscall frequency statistics that work on a whole DataFrame or on a stream of chunks.

A record file can be far larger than memory, so counts are computed per chunk and the small per-chunk
results (one row per distinct syscall, a few hundred at most) are added up; no chunk is kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from mysysdig.schema import BYTES_SYSCALLS, MAX_ERRNO, errno_name

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


# --- Grouped statistics: counts, latency, errors and bytes by any key columns, over a stream of chunks ---

#: Percentiles reported with latency; nearest-rank, so each is a latency some call really had.
PERCENTILES = (50, 99)


#: Partial results are added up after this many chunks.
COMPACT_EVERY = 64


class GroupStats:
    """Per-group statistics accumulated chunk by chunk, in memory that grows with the number of groups.

    Always: `count` (records). With `latency`: over the records that have a latency, `lat_count`,
    `total_ns`, `avg_ns`, `min_ns`, `p50_ns`, `p99_ns`, `max_ns` - the percentiles are exact, so the
    latencies themselves are kept (8 bytes per timed record, only when asked for: ~100 MB for 2 GB).
    With `errors`: `errors` (error results, -4095..-1), `error_pct`, and `errnos` ({name: count}).
    With `nbytes`: `bytes`, the sum of the non-negative results of the read/write/send/recv families
    (`schema.BYTES_SYSCALLS`).
    """

    def __init__(
        self, keys: Sequence[str], *, latency: bool = False, errors: bool = False, nbytes: bool = False
    ) -> None:
        self.keys = list(keys)
        self.latency = latency
        self.errors = errors
        self.nbytes = nbytes
        self._parts: list[pd.DataFrame] = []
        self._errno_parts: list[pd.Series] = []
        self._gids: dict[tuple, int] = {}
        #: Latencies per group id, as arrays appended chunk by chunk (8 bytes per timed record).
        self._lat_by_gid: dict[int, list[np.ndarray]] = {}

    @property
    def columns(self) -> set[str]:
        """The record columns `add` needs."""
        needed = set(self.keys)
        if self.latency:
            needed.add("lat_ns")
        if self.errors or self.nbytes:
            needed.add("res")
        if self.nbytes:
            needed.add("syscall")
        return needed

    def add(self, frame: pd.DataFrame) -> None:
        """Fold one chunk (summary or full record columns) into the statistics."""
        if len(frame) == 0:
            return
        frame = frame.reset_index(drop=True)
        by = [frame[k] for k in self.keys]
        grouped = frame.groupby(by, observed=True, sort=False)
        part = grouped.size().rename("count").to_frame()
        if self.latency:
            lat = frame["lat_ns"]
            lat_grouped = lat.groupby(by, observed=True, sort=False)
            part["lat_count"] = lat_grouped.count()
            part["total_ns"] = lat_grouped.sum()
            part["min_ns"] = lat_grouped.min()
            part["max_ns"] = lat_grouped.max()
            local = grouped.ngroup().to_numpy()
            to_global = np.array([self._gid(k) for k in _tuples(part.index)], dtype=np.int64)
            has_lat = lat.notna().to_numpy()
            gids = to_global[local[has_lat]]
            values = lat.to_numpy(dtype=np.int64, na_value=0)[has_lat]
            order = np.argsort(gids, kind="stable")
            gids, values = gids[order], values[order]
            starts = np.flatnonzero(np.r_[True, gids[1:] != gids[:-1]]) if len(gids) else []
            for start, end in zip(starts, [*starts[1:], len(gids)], strict=True):
                self._lat_by_gid.setdefault(int(gids[start]), []).append(values[start:end].copy())
        if self.errors or self.nbytes:
            res = frame["res"].to_numpy(dtype=np.int64, na_value=0)
            if self.errors:
                failed = (res < 0) & (res >= -MAX_ERRNO)
                part["errors"] = pd.Series(failed).groupby(by, observed=True, sort=False).sum()
                if failed.any():
                    sub = frame[failed]
                    names = pd.Series(res[failed]).map(errno_name).to_numpy()
                    self._errno_parts.append(
                        sub.groupby(
                            [*(sub[k] for k in self.keys), pd.Series(names, index=sub.index, name="errno")],
                            observed=True,
                        ).size()
                    )
            if self.nbytes:
                moving = frame["syscall"].isin(BYTES_SYSCALLS).to_numpy() & (res > 0)
                part["bytes"] = (
                    pd.Series(np.where(moving, res, 0)).groupby(by, observed=True, sort=False).sum()
                )
        self._parts.append(part)
        if len(self._parts) >= COMPACT_EVERY:
            # Keep memory in proportion to the number of groups, not to the number of chunks read.
            self._parts = [self._combined()]

    def _combined(self) -> pd.DataFrame:
        """All partial results added up into one frame indexed by the keys."""
        parts = [p.set_axis(_object_index(p.index, self.keys)) for p in self._parts]
        agg = {"count": "sum"}
        if self.latency:
            agg.update(lat_count="sum", total_ns="sum", min_ns="min", max_ns="max")
        if self.errors:
            agg["errors"] = "sum"
        if self.nbytes:
            agg["bytes"] = "sum"
        return pd.concat(parts).groupby(level=list(range(len(self.keys))), sort=False).agg(agg)

    def _gid(self, key: tuple) -> int:
        gid = self._gids.get(key)
        if gid is None:
            gid = self._gids[key] = len(self._gids)
        return gid

    def table(self) -> pd.DataFrame:
        """One row per group: the key columns, then the statistics; sorted by count, then by key."""
        columns = [*self.keys, "count"]
        if self.latency:
            columns += [
                "lat_count",
                "total_ns",
                "avg_ns",
                "min_ns",
                *(f"p{p}_ns" for p in PERCENTILES),
                "max_ns",
            ]
        if self.errors:
            columns += ["errors", "error_pct", "errnos"]
        if self.nbytes:
            columns += ["bytes"]
        if not self._parts:
            return pd.DataFrame(columns=columns)
        table = self._combined()
        if self.latency:
            table["avg_ns"] = table["total_ns"] / table["lat_count"].where(table["lat_count"] > 0)
            pct = self._percentiles()
            for p in PERCENTILES:
                values = [pct.get(self._gids.get(k, -1), {}).get(p) for k in _tuples(table.index)]
                table[f"p{p}_ns"] = pd.array(values, dtype="Int64")
        if self.errors:
            table["error_pct"] = table["errors"] * 100.0 / table["count"]
            errnos = self._errnos()
            table["errnos"] = [errnos.get(k, {}) for k in _tuples(table.index)]
        table = table.reset_index()
        table.columns = [*self.keys, *table.columns[len(self.keys) :]]
        table = table.sort_values(
            ["count", *self.keys], ascending=[False] + [True] * len(self.keys), kind="stable"
        )
        return table[columns].reset_index(drop=True)

    def _percentiles(self) -> dict[int, dict[int, int]]:
        """Nearest-rank percentiles per group; np.partition finds the ranks without sorting it all."""
        out: dict[int, dict[int, int]] = {}
        for gid, parts in self._lat_by_gid.items():
            values = np.concatenate(parts)
            ranks = {p: max(math.ceil(p / 100 * len(values)) - 1, 0) for p in PERCENTILES}
            values.partition(sorted(set(ranks.values())))
            out[gid] = {p: int(values[k]) for p, k in ranks.items()}
        return out

    def _errnos(self) -> dict[tuple, dict[str, int]]:
        if not self._errno_parts:
            return {}
        counts = (
            pd.concat([s.set_axis(_object_index(s.index, [*self.keys, "errno"])) for s in self._errno_parts])
            .groupby(level=list(range(len(self.keys) + 1)))
            .sum()
        )
        out: dict[tuple, dict[str, int]] = {}
        for key, n in counts.items():
            out.setdefault(tuple(key[:-1]), {})[key[-1]] = int(n)
        return {k: dict(sorted(v.items(), key=lambda kv: (-kv[1], kv[0]))) for k, v in out.items()}


def _tuples(index: pd.Index) -> list[tuple]:
    """Group keys as tuples whatever the number of key columns."""
    if isinstance(index, pd.MultiIndex):
        return [tuple(k) for k in index]
    return [(k,) for k in index]


def _object_index(index: pd.Index, names: Sequence[str]) -> pd.Index:
    """The same keys with plain object levels, so chunks with different categories concatenate."""
    tuples = _tuples(index)
    plain = [tuple(v.item() if isinstance(v, np.generic) else v for v in t) for t in tuples]
    return (
        pd.MultiIndex.from_tuples(plain, names=list(names))
        if plain
        else pd.MultiIndex.from_arrays([[] for _ in names], names=list(names))
    )


class IntervalStats:
    """Counts per fixed time interval, like the syscall-count gadget and the per-PID monitor print them.

    Intervals are aligned to multiples of their length since the epoch (a 5 s interval starts at a time
    divisible by 5 s), so two recordings of the same period bucket alike. `counts()` has one row per
    interval, syscall and syscall number; `processes()` one per interval, pid, comm and syscall with the
    count, latency sum/count/max and bytes moved.
    """

    def __init__(self, interval_ns: int, per_process: bool = False) -> None:
        if interval_ns <= 0:
            raise ValueError("interval must be positive")
        self.interval_ns = interval_ns
        self.per_process = per_process
        self._counts = GroupStats(["interval", "syscall", "nr"])
        self._procs = GroupStats(["interval", "pid", "comm", "syscall"], latency=False, nbytes=True)
        self._lat: list[pd.DataFrame] = []
        self.first: int | None = None
        self.last: int | None = None

    @property
    def columns(self) -> set[str]:
        """The record columns `add` needs."""
        needed = {"ts", "syscall", "nr"}
        if self.per_process:
            needed |= {"pid", "comm", "lat_ns", "res"}
        return needed

    def add(self, frame: pd.DataFrame) -> None:
        if len(frame) == 0:
            return
        buckets = frame["ts"].to_numpy() // self.interval_ns * self.interval_ns
        lo, hi = int(buckets.min()), int(buckets.max())
        self.first = lo if self.first is None else min(self.first, lo)
        self.last = hi if self.last is None else max(self.last, hi)
        frame = frame.assign(interval=buckets)
        self._counts.add(frame)
        if self.per_process:
            self._procs.add(frame)
            keys = ["interval", "pid", "comm", "syscall"]
            lat = frame.groupby(keys, observed=True, sort=False)["lat_ns"].agg(["sum", "count", "max"])
            self._lat.append(lat.set_axis(_object_index(lat.index, keys)))

    def intervals(self) -> list[int]:
        """Start of every interval from the first record's to the last one's, empty ones included."""
        if self.first is None or self.last is None:
            return []
        return list(range(self.first, self.last + 1, self.interval_ns))

    def counts(self) -> pd.DataFrame:
        """interval, syscall, nr, count; sorted by interval, then syscall name and number."""
        table = self._counts.table()
        return table.sort_values(["interval", "syscall", "nr"], kind="stable").reset_index(drop=True)

    def processes(self) -> pd.DataFrame:
        """interval, pid, comm, syscall, count, lat_count, total_ns, max_ns, bytes."""
        table = self._procs.table()
        keys = ["interval", "pid", "comm", "syscall"]
        if self._lat:
            lat = (
                pd.concat(self._lat)
                .groupby(level=list(range(4)))
                .agg({"sum": "sum", "count": "sum", "max": "max"})
            )
            lat.columns = ["total_ns", "lat_count", "max_ns"]
            table = table.merge(
                lat.reset_index().set_axis([*keys, "total_ns", "lat_count", "max_ns"], axis=1), on=keys
            )
        else:
            table = table.assign(total_ns=0, lat_count=0, max_ns=pd.NA)
        table = table.sort_values(
            ["interval", "pid", "count", "syscall"], ascending=[True, True, False, True]
        )
        return table[[*keys, "count", "lat_count", "total_ns", "max_ns", "bytes"]].reset_index(drop=True)
