"""The record filters every command shares: process, thread, command name, syscall, outcome and time.

One `RecordFilter` works on both shapes of data - a DataFrame chunk (vectorised, for the statistics) and a
single Record (for commands that stream records) - so a question gives the same answer whichever command
asks it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from mysysdig.model import Record
from mysysdig.schema import MAX_ERRNO

NS_PER_S = 1_000_000_000

_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": NS_PER_S,
    "m": 60 * NS_PER_S,
    "h": 3600 * NS_PER_S,
}
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(ns|us|µs|ms|s|m|h)?")


def parse_duration(text: str) -> int:
    """Nanoseconds of a duration such as `5s`, `500ms`, `1.5m`, `250us`; a bare number is seconds."""
    m = _DURATION.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"not a duration: {text!r} (want e.g. 5s, 500ms, 2m)")
    return round(float(m.group(1)) * _UNITS[m.group(2) or "s"])


@dataclass(frozen=True, slots=True)
class TimeBound:
    """A point in time: absolute (ns since the epoch) or relative to the first record (`+5s`)."""

    ns: int
    relative: bool = False

    def resolve(self, start_ts: int) -> int:
        return start_ts + self.ns if self.relative else self.ns


def parse_time(text: str) -> TimeBound:
    """`--since`/`--until`: `+DURATION` after the first record, epoch seconds or ns, or ISO 8601 (UTC).

    A number of 16 digits or more is taken as nanoseconds (the record's own `ts`), a shorter one as
    seconds, so both `date +%s` and a ts copied from a record work.
    """
    text = text.strip()
    if text.startswith("+"):
        return TimeBound(parse_duration(text[1:]), relative=True)
    if re.fullmatch(r"[0-9]{16,}", text):
        return TimeBound(int(text))
    if re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", text):
        return TimeBound(round(float(text) * NS_PER_S))
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"not a time: {text!r} (want +5s, epoch seconds, a record's ts, or ISO 8601)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = when - datetime(1970, 1, 1, tzinfo=UTC)
    return TimeBound((delta.days * 86400 + delta.seconds) * NS_PER_S + delta.microseconds * 1000)


@dataclass
class RecordFilter:
    """Which records a command looks at; an empty filter keeps everything.

    `outcome` is "failed" (an error result), "succeeded" (a non-error result) or None; calls that never
    return (exit, exit_group) have no result and are neither. Relative times are resolved against the
    first record the filter sees, so feed it records in file order.
    """

    pids: frozenset[int] = frozenset()
    tids: frozenset[int] = frozenset()
    comms: frozenset[str] = frozenset()
    syscalls: frozenset[str] = frozenset()
    outcome: str | None = None
    since: TimeBound | None = None
    until: TimeBound | None = None
    start_ts: int | None = field(default=None)

    def active(self) -> bool:
        """Whether any condition is set (an inactive filter is skipped entirely)."""
        return bool(
            self.pids or self.tids or self.comms or self.syscalls or self.outcome or self.since or self.until
        )

    def _window(self, first_ts: int) -> tuple[int | None, int | None]:
        if self.start_ts is None:
            self.start_ts = first_ts
        since = self.since.resolve(self.start_ts) if self.since else None
        until = self.until.resolve(self.start_ts) if self.until else None
        return since, until

    def columns(self) -> set[str]:
        """The summary columns the filter looks at (so a reader can extract only those)."""
        needed = set()
        for attr, column in (("pids", "pid"), ("tids", "tid"), ("comms", "comm"), ("syscalls", "syscall")):
            if getattr(self, attr):
                needed.add(column)
        if self.outcome is not None:
            needed.add("res")
        if self.since is not None or self.until is not None:
            needed.add("ts")
        return needed

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """Boolean mask of the rows of a frame (summary or full record columns) that pass."""
        keep = np.ones(len(frame), dtype=bool)
        if len(frame) == 0:
            return keep
        if self.pids:
            keep &= frame["pid"].isin(self.pids).to_numpy()
        if self.tids:
            keep &= frame["tid"].isin(self.tids).to_numpy()
        if self.comms:
            keep &= frame["comm"].isin(self.comms).to_numpy()
        if self.syscalls:
            keep &= frame["syscall"].isin(self.syscalls).to_numpy()
        if self.outcome is not None:
            res = frame["res"]
            failed = ((res < 0) & (res >= -MAX_ERRNO)).fillna(False).to_numpy(dtype=bool)
            if self.outcome == "failed":
                keep &= failed
            else:
                keep &= res.notna().to_numpy() & ~failed
        if self.since is not None or self.until is not None:
            since, until = self._window(int(frame["ts"].iloc[0]))
            ts = frame["ts"].to_numpy()
            if since is not None:
                keep &= ts >= since
            if until is not None:
                keep &= ts < until
        return keep

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of a frame that pass (the frame itself when the filter is empty)."""
        if not self.active():
            return frame
        return frame[self.mask(frame)]

    def keep(self, record: Record) -> bool:
        """Whether one record passes."""
        if self.pids and record.pid not in self.pids:
            return False
        if self.tids and record.tid not in self.tids:
            return False
        if self.comms and record.comm not in self.comms:
            return False
        if self.syscalls and record.syscall not in self.syscalls:
            return False
        if self.outcome is not None:
            res = record.res
            failed = res is not None and -MAX_ERRNO <= res < 0
            if failed != (self.outcome == "failed") or res is None:
                return False
        if self.since is not None or self.until is not None:
            since, until = self._window(record.ts)
            if since is not None and record.ts < since:
                return False
            if until is not None and record.ts >= until:
                return False
        return True
