"""Whole record lines, markers and bad lines, decoded to exact Records, Markers and ParseErrors."""

from __future__ import annotations

import pytest

from mysysdig import (
    ErrorCollector,
    LineError,
    Marker,
    ParseError,
    Record,
    parse_line,
    parse_lines,
    parse_text,
)
from mysysdig.decode import split_lines, unescape_bytes

DOC_EXAMPLE = (
    r'pid=22569, read, fd=3, count=4096, res=16, data="GET / HTTP/1.1\r\n", tid=22569, comm="nginx", '
    "abi=64, nr=0, ts=1732280000123456789, lat=2345\n"
)


def one(line: str) -> Record | Marker:
    errors = ErrorCollector()
    events = parse_text(line, errors)
    assert errors.errors == []
    assert len(events) == 1
    return events[0]


def test_the_docs_example_record():
    rec = one(DOC_EXAMPLE)
    assert rec == Record(
        ts=1732280000123456789,
        pid=22569,
        tid=22569,
        comm="nginx",
        syscall="read",
        nr=0,
        abi=64,
        res=16,
        lat_ns=2345,
        args={"fd": 3, "count": 4096, "data": r"GET / HTTP/1.1\r\n"},
        truncated=(),
        line_no=1,
    )
    assert rec.raw_args == "fd=3, count=4096"
    assert rec.errno is None


def test_data_keeps_the_escaped_form_and_unescapes_to_the_bytes():
    line = (
        r'pid=1, write, fd=1, count=20, res=20, data="say \"hi\", C:\\dir\x00\xff\t.", tid=1, '
        'comm="w", abi=64, nr=1, ts=5, lat=6\n'
    )
    rec = one(line)
    assert rec.args["data"] == 'say \\"hi\\", C:\\\\dir\\x00\\xff\\t.'
    assert unescape_bytes(rec.args["data"]) == b'say "hi", C:\\dir\x00\xff\t.'
    assert rec.args == {"fd": 1, "count": 20, "data": rec.args["data"]}
    assert rec.truncated == ()


def test_cut_data_is_named_in_truncated():
    line = 'pid=1, read, fd=3, count=65536, res=65536, data="abc"..., tid=1, comm="r", abi=64, nr=0, ts=5\n'
    rec = one(line)
    assert rec.args == {"fd": 3, "count": 65536, "data": "abc"}
    assert rec.truncated == ("data",)


def test_cut_argument_and_cut_data_both_named_in_order():
    line = (
        'pid=1, sendto, fd=3, addr="/tmp/so"..., len=9, res=9, data="ping"..., tid=1, comm="s", '
        "abi=64, nr=44, ts=5, lat=6\n"
    )
    rec = one(line)
    assert rec.truncated == ("addr", "data")


def test_generic_record_has_no_args():
    rec = one('pid=1, getppid, res=0, tid=1, comm="init", abi=64, nr=110, ts=1732280000000000001, lat=812\n')
    assert rec == Record(1732280000000000001, 1, 1, "init", "getppid", 110, 64, 0, 812, {}, (), 1)
    assert rec.raw_args == ""


def test_exit_group_has_neither_res_nor_lat():
    rec = one('pid=42, exit_group, error_code=3, tid=42, comm="w", abi=64, nr=231, ts=99\n')
    assert rec.res is None and rec.lat_ns is None
    assert rec.args == {"error_code": 3}
    assert rec.errno is None


def test_generic_call_that_never_returns():
    rec = one('pid=42, exit, tid=43, comm="w", abi=64, nr=60, ts=99\n')
    assert (rec.syscall, rec.res, rec.lat_ns, rec.args, rec.tid) == ("exit", None, None, {}, 43)


def test_record_without_lat_because_entry_was_not_seen():
    rec = one('pid=9, execve, res=0, tid=9, comm="sh", abi=64, nr=59, ts=7\n')
    assert (rec.res, rec.lat_ns, rec.args) == (0, None, {})


def test_failed_call_has_an_errno_name():
    rec = one('pid=9, openat, dfd=AT_FDCWD, filename="/nope", flags=0x0, mode=00, res=-2, tid=9, comm="c", '
              "abi=64, nr=257, ts=7, lat=8\n")  # fmt: skip
    assert rec.res == -2
    assert rec.errno == "ENOENT"
    assert rec.args == {"dfd": "AT_FDCWD", "filename": "/nope", "flags": 0, "mode": 0}


