"""Conversion of the argument fields (between the syscall name and `res=`) into Python values.

The args text reaching here has already been validated by `grammar.RECORD`, so these functions only
convert. Three paths, cheapest first, because most syscalls carry only numbers: numbers only are split on
`", "` (safe without quotes), flat fields with strings are tokenised by one `findall`, and lists or
structs go to a small recursive scanner that jumps from token to token with compiled regexes, never
walking characters in Python. The recursive scanner also works on unvalidated text, which is how bad
lines get a precise column in their error message. Flat results are memoised (see `_CACHE`).
"""

from __future__ import annotations

import re
from typing import Any

from mysysdig.decode.escapes import STRING_BODY, decode_user_string
from mysysdig.decode.grammar import ATOM, NAME, SCALAR_FIELD
from mysysdig.model import Symbol

_ATOM = re.compile(ATOM, re.ASCII)
_STRING = re.compile(f'"({STRING_BODY})"', re.ASCII)
_NAME = re.compile(f"({NAME})=", re.ASCII)


class FieldError(ValueError):
    """A malformed field; `pos` is the 0-based offset in the scanned text, for the error column."""

    def __init__(self, reason: str, pos: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.pos = pos


_DECIMAL_START = "-0123456789"


def atom_value(text: str) -> int | Symbol | None:
    """Convert an atom already matched by `grammar.ATOM`; no validation, this is the hot path."""
    c = text[0]
    if c == "0" and len(text) > 1:
        return int(text, 16) if text[1] == "x" else int(text, 8)
    if c in _DECIMAL_START:
        return int(text)
    if text == "NULL":
        return None
    return Symbol(text)


def _value(s: str, pos: int) -> tuple[Any, int, bool]:
    """Scan one value at `pos`; return (value, end, cut)."""
    c = s[pos : pos + 1]
    if c == '"':
        m = _STRING.match(s, pos)
        if m is None:
            raise FieldError("malformed quoted string (unterminated, raw control byte or bad escape)", pos)
        end = m.end()
        value = decode_user_string(m.group(1))
        if s.startswith("...", end):
            return value, end + 3, True
        return value, end, False
    if c == "[":
        return _list(s, pos + 1)
    if c == "{":
        return _struct(s, pos + 1)
    m = _ATOM.match(s, pos)
    if m is None:
        raise FieldError("unknown value form", pos)
    return atom_value(m.group()), m.end(), False


def _list(s: str, pos: int) -> tuple[list[Any], int, bool]:
    items: list[Any] = []
    cut = False
    if s.startswith("]", pos):
        return items, pos + 1, False
    while True:
        if s.startswith("...", pos):
            if not s.startswith("]", pos + 3):
                raise FieldError("'...' must be the last element of a list", pos)
            return items, pos + 4, True
        if s[pos : pos + 1] in ("[", "{"):
            raise FieldError("nested list or struct inside a list", pos)
        value, pos, value_cut = _value(s, pos)
        items.append(value)
        cut = cut or value_cut
        if s.startswith(", ", pos):
            pos += 2
        elif s.startswith("]", pos):
            return items, pos + 1, cut
        else:
            raise FieldError("expected ', ' or ']' in list", pos)


def _struct(s: str, pos: int) -> tuple[dict[str, Any], int, bool]:
    members: dict[str, Any] = {}
    cut = False
    if s.startswith("}", pos):
        return members, pos + 1, False
    while True:
        m = _NAME.match(s, pos)
        if m is None:
            raise FieldError("expected 'name=' in struct", pos)
        name = m.group(1)
        if name in members:
            raise FieldError(f"duplicate struct member {name!r}", pos)
        pos = m.end()
        if s[pos : pos + 1] in ("[", "{"):
            raise FieldError("nested list or struct inside a struct", pos)
        value, pos, value_cut = _value(s, pos)
        members[name] = value
        cut = cut or value_cut
        if s.startswith(", ", pos):
            pos += 2
        elif s.startswith("}", pos):
            return members, pos + 1, cut
        else:
            raise FieldError("expected ', ' or '}' in struct", pos)


def nested_fields(s: str) -> tuple[dict[str, Any], list[str]]:
    """Scan `, name=value...` token by token; works on unvalidated text and raises `FieldError`."""
    fields: dict[str, Any] = {}
    cut_names: list[str] = []
    pos = 0
    end = len(s)
    while pos < end:
        if not s.startswith(", ", pos):
            raise FieldError("expected ', ' between fields", pos)
        m = _NAME.match(s, pos + 2)
        if m is None:
            raise FieldError("expected a 'name=value' field", pos + 2)
        name = m.group(1)
        if name in fields:
            raise FieldError(f"duplicate field {name!r}", pos + 2)
        value, pos, cut = _value(s, m.end())
        fields[name] = value
        if cut:
            cut_names.append(name)
    return fields, cut_names


def _number_fields(s: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    parts = s[2:].split(", ")
    for part in parts:
        name, _, text = part.partition("=")
        c = text[0]
        if c == "0" and len(text) > 1:
            fields[name] = int(text, 16) if text[1] == "x" else int(text, 8)
        elif c in _DECIMAL_START:
            fields[name] = int(text)
        elif text == "NULL":
            fields[name] = None
        else:
            fields[name] = Symbol(text)
    if len(fields) != len(parts):
        raise _duplicate([part.partition("=")[0] for part in parts])
    return fields


def _scalar_fields(s: str) -> tuple[dict[str, Any], list[str]]:
    fields: dict[str, Any] = {}
    cut_names: list[str] = []
    tokens = SCALAR_FIELD.findall(s)
    for name, hex_, octal, dec, symbol, body, cut in tokens:
        if dec:
            fields[name] = int(dec)
        elif hex_:
            fields[name] = int(hex_, 16)
        elif octal:
            fields[name] = int(octal, 8)
        elif symbol:
            fields[name] = None if symbol == "NULL" else Symbol(symbol)
        else:
            fields[name] = decode_user_string(body)
            if cut:
                cut_names.append(name)
    if len(fields) != len(tokens):
        raise _duplicate([token[0] for token in tokens])
    return fields, cut_names


def _duplicate(names: list[str]) -> FieldError:
    """Name the first repeated field; only runs on the (rare) bad line, so it can be slow."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return FieldError(f"duplicate field {name!r}", 0)
        seen.add(name)
    return FieldError("duplicate field", 0)


#: Converted flat args texts. Real traces repeat the same arguments over and over (`fd=3, count=4096`,
#: the same stack buffer), so remembering recent conversions skips most of the Python-level work. Only
#: flat fields are kept: their values are immutable, so a shallow copy of the dict is a safe result.
_CACHE: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {}
_CACHE_MAX = 4096


def convert_fields(s: str) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Convert validated args text (`, name=value...`, possibly empty) into a dict plus the cut names.

    The dict is the caller's own (never shared). Raises `FieldError` only for duplicate names, which the
    grammar cannot express.
    """
    if not s:
        return {}, ()
    hit = _CACHE.get(s)
    if hit is not None:
        return hit[0].copy(), hit[1]
    if "[" in s or "{" in s:
        fields, cut_names = nested_fields(s)
        return fields, tuple(cut_names)
    if '"' in s:
        fields, cut_names = _scalar_fields(s)
        cut = tuple(cut_names)
    else:
        fields, cut = _number_fields(s), ()
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[s] = (fields.copy(), cut)
    return fields, cut
