"""`mysysdig stats`: counts, latency, errors and bytes by syscall, process or any key; and per interval."""

from __future__ import annotations

import json
from typing import Any

import click
import pandas as pd

from mysysdig.cli.common import (
    EXIT_STATUS_HELP,
    FILTER_HELP,
    SummaryInput,
    csv_text,
    file_argument,
    filter_options,
    frame_rows,
    quiet_broken_pipe,
    text_table,
)
from mysysdig.filters import RecordFilter, parse_duration
from mysysdig.render import format_ts
from mysysdig.stats import GroupStats, IntervalStats

#: Columns `--by` accepts besides the two named views.
KEY_COLUMNS = ("pid", "tid", "comm", "syscall", "abi", "nr")
#: Syscalls shown per process with `--by process` (the seed's per-process profiler shows five).
PROCESS_TOP_SYSCALLS = 5


def _by(value: str) -> list[str] | str:
    if value in ("syscall", "process"):
        return value
    keys = [k.strip() for k in value.split(",") if k.strip()]
    bad = [k for k in keys if k not in KEY_COLUMNS]
    if bad or not keys:
        raise click.BadParameter(
            f"unknown key {', '.join(bad) or value!r}: use process, or columns from {', '.join(KEY_COLUMNS)}",
            param_hint="--by",
        )
    return keys


def _us(ns: Any) -> str:
    return "-" if ns is None or pd.isna(ns) else f"{ns / 1000:.3f}"


def _ms(ns: Any) -> str:
    return "-" if ns is None or pd.isna(ns) else f"{ns / 1e6:.3f}"


def _errnos(value: Any) -> str:
    return " ".join(f"{k}:{v}" for k, v in value.items()) if value else "-"


#: Table headers and cell formats of the statistic columns (JSON and CSV keep raw nanoseconds).
HEADERS = {
    "count": "COUNT",
    "percent": "PERCENT",
    "lat_count": "TIMED",
    "total_ns": "TOTAL_MS",
    "avg_ns": "AVG_US",
    "min_ns": "MIN_US",
    "p50_ns": "P50_US",
    "p99_ns": "P99_US",
    "max_ns": "MAX_US",
    "errors": "ERRORS",
    "error_pct": "ERROR%",
    "errnos": "ERRNOS",
    "bytes": "BYTES",
    "share": "SHARE%",
    "total": "TOTAL",
}
FORMATS = {
    "total_ns": _ms,
    "avg_ns": _us,
    "min_ns": _us,
    "p50_ns": _us,
    "p99_ns": _us,
    "max_ns": _us,
    "errnos": _errnos,
}


def _table_text(frame: pd.DataFrame, hide: tuple[str, ...] = ("lat_count",)) -> str:
    frame = frame[[c for c in frame.columns if c not in hide]]
    return text_table(frame, [HEADERS.get(c, c.upper()) for c in frame.columns], FORMATS)


def _csv(frame: pd.DataFrame) -> str:
    if "errnos" in frame.columns:
        frame = frame.assign(errnos=frame["errnos"].map(lambda d: " ".join(f"{k}:{v}" for k, v in d.items())))
    return csv_text(frame)


