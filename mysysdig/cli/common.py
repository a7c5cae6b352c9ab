"""What every mysysdig command shares: bad-line reporting, exit status, output formats and tables.

Kept apart from the commands so each command module holds only its own options and logic, and so all
commands print tables, JSON and CSV the same way.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import click
import numpy as np
import pandas as pd

from mysysdig.model import Marker, ParseError
from mysysdig.source import display_name

#: Exit status when the input had lines but not one of them could be parsed (likely not a record file).
EXIT_NOTHING_PARSED = 1

EXIT_STATUS_HELP = """\b
EXIT STATUS
  0  at least one record or marker was read, or the input was empty;
     bad lines, if any, were reported on stderr and skipped
  1  the input had lines but none of them could be parsed
  2  usage error (unknown option, missing or unreadable FILE)
"""

F = TypeVar("F", bound=Callable[..., Any])


class BadLineReporter:
    """`on_error` handler printing `FILE:LINE: reason` to stderr as bad lines are met, and counting them."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0

    def __call__(self, error: ParseError) -> None:
        self.count += 1
        click.echo(f"{self.name}:{error.line_no}: {error.reason}", err=True)

    def summary(self) -> None:
        """Print the closing count, so a long run's scattered reports are not missed."""
        if self.count:
            lines = "line" if self.count == 1 else "lines"
            click.echo(f"mysysdig: {self.name}: {self.count} bad {lines} skipped", err=True)


class DropCounter:
    """`on_marker` handler totalling the records the module reported as dropped."""

    def __init__(self) -> None:
        self.dropped = 0
        self.markers = 0

    def __call__(self, marker: Marker) -> None:
        self.markers += 1
        self.dropped += marker.drop


def finish(reporter: BadLineReporter, parsed: int) -> None:
    """Print the bad-line summary and exit 1 when nothing at all could be parsed."""
    reporter.summary()
    if parsed == 0 and reporter.count:
        sys.exit(EXIT_NOTHING_PARSED)


@contextmanager
def quiet_broken_pipe() -> Iterator[None]:
    """End quietly when the reader of our output goes away (`mysysdig parse big | head`)."""
    try:
        yield
    except BrokenPipeError:
        # Point stdout at /dev/null so the interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)


def file_argument(f: F) -> F:
    """The FILE argument of the commands that read a record file ("-" is stdin)."""
    return click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, exists=True))(f)


def format_option(*choices: str, default: str = "table") -> Callable[[F], F]:
    """`--format` with the given choices (table, json, csv unless told otherwise)."""
    choices = choices or ("table", "json", "csv")
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=default,
        show_default=True,
        help="table for people; json and csv for programs.",
    )


def plain(value: Any) -> Any:
    """A value JSON can hold: numpy scalars become Python ones, NaN and pandas' NA become null."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def frame_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a frame as JSON-ready dicts, in column order."""
    columns = list(frame.columns)
    rows = frame.itertuples(index=False, name=None)
    return [dict(zip(columns, map(plain, row), strict=True)) for row in rows]


Cell = Callable[[Any], str]


def cell_text(value: Any) -> str:
    """How a table cell shows a value: floats with 2 decimals, missing as '-', lists comma-joined."""
    value = plain(value)
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


