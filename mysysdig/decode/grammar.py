"""The text record format of docs/record-format.md written down as regular expressions.

A whole record line is checked by ONE deterministic regex (no `.*` to backtrack over), so a well-formed
line is validated and its fixed fields extracted in a single pass of the C regex engine; Python code then
only converts values. The pieces are kept separate and named after the doc's tables so a change of the
contract is a change in one visible place.
"""

from __future__ import annotations

import re

from mysysdig.decode.escapes import STRING_BODY

#: A field or struct-member name: the kernel's tracepoint field names are C identifiers.
NAME = r"[A-Za-z_][A-Za-z0-9_]*"

#: Integer forms (doc "Values"): hex, octal with a leading 0, decimal (only decimal is signed).
NUMBER = r"0x[0-9a-fA-F]+|0[0-7]*|-?[1-9][0-9]*"

#: A constant by its kernel name: upper-case identifiers joined by `|`, optionally ending in `|0x...` for
#: bits without a name. `NULL` has this shape too and is told apart when converting.
SYMBOL = r"[A-Z_][A-Z0-9_]*(?:\|[A-Z_][A-Z0-9_]*)*(?:\|0x[0-9a-fA-F]+)?"

#: Any unquoted scalar.
ATOM = f"{NUMBER}|{SYMBOL}"

#: A quoted string, possibly cut at snaplen (`"..."...`).
STRING = f'"{STRING_BODY}"(?:\\.\\.\\.)?'

_SCALAR = f"(?:{ATOM}|{STRING})"

#: `argv`-style list; a bare `...` may only be the last element.
LIST = rf"\[(?:{_SCALAR}(?:, {_SCALAR})*(?:, \.\.\.)?|\.\.\.)?\]"

#: A small structure read from user memory; members are scalars.
STRUCT = rf"\{{(?:{NAME}={_SCALAR}(?:, {NAME}={_SCALAR})*)?\}}"

#: One argument field. `res=` always means the result, and a `tid=N, comm="` is the start of the trailing
#: fixed fields, so neither can be taken for an argument.
ARG_FIELD = f', (?!res=|tid=[0-9]+, comm="){NAME}=(?:{ATOM}|{STRING}|{LIST}|{STRUCT})'

#: A complete record line (the newline is optional here; the stream checks it separately). Groups:
#: pid, syscall, args text, res, data body, data cut marker, tid, comm body, abi, nr, ts, lat.
RECORD = re.compile(
    rf"pid=(0|[1-9][0-9]*), ([A-Za-z0-9_]+)((?:{ARG_FIELD})*)"
    rf'(?:, res=(-?[0-9]+|0x[0-9a-fA-F]+)(?:, data="({STRING_BODY})"(\.\.\.)?)?)?'
    rf', tid=([0-9]+), comm="({STRING_BODY})", abi=(64|32), nr=([0-9]+), ts=([0-9]+)(?:, lat=([0-9]+))?\n?',
    re.ASCII,
)

#: A drop marker of either reason. Groups: drop, "ring", cpu, "cap", ts.
MARKER = re.compile(r"drop=([0-9]+), reason=(?:(ring), cpu=([0-9]+)|(cap)), ts=([0-9]+)\n?", re.ASCII)

#: Scalar argument fields of an already validated args text, for `findall`. Groups: name, hex, octal,
#: decimal, symbol (or NULL), string body, cut marker. Hex and octal come first so `0x10` and `0644` are
#: not read as a decimal 0.
SCALAR_FIELD = re.compile(
    rf', ({NAME})=(?:(0x[0-9a-fA-F]+)|(0[0-7]+)|(-?[1-9][0-9]*|0)|({SYMBOL})|"({STRING_BODY})"(\.\.\.)?)',
    re.ASCII,
)

#: The header line the module writes first, and again after each truncation of the file. Groups: version,
#: the ` key=value` fields (values have no spaces: arch, compat, release, snaplen, and any later additions).
HEADER = re.compile(r"# mysysdig record v([0-9]+)((?: [a-z_][a-z0-9_]*=[^ \n]*)*)\n?", re.ASCII)
HEADER_FIELD = re.compile(r" ([a-z_][a-z0-9_]*)=([^ \n]*)", re.ASCII)

#: A symbol table line after the header: `#sym open O_RDONLY=0x0 O_WRONLY=0x1 ...`. Groups: table name,
#: the ` NAME=0xHEX` entries.
SYMBOL_TABLE = re.compile(rf"#sym ([A-Za-z0-9_]+)((?: {NAME}=0x[0-9a-fA-F]+)*)\n?", re.ASCII)
SYMBOL_ENTRY = re.compile(rf" ({NAME})=0x([0-9a-fA-F]+)", re.ASCII)

# Pieces used only to explain why a line is bad.
HEAD = re.compile(r"pid=(0|[1-9][0-9]*), ([A-Za-z0-9_]+)(?=, |\n|$)", re.ASCII)
TAIL = re.compile(
    rf', tid=[0-9]+, comm="{STRING_BODY}", abi=(?:64|32), nr=[0-9]+, ts=[0-9]+(?:, lat=[0-9]+)?\n?$', re.ASCII
)
FIRST_NAME = re.compile(rf"({NAME})=", re.ASCII)
