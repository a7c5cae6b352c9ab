"""format=binary: the same workload recorded in text and in binary in one boot decodes to the same records,
field by field; drop and cap records work in binary as in text.

Address-space randomization is switched off in the guest so the two runs of the workload pass the same
pointers; only process ids differ between runs, and they are mapped to their order of appearance.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from vm_support import RECORD, crc32_accelerator, kernel, parse_record_file, proc_stats, vm_fixtures

from mysysdig.decode.binary import iter_events
from mysysdig.model import Marker, ParseError, Record

pytestmark = pytest.mark.vm

SCRIPT = f"""
echo 0 > /proc/sys/kernel/randomize_va_space
insmod /my_sysdig.ko proc_name=sc_workload || exit 40
/bin/sc_workload; rmmod my_sysdig || exit 41
cp {RECORD} /out/text.rec
insmod /my_sysdig.ko proc_name=sc_workload format=binary || exit 42
/bin/sc_workload; cat /sys/module/my_sysdig/parameters/format > /out/format.param
rmmod my_sysdig || exit 43
cp {RECORD} /out/binary.rec

# x86: the runs below compute the blocks' CRC with crc32-pclmul, the ones above with lib/crc32
[ ! -f /crc32-pclmul.ko ] || insmod /crc32-pclmul.ko || exit 48
touch /tmp/go
insmod /my_sysdig.ko proc_name=sc_spinner ring_kb=64 format=binary || exit 44
/bin/sc_spinner /tmp/go 20000 fifo || exit 49
cat /proc/my_sysdig/stats > /out/drop-stats.txt
rmmod my_sysdig || exit 45
cp {RECORD} /out/drop.rec

insmod /my_sysdig.ko proc_name=sc_spinner max_size=65536 format=binary || exit 46
/bin/sc_spinner /tmp/go 5000
sleep 0.2
cp {RECORD} /out/cap.rec
cat /proc/my_sysdig/stats > /out/cap-stats.txt
rmmod my_sysdig || exit 47
true
"""


target, run = vm_fixtures("binary", SCRIPT)


def decode(run, name: str, tmp_path_factory) -> tuple[list[Record], list[Marker]]:
    path = Path(tmp_path_factory.mktemp("bin")) / name
    path.write_bytes(run.files[name])
    errors: list[ParseError] = []
    events = list(iter_events(path, errors.append))
    assert not errors, errors
    return [e for e in events if isinstance(e, Record)], [e for e in events if isinstance(e, Marker)]


# where a process id appears other than in pid= and tid=: results and arguments that are pids
PID_RESULTS = {"getpid", "gettid", "getppid", "clone", "clone3", "fork", "vfork", "wait4", "set_tid_address"}
PID_ARGS = {"pid", "tgid"}
# the shell's exec passes the shell's own environment, whose address differs from one command to the next
CALLER_POINTERS = {"envp"}


def normalized(records: list[Record]) -> list[tuple[Any, ...]]:
    """The fields that must agree between two runs; process ids become their order of appearance."""
    ids: dict[int, str] = {}
    for r in records:
        ids.setdefault(r.pid, f"P{len(ids)}")
        ids.setdefault(r.tid, f"P{len(ids)}")

    def norm(v: Any) -> Any:
        return ids.get(v, v) if isinstance(v, int) and not isinstance(v, bool) else v

    return [
        (
            norm(r.pid),
            norm(r.tid),
            r.comm,
            r.syscall,
            r.nr,
            r.abi,
            norm(r.res) if r.syscall in PID_RESULTS else r.res,
            r.lat_ns is None,
            {k: norm(v) if k in PID_ARGS else v for k, v in r.args.items() if k not in CALLER_POINTERS},
            r.truncated,
        )
        for r in records
    ]


def by_task(records: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """normalized() records grouped by thread, each thread's in the order they were written."""
    return sorted(records, key=lambda r: r[1])


def test_binary_and_text_give_the_same_records(run, tmp_path_factory):
    assert run.text("format.param").strip() == "binary"
    text, _ = parse_record_file(run.text("text.rec"))
    binary, markers = decode(run, "binary.rec", tmp_path_factory)
    assert not markers
    assert len(text) > 40
    # Each task's records in its own order: which of two tasks gets to a syscall first is up to the
    # scheduler, and differs between the two runs (seen on 7.3: the raw-clone child's exit recorded
    # before its parent's clone returned, about one boot in seven).
    assert by_task(normalized(binary)) == by_task(normalized(text))


def test_binary_is_smaller_than_text_per_record(run, tmp_path_factory):
    text = run.files["text.rec"]
    binary = run.files["binary.rec"]
    n = len(parse_record_file(text.decode())[0])
    text_records = sum(len(line) + 1 for line in text.decode().splitlines() if not line.startswith("#"))
    header_len = 24 + int.from_bytes(binary[16:20], "little")
    # the binary header carries the name and kind tables, so compare the records' own bytes
    assert (len(binary) - header_len) / n < 0.5 * text_records / n


def test_full_ring_drops_are_counted_in_binary(run, tmp_path_factory):
    records, markers = decode(run, "drop.rec", tmp_path_factory)
    st = proc_stats(run.text("drop-stats.txt"))
    dropped = sum(m.drop for m in markers)
    assert markers and {m.reason for m in markers} == {"ring"}
    assert dropped == st["records_dropped_ring"] > 0
    getppid = sum(1 for r in records if r.syscall == "getppid")
    assert 0 < getppid < 20000 <= getppid + dropped


def test_block_crc_uses_the_accelerated_crc32_where_loaded(run, target, tmp_path_factory):
    """The crypto API's crc32 gives the same sums as lib/crc32: decode() fails on any bad block."""
    decode(run, "drop.rec", tmp_path_factory)
    drivers = re.findall(r"my_sysdig: block CRC-32 by (\S+)", run.text("dmesg.txt"))
    if target.spec.name == "x86_64" and crc32_accelerator(target) is not None:
        assert drivers and set(drivers) == {"crc32-pclmul"}
    elif target.spec.name == "x86_64":
        # Kernels without crc32-pclmul (7.3) accelerate lib/crc32 itself (CONFIG_CRC32_ARCH) and
        # have the crypto API's "crc32" in a module the guest does not load: the writer falls back
        # to crc32_le(), already the pclmul one.
        assert "CONFIG_CRC32_ARCH=y" in (kernel(target).modules_dir / "config").read_text()
        assert not drivers, drivers
    else:
        assert set(drivers) <= {"crc32-generic", "crc32-arm64-ce", "crc32-arm64"}


def test_probes_stamp_the_clocksource_counter(run, target):
    """Both arches' kernels run on their CPU counter (tsc, arch_sys_counter), so the probes must
    take the one-instruction counter path rather than falling back to ktime_get_ns()."""
    clocks = re.findall(r"my_sysdig: timestamps from (.*)", run.text("dmesg.txt"))
    assert clocks and all(c.startswith("the CPU counter") for c in clocks), clocks


def test_size_cap_in_binary(run, tmp_path_factory):
    assert 0 < len(run.files["cap.rec"]) <= 65536
    records, markers = decode(run, "cap.rec", tmp_path_factory)
    assert [(m.reason, m.drop) for m in markers] == [("cap", 1)]
    assert records and proc_stats(run.text("cap-stats.txt"))["records_dropped_cap"] > 0
