"""`mysysdig stats` against numbers computed independently from a workload known by construction.

The recording is written by tests/fixtures/workload.py from a list of Calls; every expectation below is
computed from that list with plain Python loops (collections.Counter, sorted lists), not by mysysdig.
"""

from __future__ import annotations

import errno
import json
import math
from collections import Counter, defaultdict

import pytest
from click.testing import CliRunner
from fixtures.workload import DROPPED, NS, START_TS, Call, make_calls, write_recording

from mysysdig.cli import main

CALLS = make_calls()
BYTES_CALLS = {"read", "write", "sendto", "recvfrom"}


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("oracle") / "workload.record"
    bad = write_recording(path, CALLS)
    return path, bad


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, prog_name="mysysdig")


def stats_json(path, *args: str) -> dict:
    result = run("stats", str(path), "--format", "json", "--top", "1000", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def is_error(res: int | None) -> bool:
    return res is not None and -4095 <= res < 0


def nearest_rank(values: list[int], p: int) -> int:
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)]


def test_counts_and_percent_of_the_whole_recording(recording):
    path, bad = recording
    obj = stats_json(path)
    expected = Counter(c.syscall for c in CALLS)
    assert obj["total"] == len(CALLS) and obj["dropped"] == DROPPED
    assert {r["syscall"]: r["count"] for r in obj["syscalls"]} == expected
    for row in obj["syscalls"]:
        assert row["percent"] == pytest.approx(expected[row["syscall"]] * 100 / len(CALLS))
    counts = [r["count"] for r in obj["syscalls"]]
    assert counts == sorted(counts, reverse=True)


def test_bad_lines_are_reported_with_their_numbers(recording):
    path, bad = recording
    result = run("stats", str(path))
    reported = [int(line.split(":")[1]) for line in result.stderr.splitlines() if line.startswith(str(path))]
    assert reported == bad
    assert result.stdout.splitlines()[-1] == f"total records: {len(CALLS)}, dropped records: {DROPPED}"


