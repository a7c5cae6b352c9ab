"""Filters: with pid= or proc_name= only the target is recorded while another process runs beside it;
without a filter both are; and a filter written to /sys/module/my_sysdig/parameters/ at run time applies.

The second process is sc_spinner, which makes an exact number of getppid() calls once /tmp/go exists,
so its count in the record file is known in advance.
"""

from __future__ import annotations

import pytest
from vm_support import RECORD, parse_record_file, vm_fixtures

pytestmark = pytest.mark.vm

N = 2000
PARAMS = "/sys/module/my_sysdig/parameters"

# each scenario: $SP is the spinner, $WL the workload, both running at once
SCENARIO = """
rm -f /tmp/go
/bin/sc_spinner /tmp/go {n} & SP=$!
{load}
/bin/sc_workload & WL=$!
{before_go}
touch /tmp/go
wait $SP; wait $WL
{after}
rmmod my_sysdig || exit 21
cp {record} /out/{name}.rec
echo "$SP $WL" > /out/{name}.pids
"""


def scenario(name: str, load: str, before_go: str = "", after: str = "") -> str:
    return SCENARIO.format(n=N, load=load, before_go=before_go, after=after, record=RECORD, name=name)


SCRIPT = "\n".join(
    [
        scenario("by-name", "insmod /my_sysdig.ko proc_name=sc_workload || exit 20"),
        scenario("by-pid", "insmod /my_sysdig.ko pid=$SP || exit 20"),
        scenario("by-names", "insmod /my_sysdig.ko proc_name=nothing,sc_spinner,sc_workload || exit 20"),
        scenario(
            "unfiltered",
            "insmod /my_sysdig.ko || exit 20",
            after=f"stat -c %a {RECORD} > /out/record.mode",
        ),
        scenario("excluded", "insmod /my_sysdig.ko exclude_pid=$SP || exit 20"),
        scenario(
            "runtime",
            "insmod /my_sysdig.ko proc_name=nothing-yet || exit 20",
            before_go=f"echo $SP > {PARAMS}/pid; cat {PARAMS}/pid > /out/runtime.param",
            after=f"echo 0 > {PARAMS}/pid",
        ),
        # the syscalls under the same one name, then that name for another (the probes' copy changes)
        scenario(
            "renamed",
            "insmod /my_sysdig.ko proc_name=nothing-yet || exit 20",
            before_go=f"echo getppid,close > {PARAMS}/syscalls && echo sc_spinner > {PARAMS}/proc_name",
        ),
        scenario(
            "syscalls",
            "insmod /my_sysdig.ko proc_name=sc_spinner,sc_workload syscalls=getppid,close || exit 20",
        ),
        "true",
    ]
)


target, run = vm_fixtures("filters", SCRIPT)


def load(run, name):
    sp, wl = map(int, run.text(f"{name}.pids").split())
    records, markers = parse_record_file(run.text(f"{name}.rec"))
    assert not markers, markers
    return sp, wl, records


def getppid_of(records, pid):
    return sum(1 for r in records if r.pid == pid and r.syscall == "getppid")


def test_proc_name_records_only_that_comm(run):
    sp, wl, records = load(run, "by-name")
    assert records and {r.comm for r in records} == {"sc_workload"}
    assert sp not in {r.pid for r in records}
    assert wl in {r.pid for r in records}


def test_pid_records_only_that_process(run):
    sp, wl, records = load(run, "by-pid")
    assert {r.pid for r in records} == {sp}
    assert getppid_of(records, sp) == N


def test_a_list_of_names(run):
    sp, wl, records = load(run, "by-names")
    assert {r.pid for r in records} >= {sp, wl}
    assert {r.comm for r in records} == {"sc_spinner", "sc_workload"}
    assert getppid_of(records, sp) == N


def test_no_filter_records_every_process(run):
    sp, wl, records = load(run, "unfiltered")
    pids = {r.pid for r in records}
    assert {sp, wl} <= pids
    assert getppid_of(records, sp) == N
    assert len({r.comm for r in records}) >= 3  # the shell, rm/touch/... too


def test_filter_changed_at_run_time(run):
    assert run.text("runtime.param").strip() == run.text("runtime.pids").split()[0]
    sp, wl, records = load(run, "runtime")
    assert {r.pid for r in records} == {sp}
    # set before /tmp/go appeared, so every getppid of the spinner is in
    assert getppid_of(records, sp) == N


def test_one_name_changed_to_another_at_run_time(run):
    sp, wl, records = load(run, "renamed")
    assert {r.pid for r in records} == {sp}
    assert {r.syscall for r in records} <= {"getppid", "close"}
    assert getppid_of(records, sp) == N


def test_syscall_filter(run):
    sp, wl, records = load(run, "syscalls")
    assert {r.syscall for r in records} == {"getppid", "close"}
    assert getppid_of(records, sp) == N
    assert sum(1 for r in records if r.pid == wl and r.syscall == "close") == 5


def test_record_file_is_private(run):
    assert run.text("record.mode").strip() == "600"


def test_excluded_process_is_not_recorded(run):
    sp, wl, records = load(run, "excluded")
    assert sp not in {r.pid for r in records}
    assert wl in {r.pid for r in records}
    assert len({r.comm for r in records}) >= 2  # everything else still is