def test_32_bit_abi_and_unknown_syscall():
    rec = one('pid=9, unknown, res=-38, tid=9, comm="c", abi=32, nr=999, ts=7, lat=8\n')
    assert (rec.abi, rec.syscall, rec.nr, rec.errno) == (32, "unknown", 999, "ENOSYS")


def test_hex_result_and_large_values():
    rec = one(
        'pid=9, mmap, addr=NULL, len=8192, res=0x7f0000001000, tid=9, comm="c", abi=64, nr=9, ts=7, lat=8\n'
    )
    assert rec.res == 0x7F0000001000
    assert rec.args == {"addr": None, "len": 8192}


def test_res_beyond_int64_is_a_bad_line():
    with pytest.raises(LineError, match="signed 64-bit"):
        parse_line('pid=9, x, res=9223372036854775808, tid=9, comm="c", abi=64, nr=9, ts=7, lat=8\n')
    with pytest.raises(LineError, match="signed 64-bit"):
        parse_line('pid=9, x, res=0xffffffffffffffff, tid=9, comm="c", abi=64, nr=9, ts=7, lat=8\n')
    rec = parse_line('pid=9, x, res=-9223372036854775808, tid=9, comm="c", abi=64, nr=9, ts=7, lat=8\n')
    assert rec.res == -(2**63)


def test_comm_is_unescaped():
    rec = one(r'pid=1, getpid, res=1, tid=1, comm="a \"b\"\x01", abi=64, nr=39, ts=5, lat=6' + "\n")
    assert rec.comm == 'a "b"\x01'


def test_tail_lookalike_inside_data_does_not_confuse_the_parser():
    data = r", tid=5, comm=\"evil\", abi=32, nr=0, ts=1, lat=2"
    line = (
        f'pid=1, write, fd=1, count=40, res=40, data="{data}", tid=2, comm="ok", abi=64, nr=1, ts=3, lat=4\n'
    )
    rec = one(line)
    assert (rec.tid, rec.comm, rec.abi, rec.ts, rec.lat_ns) == (2, "ok", 64, 3, 4)
    assert rec.args["data"] == data


def test_data_as_an_ordinary_argument_before_res():
    # mount(2)'s tracepoint has a field called data; in argument position it is a user string
    line = (
        'pid=1, mount, dev_name="none", dir_name="/mnt", type="tmpfs", flags=0x0, data="size=1m", '
        'res=0, tid=1, comm="m", abi=64, nr=165, ts=3, lat=4\n'
    )
    rec = one(line)
    assert rec.args["data"] == "size=1m"
    assert list(rec.args) == ["dev_name", "dir_name", "type", "flags", "data"]


@pytest.mark.parametrize(
    "line, marker",
    [
        (
            "drop=17, reason=ring, cpu=1, ts=1732280001000000000\n",
            Marker(17, "ring", 1732280001000000000, 1, 1),
        ),
        ("drop=3, reason=cap, ts=1732280001600000000\n", Marker(3, "cap", 1732280001600000000, None, 1)),
    ],
)
def test_drop_markers(line, marker):
    got = one(line)
    assert got == marker
    assert got.kind == "drop"


