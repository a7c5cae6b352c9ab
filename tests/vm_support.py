"""Shared pieces of the VM tests: building the module and workloads once, booting, parsing what comes back.

Every VM test runs once per target (x86_64 and arm64, each on kernel 6.1, 6.12, 7.3: scripts.testbed.TARGETS,
narrowed by MYSYSDIG_TARGETS) through a module-scoped `target` fixture built from target_params(), so test
ids end in the target, e.g. [arm64-6.12].

Kernel tests never skip: if a target's kernel or headers are missing (or scripts/setup.sh could not fetch
them), resolve_kernel() raises and every test of that target fails with the reason and the command that
fixes it. A skipped kernel test would hide that the module was never exercised.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import pytest  # noqa: E402

from mysysdig.decode import parse_text  # noqa: E402
from mysysdig.model import Header, Marker, ParseError, Record  # noqa: E402
from mysysdig.records import iter_events  # noqa: E402
from scripts.testbed import (  # noqa: E402
    TARGETS,
    Kernel,
    Target,
    VmResult,
    build_module,
    build_static,
    parse_target,
    run_vm,
)
from scripts.testbed import crc32c_accelerator as _crc32c_accelerator  # noqa: E402
from scripts.testbed.paths import cache_dir  # noqa: E402

WORKLOADS = REPO / "tests" / "workloads"
RECORD = "/etc/syscall-record/record"
WORKLOAD_DIR = cache_dir() / "workloads"


def is_argument_field(name: str) -> bool:
    """Whether a sys_enter_* tracepoint format field is one of the syscall's arguments: not a common_*
    field or __syscall_nr, nor the __<arg>_val field newer kernels (seen on 7.3) add beside a user
    pointer argument to carry a copy of what it points to."""
    return not name.startswith("common_") and name != "__syscall_nr" and not re.fullmatch(r"__\w+_val", name)


def target_params(group: str) -> list:
    """Parameters for a module-scoped `target` fixture: one per target, with the target's id as the
    test id. Each (test module, target) pair is its own xdist_group, so under `pytest -n 2 --dist
    loadgroup` the VM a module boots for a target is booted once, on one worker."""
    return [pytest.param(t, id=t.id, marks=pytest.mark.xdist_group(f"{group}:{t.id}")) for t in TARGETS]


def vm_fixtures(
    group: str, script: str, statuses: tuple[str, ...] = (), *, icount: bool = False
) -> tuple[Any, Any]:
    """The `target` and `run` fixtures of a VM test module: `script` booted once per target.

    A run must leave a clean kernel log and exit 0; `statuses` names steps that wrote their own exit
    status to /out/<name>.status, which must be 0 too. Use: `target, run = vm_fixtures("records", SCRIPT)`.
    icount: guest time counts the guest's instructions (-icount), for scripts whose assertions depend on
    how CPU time is shared inside the guest, which host load must not change.
    """

    @pytest.fixture(scope="module", params=target_params(group))
    def target(request: pytest.FixtureRequest) -> Target:
        return request.param

    @pytest.fixture(scope="module")
    def run(target: Target) -> VmResult:
        result = boot(target, script, icount=icount)
        assert not result.kernel_errors, result.kernel_errors
        assert result.status == 0, result.tail()
        for name in statuses:
            assert result.text(f"{name}.status").strip() == "0", (name, result.tail())
        return result

    return target, run


def kernel(target: Target | str) -> Kernel:
    return _kernel(parse_target(target))


def module(target: Target | str) -> Path:
    return _module(parse_target(target))


def workload_binaries(target: Target | str) -> dict[str, Path]:
    """Every tests/workloads/*.c built for the target's native ABI, as /bin/<name>, and for its 32-bit
    ABI (i686 on x86_64, armhf on arm64), as /bin/<name>32."""
    return _workload_binaries(parse_target(target).spec.user64, parse_target(target).spec.user32)


@cache
def _kernel(target: Target) -> Kernel:
    return target.kernel()


@cache
def _module(target: Target) -> Path:
    return build_module(_kernel(target))


@cache
def _workload_binaries(user64: str, user32: str) -> dict[str, Path]:
    sources = sorted(WORKLOADS.glob("*.c"))
    native = build_static(sources, WORKLOAD_DIR / user64, arch=user64)
    compat = build_static(sources, WORKLOAD_DIR / user32, arch=user32, cflags=['-DSELF="/bin/sc_workload32"'])
    binaries = {p.name: p for p in native}
    binaries.update({f"{p.name}32": p for p in compat})
    return binaries


def boot(
    target: Target | str,
    script: str,
    timeout_s: int = 300,
    *,
    files: dict[str, Path] | None = None,
    qemu_args: Sequence[str] = (),
    icount: bool = False,
) -> VmResult:
    """Boot target's kernel with the module at /my_sysdig.ko, every workload under /bin (64-bit as
    /bin/<name>, 32-bit as /bin/<name>32) and `files`, run script, return the result.

    The result is not check()ed here: tests that provoke failures (bad insmod) look at the status
    themselves, but every test asserts that the kernel logged no oops.
    """
    staged = {"/my_sysdig.ko": module(target)}
    staged.update({f"/bin/{name}": path for name, path in workload_binaries(target).items()})
    accelerator = crc32c_accelerator(target)
    if accelerator:
        staged["/crc32c-intel.ko"] = accelerator
    staged.update(files or {})
    return run_vm(kernel(target), staged, script, timeout_s=timeout_s, qemu_args=qemu_args, icount=icount)


@cache
def crc32c_accelerator(target: Target | str) -> Path | None:
    """format=binary and raw ask the crypto API for "crc32c" on 6.x, which finds crc32c-intel only
    when it is loaded (there is no modprobe for the kernel's modules in the test VM), so tests load it
    to cover both CRC paths."""
    return _crc32c_accelerator(kernel(target))


def parse_record_file(text: str) -> tuple[list[Record], list[Marker]]:
    """Parse a record file strictly: any bad line fails the test, since the module wrote it."""
    errors: list[ParseError] = []
    events = parse_text(text, errors.append)
    assert not errors, f"record file has bad lines: {errors[:5]}"
    assert text == "" or text.endswith("\n"), "record file does not end with a complete line"
    records = [e for e in events if isinstance(e, Record)]
    markers = [e for e in events if isinstance(e, Marker)]
    return records, markers


def decode_returned(
    run: VmResult, name: str, directory: Path
) -> tuple[list[Record], list[Marker], list[ParseError]]:
    """A record file the VM sent back (either format), decoded by mysysdig: its records, its markers,
    and the damage the decoder reported, which the caller judges."""
    path = directory / name
    path.write_bytes(run.files[name])
    errors: list[ParseError] = []
    events = list(iter_events(path, errors.append))
    return (
        [e for e in events if isinstance(e, Record)],
        [e for e in events if isinstance(e, Marker)],
        errors,
    )


def record_symbols(text: str) -> dict[str, int]:
    """The symbol values of the record file's header, which the module writes at its top."""
    headers = [e for e in parse_text(text) if isinstance(e, Header)]
    assert headers, "record file has no header"
    return headers[0].symbols


def proc_stats(text: str) -> dict[str, int]:
    """/proc/my_sysdig/stats as read in the guest: every line must be one `name value` pair."""
    return {k: int(v) for k, v in (line.split() for line in text.splitlines())}


def counts(records: list[Record]) -> Counter[str]:
    return Counter(r.syscall for r in records)
