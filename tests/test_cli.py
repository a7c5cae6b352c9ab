"""The mysysdig command line through click's CliRunner: exact JSON, text, stats and error reporting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mysysdig.cli import main

SAMPLE = Path(__file__).parent / "fixtures" / "sample.record"
SAMPLE_TEXT = SAMPLE.read_text(encoding="latin-1")
SAMPLE_BAD = [
    "11: not a record or marker line",
    "12: record without valid trailing fields",
    "14: unknown marker 'hello'",
    "15: expected ', ' between fields at column 20",
    "18: empty line",
    "21: truncated line (no newline at end of input)",
]
RECORD_KEYS = ["ts", "pid", "tid", "comm", "syscall", "nr", "abi", "res", "lat_ns", "args"]


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False, prog_name="mysysdig")


def json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines()]


def test_parse_json_of_the_sample():
    result = run("parse", "--format", "json", str(SAMPLE))
    assert result.exit_code == 0
    objs = json_lines(result.stdout)
    assert len(objs) == 13 + 2
    assert objs[0] == {
        "ts": 1732280000123456789,
        "pid": 22569,
        "tid": 22569,
        "comm": "nginx",
        "syscall": "read",
        "nr": 0,
        "abi": 64,
        "res": 16,
        "lat_ns": 2345,
        "args": {"fd": 3, "count": 4096, "data": "GET / HTTP/1.1\\r\\n"},
    }
    assert list(objs[0]) == RECORD_KEYS
    records = [o for o in objs if "marker" not in o]
    optional = ["truncated", "raw"]
    assert all(list(o)[: len(RECORD_KEYS)] == RECORD_KEYS for o in records)
    assert all(set(list(o)[len(RECORD_KEYS) :]) <= set(optional) for o in records)

    by_line = dict(zip([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 16, 17, 19, 20], objs, strict=True))
    assert by_line[3]["args"] == {
        "dfd": "AT_FDCWD",
        "filename": "/etc/passwd",
        "flags": 0x80000,
        "mode": 0o644,
    }
    assert by_line[3]["res"] == -2 and by_line[3]["tid"] == 4243
    assert by_line[4]["args"]["data"] == 'say \\"hi\\", C:\\\\dir\\x00\\xff\\t.'
    assert "truncated" not in by_line[4]
    assert by_line[5]["args"] == {
        "filename": "/bin/echo",
        "argv": ["/bin/echo", "a, b", "tab\there", 'q"uote\\', "café"],
        "envp": 0x7FFD1C2A4E10,
    }
    assert by_line[5]["truncated"] == ["argv"]
    assert by_line[6]["args"] == {
        "dfd": -100,
        "filename": "/very/long/pa",
        "flags": "O_RDONLY|O_CLOEXEC",
        "mode": 0,
    }
    assert (by_line[6]["abi"], by_line[6]["nr"], by_line[6]["truncated"]) == (32, 295, ["filename"])
    assert by_line[7]["args"]["data"] == "abcdef" and by_line[7]["truncated"] == ["data"]
    assert by_line[8]["args"] == {"rqtp": {"tv_sec": 1, "tv_nsec": 500}, "rmtp": None}
    assert by_line[8]["lat_ns"] == 1000000500
    assert (by_line[9]["res"], by_line[9]["lat_ns"], by_line[9]["args"]) == (None, None, {"error_code": 0})
    assert by_line[13]["comm"] == "my\x01comm"
    assert (by_line[17]["res"], by_line[17]["lat_ns"], by_line[17]["args"]) == (-1, None, {})
    assert (by_line[19]["syscall"], by_line[19]["nr"]) == ("unknown", 999)
    assert "data" not in by_line[20]["args"]


def test_parse_json_markers():
    objs = json_lines(run("parse", "--format", "json", str(SAMPLE)).stdout)
    markers = [o for o in objs if "marker" in o]
    assert markers == [
        {"marker": "drop", "drop": 17, "reason": "ring", "cpu": 1, "ts": 1732280001000000000},
        {"marker": "drop", "drop": 3, "reason": "cap", "ts": 1732280001600000000},
    ]


def test_bad_lines_go_to_stderr_with_file_and_line_and_a_summary():
    result = run("parse", "--format", "json", str(SAMPLE))
    lines = result.stderr.splitlines()
    assert len(lines) == len(SAMPLE_BAD) + 2
    for got, want in zip(lines, SAMPLE_BAD, strict=False):
        assert got.startswith(f"{SAMPLE}:{want}"), got
    # The sample has no header, so line 6's O_RDONLY|O_CLOEXEC has no raw number: said once, at the end.
    assert lines[-2] == (
        f"mysysdig: {SAMPLE}: 1 symbolic values have no raw number: "
        "no '# mysysdig record' header line came before them"
    )
    assert lines[-1] == f"mysysdig: {SAMPLE}: 6 bad lines skipped"


def test_parse_text_is_one_readable_line_per_event():
    result = run("parse", str(SAMPLE))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 15
    assert lines[0] == (
        "2024-11-22T12:53:20.123456789Z nginx[22569/22569] read(fd=3, count=4096) = 16 <0.000002345> "
        'data="GET / HTTP/1.1\\r\\n"'
    )
    assert lines[2] == (
        '2024-11-22T12:53:20.300000000Z cat[4242/4243] openat(dfd=AT_FDCWD, filename="/etc/passwd", '
        "flags=0x80000, mode=0644) = -2 ENOENT (No such file or directory) <0.000001500>"
    )
    assert lines[5].endswith("flags=O_RDONLY|O_CLOEXEC, mode=00) = 3 <0.000004100> [abi=32]")
    assert lines[6].endswith('= 65536 <0.000009000> data="abcdef"...')
    assert lines[8] == "2024-11-22T12:53:20.900000000Z cat[4242/4242] exit_group(error_code=0) = ?"
    assert lines[9] == "2024-11-22T12:53:21.000000000Z --- 17 records dropped: ring buffer of CPU 1 full ---"
    assert lines[13].endswith("unknown() = -38 ENOSYS (Function not implemented) <0.000000070> [nr=999]")


def test_parse_reads_stdin():
    line = 'pid=1, getppid, res=0, tid=1, comm="a", abi=64, nr=110, ts=1, lat=2\n'
    result = run("parse", "--format", "json", "-", input=line + "junk\n")
    assert result.exit_code == 0
    assert json_lines(result.stdout)[0]["syscall"] == "getppid"
    assert result.stderr.splitlines() == [
        "<stdin>:2: not a record or marker line",
        "mysysdig: <stdin>: 1 bad line skipped",
    ]


def test_nothing_parseable_exits_1_but_empty_input_exits_0():
    result = run("parse", "-", input="junk\nmore junk\n")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == "mysysdig: <stdin>: 2 bad lines skipped"
    empty = run("parse", "-", input="")
    assert (empty.exit_code, empty.stdout, empty.stderr) == (0, "", "")
    markers_only = run("stats", "-", input="drop=4, reason=cap, ts=1\n")
    assert markers_only.exit_code == 0
    assert markers_only.stdout.splitlines()[-1] == "total records: 0, dropped records: 4"


def test_missing_file_is_a_usage_error():
    result = run("parse", "/nonexistent/record")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_stats_table():
    result = run("stats", str(SAMPLE), "--top", "4")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "SYSCALL  COUNT  PERCENT",
        "read         3    23.08",  # 3/13
        "getppid      2    15.38",  # 2/13
        "openat       2    15.38",
        "close        1     7.69",  # 1/13
        "total records: 13, dropped records: 20",  # drops: 17 (ring) + 3 (cap)
    ]
    assert result.stderr.splitlines()[-1] == f"mysysdig: {SAMPLE}: 6 bad lines skipped"


def test_stats_json():
    result = run("stats", str(SAMPLE), "--top", "3", "--format", "json")
    assert result.exit_code == 0
    obj = json.loads(result.stdout)
    assert obj["total"] == 13 and obj["dropped"] == 20
    assert [(s["syscall"], s["count"]) for s in obj["syscalls"]] == [
        ("read", 3),
        ("getppid", 2),
        ("openat", 2),
    ]
    assert [s["percent"] for s in obj["syscalls"]] == pytest.approx([300 / 13, 200 / 13, 200 / 13], abs=1e-9)


def test_stats_csv_keeps_stdout_plain_csv():
    result = run("stats", str(SAMPLE), "--format", "csv")
    assert result.stdout.splitlines() == [
        "syscall,count,percent",
        "read,3,23.08",
        "getppid,2,15.38",
        "openat,2,15.38",
        "close,1,7.69",
        "execve,1,7.69",
        "exit_group,1,7.69",
        "nanosleep,1,7.69",
        "unknown,1,7.69",
        "write,1,7.69",
    ]
    assert "total records: 13, dropped records: 20" in result.stderr.splitlines()


def test_stats_from_stdin_matches_the_file():
    piped = run("stats", "-", "--format", "json", input=SAMPLE_TEXT)
    direct = run("stats", str(SAMPLE), "--format", "json")
    assert piped.stdout == direct.stdout


def test_stats_rejects_top_zero():
    assert run("stats", str(SAMPLE), "--top", "0").exit_code == 2


@pytest.mark.parametrize("args", [["--help"], ["parse", "--help"], ["stats", "--help"]])
def test_help_reads_like_a_manual(args):
    result = run(*args)
    assert result.exit_code == 0
    assert "DESCRIPTION" in result.stdout or "EXIT STATUS" in result.stdout
    if args[0] != "--help":
        assert "EXAMPLES" in result.stdout
        assert "or - for standard input" in " ".join(result.stdout.split())
        assert result.stdout.startswith(f"Usage: mysysdig {args[0]} [OPTIONS] FILE")
