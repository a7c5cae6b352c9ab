"""Bad input and hard moments: invalid parameters fail insmod with a reason in dmesg; rmmod while
processes hammer syscalls leaves a well-formed file and a healthy kernel; a full ring drops and counts;
the size cap stops the file and truncating it resumes recording; a full disk loses records, counted, and
nothing else; an idle recorder does not keep waking the machine, yet misses nothing of the burst that ends
the idle spell.
"""

from __future__ import annotations

import re

import pytest
from vm_support import RECORD, decode_returned, parse_record_file, proc_stats, vm_fixtures

pytestmark = pytest.mark.vm

BAD_PARAMS = {
    "pid=-1": "pid='-1' is not a process id",
    "pid=abc": "pid='abc' is not a process id",
    "exclude_pid=-5": "exclude_pid='-5' is not a process id",
    "proc_name=a_name_of_16_chr": "proc_name 'a_name_of_16_chr' is longer than 15 characters",
    "proc_name=" + ",".join(f"p{i}" for i in range(65)): "proc_name lists more than 64 names",
    "syscalls=read,no_such_call": "syscalls: 'no_such_call' is not a syscall of this kernel",
    "snaplen=5000": "snaplen='5000' must be a number of bytes from 0 to 4096",
    "path=relative/record": "path='relative/record' must be absolute",
    "path=/no/such/dir/record": "cannot open record file /no/such/dir/record: error -2",
    "ring_kb=1": "ring_kb='1' must be from 64 to 262144",
    "max_size=8192": "max_size='8192' is below the minimum of 65536 bytes",
    "format=json": "format='json' must be text, binary or raw",
}

BAD = "\n".join(
    f'insmod /my_sysdig.ko {p}; echo "rc=$?" > /out/bad{i}.rc; test -e /proc/my_sysdig && exit 30'
    for i, p in enumerate(BAD_PARAMS)
)

SCRIPT = f"""
{BAD}
dmesg > /out/bad-dmesg.txt

# rmmod while two processes make syscalls as fast as they can
touch /tmp/go
/bin/sc_spinner /tmp/go 0 & S1=$!
/bin/sc_spinner /tmp/go 0 & S2=$!
insmod /my_sysdig.ko proc_name=sc_spinner || exit 31
sleep 1
rmmod my_sysdig || exit 32
kill -0 $S1 && kill -0 $S2 && echo alive > /out/spinners-after-rmmod
kill $S1 $S2; wait
cp {RECORD} /out/rmmod.rec
dmesg | grep 'my_sysdig: stopped' | tail -1 > /out/rmmod-dmesg.txt

# a real-time process that leaves the writer no CPU: a small ring drops and counts, never blocks it
insmod /my_sysdig.ko proc_name=sc_spinner ring_kb=64 || exit 33
/bin/sc_spinner /tmp/go 20000 fifo || exit 42
cat /proc/my_sysdig/stats > /out/drop-stats.txt
rmmod my_sysdig || exit 34
cp {RECORD} /out/drop.rec

# the size cap, then truncation by the reader resumes recording
# flush_ms=20: the sleeps below are several naps of the writer long (the default nap is longer)
insmod /my_sysdig.ko proc_name=sc_spinner max_size=65536 flush_ms=20 || exit 35
/bin/sc_spinner /tmp/go 1000
sleep 0.2
cp {RECORD} /out/cap-full.rec
cat /proc/my_sysdig/stats > /out/cap-stats.txt
: > {RECORD}
/bin/sc_spinner /tmp/go 10 & echo $! > /out/cap-second.pid; wait
rmmod my_sysdig || exit 36
cp {RECORD} /out/cap-resumed.rec

# a full disk, in both formats: writes fail, the records they held are counted lost, nothing hangs
mkdir -p /full && mount -t tmpfs -o size=1m tmpfs /full || exit 37
for fmt in text binary raw; do
  insmod /my_sysdig.ko proc_name=sc_spinner path=/full/record format=$fmt || exit 38
  /bin/sc_spinner /tmp/go 100000
  rmmod my_sysdig || exit 39
  dmesg | grep 'my_sysdig: stopped' | tail -1 > /out/full-$fmt-dmesg.txt
  cp /full/record /out/full-$fmt.rec
  rm /full/record
done

# idle, then a burst: the writer sleeps while the rings stay empty and the first record wakes it
# flush_ms=20: the sleeps below are several naps of the writer long (the default nap is longer)
insmod /my_sysdig.ko proc_name=sc_spinner format=binary flush_ms=20 || exit 40
sleep 2
w=$(grep -l '^my_sysdig_write' /proc/[0-9]*/comm | head -1)
grep '^voluntary_ctxt_switches' ${{w%/comm}}/status > /out/idle-switches-before.txt
sleep 4
grep '^voluntary_ctxt_switches' ${{w%/comm}}/status > /out/idle-switches-after.txt
for i in 1 2 3; do
  /bin/sc_spinner /tmp/go 10 & echo $! > /out/wake-$i.pid; wait
  sleep 0.2
  cp {RECORD} /out/wake-$i.rec
  sleep 1.5
done
rmmod my_sysdig || exit 41
# the burst with naps of a second: under -icount a 20 ms nap is 80 KB of getppid events, far from the
# 1 MB ring, so only a long nap shows that a ring past half full wakes the writer
insmod /my_sysdig.ko proc_name=sc_spinner format=binary flush_ms=1000 || exit 43
sleep 2
/bin/sc_spinner /tmp/go 100000 & echo $! > /out/burst.pid; wait
cat /proc/my_sysdig/stats > /out/burst-stats.txt
rmmod my_sysdig || exit 44
cp {RECORD} /out/burst.rec
true
"""


