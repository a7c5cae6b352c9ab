"""`mysysdig tail`: follow the live record file, printing records or a top-style table."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter

import click

from mysysdig.cli.common import EXIT_STATUS_HELP, FILTER_HELP, BadLineReporter, DropCounter, filter_options
from mysysdig.decode.binary import follow_events, is_binary
from mysysdig.decode.text import parse_numbered
from mysysdig.filters import RecordFilter, parse_duration
from mysysdig.follow import SelfExclusion, follow_lines
from mysysdig.model import Header, Marker, Record
from mysysdig.render import format_header, format_marker, format_record, header_json, marker_json, record_json
from mysysdig.symbols import SymbolResolver

DEFAULT_FILE = "/etc/syscall-record/record"


class TopTable:
    """Counts for the `--stats` view: per syscall in the current period and since the start."""

    def __init__(self, period_s: float, clear: bool) -> None:
        self.period_s = period_s
        self.clear = clear
        self.period: Counter[str] = Counter()
        self.total: Counter[str] = Counter()
        self.started = self.last = time.monotonic()

    def add(self, record: Record) -> None:
        self.period[record.syscall] += 1

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.period_s

    def draw(self, dropped: int) -> None:
        now = time.monotonic()
        elapsed = max(now - self.last, 1e-9)
        self.total.update(self.period)
        rows = sorted(self.total, key=lambda s: (-self.period[s], -self.total[s], s))
        width = max([7, *(len(s) for s in rows)])
        lines = [
            f"mysysdig tail: {sum(self.period.values())} records in the last {elapsed:.1f}s, "
            f"{sum(self.total.values())} since start, {dropped} dropped",
            f"{'SYSCALL':<{width}}  {'COUNT':>8}  {'RATE/S':>10}  {'TOTAL':>10}",
        ]
        for s in rows:
            lines.append(
                f"{s:<{width}}  {self.period[s]:>8}  {self.period[s] / elapsed:>10.1f}  {self.total[s]:>10}"
            )
        if self.clear:
            click.echo("\x1b[H\x1b[2J", nl=False)
        click.echo("\n".join(lines))
        if not self.clear:
            click.echo()
        self.period = Counter()
        self.last = now


@click.command("tail", epilog=FILTER_HELP + "\n" + EXIT_STATUS_HELP)
@click.argument("file", required=False, default=DEFAULT_FILE, type=click.Path(dir_okay=False, exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--stats", "stats_period", metavar="DURATION", help="Redraw a top-style table every DURATION (2s)."
)
@click.option("--from-start", is_flag=True, help="Start at the beginning of the file instead of its end.")
@click.option("--duration", metavar="DURATION", help="Stop after DURATION (default: until interrupted).")
@click.option(
    "--poll", default="200ms", show_default=True, metavar="DURATION", help="How often to look for new data."
)
@filter_options
def tail_command(
    file: str,
    fmt: str,
    stats_period: str | None,
    from_start: bool,
    duration: str | None,
    poll: str,
    filters: RecordFilter,
) -> None:
    """Follow the live record FILE (default /etc/syscall-record/record) like tail -f.

    Prints each new record (text or JSON, as mysysdig parse) that passes the filters, or with --stats a
    table of syscall counts redrawn every period. When the file is truncated (the module's max_size was
    reached and the file emptied) or replaced, following starts over at its beginning.

    While it runs, its own pid is written to /sys/module/my_sysdig/parameters/exclude_pid (when that
    file exists and is writable) so that reading the file is not itself recorded; the previous value is
    restored at the end. Stop it with Ctrl-C.

    \b
    EXAMPLES
      mysysdig tail
      mysysdig tail --comm nginx --syscall %network
      mysysdig tail --stats 2s
    """
    try:
        period = parse_duration(stats_period) / 1e9 if stats_period else None
        limit = parse_duration(duration) / 1e9 if duration else None
        poll_s = parse_duration(poll) / 1e9
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    reporter = BadLineReporter(file)
    drops = DropCounter()
    resolver = SymbolResolver()
    top = TopTable(period, clear=sys.stdout.isatty()) if period else None
    deadline = time.monotonic() + limit if limit is not None else None

    def stop() -> bool:
        return deadline is not None and time.monotonic() >= deadline

    def idle() -> None:
        if top is not None and top.due():
            top.draw(drops.dropped)

    def restart(reason: str) -> None:
        click.echo(f"mysysdig: {file}: {reason}, following from its start", err=True)

    follow = dict(from_start=from_start, poll_s=poll_s, stop=stop, on_idle=idle, on_restart=restart)
    if is_binary(file):  # format=binary: whole blocks, decoded to the same events
        events = follow_events(file, **follow)
    else:
        events = parse_numbered(enumerate(follow_lines(file, **follow), 1), reporter)
    active = filters.active()
    with SelfExclusion():
        try:
            for event in events:
                if type(event) is Record:
                    if active and not filters.keep(event):
                        continue
                    if top is not None:
                        top.add(event)
                        if top.due():
                            top.draw(drops.dropped)
                    elif fmt == "json":
                        click.echo(json.dumps(record_json(event, resolver.raw(event.args))))
                    else:
                        click.echo(format_record(event))
                elif type(event) is Marker:
                    drops(event)
                    if top is None:
                        click.echo(json.dumps(marker_json(event)) if fmt == "json" else format_marker(event))
                elif type(event) is Header:
                    resolver.use(event)
                    if top is None:
                        click.echo(json.dumps(header_json(event)) if fmt == "json" else format_header(event))
        except KeyboardInterrupt:
            pass
        if top is not None:
            top.draw(drops.dropped)
    reporter.summary()
