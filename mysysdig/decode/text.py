"""Streaming parser of the text record format (docs/record-format.md).

One compiled regex takes the fixed fields of a record line (`pid=`, the syscall name, and the tail from
`tid=` to `lat=`) and hands the argument section in between to `mysysdig.decode.values`, so the common
line costs a handful of C-level regex calls and no per-character Python loop.

Decoding decisions the format leaves to the reader:

* Decimal, hex and octal all become plain `int`s; `NULL` is None. The notation is not lost for display:
  `Record.raw_args` keeps the argument text as written.
* User strings (paths, argv elements, struct members, `comm`) are unescaped and decoded as UTF-8 with
  `surrogateescape`, so `os.fsencode()` restores their exact bytes.
* The captured buffer (`data=` after `res=`) is NOT unescaped: `args["data"]` is the text between the
  quotes exactly as the module wrote it, so it is pure printable ASCII in which `\\"`, `\\\\`, `\\n`, `\\r`,
  `\\t` and `\\xHH` stand for the other bytes. That keeps binary payloads readable in JSON and lossless:
  `mysysdig.decode.escapes.unescape_bytes(args["data"])` returns the bytes. (Unescaping only `\\"` would
  read nicer but would make a second, subtly different escape dialect.)
* A cut string (`"..."...`) yields the part that was captured; a list ending in `...` yields the captured
  elements. Either way the argument's name is added to `Record.truncated`.

Lines starting with `#` are the file's header (`# mysysdig record v1 arch=...`) and the symbol tables that
follow it (`#sym open O_RDONLY=0x0 ...`). They are gathered into one `Header` event, yielded when the next
line that is not a header line arrives (or at the end), so a consumer sees a complete header before the
records it applies to. The module writes the header again after the file was truncated; each copy is a new
`Header`. Other `#` lines are comments reserved for later header kinds and are skipped without a report.

Lines that do not follow the format - garbage, unknown markers, a last line without its newline, values
of an unknown form - become `ParseError`s passed to the caller's `on_error` and are skipped; the stream
goes on with the next line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

from mysysdig.decode import grammar
from mysysdig.decode.escapes import decode_user_string
from mysysdig.decode.values import FieldError, convert_fields, nested_fields
from mysysdig.model import Header, Marker, ParseError, Record

ErrorHandler = Callable[[ParseError], None]
Event = Record | Marker | Header

_RECORD_FULLMATCH = grammar.RECORD.fullmatch
_MARKER_FULLMATCH = grammar.MARKER.fullmatch
_ABI = {"64": 64, "32": 32}
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_TRUNCATED_LINE = "truncated line (no newline at end of input)"


class LineError(ValueError):
    """Raised by `parse_line` for a bad line; the stream functions turn it into a `ParseError`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _record(m: re.Match[str], line_no: int) -> Record:
    pid, syscall, arg_text, res_text, data, data_cut, tid, comm, abi, nr, ts, lat = m.groups()
    if arg_text:
        try:
            args, cut = convert_fields(arg_text)
        except FieldError as e:
            raise LineError(e.reason) from None
    else:
        args, cut = {}, ()
    res: int | None = None
    if res_text is not None:
        res = int(res_text, 16) if res_text[1:2] == "x" else int(res_text)
        if len(res_text) > 17 and not _INT64_MIN <= res <= _INT64_MAX:
            raise LineError("res= does not fit a signed 64-bit integer")
        if data is not None:
            if "data" in args:
                raise LineError("duplicate field 'data'")
            args["data"] = data
            if data_cut:
                cut += ("data",)
    return Record(
        int(ts),
        int(pid),
        int(tid),
        decode_user_string(comm) if "\\" in comm else comm,
        syscall,
        int(nr),
        _ABI[abi],
        res,
        int(lat) if lat else None,
        args,
        cut,
        line_no,
        arg_text[2:],
    )


def _marker(m: re.Match[str], line_no: int) -> Marker:
    drop, ring, cpu, cap, ts = m.groups()
    return Marker(int(drop), ring or cap, int(ts), int(cpu) if cpu is not None else None, line_no)


def _header(m: re.Match[str], line_no: int) -> Header:
    fields = dict(grammar.HEADER_FIELD.findall(m.group(2)))
    snaplen = fields.get("snaplen")
    return Header(
        version=int(m.group(1)),
        arch=fields.get("arch"),
        compat=fields.get("compat"),
        release=fields.get("release"),
        snaplen=int(snaplen) if snaplen is not None and snaplen.isdigit() else None,
        fields=fields,
        line_no=line_no,
    )


class _HeaderLine(NamedTuple):
    """What one `#` line did: started a header, added a table to the pending one, or was bad."""

    started: Header | None = None
    error: str | None = None


def _header_line(line: str, line_no: int, pending: Header | None) -> _HeaderLine:
    """Apply one `#` line; a symbol table is added to `pending` in place."""
    m = grammar.HEADER.fullmatch(line)
    if m is not None:
        return _HeaderLine(started=_header(m, line_no))
    m = grammar.SYMBOL_TABLE.fullmatch(line)
    if m is not None:
        if pending is None:
            return _HeaderLine(error="symbol table line without a '# mysysdig record' header line before it")
        table = {name: int(value, 16) for name, value in grammar.SYMBOL_ENTRY.findall(m.group(2))}
        pending.tables[m.group(1)] = table
        pending.symbols.update(table)
        return _HeaderLine()
    if line.startswith("# mysysdig record"):
        return _HeaderLine(error="malformed header line (want '# mysysdig record vN key=value ...')")
    if line.startswith("#sym"):
        return _HeaderLine(error="malformed symbol table line (want '#sym TABLE NAME=0xHEX ...')")
    return _HeaderLine()


