"""`mysysdig files`, `mmap`, `audit` and `seccomp`: the seeds' questions about one recording."""

from __future__ import annotations

import bisect
import json
import shlex
from typing import Any

import click
import pandas as pd

from mysysdig import analysis
from mysysdig.cli.common import (
    EXIT_STATUS_HELP,
    FILTER_HELP,
    SummaryInput,
    csv_text,
    emit,
    file_argument,
    filter_options,
    format_option,
    frame_rows,
    quiet_broken_pipe,
    text_table,
)
from mysysdig.filters import RecordFilter, parse_duration
from mysysdig.model import Header, Record
from mysysdig.render import format_ts
from mysysdig.stats import IntervalStats

EPILOG = FILTER_HELP + "\n" + EXIT_STATUS_HELP


def _header_at(headers: list[Header]) -> Any:
    """The header in force for a record: the last one written before its line."""
    lines = [h.line_no for h in headers]

    def at(record: Record) -> Header | None:
        i = bisect.bisect_left(lines, record.line_no)
        return headers[i - 1] if i else None

    return at


@click.command("files", epilog=EPILOG)
@file_argument
@format_option()
@click.option(
    "--created", is_flag=True, help="Only opens that may create a file (O_CREAT, O_TMPFILE, creat)."
)
@click.option("--tmpfile", is_flag=True, help="Only unnamed temporary files (O_TMPFILE).")
@click.option("--each", is_flag=True, help="One row per call, in file order, instead of counts.")
@filter_options
def files_command(
    file: str, fmt: str, created: bool, tmpfile: bool, each: bool, filters: RecordFilter
) -> None:
    """Which files were opened, by which processes, how, and with what result.

    FILE is a record file (default location /etc/syscall-record/record), or - for standard input.
    Looks at open, openat, openat2 and creat. Flags are shown by name whether
    the module wrote them symbolically or as a number (numbers are decoded
    with the header's open table, else the architecture's own values).

    \b
    OUTPUT
      PATH PID COMM FLAGS RESULT COUNT: opens counted per path, process,
      flags and result (ok, or the errno name), most frequent first.
      --each: TIME PID COMM SYSCALL PATH FLAGS CREATED TMPFILE RESULT per call.
      json is a list of row objects, csv has a header row.

    \b
    EXAMPLES
      mysysdig files record
      mysysdig files --created --comm nginx record
      mysysdig files --failed --format json record
    """
    source = SummaryInput(file, filters, select=frozenset(analysis.OPEN_SYSCALLS))
    records: list[Record] = []
    for _, selected in source.blocks():
        records.extend(selected)
    opens = analysis.file_opens(records, _header_at(source.headers))
    if created:
        opens = opens[opens["created"]]
    if tmpfile:
        opens = opens[opens["tmpfile"]]
    with quiet_broken_pipe():
        if each:
            shown = opens if fmt != "table" else opens.assign(ts=opens["ts"].map(format_ts))
            emit(shown.reset_index(drop=True), fmt)
        else:
            emit(analysis.summarize_opens(opens), fmt)
    source.finish()


@click.command("mmap", epilog=EPILOG)
@file_argument
@format_option()
@click.option(
    "--top", type=click.IntRange(min=1), default=20, show_default=True, metavar="N", help="Rows per table."
)
@filter_options
def mmap_command(file: str, fmt: str, top: int, filters: RecordFilter) -> None:
    """Who maps memory, how much, and how much of it is private or shared.

    FILE is a record file (default location /etc/syscall-record/record), or - for standard input.
    Looks at mmap (and mmap2/old_mmap of 32-bit processes).

    \b
    OUTPUT
      Processes, most mmap calls first: PID COMM CALLS BYTES (sum of the
      requested lengths) PRIVATE SHARED PRIVATE% SHARED% (MAP_PRIVATE vs
      MAP_SHARED/MAP_SHARED_VALIDATE, from symbolic or numeric flags);
      then the mapping sizes: SIZE COUNT PRIVATE SHARED; then the totals.
      json: {"processes": [...], "sizes": [...], "calls", "private",
      "shared", "private_pct", "shared_pct"}; csv: the processes table.

    \b
    EXAMPLES
      mysysdig mmap record
      mysysdig mmap --since +0s --until +30s record
    """
    source = SummaryInput(file, filters, select=analysis.MMAP_SYSCALLS)
    records: list[Record] = []
    for _, selected in source.blocks():
        records.extend(selected)
    calls = analysis.mmap_calls(records)
    procs = analysis.mmap_by_process(calls).head(top)
    sizes = analysis.mmap_sizes(calls).head(top)
    n = len(calls)
    private = int((calls["kind"] == "private").sum())
    shared = int((calls["kind"] == "shared").sum())
    totals = {
        "calls": n,
        "private": private,
        "shared": shared,
        "private_pct": private * 100.0 / n if n else 0.0,
        "shared_pct": shared * 100.0 / n if n else 0.0,
    }
    with quiet_broken_pipe():
        if fmt == "json":
            click.echo(json.dumps({"processes": frame_rows(procs), "sizes": frame_rows(sizes), **totals}))
        elif fmt == "csv":
            click.echo(csv_text(procs))
        else:
            click.echo(
                text_table(
                    procs, ["PID", "COMM", "CALLS", "BYTES", "PRIVATE", "SHARED", "PRIVATE%", "SHARED%"]
                )
            )
            click.echo()
            click.echo(text_table(sizes))
            click.echo()
            click.echo(
                f"mmap calls: {n}, private: {private} ({totals['private_pct']:.2f}%), "
                f"shared: {shared} ({totals['shared_pct']:.2f}%)"
            )
    source.finish()


