"""32-bit processes (ia32 on x86_64, AArch32 on arm64) are recorded with their own ABI's names, numbers and
argument decoding, and each record says which ABI it came from.

Oracles, both outside the module: the syscall numbers of the 32-bit C library's own headers (the cross
toolchain's <sys/syscall.h>, not the kernel headers the module is built from), and strace's per-personality
counts for the same run.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from functools import cache

import pytest
from expected_records import ARM64_CLONE, CHILD, PTR, Call, stage2
from test_vm_records import check_call, strace_counts
from vm_support import RECORD, parse_record_file, record_symbols, vm_fixtures

from scripts.testbed.kernel import user_abi

pytestmark = pytest.mark.vm

SCRIPT = f"""
insmod /my_sysdig.ko proc_name=sc_workload32 || exit 50
/bin/sc_workload32 & echo $! > /out/workload.pid; wait
rmmod my_sysdig || exit 51
cp {RECORD} /out/direct.rec
insmod /my_sysdig.ko proc_name=sc_workload32 || exit 52
strace -f -c -o /out/strace-c.txt /bin/sc_workload32
rmmod my_sysdig || exit 53
cp {RECORD} /out/strace-run.rec
true
"""


target, run = vm_fixtures("compat", SCRIPT)


@cache
def libc_numbers(user32: str) -> dict[str, int]:
    """SYS_<name> -> number as the 32-bit C library's headers define them."""
    cc = user_abi(user32).cc
    out = subprocess.run(
        [cc, "-dM", "-E", "-include", "sys/syscall.h", "-x", "c", "/dev/null"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    # values are numbers or, on armhf, (BASE + n) with BASE itself such a macro
    macros = dict(re.findall(r"^#define (\w+) (.+)$", out, re.M))

    def value(text: str) -> int:
        if m := re.fullmatch(r"\((\w+) ?\+ ?(\w+)\)", text.strip()):
            return value(macros[m[1]]) + int(m[2], 0)
        if text.strip() in macros:  # an alias of another number
            return value(macros[text.strip()])
        return int(text, 0)

    numbers = {}
    for macro, text in macros.items():
        for prefix in ("__NR_", "__ARM_NR_"):  # __ARM_NR_: AArch32's private calls (set_tls)
            if macro.startswith(prefix) and not macro.endswith("BASE"):
                numbers[macro[len(prefix) :]] = value(text)
    return numbers


def compat_stage2(target) -> list[Call]:
    """The 64-bit expectations, as a 32-bit process of this architecture makes those calls."""
    calls = []
    for c in stage2(target.arch):
        if c.syscall == "mmap":  # 32-bit ABIs map with mmap2, offset in pages
            args = {k: v for k, v in c.args.items() if k != "off"} | {"pgoff": 0}
            c = Call("mmap2", args, c.res)
        elif c.syscall == "newfstatat":  # 32-bit ABIs have the stat64 form
            c = Call("fstatat64", c.args, c.res)
        elif c.syscall == "clone":  # both 32-bit ABIs use the CLONE_BACKWARDS order
            c = ARM64_CLONE
        elif c.syscall == "socketpair" and target.arch == "x86_64":
            c = Call("socketcall", {}, 0)  # i386's C library multiplexes socketpair
        calls.append(c)
    return calls


def test_every_32bit_call_has_its_abis_name_and_number(run, target):
    records, _ = parse_record_file(run.text("direct.rec"))
    numbers = libc_numbers(target.spec.user32)
    compat = [r for r in records if r.abi == 32]
    assert len(compat) > 40
    checked = 0
    for r in compat:
        assert r.syscall != "unknown", r
        if r.syscall in numbers:
            assert r.nr == numbers[r.syscall], (r.syscall, r.nr, numbers[r.syscall])
            checked += 1
    assert checked == len(compat)


def test_the_shells_exec_is_a_64bit_call(run):
    records, _ = parse_record_file(run.text("direct.rec"))
    execs = [r for r in records if r.syscall == "execve"]
    assert [r.abi for r in execs] == [64, 32]
    assert execs[0].args["argv"] == ["/bin/sc_workload32"]
    assert execs[1].args["argv"] == ["/bin/sc_workload32", "stage2", 'a "quoted" arg']


def test_32bit_calls_are_decoded_like_64bit_ones(run, target):
    pid = int(run.text("workload.pid"))
    records, _ = parse_record_file(run.text("direct.rec"))
    main = [r for r in records if r.tid == pid and r.abi == 32]
    first = next(i for i, r in enumerate(main) if r.syscall == "openat" and r.args.get("filename"))
    expected = compat_stage2(target)
    body = main[first:]
    assert [r.syscall for r in body] == [c.syscall for c in expected]
    ctx = {"pid": pid, "symbols": record_symbols(run.text("direct.rec"))}
    for call, rec in zip(expected, body, strict=True):
        check_call(call, rec, ctx)
        if rec.syscall in ("mmap2", "clone"):
            ctx["mmap" if rec.syscall == "mmap2" else "clone"] = rec.res
    # a 32-bit address is shown unsigned on both architectures
    assert PTR(ctx["mmap"], ctx) and ctx["mmap"] < 2**32
    child = [r for r in records if r.tid == ctx["clone"]]
    for call, rec in zip(CHILD, child, strict=True):
        check_call(call, rec, ctx)


def strace_by_personality(text: str) -> tuple[Counter[str], Counter[str]]:
    """strace -c prints the 64-bit table, then one headed 'System call usage summary for 32 bit mode'."""
    native, _, compat = text.partition("System call usage summary for 32 bit mode:")
    return strace_counts(native)[0], strace_counts(compat)[0]


def test_counts_match_strace_per_abi(run, target):
    records, _ = parse_record_file(run.text("strace-run.rec"))
    native, compat = strace_by_personality(run.text("strace-c.txt"))
    ours = {abi: Counter(r.syscall for r in records if r.abi == abi) for abi in (64, 32)}
    for counts in ours.values():  # strace -c counts a call when it returns
        counts.pop("exit", None)
        counts.pop("exit_group", None)
    if target.arch == "x86_64":  # strace names socketcall by its subcall; we show the syscall made
        assert ours[32].pop("socketcall") == compat.pop("socketpair") == 1
    if target.arch == "arm64":
        # strace names a call from the personality the task has when the call returns: the 64-bit
        # execve (221) that started the 32-bit program becomes AArch32's 221, fcntl64. The module
        # keeps the ABI a call entered with (see kmod/probe.c) and records it as the execve it was.
        assert compat.pop("fcntl64") == 1
        native["execve"] += 1
    assert ours[64] == native == Counter({"execve": 1})
    assert ours[32] == compat
