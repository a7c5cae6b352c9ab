"""Shared pieces of the VM tests: building the module and workloads once, booting, parsing what comes back.

Kernel tests never skip: if the kernel or its headers are missing, resolve_kernel() raises and the test
fails with the command that fixes it (scripts/setup.sh). A skipped kernel test would hide that the module
was never exercised.
"""

from __future__ import annotations

import sys
from collections import Counter
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from mysysdig.decode import parse_text  # noqa: E402
from mysysdig.model import Marker, ParseError, Record  # noqa: E402
from scripts.testbed import Kernel, VmResult, build_module, build_static, resolve_kernel, run_vm  # noqa: E402

WORKLOADS = REPO / "tests" / "workloads"
RECORD = "/etc/syscall-record/record"


@cache
def kernel(arch: str = "x86_64") -> Kernel:
    return resolve_kernel(arch)


@cache
def module(arch: str = "x86_64") -> Path:
    return build_module(kernel(arch))


@cache
def workload_binaries(arch: str = "x86_64") -> dict[str, Path]:
    out = REPO / ".cache" / "workloads" / arch
    built = build_static(sorted(WORKLOADS.glob("*.c")), out, arch=arch)
    return {p.name: p for p in built}


def boot(script: str, arch: str = "x86_64", timeout_s: int = 300) -> VmResult:
    """Boot with the module at /my_sysdig.ko and every workload under /bin, run script, return the result.

    The result is not check()ed here: tests that provoke failures (bad insmod) look at the status
    themselves, but every test asserts that the kernel logged no oops.
    """
    files = {"/my_sysdig.ko": module(arch)}
    files.update({f"/bin/{name}": path for name, path in workload_binaries(arch).items()})
    return run_vm(kernel(arch), files, script, timeout_s=timeout_s)


def parse_record_file(text: str) -> tuple[list[Record], list[Marker]]:
    """Parse a record file strictly: any bad line fails the test, since the module wrote it."""
    errors: list[ParseError] = []
    events = parse_text(text, errors.append)
    assert not errors, f"record file has bad lines: {errors[:5]}"
    assert text == "" or text.endswith("\n"), "record file does not end with a complete line"
    records = [e for e in events if isinstance(e, Record)]
    markers = [e for e in events if isinstance(e, Marker)]
    return records, markers


def counts(records: list[Record]) -> Counter[str]:
    return Counter(r.syscall for r in records)
