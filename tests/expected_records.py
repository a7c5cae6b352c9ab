"""What tests/workloads/sc_workload.c does, call by call: the oracle for the exact-record tests.

Constants come from Python's standard library (os, socket, mmap, errno, signal, termios), not from the
module, so a wrong number in the kernel side cannot agree with itself here. Values only known at run time
are given as callables that check them against the run (`PTR` for any non-null user pointer, or a function
of the run's pid and earlier results). Flags and constants the module prints by name are `Sym(text, raw)`:
the record must show that text, and the record file's own symbol header must turn it back into the
stdlib's number.
"""

from __future__ import annotations

import errno
import mmap
import os
import signal
import socket
import termios
from dataclasses import dataclass
from typing import Any

from mysysdig.symbols import resolve_symbol

PATH = "/tmp/mysysdig-workload.txt"
MISSING = "/tmp/mysysdig-missing-a"  # opened three times at one address, its last byte changed in between
PAYLOAD = 'hello, world\\\\ \\"quoted\\"\\n\\x01\\xff'  # escaped form of the 25 bytes written and read back
ARGV = ["/bin/sc_workload", "stage2", 'a "quoted" arg']
FUTEX_WAKE, FUTEX_PRIVATE_FLAG = 1, 128  # <linux/futex.h>; Python's stdlib has no futex constants
STATX_SIZE = 0x200  # <linux/stat.h>; not in Python's stdlib either


def PTR(value: Any, run: dict[str, int]) -> bool:  # noqa: N802 - reads as a constant in the table
    """A user pointer we cannot know in advance: any non-null address."""
    return isinstance(value, int) and value > 0x1000


@dataclass(frozen=True)
class Sym:
    """A value shown by name: the exact text, and the number that text stands for."""

    text: str
    raw: int

    def __call__(self, value: Any, run: dict[str, Any]) -> bool:
        return value == self.text and resolve_symbol(value, run["symbols"]) == self.raw


@dataclass
class Call:
    syscall: str
    args: dict[str, Any]
    res: Any
    data: str | None = None


