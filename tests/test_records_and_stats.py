"""DataFrames built from the fixture record file, and top-syscall statistics computed by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mysysdig import (
    ErrorCollector,
    Marker,
    iter_events,
    iter_frames,
    iter_records,
    read_records,
    records_frame,
    top_syscalls,
)
from mysysdig.schema import FRAME_COLUMNS

SAMPLE = Path(__file__).parent / "fixtures" / "sample.record"

# What tests/fixtures/sample.record holds, counted by hand from the file.
SAMPLE_SYSCALLS = {
    "read": 3,  # lines 1, 7, 20
    "getppid": 2,  # lines 2, 17
    "openat": 2,  # lines 3, 6
    "write": 1,
    "execve": 1,
    "nanosleep": 1,
    "exit_group": 1,
    "close": 1,  # line 13 (line 15 is bad)
    "unknown": 1,
}
SAMPLE_TOTAL = 13
SAMPLE_DROPPED = 17 + 3
SAMPLE_BAD_LINES = [11, 12, 14, 15, 18, 21]


def test_read_records_gives_the_schema_and_exact_values():
    errors = ErrorCollector()
    markers: list[Marker] = []
    df = read_records(SAMPLE, on_error=errors, on_marker=markers.append)
    assert list(df.columns) == list(FRAME_COLUMNS)
    assert len(df) == SAMPLE_TOTAL
    assert [e.line_no for e in errors.errors] == SAMPLE_BAD_LINES
    assert [(m.drop, m.reason, m.cpu) for m in markers] == [(17, "ring", 1), (3, "cap", None)]
    assert str(df["ts"].dtype) == "int64"
    assert str(df["pid"].dtype) == "int64"
    assert str(df["res"].dtype) == "Int64"
    assert str(df["lat_ns"].dtype) == "Int64"
    assert str(df["comm"].dtype) == "string"

    first = df.iloc[0]
    assert first["ts"] == 1732280000123456789
    assert first["syscall"] == "read"
    assert first["args"] == {"fd": 3, "count": 4096, "data": r"GET / HTTP/1.1\r\n"}
    assert first["truncated"] == ()

    exit_group = df[df["syscall"] == "exit_group"].iloc[0]
    assert exit_group["res"] is pd.NA and exit_group["lat_ns"] is pd.NA
    execve = df[df["syscall"] == "execve"].iloc[0]
    assert execve["args"]["argv"] == ["/bin/echo", "a, b", "tab\there", 'q"uote\\', "café"]
    assert execve["truncated"] == ("argv",)
    assert df["abi"].tolist().count(32) == 1
    assert df["res"].isna().sum() == 1
    assert df["lat_ns"].isna().sum() == 2  # exit_group and the getppid whose entry was not seen


def test_chunks_concatenate_to_the_whole_frame():
    whole = read_records(SAMPLE)
    chunked = read_records(SAMPLE, chunk_size=4)
    pd.testing.assert_frame_equal(whole, chunked)
    sizes = [len(f) for f in iter_frames(iter_events(SAMPLE), chunk_size=4)]
    assert sizes == [4, 4, 4, 1]


def test_empty_input_gives_an_empty_frame_with_the_schema(tmp_path):
    empty = tmp_path / "empty.record"
    empty.write_text("")
    df = read_records(empty)
    assert len(df) == 0 and list(df.columns) == list(FRAME_COLUMNS)
    assert str(df["res"].dtype) == "Int64"
    assert top_syscalls(df).empty


def test_iter_records_skips_markers():
    records = list(iter_records(SAMPLE))
    assert len(records) == SAMPLE_TOTAL
    assert [r.line_no for r in records][:3] == [1, 2, 3]


def expected_top(n: int | None) -> list[tuple[str, int, float]]:
    ranked = sorted(SAMPLE_SYSCALLS.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(name, count, count * 100.0 / SAMPLE_TOTAL) for name, count in ranked[:n]]


def test_top_syscalls_of_a_frame():
    top = top_syscalls(read_records(SAMPLE), top=3)
    assert list(top.columns) == ["syscall", "count", "percent"]
    assert top["syscall"].tolist() == ["read", "getppid", "openat"]
    assert top["count"].tolist() == [3, 2, 2]
    assert top["percent"].tolist() == pytest.approx([300 / 13, 200 / 13, 200 / 13], abs=1e-12)


def test_top_syscalls_of_chunks_equals_top_of_the_whole():
    chunks = iter_frames(iter_events(SAMPLE), chunk_size=2, columns=("syscall",))
    top = top_syscalls(chunks, top=None)
    assert [tuple(row) for row in top.itertuples(index=False)] == pytest.approx(expected_top(None))
    assert top["count"].sum() == SAMPLE_TOTAL
    assert top["percent"].sum() == pytest.approx(100.0)


def test_top_syscalls_breaks_ties_by_name():
    top = top_syscalls(read_records(SAMPLE), top=5)
    assert top["syscall"].tolist() == ["read", "getppid", "openat", "close", "execve"]


def test_records_frame_with_selected_columns():
    frame = records_frame(list(iter_records(SAMPLE))[:2], columns=("syscall", "res"))
    assert list(frame.columns) == ["syscall", "res"]
    assert frame["res"].tolist() == [16, 0]