def explain_bad_line(line: str) -> str:
    """Say why a line is neither a record nor a marker; runs only on bad lines, so it may be slow."""
    body = line[:-1] if line.endswith("\n") else line
    if not body:
        return "empty line"
    if body.endswith("\r"):
        return "line ends in CR LF; records end in a bare LF (was the file copied through a terminal?)"
    if body.startswith("pid="):
        head = grammar.HEAD.match(body)
        if head is None:
            return "record without a valid 'pid=N, syscall' head"
        tail = grammar.TAIL.search(body, head.end())
        if tail is None:
            return (
                "record without valid trailing fields 'tid=N, comm=\"...\", abi=64|32, nr=N, ts=N[, lat=N]'"
            )
        middle = body[head.end() : tail.start()]
        try:
            fields, _ = nested_fields(middle)
        except FieldError as e:
            return f"{e.reason} at column {head.end() + e.pos + 1}"
        names = list(fields)
        if "res" in names and names[names.index("res") + 1 :] not in ([], ["data"]):
            return "only data= may follow res="
        if "res" in names and not isinstance(fields["res"], int):
            return "res= must be an integer"
        return "malformed record (a field value does not have the form its position requires)"
    if body.startswith("drop="):
        return "malformed drop marker (want 'drop=N, reason=ring, cpu=C, ts=T' or 'drop=N, reason=cap, ts=T')"
    first = grammar.FIRST_NAME.match(body)
    if first is not None:
        return f"unknown marker {first.group(1)!r}"
    return "not a record or marker line"


def parse_line(line: str, line_no: int = 0) -> Event:
    """Parse one line, with or without its trailing newline; raise `LineError` if it is bad.

    Prefer `parse_lines` for files: only it can tell a cut-off last line from a complete one, and only it
    gathers a header line and its symbol tables into one `Header` (here a header line gives a `Header`
    without symbols, and a symbol table line is an error).
    """
    m = _RECORD_FULLMATCH(line)
    if m is not None:
        return _record(m, line_no)
    m = _MARKER_FULLMATCH(line)
    if m is not None:
        return _marker(m, line_no)
    m = grammar.HEADER.fullmatch(line)
    if m is not None:
        return _header(m, line_no)
    raise LineError(explain_bad_line(line))


def parse_lines(
    lines: Iterable[str], on_error: ErrorHandler | None = None, *, first_line_no: int = 1
) -> Iterator[Event]:
    """Parse lines as read from a record file (each ending in "\\n") into Records, Markers and Headers.

    Bad lines are passed to `on_error` (or silently dropped when it is None) and skipped, so one corrupt
    line never hides the rest of a trace. A line without its newline can only be the last one, cut off by
    a writer that had not finished or a copy that stopped early; it is reported as truncated even if its
    fields happen to parse, because its last number may be incomplete.
    """
    return parse_numbered(enumerate(lines, first_line_no), on_error)


def parse_numbered(lines: Iterable[tuple[int, str]], on_error: ErrorHandler | None = None) -> Iterator[Event]:
    """`parse_lines` for (line number, line) pairs, which need not be consecutive.

    The fast columnar reader (`mysysdig.decode.columns`) hands only its leftover lines here - headers,
    markers and bad lines - with their own numbers, so both readers judge a line the same way.
    """
    pending: Header | None = None
    for line_no, line in lines:
        if pending is not None and line[:1] != "#":
            yield pending
            pending = None
        if line[-1:] == "\n":
            m = _RECORD_FULLMATCH(line)
            if m is not None:
                try:
                    record = _record(m, line_no)
                except LineError as e:
                    if on_error is not None:
                        on_error(ParseError(line_no, e.reason, line[:-1]))
                    continue
                yield record
                continue
            m = _MARKER_FULLMATCH(line)
            if m is not None:
                yield _marker(m, line_no)
                continue
            if line[0] == "#":
                done = _header_line(line, line_no, pending)
                if done.started is not None:
                    if pending is not None:
                        yield pending
                    pending = done.started
                elif done.error is not None and on_error is not None:
                    on_error(ParseError(line_no, done.error, line[:-1]))
                continue
            if on_error is not None:
                on_error(ParseError(line_no, explain_bad_line(line), line[:-1]))
        elif line and on_error is not None:
            on_error(ParseError(line_no, _TRUNCATED_LINE, line))
    if pending is not None:
        yield pending


def parse_text(text: str, on_error: ErrorHandler | None = None) -> list[Event]:
    """Parse a whole record file held in memory; handy for tests and small captures."""
    return list(parse_lines(split_lines(text), on_error))


def split_lines(text: str) -> Iterator[str]:
    """Yield the lines of `text` with their "\\n", like iterating a file.

    Splits only on "\\n": str.splitlines would also split on other control characters, which a bad
    record may contain.
    """
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start : end + 1]
        start = end + 1


class ErrorCollector:
    """An `on_error` handler that keeps the reports, for callers that look at them after parsing."""

    def __init__(self) -> None:
        self.errors: list[ParseError] = []

    def __call__(self, error: ParseError) -> None:
        self.errors.append(error)