@click.command("stats", epilog=FILTER_HELP + "\n" + EXIT_STATUS_HELP)
@file_argument
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Show the N first rows [default: 20].",
)
@click.option(
    "--by",
    "by",
    default="syscall",
    show_default=True,
    metavar="KEYS",
    help="syscall, process, or comma-separated columns: pid,tid,comm,syscall,abi,nr.",
)
@click.option("--latency", is_flag=True, help="Add latency columns; sort by total time.")
@click.option("--errors", is_flag=True, help="Add error count, error % and errno names.")
@click.option("--bytes", "nbytes", is_flag=True, help="Add bytes moved by read/write/send/recv calls.")
@click.option("--interval", metavar="DURATION", help="Count per syscall in each interval (5s, 500ms, 1m).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv", "lines"]),
    default="table",
    show_default=True,
    help="table for people; json and csv for programs; lines (with --interval) for the per-PID lines.",
)
@filter_options
def stats_command(
    file: str,
    top: int | None,
    by: str,
    latency: bool,
    errors: bool,
    nbytes: bool,
    interval: str | None,
    fmt: str,
    filters: RecordFilter,
) -> None:
    """Summarise the syscalls of FILE: how often, how long, how often failing.

    FILE is a record file (default location /etc/syscall-record/record), or - for standard input.
    It is read in blocks by a vectorised reader, so its size is not limited by memory.

    \b
    OUTPUT
      By default each of the top N syscalls with its number of records and
      its share of ALL (filtered) records in percent, ties listed by name,
      then the total number of records and the number the module dropped
      (the sum of its drop markers; dropped records are not in the total).
    \b
      --by process     the top N processes by number of records, each with
                       its total and its top 5 syscalls with their share of
                       the process's records (SHARE%)
      --by pid,syscall one row per combination of the given columns
      --latency        adds, over the calls that have a latency: TOTAL_MS
                       (sum), AVG_US, MIN_US, P50_US, P99_US (nearest-rank
                       percentiles) and MAX_US, and sorts by total time, like
                       strace -c and perf trace -s
      --errors         adds ERRORS (results -4095..-1), ERROR% and ERRNOS
                       (EBADF:3 ENOENT:1)
      --bytes          adds BYTES: the sum of the results of read, write,
                       readv, writev, pread64, pwrite64, preadv(2),
                       pwritev(2), sendto, recvfrom, sendmsg, recvmsg,
                       sendfile
    \b
      table  aligned columns, then "total records: T, dropped records: D"
      json   {"total": T, "dropped": D, "syscalls"|"processes"|"groups":
             [rows]}; latencies in ns, percent unrounded
      csv    a header row and one row per line of the table; the totals
             line goes to stderr so that stdout stays plain CSV

    \b
    INTERVALS
      --interval 5s counts each syscall per 5 s interval (aligned to the
      epoch; empty intervals between the first and last record included):
      table/csv  INTERVAL (start, UTC) SYSCALL NR COUNT
      json       one line per interval, in the syscall-count gadget's shape:
                 [{"count":3,"syscall":"SYS_EXECVE","syscall_raw":59},...]
                 (syscall_raw is the record's nr; [] for an empty interval)
      lines      the per-PID monitor's lines, after a "# interval" line:
                 PID=1234 comm=nginx call=write count=42 avg_ms=0.123
                 max_ms=0.456 bytes=65536
      --top N limits each interval to its N most frequent syscalls.

    \b
    EXAMPLES
      mysysdig stats /etc/syscall-record/record
      mysysdig stats --top 5 --format json record
      mysysdig stats --latency --errors record
      mysysdig stats --by process --comm nginx record
      mysysdig stats --syscall close --failed --errors record
      mysysdig stats --interval 5s --format json record
    """
    keys = _by(by)
    if fmt == "lines" and interval is None:
        raise click.UsageError("--format lines needs --interval")
    ignored = [flag for flag, on in (("--latency", latency), ("--errors", errors), ("--bytes", nbytes)) if on]
    if interval is not None and (ignored or by != "syscall"):
        named = ", ".join(ignored or ["--by"])
        raise click.UsageError(f"--interval counts calls per syscall only; it cannot take {named}")
    if interval is not None:
        try:
            interval_ns = parse_duration(interval)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--interval") from None
        if interval_ns <= 0:
            raise click.BadParameter("must be positive", param_hint="--interval")
        _intervals(file, filters, interval_ns, top, fmt)
        return
    top = 20 if top is None else top
    group_keys = ["pid", "syscall"] if keys == "process" else ["syscall"] if keys == "syscall" else keys
    stats = GroupStats(group_keys, latency=latency, errors=errors, nbytes=nbytes)
    names = GroupStats(["pid", "comm"])
    source = SummaryInput(
        file, filters, columns=stats.columns | (names.columns if keys == "process" else set())
    )
    for frame in source.frames():
        stats.add(frame)
        if keys == "process":
            names.add(frame)
    table = stats.table()
    total = source.total
    with quiet_broken_pipe():
        if keys == "process":
            _processes(table, names.table(), total, source.drops.dropped, top, fmt)
        else:
            _groups(table, keys, total, source.drops.dropped, top, latency, fmt)
    source.finish()


def _totals(total: int, dropped: int) -> str:
    return f"total records: {total}, dropped records: {dropped}"


def _groups(
    table: pd.DataFrame, keys: list[str] | str, total: int, dropped: int, top: int, latency: bool, fmt: str
) -> None:
    key_cols = ["syscall"] if keys == "syscall" else list(keys)
    table.insert(len(key_cols) + 1, "percent", table["count"] * 100.0 / total if total else 0.0)
    if latency:
        table = table.sort_values(
            ["total_ns", "count", *key_cols], ascending=[False, False] + [True] * len(key_cols), kind="stable"
        )
    table = table.head(top).reset_index(drop=True)
    if fmt == "json":
        name = "syscalls" if keys == "syscall" else "groups"
        click.echo(json.dumps({"total": total, "dropped": dropped, name: frame_rows(table)}))
    elif fmt == "csv":
        click.echo(_csv(table))
        click.echo(_totals(total, dropped), err=True)
    else:
        click.echo(_table_text(table))
        click.echo(_totals(total, dropped))


