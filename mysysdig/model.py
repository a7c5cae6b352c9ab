"""The objects the parser hands out: records, drop markers and bad-line reports.

They are plain slotted dataclasses rather than DataFrame rows because the parser is a stream: callers that
only count or filter (the VM tests, `mysysdig parse`) should not pay for pandas, and a slotted object per
line is about the cheapest thing Python can build at two hundred thousand lines a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mysysdig.schema import errno_name


class Symbol(str):
    """A constant the module wrote by its kernel name (`AT_FDCWD`, `O_WRONLY|O_CREAT|0x8000`).

    It is a plain string for comparison and JSON, but its own type so code can tell a name the kernel
    chose from a string read out of the traced program's memory.
    """

    __slots__ = ()


@dataclass(slots=True)
class Record:
    """One completed syscall, one line of the record file.

    Attribute names match the DataFrame columns in `mysysdig.schema` so code can move between the two
    without a translation table. `args` keeps the argument order of the line and includes the captured
    buffer under `data` (escaped text, see `mysysdig.decode.text`). `truncated` names the arguments whose
    value was cut by the module (a string ending in `"...` or a list ending in `...`); it is empty when
    nothing was cut. `line_no` is 1-based and lets a failing test point at the line in the record file.

    Integers are plain ints whatever their notation in the file; `raw_args` keeps the argument fields
    exactly as the module wrote them (hex pointers, octal modes) so a record can be shown the way it was
    written without every value carrying its notation around. It is left out of equality so records built
    by hand compare equal to parsed ones.
    """

    ts: int
    pid: int
    tid: int
    comm: str
    syscall: str
    nr: int
    abi: int
    res: int | None
    lat_ns: int | None
    args: dict[str, Any]
    truncated: tuple[str, ...] = ()
    line_no: int = 0
    raw_args: str = field(default="", repr=False, compare=False)

    @property
    def errno(self) -> str | None:
        """The error name of a failed call (`ENOENT` for res=-2), None for success or no result."""
        return errno_name(self.res)


@dataclass(slots=True)
class Marker:
    """A line the module writes about itself; today only drop markers exist.

    `cpu` is set for `reason="ring"` (a per-CPU ring buffer overflowed) and None for `reason="cap"` (the
    record file reached max_size). `drop` is the number of records lost.
    """

    drop: int
    reason: str
    ts: int
    cpu: int | None = None
    line_no: int = 0

    @property
    def kind(self) -> str:
        """The marker's name as written in its first field; JSON output prints it as `"marker"`."""
        return "drop"


@dataclass(slots=True)
class Header:
    """The header the module writes at the top of the record file, and again after each truncation.

    It says where the records come from (`arch`, `compat`, kernel `release`, `snaplen`) and carries the
    symbol tables the module used to print flag and enum arguments by name, so a reader on another machine
    or architecture can turn `O_WRONLY|O_CREAT` back into the number the program passed (see
    `mysysdig.symbols`). `tables` keeps each table (`open`, `mmap`, `signal`, ...) apart because some
    questions are about one table only; `symbols` is all of them merged (names are unique across tables).
    `fields` holds every key=value of the header line, including keys this reader does not know yet.
    """

    version: int
    arch: str | None = None
    compat: str | None = None
    release: str | None = None
    snaplen: int | None = None
    tables: dict[str, dict[str, int]] = field(default_factory=dict)
    symbols: dict[str, int] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    line_no: int = 0

    @property
    def kind(self) -> str:
        """JSON output prints a header as `{"header": ...}`, next to records and `"marker"` objects."""
        return "header"


@dataclass(frozen=True, slots=True)
class ParseError:
    """A line that could not be parsed; it is reported, skipped, and never stops the stream.

    `text` is the offending line without its newline so a report can quote it.
    """

    line_no: int
    reason: str
    text: str

    def __str__(self) -> str:
        return f"line {self.line_no}: {self.reason}"