# stage 2 of the workload, from its first openat to exit_group, in order (main thread only)
STAGE2: list[Call] = [
    Call(
        "openat",
        {
            "dfd": Sym("AT_FDCWD", -100),
            "filename": PATH,
            "flags": Sym("O_WRONLY|O_CREAT|O_TRUNC", os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
            "mode": 0o640,
        },
        3,
    ),
    Call("write", {"fd": 3, "count": 25}, 25, PAYLOAD),
    Call("lseek", {"fd": 3, "offset": 5, "whence": Sym("SEEK_SET", os.SEEK_SET)}, 5),
    Call("close", {"fd": 3}, 0),
    Call(
        "openat",
        {"dfd": Sym("AT_FDCWD", -100), "filename": PATH, "flags": Sym("O_RDONLY", os.O_RDONLY), "mode": 0},
        3,
    ),
    Call("read", {"fd": 3, "count": 4096}, 25, PAYLOAD),
    Call("fstat", {"fd": 3, "statbuf": PTR}, 0),
    Call(
        "newfstatat",
        {
            "dfd": Sym("AT_FDCWD", -100),
            "filename": PATH,
            "statbuf": PTR,
            "flag": Sym("AT_SYMLINK_NOFOLLOW", 0x100),
        },
        0,
    ),
    Call(
        "statx",
        {
            "dfd": Sym("AT_FDCWD", -100),
            "filename": PATH,
            "flags": Sym("AT_SYMLINK_NOFOLLOW", 0x100),
            "mask": STATX_SIZE,
            "buffer": PTR,
        },
        0,
    ),
    *(
        Call(
            "openat",
            {
                "dfd": Sym("AT_FDCWD", -100),
                "filename": path,
                "flags": Sym("O_RDONLY", os.O_RDONLY),
                "mode": 0,
            },
            -errno.ENOENT,
        )
        for path in (MISSING, MISSING[:-1] + "b", MISSING)
    ),
    Call("dup", {"fildes": 3}, 4),
    Call("close", {"fd": 4}, 0),
    Call("close", {"fd": 3}, 0),
    Call("close", {"fd": -1}, -errno.EBADF),
    Call("getcwd", {"buf": "/", "size": 200}, 2),
    Call("getuid", {}, 0),
    Call(
        "socket",
        {
            "family": Sym("AF_INET", socket.AF_INET),
            "type": Sym("SOCK_STREAM", socket.SOCK_STREAM),
            "protocol": Sym("IPPROTO_TCP", socket.IPPROTO_TCP),
        },
        3,
    ),
    Call("close", {"fd": 3}, 0),
    Call(
        "socketpair",
        {
            "family": Sym("AF_UNIX", socket.AF_UNIX),
            "type": Sym("SOCK_DGRAM", socket.SOCK_DGRAM),
            "protocol": 0,
            "usockvec": [3, 4],
        },
        0,
    ),
    Call("sendto", {"fd": 3, "len": 4, "flags": 0, "addr": None, "addr_len": 0}, 4, "ping"),
    Call("recvfrom", {"fd": 4, "size": 100, "flags": 0, "addr": None, "addr_len": None}, 4, "ping"),
    Call("ioctl", {"fd": 4, "cmd": termios.FIONREAD, "arg": PTR}, 0),
    Call(
        "ppoll",
        {"ufds": PTR, "nfds": 1, "tsp": {"tv_sec": 1, "tv_nsec": 500}, "sigmask": None, "sigsetsize": 8},
        1,
    ),
    Call(
        "mmap",
        {
            "addr": None,
            "len": 8192,
            "prot": Sym("PROT_READ|PROT_WRITE", mmap.PROT_READ | mmap.PROT_WRITE),
            "flags": Sym("MAP_PRIVATE|MAP_ANONYMOUS", mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS),
            "fd": -1,
            "off": 0,
        },
        lambda v, run: PTR(v, run),
    ),
    Call("munmap", {"addr": lambda v, run: v == run["mmap"], "len": 8192}, 0),
    Call(
        "futex",
        {
            "uaddr": PTR,
            "op": Sym("FUTEX_WAKE|FUTEX_PRIVATE_FLAG", FUTEX_WAKE | FUTEX_PRIVATE_FLAG),
            "val": 1,
            "utime": None,
            "uaddr2": None,
            "val3": 0,
        },
        0,
    ),
    Call("nanosleep", {"rqtp": {"tv_sec": 0, "tv_nsec": 1_000_000}, "rmtp": None}, 0),
    Call("gettid", {}, lambda v, run: v == run["pid"]),
    Call("getpid", {}, lambda v, run: v == run["pid"]),
    Call(
        "tgkill", {"tgid": lambda v, run: v == run["pid"], "pid": lambda v, run: v == run["pid"], "sig": 0}, 0
    ),
    Call(
        "clone",
        {
            "clone_flags": Sym("SIGCHLD", signal.SIGCHLD),
            "newsp": None,
            "parent_tidptr": None,
            "child_tidptr": None,
            "tls": 0,
        },
        lambda v, run: v > run["pid"],
    ),
    Call("wait4", {}, lambda v, run: v == run["clone"]),
    Call("exit_group", {"error_code": 3}, None),
]

# the clone child's only recorded call
CHILD: list[Call] = [Call("exit", {"error_code": 7}, None)]

# arm64 is a CONFIG_CLONE_BACKWARDS architecture: clone(flags, newsp, parent_tidptr, tls, child_tidptr),
# as its sys_enter_clone format lists the fields. The workload passes the same five values (SIGCHLD, 0,
# NULL, NULL, 0), so there the fourth (NULL) is tls and the fifth (0) child_tidptr.
ARM64_CLONE = Call(
    "clone",
    {
        "clone_flags": Sym("SIGCHLD", signal.SIGCHLD),
        "newsp": None,
        "parent_tidptr": None,
        "tls": 0,
        "child_tidptr": None,
    },
    lambda v, run: v > run["pid"],
)


def stage2(arch: str) -> list[Call]:
    """STAGE2 as the kernel of arch ("x86_64" or "arm64") records it: the same calls, differing only where
    the architecture's syscall ABI does."""
    if arch in ("x86_64", "amd64"):
        return STAGE2
    if arch in ("arm64", "aarch64"):
        return [ARM64_CLONE if c.syscall == "clone" else c for c in STAGE2]
    raise ValueError(f"no expected records for arch {arch!r}")
