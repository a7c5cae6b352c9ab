"""The questions the seeds ask of a recording, as functions from Records and summary frames to tables.

Which files were opened by whom and how (`file_opens`), who maps memory and how (`mmap_calls`), what a
security review looks at (`privilege_calls`, `exec_calls`, `ptrace_calls`, `permission_errors`,
`rate_anomalies`) and which syscalls a seccomp allow-list needs (`seccomp_profile`). The CLI commands
are thin wrappers, so these can be used from Python on a `read_records` frame or a Record stream.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from mysysdig.model import Header, Record, Symbol
from mysysdig.render import format_value
from mysysdig.schema import errno_name
from mysysdig.symbols import decode_flags, open_table, symbol_names

# --- files ---------------------------------------------------------------------------------------------

#: Syscalls that open a file by name, with the argument that holds the name.
OPEN_SYSCALLS = {"open": "filename", "openat": "filename", "openat2": "filename", "creat": "pathname"}
#: creat(path, mode) is open(path, O_CREAT|O_WRONLY|O_TRUNC, mode).
CREAT_FLAGS = ["O_WRONLY", "O_CREAT", "O_TRUNC"]

FILE_COLUMNS = ["ts", "pid", "comm", "syscall", "path", "flags", "created", "tmpfile", "result"]


def open_flags(record: Record, header: Header | None) -> list[str]:
    """The open flags of an open-family record as names, from symbolic text or from a number."""
    if record.syscall == "creat":
        return list(CREAT_FLAGS)
    flags = record.args.get("flags")
    if record.syscall == "openat2":
        how = record.args.get("how")
        flags = how.get("flags") if isinstance(how, dict) else None
    if isinstance(flags, Symbol):
        return str(flags).split("|")
    if isinstance(flags, int):
        return decode_flags(flags, open_table(header))
    return []


def _path(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return f"<unreadable {value:#x}>"
    return "<not recorded>"


def result_text(res: int | None) -> str:
    """`ok`, the errno name of a failure, or `?` for no result."""
    if res is None:
        return "?"
    return errno_name(res) or "ok"


def file_opens(records: Iterable[Record], header_at: Any = None) -> pd.DataFrame:
    """One row per open-family call: ts, pid, comm, syscall, path, flags, created, tmpfile, result.

    `created` is an open that may create a file (O_CREAT, O_TMPFILE, or creat()); `tmpfile` an unnamed
    temporary file (O_TMPFILE). `header_at(record)` gives the header in force for a record, if any, to
    decode numeric flags.
    """
    rows = []
    for r in records:
        name_arg = OPEN_SYSCALLS.get(r.syscall)
        if name_arg is None:
            continue
        header = header_at(r) if header_at is not None else None
        flags = open_flags(r, header)
        tmpfile = "O_TMPFILE" in flags
        created = tmpfile or "O_CREAT" in flags
        rows.append(
            (
                r.ts,
                r.pid,
                r.comm,
                r.syscall,
                _path(r.args.get(name_arg)),
                "|".join(flags),
                created,
                tmpfile,
                result_text(r.res),
            )
        )
    return pd.DataFrame(rows, columns=FILE_COLUMNS)


def summarize_opens(opens: pd.DataFrame) -> pd.DataFrame:
    """Opens counted per path, process, flags and result; most frequent first, then by path."""
    keys = ["path", "pid", "comm", "flags", "result"]
    if opens.empty:
        return pd.DataFrame(columns=[*keys, "count"])
    table = opens.groupby(keys, sort=False).size().rename("count").reset_index()
    return table.sort_values(
        ["count", "path", "pid", "flags", "result"], ascending=[False, True, True, True, True]
    ).reset_index(drop=True)


# --- mmap ----------------------------------------------------------------------------------------------

MMAP_SYSCALLS = frozenset({"mmap", "mmap2", "old_mmap"})
#: The map type field of mmap flags (MAP_TYPE): 1 shared, 2 private, 3 shared-validate; the same on
#: every Linux architecture.
_MAP_TYPE = {1: "shared", 2: "private", 3: "shared"}


def map_kind(flags: Any) -> str:
    """`shared`, `private` or `?` from mmap flags, symbolic or numeric."""
    if isinstance(flags, Symbol):
        names = symbol_names(flags)
        if "MAP_PRIVATE" in names:
            return "private"
        if "MAP_SHARED" in names or "MAP_SHARED_VALIDATE" in names:
            return "shared"
        return "?"
    if isinstance(flags, int):
        return _MAP_TYPE.get(flags & 0x0F, "?")
    return "?"


MMAP_COLUMNS = ["pid", "comm", "size", "kind", "anonymous", "result"]


def mmap_calls(records: Iterable[Record]) -> pd.DataFrame:
    """One row per mmap call: pid, comm, size (the len argument), kind, anonymous, result."""
    rows = []
    for r in records:
        if r.syscall not in MMAP_SYSCALLS:
            continue
        flags = r.args.get("flags")
        size = r.args.get("len")
        anonymous = (
            isinstance(flags, Symbol)
            and "MAP_ANONYMOUS" in symbol_names(flags)
            or (isinstance(flags, int) and bool(flags & 0x20))
        )
        rows.append(
            (
                r.pid,
                r.comm,
                size if isinstance(size, int) else None,
                map_kind(flags),
                anonymous,
                result_text(r.res),
            )
        )
    return pd.DataFrame(rows, columns=MMAP_COLUMNS)


def mmap_by_process(calls: pd.DataFrame) -> pd.DataFrame:
    """Per process: calls, bytes requested, private and shared counts and their share of the calls."""
    columns = ["pid", "comm", "calls", "bytes", "private", "shared", "private_pct", "shared_pct"]
    if calls.empty:
        return pd.DataFrame(columns=columns)
    g = calls.groupby("pid", sort=False)
    table = pd.DataFrame(
        {
            "comm": g["comm"].agg(lambda s: s.value_counts().index[0]),
            "calls": g.size(),
            "bytes": g["size"].sum(min_count=1).fillna(0).astype("int64"),
            "private": g["kind"].agg(lambda s: int((s == "private").sum())),
            "shared": g["kind"].agg(lambda s: int((s == "shared").sum())),
        }
    ).reset_index()
    table["private_pct"] = table["private"] * 100.0 / table["calls"]
    table["shared_pct"] = table["shared"] * 100.0 / table["calls"]
    return table.sort_values(["calls", "pid"], ascending=[False, True])[columns].reset_index(drop=True)


def mmap_sizes(calls: pd.DataFrame) -> pd.DataFrame:
    """How many mappings of each size were requested, largest count first."""
    if calls.empty:
        return pd.DataFrame(columns=["size", "count", "private", "shared"])
    g = calls.groupby("size", sort=False)
    table = pd.DataFrame(
        {
            "count": g.size(),
            "private": g["kind"].agg(lambda s: int((s == "private").sum())),
            "shared": g["kind"].agg(lambda s: int((s == "shared").sum())),
        }
    ).reset_index()
    table["size"] = table["size"].astype("int64")
    return table.sort_values(["count", "size"], ascending=[False, True]).reset_index(drop=True)


# --- audit ---------------------------------------------------------------------------------------------

_ID_CALLS = (
    "setuid",
    "setgid",
    "setreuid",
    "setregid",
    "setresuid",
    "setresgid",
    "setfsuid",
    "setfsgid",
    "setgroups",
)
#: Calls that change credentials, with the ia32/AArch32 `*32` variants.
PRIVILEGE_SYSCALLS = frozenset({*_ID_CALLS, *(f"{n}32" for n in _ID_CALLS), "capset"})
EXEC_SYSCALLS = frozenset({"execve", "execveat"})
PTRACE_SYSCALLS = frozenset({"ptrace"})
PERMISSION_ERRNOS = ("EACCES", "EPERM")


def _args_text(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={format_value(v)}" for k, v in args.items())


def call_rows(records: Iterable[Record], names: frozenset[str]) -> pd.DataFrame:
    """ts, pid, comm, syscall, args (as written in the record: hex stays hex) and result of the calls."""
    rows = [
        (r.ts, r.pid, r.comm, r.syscall, r.raw_args or _args_text(r.args), result_text(r.res))
        for r in records
        if r.syscall in names
    ]
    return pd.DataFrame(rows, columns=["ts", "pid", "comm", "syscall", "args", "result"])


def exec_rows(records: Iterable[Record]) -> pd.DataFrame:
    """Every execve/execveat: ts, pid, comm (of the caller), filename, argv (list), cut, result."""
    rows = []
    for r in records:
        if r.syscall not in EXEC_SYSCALLS:
            continue
        argv = r.args.get("argv")
        rows.append(
            (
                r.ts,
                r.pid,
                r.comm,
                _path(r.args.get("filename")),
                argv if isinstance(argv, list) else [],
                "argv" in r.truncated,
                result_text(r.res),
            )
        )
    return pd.DataFrame(rows, columns=["ts", "pid", "comm", "filename", "argv", "argv_cut", "result"])


def permission_errors(frame: pd.DataFrame) -> pd.DataFrame:
    """EACCES/EPERM failures counted per pid, comm, syscall and errno (from summary columns)."""
    columns = ["pid", "comm", "syscall", "errno", "count"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    res = frame["res"]
    codes = {-13: "EACCES", -1: "EPERM"}
    hit = res.isin(list(codes)).fillna(False).to_numpy(dtype=bool)
    sub = frame[hit]
    if sub.empty:
        return pd.DataFrame(columns=columns)
    table = (
        sub.assign(
            errno=sub["res"].map(codes).astype(object),
            comm=sub["comm"].astype(object),
            syscall=sub["syscall"].astype(object),
        )
        .groupby(["pid", "comm", "syscall", "errno"], sort=False)
        .size()
        .rename("count")
        .reset_index()
    )
    return table.sort_values(["count", "pid", "syscall"], ascending=[False, True, True]).reset_index(
        drop=True
    )


def rate_anomalies(counts: pd.DataFrame, intervals: list[int], sigma: float, min_count: int) -> pd.DataFrame:
    """Intervals where a syscall ran far above its own norm in the recording.

    `counts` has interval, syscall, count (e.g. from `IntervalStats.counts()` summed over nr) and
    `intervals` lists every interval of the recording, so empty ones count as zero. The norm of a
    syscall is the mean of its per-interval counts; an interval is flagged when its count is at least
    `min_count` and above mean + sigma * standard deviation (population).
    """
    columns = ["interval", "syscall", "count", "mean", "std", "ratio"]
    if counts.empty or not intervals:
        return pd.DataFrame(columns=columns)
    n = len(intervals)
    per = counts.groupby(["syscall", "interval"], sort=False)["count"].sum().reset_index()
    rows = []
    for syscall, group in per.groupby("syscall", sort=True):
        values = group["count"].to_numpy(dtype=float)
        total = values.sum()
        mean = total / n
        # Population variance over all n intervals, the missing ones being zero.
        var = (np.square(values - mean).sum() + (n - len(values)) * mean * mean) / n
        std = math.sqrt(var)
        for interval, count in zip(group["interval"], group["count"], strict=True):
            if count >= min_count and count > mean + sigma * std:
                rows.append((int(interval), syscall, int(count), mean, std, count / mean))
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values(["interval", "ratio"], ascending=[True, False]).reset_index(drop=True)


# --- seccomp -------------------------------------------------------------------------------------------

#: libseccomp's names of the architectures, by the record header's arch and compat values.
SCMP_ARCH = {
    "x86_64": "SCMP_ARCH_X86_64",
    "ia32": "SCMP_ARCH_X86",
    "aarch64": "SCMP_ARCH_AARCH64",
    "aarch32": "SCMP_ARCH_ARM",
}
ACTIONS = {
    "errno": "SCMP_ACT_ERRNO",
    "kill": "SCMP_ACT_KILL",
    "kill_process": "SCMP_ACT_KILL_PROCESS",
    "trap": "SCMP_ACT_TRAP",
    "log": "SCMP_ACT_LOG",
}


def seccomp_profile(
    names: Iterable[str], arches: Iterable[str] = (), default_action: str = "errno"
) -> dict[str, Any]:
    """An allow-list seccomp profile in the OCI runtime-spec / Docker JSON format.

    Every name given is allowed; anything else gets `default_action` (EPERM for "errno"). `arches` are
    header arch/compat names (x86_64, ia32, aarch64, aarch32); unknown ones are left out.
    """
    profile: dict[str, Any] = {"defaultAction": ACTIONS[default_action]}
    if default_action == "errno":
        profile["defaultErrnoRet"] = 1
    scmp = [SCMP_ARCH[a] for a in dict.fromkeys(arches) if a in SCMP_ARCH]
    if scmp:
        profile["architectures"] = scmp
    allowed = sorted({n for n in names if n != "unknown"})
    profile["syscalls"] = [{"names": allowed, "action": "SCMP_ACT_ALLOW"}] if allowed else []
    return profile
