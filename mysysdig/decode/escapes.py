"""The quoted-string escape scheme of the record format, both directions.

Inside quotes the module writes printable ASCII (0x20-0x7e) as itself except `"` and `\\`, and every
other byte as `\\"`, `\\\\`, `\\n`, `\\r`, `\\t` or `\\xHH` (two lower-case hex digits). The escaped text is
therefore pure ASCII and maps one-to-one to the original bytes, which is what lets `data` stay in escaped
form without losing anything (see `unescape_bytes`).
"""

from __future__ import annotations

import re

#: Body of a well-formed quoted string (without the quotes). Anything else inside quotes - a raw control
#: byte, a non-ASCII byte, an unknown escape, upper-case hex - breaks the contract and makes the line bad.
STRING_BODY = r'[\x20\x21\x23-\x5b\x5d-\x7e]*(?:\\(?:["\\nrt]|x[0-9a-f]{2})[\x20\x21\x23-\x5b\x5d-\x7e]*)*'

_ESCAPE_SEQ = re.compile(r'\\(x[0-9a-f]{2}|["\\nrt])')
_SIMPLE_UNESCAPE = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t"}

_NEEDS_ESCAPE = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")
_ESCAPE_OF = {i: f"\\x{i:02x}" for i in range(256)}
_ESCAPE_OF.update({0x22: '\\"', 0x5C: "\\\\", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"})


def _unescape_one(m: re.Match[str]) -> str:
    code = m.group(1)
    if len(code) == 3:
        return chr(int(code[1:], 16))
    return _SIMPLE_UNESCAPE[code]


def unescape_bytes(escaped: str) -> bytes:
    """Turn the escaped body of a quoted string back into the bytes the traced program used.

    Use it on `Record.args["data"]` to get the captured buffer. The input is assumed well formed (the
    parser has validated it); a stray backslash is passed through rather than raising.
    """
    if "\\" not in escaped:
        return escaped.encode("latin-1")
    return _ESCAPE_SEQ.sub(_unescape_one, escaped).encode("latin-1")


def decode_user_string(escaped: str) -> str:
    """Turn a quoted user string (path, argv element, comm) into text.

    The bytes are decoded as UTF-8 with `surrogateescape`, the same rule Python uses for file names, so
    valid UTF-8 reads naturally and any other byte survives: `os.fsencode(text)` gives back the exact
    bytes.
    """
    if "\\" not in escaped:
        return escaped
    return unescape_bytes(escaped).decode("utf-8", "surrogateescape")


def escape_bytes(raw: bytes) -> str:
    """Write bytes in the record's escaped form (the inverse of `unescape_bytes`)."""
    text = raw.decode("latin-1")
    return _NEEDS_ESCAPE.sub(lambda m: _ESCAPE_OF[ord(m.group())], text)


def escape_user_string(text: str) -> str:
    """Write decoded text back in the record's escaped form (the inverse of `decode_user_string`)."""
    return escape_bytes(text.encode("utf-8", "surrogateescape"))
