"""mysysdig: read the syscall records that the my_sysdig kernel module writes.

The names exported here are the stable API; the submodules may be reorganised.

Streaming (no pandas): `iter_events(path)` yields `Record` and `Marker` objects, `iter_records(path)` only
the records, `parse_lines`/`parse_text` do the same for lines already in memory. The file's
header (architecture, kernel release, snaplen and the symbol tables of flag names) arrives as a `Header`
event; `mysysdig.symbols` turns symbolic values such as `O_WRONLY|O_CREAT` back into numbers with it. Tables:
`read_records(path)` gives a DataFrame with the columns of `mysysdig.schema` (example in its docstring),
`read_summary(path)` the fixed fields only, fast; `top_syscalls`, `GroupStats` and `IntervalStats`
aggregate frames chunk by chunk, and `RecordFilter` selects rows or records as the CLI's filters do.
Bad lines are never fatal: pass an `on_error` callback (an `ErrorCollector`, for instance) to see them.
"""

from mysysdig.decode.escapes import unescape_bytes
from mysysdig.decode.text import ErrorCollector, LineError, parse_line, parse_lines, parse_text
from mysysdig.filters import RecordFilter
from mysysdig.model import Header, Marker, ParseError, Record, Symbol
from mysysdig.records import iter_events, iter_frames, iter_records, read_records, read_summary, records_frame
from mysysdig.schema import COLUMNS, DTYPES, errno_name
from mysysdig.stats import GroupStats, IntervalStats, count_syscalls, rank_syscalls, top_syscalls

__all__ = [
    "COLUMNS",
    "DTYPES",
    "ErrorCollector",
    "GroupStats",
    "Header",
    "IntervalStats",
    "LineError",
    "Marker",
    "ParseError",
    "Record",
    "RecordFilter",
    "Symbol",
    "count_syscalls",
    "errno_name",
    "iter_events",
    "iter_frames",
    "iter_records",
    "parse_line",
    "parse_lines",
    "parse_text",
    "rank_syscalls",
    "read_records",
    "read_summary",
    "records_frame",
    "top_syscalls",
    "unescape_bytes",
]
