"""The fast columnar reader agrees with the line parser: same records, same fields, same bad lines."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fixtures.workload import make_calls, write_recording

from mysysdig import ErrorCollector, Header, Marker, Record, iter_events
from mysysdig.decode.columns import ColumnReader, records_summary
from mysysdig.schema import SUMMARY_COLUMNS

SAMPLE = Path(__file__).parent / "fixtures" / "sample.record"

TRICKY = [
    # A string argument that looks like the result and the tail.
    'pid=1, openat, dfd=AT_FDCWD, filename="a, res=5, tid=9, comm=\\"x\\", abi=64", flags=O_RDONLY, mode=00, '
    'res=3, tid=1, comm="t", abi=64, nr=257, ts=10, lat=1\n',
    # Captured data that looks like the tail.
    'pid=1, read, fd=3, count=64, res=40, data=", tid=7, comm=\\"evil\\", abi=32, nr=1, ts=2, lat=3", tid=1, '
    'comm="t", abi=64, nr=0, ts=11, lat=2\n',
    # mount's in-place data argument, then the result.
    'pid=1, mount, dev_name="none", dir_name="/mnt", type="tmpfs", flags=0x0, data="size=1m, res=9", res=0, '
    'tid=1, comm="t", abi=64, nr=165, ts=12, lat=3\n',
    # An escaped comm, with a ", " in it.
    'pid=2, getpid, res=2, tid=2, comm="a, b\\x01c\\\\", abi=64, nr=39, ts=13, lat=4\n',
    # Hex result, result beyond int64, negative result, no latency, no result.
    "pid=2, mmap, addr=NULL, len=4096, prot=PROT_READ, flags=MAP_PRIVATE|MAP_ANONYMOUS, fd=-1, off=0, "
    'res=0x7f1234560000, tid=2, comm="t", abi=64, nr=9, ts=14, lat=5\n',
    'pid=2, mmap, addr=NULL, res=0xffffffffffffffff1, tid=2, comm="t", abi=64, nr=9, ts=15, lat=5\n',
    'pid=2, close, fd=99, res=-9, tid=2, comm="t", abi=64, nr=3, ts=16\n',
    'pid=2, exit_group, error_code=0, tid=2, comm="t", abi=64, nr=231, ts=17\n',
    'pid=2, read, fd=3, count=9, res=9, data="abc"..., tid=2, comm="t", abi=32, nr=3, ts=18, lat=9\n',
    # Structs, lists, symbols.
    'pid=3, connect, fd=3, uservaddr={family=AF_INET, addr="127.0.0.1", port=80}, addrlen=16, res=0, tid=3, '
    'comm="c", abi=64, nr=42, ts=19, lat=10\n',
    'pid=3, execve, filename="/bin/sh", argv=["sh", "-c", "x, res=1", ...], envp=0x7ffd, res=0, tid=3, '
    'comm="c", abi=64, nr=59, ts=20, lat=11\n',
    # Not records: markers, header, comments, garbage, a duplicated res, CRLF, non-ASCII bytes.
    "drop=3, reason=ring, cpu=0, ts=21\n",
    "# mysysdig record v1 arch=x86_64 compat=ia32 release=6.1 snaplen=64\n",
    "#sym signal SIGKILL=0x9\n",
    "# a comment\n",
    "garbage\n",
    'pid=4, getpid, res=1, res=2, tid=4, comm="d", abi=64, nr=39, ts=22, lat=1\n',
    'pid=4, getpid, res=1, tid=4, comm="d", abi=64, nr=39, ts=23, lat=1\r\n',
    'pid=4, getpid, res=1, tid=4, comm="d\xe9", abi=64, nr=39, ts=24, lat=1\n',
    "\n",
    'pid=5, getpid, res=5, tid=5, comm="e", abi=64, nr=39, ts=25, lat=1\n',
    # The last line, cut off without its newline.
    'pid=5, getpid, res=5, tid=5, comm="e", abi=64, nr=39, ts=26, lat=1',
]


def slow(path: Path) -> tuple[pd.DataFrame, list, list, list]:
    errors = ErrorCollector()
    events = list(iter_events(path, errors))
    records = [e for e in events if type(e) is Record]
    markers = [e for e in events if type(e) is Marker]
    headers = [e for e in events if type(e) is Header]
    return records_summary(records), errors.errors, markers, headers


def fast(path: Path, block_size: int = 1 << 20) -> tuple[pd.DataFrame, list, list, list]:
    errors = ErrorCollector()
    markers: list[Marker] = []
    headers: list[Header] = []
    reader = ColumnReader(errors, markers.append, headers.append, block_size=block_size)
    frames = list(reader.frames(path))
    return pd.concat(frames, ignore_index=True), errors.errors, markers, headers


def normalised(frame: pd.DataFrame) -> list[tuple]:
    rows = frame[list(SUMMARY_COLUMNS)].astype(object).where(frame.notna(), None)
    return sorted(tuple(r) for r in rows.itertuples(index=False, name=None))


@pytest.mark.parametrize("block_size", [1 << 20, 64, 300])
def test_tricky_lines_read_alike(tmp_path, block_size):
    path = tmp_path / "tricky.record"
    path.write_bytes("".join(TRICKY).encode("latin-1"))
    want, want_errors, want_markers, want_headers = slow(path)
    got, got_errors, got_markers, got_headers = fast(path, block_size)
    assert normalised(got) == normalised(want)
    assert [(e.line_no, e.reason) for e in got_errors] == [(e.line_no, e.reason) for e in want_errors]
    assert got_markers == want_markers and got_headers == want_headers
    assert len(want) == 11 and len(want_errors) == 7
    assert "a, b\x01c\\" in set(got["comm"])


def test_summary_dtypes(tmp_path):
    path = tmp_path / "tricky.record"
    path.write_bytes("".join(TRICKY).encode("latin-1"))
    frame, *_ = fast(path)
    assert str(frame["ts"].dtype) == "int64" and str(frame["res"].dtype) == "Int64"
    assert str(frame["syscall"].dtype) == "category"


def test_workload_reads_alike_in_small_blocks(tmp_path):
    path = tmp_path / "w.record"
    write_recording(path, make_calls(800, seed=3))
    want, want_errors, want_markers, want_headers = slow(path)
    got, got_errors, got_markers, got_headers = fast(path, block_size=4096)
    assert normalised(got) == normalised(want)
    assert [e.line_no for e in got_errors] == [e.line_no for e in want_errors]
    assert got_markers == want_markers
    assert len(got_headers) == 1 and got_headers[0].tables == want_headers[0].tables


def test_sample_file_reads_alike():
    want, want_errors, *_ = slow(SAMPLE)
    got, got_errors, *_ = fast(SAMPLE)
    assert normalised(got) == normalised(want)
    assert [(e.line_no, e.reason) for e in got_errors] == [(e.line_no, e.reason) for e in want_errors]


def test_empty_file_gives_one_empty_frame(tmp_path):
    path = tmp_path / "empty.record"
    path.write_text("")
    frames = list(ColumnReader().frames(path))
    assert len(frames) == 1 and frames[0].empty and list(frames[0].columns) == list(SUMMARY_COLUMNS)


def test_read_summary_and_the_read_records_example(tmp_path):
    from fixtures.workload import make_calls, write_recording

    import mysysdig

    calls = make_calls(600, seed=5)
    path = tmp_path / "w.record"
    write_recording(path, calls, noise=False)
    summary = mysysdig.read_summary(path)
    assert len(summary) == len(calls) and list(summary.columns) == list(SUMMARY_COLUMNS)
    # The example of read_records' docstring, checked against the calls written.
    df = mysysdig.read_records(path)
    opens = df[df.syscall.isin(["open", "openat"]) & (df.comm == "nginx") & (df.res < 0)]
    got = opens.args.map(lambda a: a["filename"]).value_counts().to_dict()
    want: dict[str, int] = {}
    for c in calls:
        if c.syscall == "openat" and c.comm == "nginx" and c.res < 0:
            want[c.extra["path"]] = want.get(c.extra["path"], 0) + 1
    assert got == want and want


@pytest.mark.parametrize(
    "columns",
    [("syscall",), ("pid", "res"), ("comm", "tid"), ("ts", "lat_ns", "nr"), ("abi", "syscall", "res")],
)
def test_only_the_columns_asked_for_are_extracted_and_they_agree(tmp_path, columns):
    path = tmp_path / "tricky.record"
    path.write_bytes("".join(TRICKY).encode("latin-1"))
    full, full_errors, *_ = fast(path)
    errors = ErrorCollector()
    part = pd.concat(list(ColumnReader(errors, columns=columns).frames(path)), ignore_index=True)
    assert list(part.columns) == [c for c in SUMMARY_COLUMNS if c in columns]
    pd.testing.assert_frame_equal(
        part.astype(object), full[list(part.columns)].astype(object), check_categorical=False
    )
    assert [(e.line_no, e.reason) for e in errors.errors] == [(e.line_no, e.reason) for e in full_errors]


def test_progress_bar_only_for_big_files_on_a_terminal(tmp_path, monkeypatch, capsys):
    import io

    from mysysdig.cli import common

    path = tmp_path / "w.record"
    write_recording(path, make_calls(300, seed=2), noise=False)
    with common.progress_bar(str(path)) as advance:
        assert advance is None  # small file, and stderr is not a terminal here

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    monkeypatch.setattr(common.sys, "stderr", tty)
    monkeypatch.setattr(common, "PROGRESS_MIN_BYTES", 1)
    with common.progress_bar(str(path)) as advance:
        assert advance is not None
        advance(path.stat().st_size)
    assert "reading" in tty.getvalue() and "100%" in tty.getvalue()
