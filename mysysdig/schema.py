"""The record schema, kept in one place so the parser, the DataFrame builder and the JSON output agree.

The column set is the record format's fixed fields (docs/record-format.md) under the names users see in
JSON: `lat=` becomes `lat_ns` because a bare "lat" hides its unit. `res` and `lat_ns` use pandas' nullable
Int64 because both are legitimately absent (exit/exit_group never return; a call already in progress when
the module was loaded has no entry time), and a float column would corrupt large values.
"""

from __future__ import annotations

import errno

#: DataFrame columns in output order; also the JSON keys of a record (plus optional "truncated").
COLUMNS: tuple[str, ...] = ("ts", "pid", "tid", "comm", "syscall", "nr", "abi", "res", "lat_ns", "args")

#: Extra DataFrame column: names of the arguments the module cut (empty tuple when nothing was cut).
#: Not one of the JSON keys, where "truncated" appears only when non-empty.
TRUNCATED = "truncated"

#: pandas dtypes of the columns. `ts` is nanoseconds since the Unix epoch kept as int64 rather than
#: datetime64 so that it round-trips exactly and compares directly with the record text.
DTYPES: dict[str, str] = {
    "ts": "int64",
    "pid": "int64",
    "tid": "int64",
    "comm": "string",
    "syscall": "string",
    "nr": "int64",
    "abi": "int64",
    "res": "Int64",
    "lat_ns": "Int64",
    "args": "object",
    TRUNCATED: "object",
}

#: Every column of a frame built by `mysysdig.records`, in order.
FRAME_COLUMNS: tuple[str, ...] = (*COLUMNS, TRUNCATED)

#: The columns of the fast summary reader (`mysysdig.decode.columns`): every fixed field, no arguments.
#: This is all that counting, latency, error and interval statistics need.
SUMMARY_COLUMNS: tuple[str, ...] = tuple(c for c in COLUMNS if c != "args")

#: Their dtypes: as DTYPES, except that the few distinct names are pandas categoricals, which makes
#: grouping by them cheap and keeps millions of rows small.
SUMMARY_DTYPES: dict[str, str] = {
    c: ("category" if DTYPES[c] == "string" else DTYPES[c]) for c in SUMMARY_COLUMNS
}

#: Syscalls whose non-negative result is a number of bytes moved (the read/write/send/recv families),
#: under their names in every ABI. sendmmsg/recvmmsg count messages, not bytes, and are left out.
BYTES_SYSCALLS: frozenset[str] = frozenset(
    {
        "read",
        "pread64",
        "readv",
        "preadv",
        "preadv2",
        "write",
        "pwrite64",
        "writev",
        "pwritev",
        "pwritev2",
        "recv",
        "recvfrom",
        "recvmsg",
        "send",
        "sendto",
        "sendmsg",
        "sendfile",
        "sendfile64",
    }
)

#: The two ABIs a record can name (`abi=` field).
ABIS: frozenset[int] = frozenset({64, 32})

#: Largest errno the kernel can return; anything further below zero is a value, not an error
#: (the kernel's IS_ERR_VALUE rule).
MAX_ERRNO = 4095

# Names Python's errno module does not know: kernel-internal codes that the syscall exit tracepoint can
# still see (a call interrupted by a signal returns -ERESTARTSYS there before the restart logic runs).
# From include/linux/errno.h.
_KERNEL_ERRNOS: dict[int, str] = {
    512: "ERESTARTSYS",
    513: "ERESTARTNOINTR",
    514: "ERESTARTNOHAND",
    515: "ENOIOCTLCMD",
    516: "ERESTART_RESTARTBLOCK",
    517: "EPROBE_DEFER",
    518: "EOPENSTALE",
    519: "ENOPARAM",
    521: "EBADHANDLE",
    522: "ENOTSYNC",
    523: "EBADCOOKIE",
    524: "ENOTSUPP",
    525: "ETOOSMALL",
    526: "ESERVERFAULT",
    527: "EBADTYPE",
    528: "EJUKEBOX",
    529: "EIOCBQUEUED",
    530: "ERECALLCONFLICT",
    531: "ENOGRACE",
}

# Where errno.errorcode picks an alias, prefer the name the kernel headers and strace use.
_PREFERRED: dict[int, str] = {
    errno.EOPNOTSUPP: "EOPNOTSUPP",
    errno.EDEADLK: "EDEADLK",
    errno.EAGAIN: "EAGAIN",
}


def is_error(res: int | None) -> bool:
    """Whether a result is an error code (-1..-4095), by the kernel's IS_ERR_VALUE rule."""
    return res is not None and -MAX_ERRNO <= res < 0


def errno_name(res: int | None) -> str | None:
    """Name the error a syscall result stands for (-2 -> "ENOENT").

    Returns None for success, for no result, and for negative values outside the kernel's error range so
    that callers can print the name whenever one exists without re-checking the range themselves.
    """
    if res is None or res >= 0 or res < -MAX_ERRNO:
        return None
    code = -res
    name = _PREFERRED.get(code) or errno.errorcode.get(code) or _KERNEL_ERRNOS.get(code)
    return name if name is not None else f"E{code}"