@click.command("audit", epilog=EPILOG)
@file_argument
@format_option()
@click.option(
    "--interval", default="1s", show_default=True, metavar="DURATION", help="Interval for rate anomalies."
)
@click.option(
    "--sigma", type=float, default=3.0, show_default=True, help="Flag rates above mean + SIGMA * stddev."
)
@click.option(
    "--min-count", type=int, default=10, show_default=True, help="Ignore intervals with fewer calls."
)
@filter_options
def audit_command(
    file: str, fmt: str, interval: str, sigma: float, min_count: int, filters: RecordFilter
) -> None:
    """What a security review of the recording looks at.

    FILE is a record file (default location /etc/syscall-record/record), or - for standard input.

    \b
    SECTIONS
      privilege    every setuid/setgid/setre*/setres*/setfs*/setgroups and
                   capset call (also the 32-bit *32 variants), with its
                   arguments and result
      execve       every execve/execveat: filename, argv (ARGV_CUT when the
                   module captured only part of it) and result
      ptrace       every ptrace call
      permission   EACCES and EPERM failures counted per process and syscall
      rate         syscalls whose count in an interval (--interval, aligned
                   to the epoch) is at least --min-count and above the mean
                   + --sigma standard deviations of that syscall's counts
                   over all intervals of the recording (empty ones count 0)
    \b
      table  one titled table per section
      json   {"privilege": [...], "execve": [...], "ptrace": [...],
             "permission_errors": [...], "rate_anomalies": [...]}
      csv    each section as "# name" then CSV, separated by blank lines

    \b
    EXAMPLES
      mysysdig audit record
      mysysdig audit --comm sshd --format json record
    """
    try:
        interval_ns = parse_duration(interval)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--interval") from None
    select = analysis.PRIVILEGE_SYSCALLS | analysis.EXEC_SYSCALLS | analysis.PTRACE_SYSCALLS
    rates = IntervalStats(interval_ns)
    source = SummaryInput(file, filters, select=select, columns=rates.columns | {"pid", "comm", "res"})
    records: list[Record] = []
    permission_parts = []
    for frame, selected in source.blocks():
        records.extend(selected)
        rates.add(frame)
        permission_parts.append(analysis.permission_errors(frame))
    permission = pd.concat(permission_parts, ignore_index=True) if permission_parts else pd.DataFrame()
    if not permission.empty:
        keys = ["pid", "comm", "syscall", "errno"]
        permission = permission.groupby(keys, sort=False)["count"].sum().reset_index()
        permission = permission.sort_values(["count", "pid", "syscall"], ascending=[False, True, True])
    anomalies = analysis.rate_anomalies(rates.counts(), rates.intervals(), sigma, min_count)
    sections = {
        "privilege": analysis.call_rows(records, analysis.PRIVILEGE_SYSCALLS),
        "execve": analysis.exec_rows(records),
        "ptrace": analysis.call_rows(records, analysis.PTRACE_SYSCALLS),
        "permission_errors": permission.reset_index(drop=True),
        "rate_anomalies": anomalies,
    }
    with quiet_broken_pipe():
        if fmt == "json":
            click.echo(json.dumps({name: frame_rows(table) for name, table in sections.items()}))
        else:
            first = True
            for name, table in sections.items():
                if not first:
                    click.echo()
                first = False
                if fmt == "csv":
                    click.echo(f"# {name}")
                    click.echo(csv_text(table))
                    continue
                click.echo(f"== {name.replace('_', ' ')} ({len(table)}) ==")
                if len(table):
                    shown = table.assign(ts=table["ts"].map(format_ts)) if "ts" in table else table
                    if "interval" in shown:
                        shown = shown.assign(interval=shown["interval"].map(format_ts))
                    if "argv" in shown:
                        shown = shown.assign(argv=shown["argv"].map(lambda a: shlex.join(map(str, a))))
                    click.echo(text_table(shown))
    source.finish()


@click.command("seccomp", epilog=EPILOG)
@file_argument
@click.option(
    "--default-action",
    type=click.Choice(list(analysis.ACTIONS)),
    default="errno",
    show_default=True,
    help="What the profile does with syscalls not in the recording.",
)
@filter_options
def seccomp_command(file: str, default_action: str, filters: RecordFilter) -> None:
    """Write a seccomp allow-list profile of the syscalls recorded (Docker/OCI JSON).

    FILE is a record file (default location /etc/syscall-record/record), or - for standard input.
    Narrow it to the program with the filters, e.g. --comm nginx.

    \b
    OUTPUT
      {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
       "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
       "syscalls": [{"names": [...], "action": "SCMP_ACT_ALLOW"}]}
      Names are every syscall the selected records used, failed ones too.
      Architectures come from the file's header (the native arch, and the
      compat one when 32-bit calls were recorded); without a header they
      are left out. Use it with: docker run --security-opt seccomp=FILE.

    CAUTION: a profile is only as complete as the recording. Calls made before recording started (the
    program's own execve and start-up), or on paths the workload did not take, are missing; run the
    program through all its features while recording, and test the profile before enforcing it.

    \b
    EXAMPLES
      mysysdig seccomp --comm nginx record > nginx-seccomp.json
    """
    source = SummaryInput(file, filters, columns={"syscall", "abi"})
    names: set[str] = set()
    abis: set[int] = set()
    for frame in source.frames():
        if len(frame):
            names.update(frame["syscall"].astype(object).unique())
            abis.update(int(a) for a in frame["abi"].unique())
    arches: list[str] = []
    if source.headers:
        header = source.headers[-1]
        if 64 in abis and header.arch:
            arches.append(header.arch)
        if 32 in abis and header.compat:
            arches.append(header.compat)
    click.echo(json.dumps(analysis.seccomp_profile(names, arches, default_action), indent=2))
    source.finish()
