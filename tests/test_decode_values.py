"""Every value form of docs/record-format.md, decoded from a full record line to its exact Python value."""

from __future__ import annotations

import pytest

from mysysdig import ErrorCollector, LineError, Record, parse_line, parse_text
from mysysdig.model import Symbol

TAIL = 'tid=7, comm="sh", abi=64, nr=1, ts=1000, lat=5'


def args_of(fields: str) -> Record:
    """Parse `pid=7, test, <fields>, res=0, <tail>` and return the record."""
    line = f"pid=7, test, {fields}, res=0, {TAIL}\n"
    rec = parse_line(line, 1)
    assert isinstance(rec, Record)
    return rec


@pytest.mark.parametrize(
    "text, value",
    [
        ("3", 3),
        ("0", 0),
        ("-1", -1),
        ("-100", -100),
        ("18446744073709551615", 18446744073709551615),  # %llu of an unsigned long
        ("0x7ffd1c2a4e10", 0x7FFD1C2A4E10),
        ("0x0", 0),
        ("0xDEADbeef", 0xDEADBEEF),
        ("0644", 0o644),
        ("0755", 0o755),
        ("00", 0),  # the module's %llo of mode 0
        ("NULL", None),
    ],
)
def test_numbers_and_null(text, value):
    rec = args_of(f"v={text}")
    assert rec.args == {"v": value}
    assert type(rec.args["v"]) is type(value)
    assert rec.truncated == ()


@pytest.mark.parametrize(
    "text",
    ["AT_FDCWD", "O_WRONLY|O_CREAT", "O_RDONLY|O_CLOEXEC|0x8000", "__O_TMPFILE"],
)
def test_symbols_are_strings_of_their_own_type(text):
    rec = args_of(f"v={text}")
    assert rec.args == {"v": text}
    assert type(rec.args["v"]) is Symbol


@pytest.mark.parametrize(
    "quoted, value",
    [
        (r'""', ""),
        (r'"/etc/passwd"', "/etc/passwd"),
        (r'"say \"hi\""', 'say "hi"'),
        (r'"C:\\dir\\"', "C:\\dir\\"),
        (r'"a\nb\rc\td"', "a\nb\rc\td"),
        (r'"\x00\x01\x7f"', "\x00\x01\x7f"),
        (r'"caf\xc3\xa9"', "café"),  # valid UTF-8 decodes
        (r'"bad\xff"', "bad\udcff"),  # invalid UTF-8 survives as a surrogate escape
        (r'"a, b"', "a, b"),  # ", " inside quotes is not a separator
        (r'"x=1, y=\"2\", z"', 'x=1, y="2", z'),
        (r'"\\\""', '\\"'),
        (r'"[{...}]"', "[{...}]"),
    ],
)
def test_quoted_user_strings_are_unescaped(quoted, value):
    rec = args_of(f"s={quoted}")
    assert rec.args == {"s": value}
    assert rec.truncated == ()


def test_unescaped_user_string_round_trips_to_bytes():
    import os

    rec = args_of(r's="\xff\xfe/\xc3\xa9"')
    assert os.fsencode(rec.args["s"]) == b"\xff\xfe/\xc3\xa9"


def test_cut_string_keeps_the_captured_part_and_is_named_in_truncated():
    rec = args_of(r'filename="/very/lo"..., flags=0x0')
    assert rec.args == {"filename": "/very/lo", "flags": 0}
    assert rec.truncated == ("filename",)


def test_cut_string_that_ends_in_an_escaped_quote():
    rec = args_of(r's="ab\""...')
    assert rec.args == {"s": 'ab"'}
    assert rec.truncated == ("s",)


def test_list_of_strings():
    rec = args_of(r'argv=["/bin/echo", "hi, there", "q\"x\\"]')
    assert rec.args == {"argv": ["/bin/echo", "hi, there", 'q"x\\']}
    assert rec.truncated == ()


def test_list_with_trailing_ellipsis_is_truncated():
    rec = args_of(r'argv=["a", "b", ...], envp=0x10')
    assert rec.args == {"argv": ["a", "b"], "envp": 16}
    assert rec.truncated == ("argv",)


def test_list_of_only_ellipsis_and_empty_list():
    rec = args_of("a=[...], b=[]")
    assert rec.args == {"a": [], "b": []}
    assert rec.truncated == ("a",)


def test_list_with_a_cut_element_is_truncated():
    rec = args_of(r'argv=["abc"..., "d"]')
    assert rec.args == {"argv": ["abc", "d"]}
    assert rec.truncated == ("argv",)


def test_list_of_mixed_scalars():
    rec = args_of("v=[1, -2, 0x10, 0644, NULL, AT_FDCWD]")
    assert rec.args == {"v": [1, -2, 16, 0o644, None, "AT_FDCWD"]}


def test_structs():
    rec = args_of(r'rqtp={tv_sec=1, tv_nsec=500}, rmtp=NULL, e={}, s={name="x, y", flags=0x3}')
    assert rec.args == {
        "rqtp": {"tv_sec": 1, "tv_nsec": 500},
        "rmtp": None,
        "e": {},
        "s": {"name": "x, y", "flags": 3},
    }


def test_struct_with_negative_member():
    rec = args_of("t={tv_sec=-1, tv_nsec=0}")
    assert rec.args == {"t": {"tv_sec": -1, "tv_nsec": 0}}


def test_argument_order_is_kept():
    rec = args_of(r'z=1, a="x", m=[1], b={c=2}')
    assert list(rec.args) == ["z", "a", "m", "b"]


@pytest.mark.parametrize(
    "fields, reason",
    [
        ("v=0X1F", "expected ', ' between fields"),
        ("v=1.5", "expected ', ' between fields"),
        ("v=abc", "unknown value form"),
        ("v=", "unknown value form"),
        ("v=09", "expected ', ' between fields"),
        ("v=-0x1", "unknown value form"),
        (r'v="bad\q"', "malformed quoted string"),
        (r'v="upper\xFF"', "malformed quoted string"),
        (r'v="short\x4"', "malformed quoted string"),
        ('v="raw\ttab"', "malformed quoted string"),
        ('v="unterminated', "malformed quoted string"),
        ('v="a"..', "expected ', ' between fields"),
        ("v=[1, ..., 2]", "'...' must be the last element of a list"),
        ("v=[1, 2", "unknown value form"),
        ("v=[1 2]", "expected ', ' or ']' in list"),
        ("v=[[1]]", "nested list or struct inside a list"),
        ("v={a=1, 2}", "expected 'name=' in struct"),
        ("v={a=1, a=2}", "duplicate struct member 'a'"),
        ("v={a=1, ...}", "expected 'name=' in struct"),
        ("v=1, v=2", "duplicate field 'v'"),
        ('v="a", w=1, v="b"', "duplicate field 'v'"),
        ("v=[1], v=2", "duplicate field 'v'"),
        ("v=1,w=2", "expected ', ' between fields"),
        ("1=2", "expected a 'name=value' field"),
    ],
)
def test_bad_values_make_the_line_bad(fields, reason):
    line = f"pid=7, test, {fields}, res=0, {TAIL}\n"
    with pytest.raises(LineError) as info:
        parse_line(line, 1)
    assert info.value.reason.startswith(reason), info.value.reason


def test_bad_value_error_names_the_column():
    line = f"pid=7, test, fd=3x, res=0, {TAIL}\n"
    errors = ErrorCollector()
    assert parse_text(line, errors) == []
    assert [(e.line_no, e.reason) for e in errors.errors] == [
        (1, "expected ', ' between fields at column 18")
    ]
    assert line[17] == "x"
