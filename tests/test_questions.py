"""`files`, `mmap`, `audit`, `seccomp` and `tail` against the workload known by construction.

Expectations come from the Call list of tests/fixtures/workload.py (the `extra` facts each call was
written with), counted with plain loops.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections import Counter, defaultdict

import pytest
from click.testing import CliRunner
from fixtures.workload import NS, Call, make_calls, record_line, write_recording

from mysysdig.cli import main
from mysysdig.follow import SelfExclusion, follow_lines
from mysysdig.model import Symbol
from mysysdig.symbols import OPEN_FLAGS, decode_flags

CALLS = make_calls()


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("questions") / "workload.record"
    write_recording(path, CALLS)
    return path


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False, prog_name="mysysdig")


def as_json(*args: str):
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def errname(res: int) -> str:
    return {-2: "ENOENT", -13: "EACCES", -1: "EPERM"}.get(res, "ok" if res >= 0 else "?")


OPEN_NAMES = {
    "O_RDONLY|O_CLOEXEC": "O_RDONLY|O_CLOEXEC",
    "O_WRONLY|O_CREAT|O_TRUNC": "O_WRONLY|O_CREAT|O_TRUNC",
    "0x241": "O_WRONLY|O_CREAT|O_TRUNC",  # 0x1 | 0x40 | 0x200 by the header's open table
    "O_RDWR|O_TMPFILE": "O_RDWR|O_TMPFILE",
    "O_RDONLY": "O_RDONLY",
}


def test_files_counts_opens_per_path_process_flags_and_result(recording):
    rows = as_json("files", str(recording))
    expected = Counter(
        (c.extra["path"], c.pid, c.comm, OPEN_NAMES[c.extra["flags"]], errname(c.res))
        for c in CALLS
        if c.syscall == "openat"
    )
    got = {(r["path"], r["pid"], r["comm"], r["flags"], r["result"]): r["count"] for r in rows}
    assert got == expected
    assert [r["count"] for r in rows] == sorted((r["count"] for r in rows), reverse=True)


def test_files_created_and_tmpfile(recording):
    created = as_json("files", str(recording), "--created", "--each")
    want = [c for c in CALLS if c.syscall == "openat" and (c.extra["creat"] or c.extra["tmpfile"])]
    assert [(r["ts"], r["path"]) for r in created] == [(c.ts, c.extra["path"]) for c in want]
    assert all(r["created"] for r in created)
    tmp = as_json("files", str(recording), "--tmpfile", "--each", "--pid", "100")
    want_tmp = [c for c in CALLS if c.syscall == "openat" and c.extra["tmpfile"] and c.pid == 100]
    assert [r["ts"] for r in tmp] == [c.ts for c in want_tmp] and len(want_tmp) > 0


def test_open_flags_decoded_from_numbers_without_a_header(tmp_path):
    line = record_line(
        Call(7, 7, "x", "openat", 257, 3, 5, 10, 'dfd=AT_FDCWD, filename="/t", flags=0x20c2, mode=0600')
    )
    path = tmp_path / "noheader.record"
    path.write_text(line)
    (row,) = as_json("files", str(path))
    # 0x20c2 = O_RDWR (2) | O_CREAT (0o100) | O_EXCL (0o200) | FASYNC (0o20000) on x86_64.
    assert row["flags"] == "O_RDWR|O_CREAT|O_EXCL|FASYNC"


def test_decode_flags_knows_wide_fields_first():
    arm = OPEN_FLAGS["aarch64"]
    assert decode_flags(0o20040002, arm) == ["O_RDWR", "O_TMPFILE"]
    assert decode_flags(0o40000 | 0o2000000, arm) == ["O_RDONLY", "O_DIRECTORY", "O_CLOEXEC"]
    assert decode_flags(0o1 | 0x80000000, OPEN_FLAGS["x86_64"]) == ["O_WRONLY", "0x80000000"]
    assert isinstance(Symbol("O_RDONLY"), str)


def test_mmap_per_process_sizes_and_private_share(recording):
    obj = as_json("mmap", str(recording))
    maps = [c for c in CALLS if c.syscall == "mmap"]
    per_pid: dict[int, list] = defaultdict(list)
    for c in maps:
        per_pid[c.pid].append(c)
    order = sorted(per_pid, key=lambda p: (-len(per_pid[p]), p))
    assert [p["pid"] for p in obj["processes"]] == order
    for proc in obj["processes"]:
        mine = per_pid[proc["pid"]]
        shared = sum(1 for c in mine if c.extra["shared"])
        assert proc["calls"] == len(mine)
        assert proc["bytes"] == sum(c.extra["size"] for c in mine)
        assert (proc["private"], proc["shared"]) == (len(mine) - shared, shared)
        assert proc["shared_pct"] == pytest.approx(shared * 100 / len(mine))
    sizes = Counter(c.extra["size"] for c in maps)
    assert {s["size"]: s["count"] for s in obj["sizes"]} == sizes
    shared_all = sum(1 for c in maps if c.extra["shared"])
    assert (obj["calls"], obj["shared"]) == (len(maps), shared_all)
    assert obj["private_pct"] == pytest.approx((len(maps) - shared_all) * 100 / len(maps))


def test_audit_sections(recording):
    obj = as_json("audit", str(recording), "--interval", "250ms")
    privilege = [c for c in CALLS if c.extra.get("audit") == "privilege"]
    assert [(r["ts"], r["syscall"], r["result"]) for r in obj["privilege"]] == [
        (c.ts, c.syscall, errname(c.res)) for c in privilege
    ]
    assert obj["privilege"][0]["args"] == "uid=0"
    execs = [c for c in CALLS if c.extra.get("audit") == "execve"]
    assert [(r["filename"], r["argv"], r["argv_cut"], r["result"]) for r in obj["execve"]] == [
        (c.args.split('"')[1], c.extra["argv"], c.args.endswith("...], envp=0x7ffd1c2a4e10"), errname(c.res))
        for c in execs
    ]
    assert [(r["pid"], r["result"]) for r in obj["ptrace"]] == [(200, "EPERM")]
    perm = Counter(
        (c.pid, c.comm, c.syscall, errname(c.res)) for c in CALLS if c.res is not None and c.res in (-1, -13)
    )
    assert {
        (r["pid"], r["comm"], r["syscall"], r["errno"]): r["count"] for r in obj["permission_errors"]
    } == perm


def test_audit_rate_anomalies_follow_the_documented_rule(recording):
    obj = as_json("audit", str(recording), "--interval", "250ms")
    step = NS // 4
    first, last = CALLS[0].ts // step, CALLS[-1].ts // step
    n = last - first + 1
    counts: dict[str, Counter] = defaultdict(Counter)
    for c in CALLS:
        counts[c.syscall][c.ts // step] += 1
    expected = []
    for syscall, per in counts.items():
        mean = sum(per.values()) / n
        std = math.sqrt(sum((per.get(i, 0) - mean) ** 2 for i in range(first, last + 1)) / n)
        for i, count in per.items():
            if count >= 10 and count > mean + 3 * std:
                expected.append((i * step, syscall, count))
    got = [(r["interval"], r["syscall"], r["count"]) for r in obj["rate_anomalies"]]
    assert sorted(got) == sorted(expected)
    assert any(s == "getpid" and c >= 400 for _, s, c in got)


def test_seccomp_allow_list_of_one_program(recording):
    profile = json.loads(run("seccomp", str(recording), "--comm", "redis-server").stdout)
    names = sorted({c.syscall for c in CALLS if c.comm == "redis-server"})
    assert profile == {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],  # redis made one 32-bit call
        "syscalls": [{"names": names, "action": "SCMP_ACT_ALLOW"}],
    }
    kill = json.loads(run("seccomp", str(recording), "--comm", "nginx", "--default-action", "kill").stdout)
    assert kill["defaultAction"] == "SCMP_ACT_KILL" and "defaultErrnoRet" not in kill
    assert kill["architectures"] == ["SCMP_ARCH_X86_64"]


def test_parse_filters(recording):
    result = run("parse", str(recording), "--format", "json", "--pid", "300", "--failed")
    records = [o for o in map(json.loads, result.stdout.splitlines()) if "ts" in o and "pid" in o]
    want = [c for c in CALLS if c.pid == 300 and c.res is not None and -4095 <= c.res < 0]
    assert [(r["ts"], r["syscall"]) for r in records] == [(c.ts, c.syscall) for c in want]


def test_bad_filter_values_are_usage_errors(recording):
    assert run("stats", str(recording), "--syscall", "%nosuch").exit_code == 2
    assert run("stats", str(recording), "--pid", "abc").exit_code == 2
    assert run("stats", str(recording), "--since", "yesterday").exit_code == 2


def test_follow_survives_truncation_and_replacement(tmp_path):
    path = tmp_path / "live.record"
    path.write_text("old line, not shown\n")
    got: list[str] = []
    restarts: list[str] = []
    done = threading.Event()

    def reader():
        for line in follow_lines(path, poll_s=0.01, stop=done.is_set, on_restart=restarts.append):
            got.append(line)

    thread = threading.Thread(target=reader)
    thread.start()

    def wait_for(n):
        deadline = time.monotonic() + 5
        while len(got) < n and time.monotonic() < deadline:
            time.sleep(0.01)

    time.sleep(0.1)
    with open(path, "a") as f:
        f.write("one\ntw")
        f.flush()
        f.write("o\n")
    wait_for(2)
    path.write_text("")  # truncated, as when max_size was reached and the file emptied
    time.sleep(0.1)
    with open(path, "a") as f:
        f.write("three\n")
    wait_for(3)
    replacement = tmp_path / "new"
    replacement.write_text("four\n")
    os.replace(replacement, path)
    wait_for(4)
    done.set()
    thread.join(5)
    assert got == ["one\n", "two\n", "three\n", "four\n"]
    assert restarts == ["truncated", "replaced"]


def test_tail_cli_from_start_with_filters(tmp_path):
    path = tmp_path / "live.record"
    write_recording(path, CALLS[:300], noise=False)
    result = run("tail", str(path), "--from-start", "--duration", "0.3s", "--poll", "10ms", "--comm", "sh")
    shown = [line for line in result.stdout.splitlines() if not line.startswith("---")]
    want = [c for c in CALLS[:300] if c.comm == "sh"]
    assert len(shown) == len(want) and all(" sh[300/300] " in line for line in shown)
    stats = run("tail", str(path), "--from-start", "--duration", "0.3s", "--poll", "10ms", "--stats", "10s")
    last_table = stats.stdout.strip().split("\n\n")[-1].splitlines()
    totals = {line.split()[0]: int(line.split()[-1]) for line in last_table[2:]}
    assert totals == Counter(c.syscall for c in CALLS[:300])


def test_self_exclusion_writes_and_restores_the_parameter(tmp_path):
    param = tmp_path / "exclude_pid"
    param.write_text("0\n")
    with SelfExclusion(str(param)) as excl:
        assert excl.active and param.read_text() == f"{os.getpid()}\n"
    assert param.read_text() == "0\n"
    with SelfExclusion(str(tmp_path / "missing")) as excl:
        assert not excl.active


@pytest.mark.parametrize("command", ["files", "mmap", "audit", "seccomp", "tail", "syscalls"])
def test_every_command_has_a_manual(command):
    result = run(command, "--help")
    assert result.exit_code == 0 and "EXAMPLES" in result.stdout