def _processes(
    table: pd.DataFrame, names: pd.DataFrame, total: int, dropped: int, top: int, fmt: str
) -> None:
    """Top processes by records, each with its top syscalls; comm is the name with most records."""
    totals = table.groupby("pid")["count"].sum().rename("total")
    comm = (
        names.sort_values(["pid", "count", "comm"], ascending=[True, False, True])
        .drop_duplicates("pid")
        .set_index("pid")["comm"]
    )
    per_pid = pd.concat([comm, totals], axis=1).reset_index()
    per_pid = per_pid.sort_values(["total", "pid"], ascending=[False, True]).head(top)
    stat_cols = [c for c in table.columns if c not in ("pid", "syscall", "count")]
    by_syscall = table
    rows = []
    for pid, comm, ptotal in per_pid.itertuples(index=False, name=None):
        calls = by_syscall[by_syscall["pid"] == pid].sort_values(
            ["count", "syscall"], ascending=[False, True]
        )
        for call in calls.head(PROCESS_TOP_SYSCALLS).itertuples(index=False):
            row = {"pid": pid, "comm": comm, "total": int(ptotal), "percent": ptotal * 100.0 / total}
            row.update(call._asdict())
            row["share"] = row["count"] * 100.0 / ptotal
            rows.append(row)
    columns = ["pid", "comm", "total", "percent", "syscall", "count", "share", *stat_cols]
    flat = pd.DataFrame(rows, columns=columns)
    if fmt == "json":
        processes = []
        for pid, group in flat.groupby("pid", sort=False):
            first = group.iloc[0]
            calls = frame_rows(group[["syscall", "count", "share", *stat_cols]])
            processes.append(
                {
                    "pid": int(pid),
                    "comm": first["comm"],
                    "total": int(first["total"]),
                    "percent": float(first["percent"]),
                    "syscalls": calls,
                }
            )
        click.echo(json.dumps({"total": total, "dropped": dropped, "processes": processes}))
    elif fmt == "csv":
        click.echo(_csv(flat))
        click.echo(_totals(total, dropped), err=True)
    else:
        shown = flat.astype({"pid": object, "total": object, "percent": object})
        repeat = shown["pid"].duplicated()
        for column in ("pid", "comm", "total", "percent"):
            shown.loc[repeat, column] = ""
        shown["percent"] = [p if p == "" else f"{p:.2f}" for p in shown["percent"]]
        click.echo(_table_text(shown))
        click.echo(_totals(total, dropped))


def _intervals(file: str, filters: RecordFilter, interval_ns: int, top: int | None, fmt: str) -> None:
    stats = IntervalStats(interval_ns, per_process=fmt == "lines")
    source = SummaryInput(file, filters, columns=stats.columns)
    for frame in source.frames():
        stats.add(frame)
    with quiet_broken_pipe():
        if fmt == "lines":
            _interval_lines(stats, interval_ns)
        else:
            counts = stats.counts()
            counts = counts.sort_values(["interval", "count", "syscall"], ascending=[True, False, True])
            if top is not None:
                counts = counts.groupby("interval", sort=False).head(top)
            if fmt == "json":
                by_interval = {k: g for k, g in counts.groupby("interval", sort=False)}
                for start in stats.intervals():
                    group = by_interval.get(start)
                    items = (
                        []
                        if group is None
                        else sorted(
                            (
                                {"count": int(c), "syscall": f"SYS_{s.upper()}", "syscall_raw": int(n)}
                                for s, n, c in group[["syscall", "nr", "count"]].itertuples(
                                    index=False, name=None
                                )
                            ),
                            key=lambda d: (d["syscall"], d["syscall_raw"]),
                        )
                    )
                    click.echo(json.dumps(items, separators=(",", ":")))
            else:
                shown = counts.assign(interval=counts["interval"].map(format_ts))[
                    ["interval", "syscall", "nr", "count"]
                ]
                click.echo(csv_text(shown) if fmt == "csv" else text_table(shown))
    source.finish()


def _interval_lines(stats: IntervalStats, interval_ns: int) -> None:
    procs = stats.processes()
    by_interval = {k: g for k, g in procs.groupby("interval", sort=False)}
    seconds = interval_ns / 1e9
    for start in stats.intervals():
        click.echo(f"# interval {format_ts(start)} {seconds:g}s")
        group = by_interval.get(start)
        if group is None:
            continue
        for row in group.itertuples(index=False):
            avg = row.total_ns / row.lat_count / 1e6 if row.lat_count else 0.0
            peak = 0.0 if pd.isna(row.max_ns) else row.max_ns / 1e6
            click.echo(
                f"PID={row.pid} comm={row.comm} call={row.syscall} count={row.count} "
                f"avg_ms={avg:.3f} max_ms={peak:.3f} bytes={row.bytes}"
            )