def test_table_default_shape_is_kept(recording):
    path, _ = recording
    lines = run("stats", str(path), "--top", "3").stdout.splitlines()
    assert lines[0].split() == ["SYSCALL", "COUNT", "PERCENT"]
    top3 = sorted(Counter(c.syscall for c in CALLS).items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    assert [line.split()[:2] for line in lines[1:4]] == [[s, str(n)] for s, n in top3]
    assert len(lines) == 5


def test_latency_columns(recording):
    path, _ = recording
    obj = stats_json(path, "--latency")
    lats: dict[str, list[int]] = defaultdict(list)
    for c in CALLS:
        if c.lat is not None:
            lats[c.syscall].append(c.lat)
    rows = {r["syscall"]: r for r in obj["syscalls"]}
    for name, values in lats.items():
        row = rows[name]
        assert row["lat_count"] == len(values)
        assert row["total_ns"] == sum(values)
        assert row["min_ns"] == min(values) and row["max_ns"] == max(values)
        assert row["avg_ns"] == pytest.approx(sum(values) / len(values))
        assert row["p50_ns"] == nearest_rank(values, 50)
        assert row["p99_ns"] == nearest_rank(values, 99)
    assert rows["exit_group"]["lat_count"] == 0 and rows["exit_group"]["p50_ns"] is None
    totals = [r["total_ns"] for r in obj["syscalls"]]
    assert totals == sorted(totals, reverse=True)


def test_errors_with_errno_names(recording):
    path, _ = recording
    obj = stats_json(path, "--errors")
    for row in obj["syscalls"]:
        mine = [c for c in CALLS if c.syscall == row["syscall"]]
        failed = [c for c in mine if is_error(c.res)]
        assert row["errors"] == len(failed)
        assert row["error_pct"] == pytest.approx(len(failed) * 100 / len(mine))
        names = Counter(errno.errorcode[-c.res] for c in failed)
        assert row["errnos"] == dict(names)


def test_bytes_moved(recording):
    path, _ = recording
    obj = stats_json(path, "--bytes", "--by", "pid")
    expected: Counter[int] = Counter()
    for c in CALLS:
        if c.syscall in BYTES_CALLS and c.res is not None and c.res > 0:
            expected[c.pid] += c.res
    assert {r["pid"]: r["bytes"] for r in obj["groups"]} == {pid: expected[pid] for pid in (100, 200, 300)}


def test_by_pid_and_syscall(recording):
    path, _ = recording
    obj = stats_json(path, "--by", "pid,syscall")
    expected = Counter((c.pid, c.syscall) for c in CALLS)
    assert {(r["pid"], r["syscall"]): r["count"] for r in obj["groups"]} == expected


def test_by_process_top_syscalls_and_shares(recording):
    path, _ = recording
    obj = stats_json(path, "--by", "process")
    per_pid: dict[int, Counter[str]] = defaultdict(Counter)
    for c in CALLS:
        per_pid[c.pid][c.syscall] += 1
    order = sorted(per_pid, key=lambda p: (-sum(per_pid[p].values()), p))
    assert [p["pid"] for p in obj["processes"]] == order
    comm = {100: "nginx", 200: "redis-server", 300: "sh"}
    for proc in obj["processes"]:
        counts = per_pid[proc["pid"]]
        total = sum(counts.values())
        assert proc["comm"] == comm[proc["pid"]] and proc["total"] == total
        assert proc["percent"] == pytest.approx(total * 100 / len(CALLS))
        top5 = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        assert [(s["syscall"], s["count"]) for s in proc["syscalls"]] == top5
        for s in proc["syscalls"]:
            assert s["share"] == pytest.approx(s["count"] * 100 / total)


@pytest.mark.parametrize(
    ("args", "keep"),
    [
        (["--pid", "200"], lambda c: c.pid == 200),
        (["--tid", "101"], lambda c: c.tid == 101),
        (["--comm", "nginx,sh"], lambda c: c.comm in ("nginx", "sh")),
        (["--syscall", "read,close"], lambda c: c.syscall in ("read", "close")),
        (["--syscall", "%network"], lambda c: c.syscall in ("sendto", "recvfrom")),
        (["--syscall", "%memory"], lambda c: c.syscall == "mmap"),
        (["--syscall", "%file"], lambda c: c.syscall in ("openat", "execve")),
        (["--failed"], lambda c: is_error(c.res)),
        (["--succeeded"], lambda c: c.res is not None and not is_error(c.res)),
        (
            ["--since", "+2s", "--until", "+5s"],
            lambda c: START_TS_FIRST + 2 * NS <= c.ts < START_TS_FIRST + 5 * NS,
        ),
        (["--since", str(START_TS + 3 * NS)], lambda c: c.ts >= START_TS + 3 * NS),
        (["--syscall", "close", "--failed"], lambda c: c.syscall == "close" and is_error(c.res)),
    ],
)
def test_filters(recording, args, keep):
    path, _ = recording
    obj = stats_json(path, *args)
    expected = Counter(c.syscall for c in CALLS if keep(c))
    assert obj["total"] == sum(expected.values())
    assert {r["syscall"]: r["count"] for r in obj["syscalls"]} == expected


START_TS_FIRST = CALLS[0].ts


def test_close_on_invalid_descriptors(recording):
    path, _ = recording
    obj = stats_json(path, "--syscall", "close", "--failed", "--errors")
    bad_closes = [c for c in CALLS if c.syscall == "close" and is_error(c.res)]
    assert obj["syscalls"] == [
        {
            "syscall": "close",
            "count": len(bad_closes),
            "percent": 100.0,
            "errors": len(bad_closes),
            "error_pct": 100.0,
            "errnos": {"EBADF": len(bad_closes)},
        }
    ]


def test_interval_json_in_the_gadgets_shape(recording):
    path, _ = recording
    result = run("stats", str(path), "--interval", "2s", "--format", "json")
    arrays = [json.loads(line) for line in result.stdout.splitlines()]
    first = CALLS[0].ts // (2 * NS)
    last = CALLS[-1].ts // (2 * NS)
    assert len(arrays) == last - first + 1
    expected: dict[int, Counter] = defaultdict(Counter)
    for c in CALLS:
        expected[c.ts // (2 * NS) - first][(f"SYS_{c.syscall.upper()}", c.nr)] += 1
    for i, items in enumerate(arrays):
        assert {(d["syscall"], d["syscall_raw"]): d["count"] for d in items} == expected[i]
        assert all(list(d) == ["count", "syscall", "syscall_raw"] for d in items)
        assert [(d["syscall"], d["syscall_raw"]) for d in items] == sorted(
            (d["syscall"], d["syscall_raw"]) for d in items
        )
    assert result.stdout.splitlines()[0].startswith('[{"count":')


@pytest.mark.parametrize("extra", [["--latency"], ["--errors"], ["--bytes"], ["--by", "process"]])
def test_interval_refuses_what_it_cannot_show(recording, extra):
    path, _ = recording
    result = CliRunner().invoke(main, ["stats", str(path), "--interval", "2s", *extra])
    assert result.exit_code == 2 and "--interval counts calls per syscall only" in result.output


def test_interval_per_pid_lines(recording):
    path, _ = recording
    result = run("stats", str(path), "--interval", "5s", "--format", "lines", "--pid", "200")
    blocks: list[list[str]] = []
    for line in result.stdout.splitlines():
        if line.startswith("# interval"):
            blocks.append([])
        else:
            blocks[-1].append(line)
    first = CALLS[0].ts // (5 * NS)
    groups: dict[tuple[int, str], list[Call]] = defaultdict(list)
    for c in CALLS:
        if c.pid == 200:
            groups[(c.ts // (5 * NS) - first, c.syscall)].append(c)
    seen = 0
    for (i, syscall), calls in groups.items():
        lats = [c.lat for c in calls if c.lat is not None]
        moved = sum(c.res for c in calls if syscall in BYTES_CALLS and c.res and c.res > 0)
        avg = sum(lats) / len(lats) / 1e6 if lats else 0.0
        peak = max(lats) / 1e6 if lats else 0.0
        line = (
            f"PID=200 comm=redis-server call={syscall} count={len(calls)} "
            f"avg_ms={avg:.3f} max_ms={peak:.3f} bytes={moved}"
        )
        assert line in blocks[i]
        seen += 1
    assert sum(len(b) for b in blocks) == seen


def test_help_is_a_manual():
    result = run("stats", "--help")
    text = " ".join(result.stdout.split())
    for word in ("EXAMPLES", "INTERVALS", "FILTERS", "EXIT STATUS", "%network", "--since"):
        assert word in text


def test_adding_up_partial_results_early_changes_nothing(recording, monkeypatch):
    import mysysdig.stats

    path, _ = recording
    args = ("--latency", "--errors", "--bytes", "--by", "pid,syscall")
    whole = stats_json(path, *args)
    monkeypatch.setattr(mysysdig.stats, "COMPACT_EVERY", 2)
    monkeypatch.setattr("mysysdig.decode.columns.BLOCK_SIZE", 4096)
    assert stats_json(path, *args) == whole
