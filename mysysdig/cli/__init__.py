"""The `mysysdig` command line: print and summarise record files written by my_sysdig.ko.

Commands stream the file, so a trace larger than memory can be printed or counted. Bad lines never stop a
run: each is reported on stderr as FILE:LINE: reason and skipped, because a trace with one corrupt line
is still worth reading.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TextIO

import click

from mysysdig.cli.analyses import audit_command, files_command, mmap_command, seccomp_command
from mysysdig.cli.common import (
    EXIT_STATUS_HELP,
    FILTER_HELP,
    BadLineReporter,
    file_argument,
    filter_options,
    finish,
    quiet_broken_pipe,
)
from mysysdig.cli.stats import stats_command
from mysysdig.cli.syscalls import syscalls_command
from mysysdig.cli.tail import tail_command
from mysysdig.filters import RecordFilter
from mysysdig.model import Header, Marker, Record
from mysysdig.records import iter_events
from mysysdig.render import (
    format_header,
    format_marker,
    format_record,
    header_json,
    marker_json,
    record_json,
)
from mysysdig.source import display_name
from mysysdig.symbols import SymbolResolver


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="mysysdig", prog_name="mysysdig")
def main() -> None:
    """Read and analyse the syscall records written by the my_sysdig kernel module.

    \b
    DESCRIPTION
      my_sysdig.ko appends one text line per completed syscall to its record
      file (default /etc/syscall-record/record), plus drop markers when it had
      to lose records. mysysdig answers questions about such a recording
      offline, on any machine with Python: what was called, how often, how
      long it took and how often it failed (stats), which files were opened
      (files), who maps memory (mmap), what a security review needs (audit),
      which syscalls a seccomp profile must allow (seccomp); it follows a live
      file (tail), prints records (parse), and lists what a built module
      supports (syscalls). The format is described in docs/record-format.md.

    Every command that reads records takes the same filters: --pid, --tid, --comm, --syscall (names
    and %classes), --failed/--succeeded, --since/--until. Lines that do not follow the format are
    reported on standard error as FILE:LINE: reason, skipped, and counted in a summary at the end;
    they never stop the run.

    Run `mysysdig COMMAND --help` for the manual of a command.
    """


@main.command("parse", epilog=FILTER_HELP + "\n" + EXIT_STATUS_HELP)
@file_argument
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: one readable line per record; json: one JSON object per line.",
)
@filter_options
def parse_command(file: str, fmt: str, filters: RecordFilter) -> None:
    """Print every record and drop marker of FILE, one per line.

    FILE is a record file (default location /etc/syscall-record/record), or - for standard input.

    \b
    TEXT FORMAT
      TIME COMM[PID/TID] SYSCALL(ARGS) = RES [ERRNO (message)] <LATENCY> [data="..."]
      TIME is UTC with nanoseconds, LATENCY is in seconds, RES is ? for calls
      that never return, and a failed call gets its errno name. ARGS are
      printed as the module wrote them; a trailing [abi=32] marks a 32-bit call.
      Drop markers print as: TIME --- N records dropped: REASON ---

    \b
    JSON FORMAT
      A record: {"ts", "pid", "tid", "comm", "syscall", "nr", "abi", "res",
      "lat_ns", "args"}, plus "truncated" (names of cut arguments) when the
      module cut a string or list. ts is nanoseconds since the epoch; res and
      lat_ns are null when absent. args maps argument names to numbers,
      strings, null, lists or objects; the captured buffer is args.data, kept
      in the record's escaped form (\\n, \\t, \\xHH ...) so binary data stays
      printable. Flags and enums appear in args as the module wrote them
      ("O_WRONLY|O_CREAT"); "raw" maps each such argument to its number,
      taken from the symbol tables of the file's header ({"flags": 577}),
      and is left out when no argument is symbolic. A drop marker:
      {"marker": "drop", "drop", "reason", "cpu" (ring only), "ts"}. The
      file's header: {"header": "mysysdig record", "version", "arch",
      "compat", "release", "snaplen", "tables": {TABLE: {NAME: value}}}.

    Filters select records; drop markers and headers are always printed.

    \b
    EXAMPLES
      mysysdig parse /etc/syscall-record/record | less
      mysysdig parse --comm nginx --syscall %network --failed record
      mysysdig parse --format json record | jq 'select(.res < 0)'
    """
    reporter = BadLineReporter(display_name(file))
    resolver = SymbolResolver()
    render: Callable[[Any], str]
    if fmt == "json":

        def render(event: Record | Marker | Header) -> str:
            if type(event) is Record:
                return json.dumps(record_json(event, resolver.raw(event.args)))
            if type(event) is Marker:
                return json.dumps(marker_json(event))
            return json.dumps(header_json(event))

    else:

        def render(event: Record | Marker | Header) -> str:
            if type(event) is Record:
                return format_record(event)
            if type(event) is Marker:
                return format_marker(event)
            return format_header(event)

    out: TextIO = click.get_text_stream("stdout")
    parsed = 0
    with quiet_broken_pipe():
        active = filters.active()
        for event in iter_events(file, reporter):
            if type(event) is Record:
                if active and not filters.keep(event):
                    parsed += 1
                    continue
            elif type(event) is Header:
                resolver.use(event)
            out.write(render(event))
            out.write("\n")
            parsed += 1
        out.flush()
    _warn_unresolved(reporter.name, resolver)
    finish(reporter, parsed)


def _warn_unresolved(name: str, resolver: SymbolResolver) -> None:
    """Say once, not per record, why some symbolic values have no raw number."""
    if resolver.missing_header:
        click.echo(
            f"mysysdig: {name}: {resolver.missing_header} symbolic values have no raw number: "
            "no '# mysysdig record' header line came before them",
            err=True,
        )
    if resolver.unknown:
        names = ", ".join(sorted(resolver.unknown))
        total = sum(resolver.unknown.values())
        click.echo(
            f"mysysdig: {name}: {total} symbolic values have no raw number: "
            f"not in the header's symbol tables: {names}",
            err=True,
        )


main.add_command(syscalls_command)
main.add_command(stats_command)
main.add_command(files_command)
main.add_command(mmap_command)
main.add_command(audit_command)
main.add_command(seccomp_command)
main.add_command(tail_command)