def text_table(
    frame: pd.DataFrame, headers: Sequence[str] | None = None, formats: dict[str, Cell] | None = None
) -> str:
    """Aligned plain-text columns: text to the left, numbers to the right; no index, no dtype noise.

    `headers` renames the columns for display (upper-case by default); `formats` overrides the cell text
    of some columns (latencies in microseconds, for instance).
    """
    formats = formats or {}
    columns = list(frame.columns)
    heads = list(headers) if headers is not None else [str(c).upper() for c in columns]
    types = pd.api.types
    numeric = [types.is_numeric_dtype(frame[c]) and not types.is_bool_dtype(frame[c]) for c in columns]
    body = [
        [formats.get(c, cell_text)(v) for c, v in zip(columns, row, strict=True)]
        for row in frame.itertuples(index=False, name=None)
    ]
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(heads)]
    lines = []
    for row in [heads, *body]:
        cells = [
            cell.rjust(width) if is_num else cell.ljust(width)
            for cell, width, is_num in zip(row, widths, numeric, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def csv_text(frame: pd.DataFrame, float_format: str = "%.2f") -> str:
    """The frame as CSV with a header row; lists are joined with spaces so a cell stays one field."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(frame.columns))
    for row in frame.itertuples(index=False, name=None):
        cells = []
        for value in map(plain, row):
            if value is None:
                cells.append("")
            elif isinstance(value, float):
                cells.append(float_format % value)
            elif isinstance(value, list):
                cells.append(" ".join(str(v) for v in value))
            else:
                cells.append(value)
        writer.writerow(cells)
    return out.getvalue().rstrip("\n")


def emit(
    frame: pd.DataFrame,
    fmt: str,
    *,
    json_obj: Callable[[list[dict[str, Any]]], Any] | None = None,
    headers: Sequence[str] | None = None,
    formats: dict[str, Cell] | None = None,
) -> None:
    """Print a result table in the chosen format; `json_obj` wraps the rows into the JSON document."""
    if fmt == "json":
        rows = frame_rows(frame)
        click.echo(json.dumps(json_obj(rows) if json_obj else rows))
    elif fmt == "csv":
        click.echo(csv_text(frame))
    else:
        click.echo(text_table(frame, headers, formats))


# --- Filters shared by every command that reads records ---

FILTER_HELP = """\b
FILTERS (every command that reads records takes them)
  --pid/--tid/--comm/--syscall take one value or a comma-separated list
  and may be repeated. --syscall takes names and strace-style classes:
  %file %desc %network %process %signal %ipc %memory. --since/--until
  take +DURATION after the first record (+5s, +1.5m), epoch seconds, a
  record's ts (ns), or ISO 8601 (UTC unless a zone is given); --until is
  exclusive.
"""


def _ints(values: tuple[str, ...], option: str) -> frozenset[int]:
    try:
        return frozenset(int(v) for spec in values for v in spec.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter("want numbers, e.g. 1234 or 1234,5678", param_hint=option) from None


def filter_options(f: F) -> F:
    """Add the shared filter options; the command receives them as one `filters` RecordFilter."""
    from mysysdig.classes import expand
    from mysysdig.filters import RecordFilter, parse_time

    options = [
        click.option("--pid", "pids", multiple=True, metavar="PID[,PID]", help="Only these processes."),
        click.option("--tid", "tids", multiple=True, metavar="TID[,TID]", help="Only these threads."),
        click.option(
            "--comm", "comms", multiple=True, metavar="NAME[,NAME]", help="Only these command names."
        ),
        click.option(
            "--syscall",
            "syscalls",
            multiple=True,
            metavar="NAME|%CLASS[,...]",
            help="Only these syscalls or classes (%file, %network, ...).",
        ),
        click.option("--failed", "outcome", flag_value="failed", help="Only calls that returned an error."),
        click.option("--succeeded", "outcome", flag_value="succeeded", help="Only calls that did not fail."),
        click.option("--since", metavar="TIME", help="Only calls that entered at or after TIME."),
        click.option("--until", metavar="TIME", help="Only calls that entered before TIME."),
    ]

    def build(**kwargs: Any) -> Any:
        try:
            syscalls = expand(kwargs.pop("syscalls"))
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--syscall") from None
        since, until = kwargs.pop("since"), kwargs.pop("until")
        try:
            since_bound = parse_time(since) if since else None
            until_bound = parse_time(until) if until else None
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--since/--until") from None
        comms = frozenset(c for spec in kwargs.pop("comms") for c in spec.split(",") if c)
        kwargs["filters"] = RecordFilter(
            pids=_ints(kwargs.pop("pids"), "--pid"),
            tids=_ints(kwargs.pop("tids"), "--tid"),
            comms=comms,
            syscalls=syscalls,
            outcome=kwargs.pop("outcome"),
            since=since_bound,
            until=until_bound,
        )
        return f(**kwargs)

    build = functools.wraps(f)(build)
    for option in reversed(options):
        build = option(build)
    return build  # type: ignore[return-value]


#: Files larger than this get a progress bar on stderr (when stderr is a terminal).
PROGRESS_MIN_BYTES = 100 << 20


@contextmanager
def progress_bar(path: str) -> Iterator[Callable[[int], None] | None]:
    """A callback advancing a progress bar to N bytes, or None when no bar is wanted."""
    try:
        size = os.path.getsize(path) if path != "-" else 0
    except OSError:
        size = 0
    if size < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=size, label="reading", file=sys.stderr, show_eta=True) as bar:
        done = 0

        def advance(position: int) -> None:
            nonlocal done
            bar.update(position - done)
            done = position

        yield advance


class SummaryInput:
    """The record file read by the fast column reader, filtered, with drops, headers and bad lines.

    `frames()` yields filtered DataFrames of the summary columns; `blocks()` also gives, per frame, the
    full Records of the syscalls named in `select` that pass the filter. Afterwards `total` is the number
    of records that passed, `parsed` the number of lines read as records or markers, `drops` the drop
    totals and `headers` the headers met.
    """

    def __init__(
        self, file: str, filters: Any, select: frozenset[str] = frozenset(), columns: Iterable[str] = ()
    ) -> None:
        from mysysdig.model import Header

        #: Summary columns to extract: what the command asks for plus what the filters look at.
        self.columns = set(columns) | filters.columns()
        self.file = file
        self.filters = filters
        self.select = select
        self.reporter = BadLineReporter(display_name(file))
        self.drops = DropCounter()
        self.headers: list[Header] = []
        self.total = 0
        self.parsed = 0

    def blocks(self) -> Iterator[tuple[pd.DataFrame, list[Any]]]:
        from mysysdig.decode.columns import ColumnReader

        active = self.filters.active()
        with progress_bar(self.file) as advance:
            reader = ColumnReader(
                self.reporter,
                self.drops,
                self.headers.append,
                advance,
                select=self.select,
                columns=self.columns,
            )
            for frame in reader.frames(self.file):
                self.parsed += len(frame)
                frame = self.filters.apply(frame)
                self.total += len(frame)
                records = reader.take_selected()
                if active:
                    records = [r for r in records if self.filters.keep(r)]
                yield frame, records
        self.parsed += self.drops.markers

    def frames(self) -> Iterator[pd.DataFrame]:
        for frame, _ in self.blocks():
            yield frame

    def finish(self) -> None:
        finish(self.reporter, self.parsed)