BAD_LINES = [
    ("garbage\n", "not a record or marker line"),
    ("\n", "empty line"),
    ("hello=1, world=2\n", "unknown marker 'hello'"),
    ("drop=1, reason=full, ts=5\n", "malformed drop marker"),
    ("drop=1, reason=ring, ts=5\n", "malformed drop marker"),
    ("drop=1, reason=cap, cpu=1, ts=5\n", "malformed drop marker"),
    (
        'pid=x, read, res=0, tid=1, comm="a", abi=64, nr=0, ts=1\n',
        "record without a valid 'pid=N, syscall' head",
    ),
    ("pid=1\n", "record without a valid 'pid=N, syscall' head"),
    ('pid=1, read, res=0, tid=1, comm="a"\n', "record without valid trailing fields"),
    ('pid=1, read, res=0, tid=1, comm="a", abi=16, nr=0, ts=1\n', "record without valid trailing fields"),
    (
        'pid=1, read, res=0, tid=1, comm="a", abi=64, nr=0, ts=1, lat=2, x=3\n',
        "record without valid trailing",
    ),
    ('pid=1, read, res=0, tid=1, comm="a", abi=64, nr=0, ts=1, lat=2 \n', "record without valid trailing"),
    ('pid=1, read, res=0, tid=1, comm="a", abi=64, nr=0, ts=1, lat=2\r\n', "line ends in CR LF"),
    ('pid=1, read, res=NULL, tid=1, comm="a", abi=64, nr=0, ts=1\n', "res= must be an integer"),
    ('pid=1, read, res=0, fd=3, tid=1, comm="a", abi=64, nr=0, ts=1\n', "only data= may follow res="),
    ('pid=1, read, res=0, data=0x10, tid=1, comm="a", abi=64, nr=0, ts=1\n', "malformed record"),
    (
        'pid=1, read, data="a", res=1, data="b", tid=1, comm="a", abi=64, nr=0, ts=1\n',
        "duplicate field 'data'",
    ),
    ('pid=1, read, fd=3, , res=0, tid=1, comm="a", abi=64, nr=0, ts=1\n', "expected a 'name=value' field"),
    ('pid=1, read, fd=3,, res=0, tid=1, comm="a", abi=64, nr=0, ts=1\n', "expected ', ' between fields"),
    (
        'pid=1, re ad, res=0, tid=1, comm="a", abi=64, nr=0, ts=1\n',
        "record without a valid 'pid=N, syscall' head",
    ),
    ('pid=1, read, res=0, tid=1, comm="\xe9", abi=64, nr=0, ts=1\n', "record without valid trailing fields"),
]


@pytest.mark.parametrize("line, reason", BAD_LINES)
def test_bad_lines_are_reported_with_a_reason(line, reason):
    errors = ErrorCollector()
    assert parse_text(line, errors) == []
    assert len(errors.errors) == 1
    error = errors.errors[0]
    assert error.line_no == 1
    assert error.reason.startswith(reason), error.reason
    assert error.text == line[:-1]
    with pytest.raises(LineError):
        parse_line(line)


def test_parsing_goes_on_after_bad_lines_and_counts_lines_from_one():
    text = (
        "junk\n"
        'pid=1, getppid, res=0, tid=1, comm="a", abi=64, nr=110, ts=1, lat=2\n'
        "\n"
        "drop=2, reason=cap, ts=3\n"
        'pid=1, getppid, res=0, tid=1, comm="a", abi=64, nr=110, ts=4, lat=5\n'
        'pid=1, getppid, res=0, tid=1, comm="a", abi=64, nr=1'
    )
    errors = ErrorCollector()
    events = parse_text(text, errors)
    assert [(type(e).__name__, e.line_no) for e in events] == [("Record", 2), ("Marker", 4), ("Record", 5)]
    assert errors.errors == [
        ParseError(1, "not a record or marker line", "junk"),
        ParseError(3, "empty line", ""),
        ParseError(6, "truncated line (no newline at end of input)", text.rsplit("\n", 1)[1]),
    ]


def test_a_complete_looking_last_line_without_newline_is_still_truncated():
    line = 'pid=1, getppid, res=0, tid=1, comm="a", abi=64, nr=110, ts=1, lat=2'
    errors = ErrorCollector()
    assert parse_text(line, errors) == []
    assert [e.reason for e in errors.errors] == ["truncated line (no newline at end of input)"]
    # a single line given on its own is fine without its newline
    assert parse_line(line).lat_ns == 2


def test_errors_are_dropped_silently_without_a_handler():
    assert parse_text("junk\nmore junk") == []


def test_first_line_number_can_be_set():
    events = list(parse_lines(["drop=1, reason=cap, ts=1\n"], first_line_no=41))
    assert events[0].line_no == 41


def test_split_lines_splits_only_on_newline():
    assert list(split_lines("a\rb\x0bc\nd\x1ce\n\nf")) == ["a\rb\x0bc\n", "d\x1ce\n", "\n", "f"]
    assert list(split_lines("")) == []


def test_records_never_share_their_args_dicts():
    line = 'pid=1, read, fd=3, count=10, res=2, data="hi", tid=1, comm="a", abi=64, nr=0, ts=1, lat=2\n'
    same_args = 'pid=1, read, fd=3, count=10, res=0, tid=1, comm="a", abi=64, nr=0, ts=2, lat=2\n'
    first, second, third = parse_text(line + line + same_args)
    assert first.args is not second.args
    first.args["fd"] = 99
    assert second.args == {"fd": 3, "count": 10, "data": "hi"}
    assert third.args == {"fd": 3, "count": 10}  # the captured data of the others did not leak in