# -icount: the burst test asserts that the writer keeps up on the one CPU it shares with the spinner;
# without it, host load that stalls the VM while the writer runs is charged to the writer as guest time,
# and the spinner, owed that time by the scheduler, can fill the ring (286 drops in one CI run)
target, run = vm_fixtures("robustness", SCRIPT, icount=True)


@pytest.mark.parametrize("i,param", list(enumerate(BAD_PARAMS)))
def test_bad_parameter_fails_insmod_with_reason(run, i, param):
    assert run.text(f"bad{i}.rc").strip() != "rc=0"
    assert BAD_PARAMS[param] in run.text("bad-dmesg.txt")


def test_rmmod_under_load(run):
    assert run.text("spinners-after-rmmod").strip() == "alive"
    records, markers = parse_record_file(run.text("rmmod.rec"))
    assert len(records) > 100
    assert {r.syscall for r in records} >= {"getppid"}
    m = re.search(r"stopped, (\d+) records written, (\d+) dropped", run.text("rmmod-dmesg.txt"))
    assert m, run.text("rmmod-dmesg.txt")
    # the module's own count of what it wrote is exactly what is in the file
    assert int(m.group(1)) == len(records)
    assert int(m.group(2)) == sum(mk.drop for mk in markers)


def test_full_ring_drops_and_counts(run):
    records, markers = parse_record_file(run.text("drop.rec"))
    st = proc_stats(run.text("drop-stats.txt"))
    dropped = sum(mk.drop for mk in markers)
    assert markers and {mk.reason for mk in markers} == {"ring"}
    assert dropped == st["records_dropped_ring"] > 0
    getppid = sum(1 for r in records if r.syscall == "getppid")
    assert 0 < getppid < 20000
    # every call was either recorded or counted as dropped
    assert getppid + dropped >= 20000


def test_size_cap_then_truncation_resumes(run):
    full = run.files["cap-full.rec"]
    assert 0 < len(full) <= 65536
    records, markers = parse_record_file(full.decode())
    assert [(mk.reason, mk.drop) for mk in markers] == [("cap", 1)]
    assert full.decode().splitlines()[-1].startswith("drop=1, reason=cap")
    assert proc_stats(run.text("cap-stats.txt"))["records_dropped_cap"] > 0
    second = int(run.text("cap-second.pid"))
    resumed, markers = parse_record_file(run.text("cap-resumed.rec"))
    assert not markers
    assert {r.pid for r in resumed} == {second}
    assert sum(1 for r in resumed if r.syscall == "getppid") == 10


@pytest.mark.parametrize("fmt", ["text", "binary", "raw"])
def test_full_disk_counts_what_it_loses(run, fmt, tmp_path):
    """The file holds what fit, intact up to where the disk filled; the unload line accounts for the rest."""
    data = run.files[f"full-{fmt}.rec"]
    assert 1000 * 1024 <= len(data) <= 1024 * 1024  # the disk filled
    records, _, errors = decode_returned(run, f"full-{fmt}.rec", tmp_path)
    # at most the last line or block was cut by the full disk
    assert len(errors) <= 1, errors
    m = re.search(r"stopped, (\d+) records written, (\d+) dropped", run.text(f"full-{fmt}-dmesg.txt"))
    assert m, run.text(f"full-{fmt}-dmesg.txt")
    written, dropped = int(m[1]), int(m[2])
    getppid = sum(1 for r in records if r.syscall == "getppid")
    assert written == len(records) and getppid > 0
    # every one of the 100000 calls is in the file or counted as lost
    assert getppid + dropped >= 100000 and dropped > 0


def test_idle_writer_sleeps_until_the_next_event(run):
    """With nothing to record, the writer's wakeups cost the traced machine for nothing: at flush_ms=20
    it woke 167 times in 4 idle seconds. It now sleeps until a probe commits, waking once a second at
    most as a safety net. The kernel's count of its voluntary context switches is the oracle."""

    def switches(name: str) -> int:
        return int(run.text(name).split()[-1])

    woke = switches("idle-switches-after.txt") - switches("idle-switches-before.txt")
    assert 2 <= woke <= 4 + 4, woke


def _getppid_of(run, name: str, pid_file: str, tmp_path) -> tuple[int, list]:
    records, markers, errors = decode_returned(run, name, tmp_path)
    assert not errors
    pid = int(run.text(pid_file))
    calls = sum(1 for r in records if r.pid == pid and r.syscall == "getppid")
    return calls, markers


def test_first_record_after_idle_is_written_at_once(run, tmp_path):
    """Ten calls after an idle spell are in the file 0.2 s later, three times out of three: the first
    commit woke the writer. Its one-second safety-net timer alone would make it in time one time in five,
    so three in a row once in 125 runs."""
    for i in (1, 2, 3):
        calls, _ = _getppid_of(run, f"wake-{i}.rec", f"wake-{i}.pid", tmp_path)
        assert calls == 10, i


def test_burst_after_idle_loses_nothing(run, tmp_path):
    """100000 getppid calls right after an idle spell are 4 MB of ring events, four times what a ring
    holds. A writer that merely polled less often dropped up to 39 % of such a burst in make bench, and
    one that napped flush_ms between drains whatever the backlog dropped 17 % to 48 % of this one on
    x86_64 (before this boot ran under -icount): the burst's first record, then each reservation past
    half a ring, must wake it, and every call must be in the file. The writer naps a second here, in
    which the spinner makes the whole burst: without either wakeup the ring overflows."""
    calls, markers = _getppid_of(run, "burst.rec", "burst.pid", tmp_path)
    assert proc_stats(run.text("burst-stats.txt"))["records_dropped_ring"] == 0
    assert calls == 100000 and not markers
