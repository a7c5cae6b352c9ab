"""The escape scheme in both directions, errno names, and the schema's agreement with Record."""

from __future__ import annotations

import dataclasses

import pytest

from mysysdig import COLUMNS, DTYPES, Record, errno_name
from mysysdig.decode import escape_bytes, escape_user_string, unescape_bytes
from mysysdig.decode.escapes import decode_user_string
from mysysdig.schema import FRAME_COLUMNS


def test_unescape_every_escape():
    assert unescape_bytes(r"a\"b\\c\nd\re\tf\x00\x7f\xff") == b'a"b\\c\nd\re\tf\x00\x7f\xff'


def test_unescape_does_not_unescape_twice():
    # \\x41 is a backslash followed by "x41", not the letter A
    assert unescape_bytes(r"\\x41") == b"\\x41"
    assert unescape_bytes(r"\\\x41") == b"\\A"


def test_escape_every_byte_round_trips():
    raw = bytes(range(256))
    text = escape_bytes(raw)
    assert text.isascii() and "\n" not in text
    assert unescape_bytes(text) == raw
    assert escape_bytes(b'"\\\n\r\t\x00 ~\x7f') == r"\"\\\n\r\t\x00 ~\x7f"


def test_user_strings_decode_as_utf8_with_surrogateescape():
    assert decode_user_string(r"caf\xc3\xa9") == "café"
    assert decode_user_string(r"\xff") == "\udcff"
    assert decode_user_string("plain") == "plain"
    assert escape_user_string('café "x"\n\udcff') == r"caf\xc3\xa9 \"x\"\n\xff"


@pytest.mark.parametrize(
    "res, name",
    [
        (-2, "ENOENT"),
        (-1, "EPERM"),
        (-9, "EBADF"),
        (-11, "EAGAIN"),
        (-38, "ENOSYS"),
        (-95, "EOPNOTSUPP"),
        (-512, "ERESTARTSYS"),
        (-516, "ERESTART_RESTARTBLOCK"),
        (-4095, "E4095"),
        (-4096, None),
        (0, None),
        (5, None),
        (None, None),
    ],
)
def test_errno_names(res, name):
    assert errno_name(res) == name


def test_schema_columns_are_record_attributes_with_dtypes():
    fields = [f.name for f in dataclasses.fields(Record)]
    assert list(COLUMNS) == ["ts", "pid", "tid", "comm", "syscall", "nr", "abi", "res", "lat_ns", "args"]
    assert set(FRAME_COLUMNS) <= set(fields)
    assert set(DTYPES) == set(FRAME_COLUMNS)
    assert DTYPES["res"] == "Int64" and DTYPES["lat_ns"] == "Int64" and DTYPES["ts"] == "int64"
