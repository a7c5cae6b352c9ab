"""The record file's header lines and symbolic argument values resolved through its symbol tables.

The expected numbers are written out by hand from the header lines below (O_WRONLY=0x1, O_CREAT=0x40,
O_TRUNC=0x200: 0x241 = 577), not computed with the code under test.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mysysdig import ErrorCollector, Header, Marker, Record, parse_text, read_records
from mysysdig.cli import main
from mysysdig.model import Symbol
from mysysdig.records import iter_events, iter_frames
from mysysdig.symbols import SymbolResolver, resolve_symbol

HEADER = "# mysysdig record v1 arch=x86_64 compat=ia32 release=6.1.0-56-amd64 snaplen=64\n"
SYM_OPEN = "#sym open O_RDONLY=0x0 O_WRONLY=0x1 O_RDWR=0x2 O_CREAT=0x40 O_TRUNC=0x200 O_DIRECTORY=0x10000\n"
SYM_SIGNAL = "#sym signal SIGINT=0x2 SIGKILL=0x9 SIGCHLD=0x11\n"
SYM_AF = "#sym af AF_UNIX=0x1 AF_INET=0x2\n"
OPENAT = (
    'pid=7, openat, dfd=AT_FDCWD, filename="/tmp/x", flags=O_WRONLY|O_CREAT|O_TRUNC, mode=0644, res=3, '
    'tid=7, comm="sh", abi=64, nr=257, ts=100, lat=5\n'
)
KILL = 'pid=7, kill, pid=8, sig=SIGKILL, res=0, tid=7, comm="sh", abi=64, nr=62, ts=200, lat=5\n'
CONNECT = (
    'pid=7, connect, fd=3, uservaddr={family=AF_INET, addr="127.0.0.1", port=4711}, addrlen=16, res=0, '
    'tid=7, comm="sh", abi=64, nr=42, ts=300, lat=5\n'
)
READ = 'pid=7, read, fd=3, count=10, res=0, tid=7, comm="sh", abi=64, nr=0, ts=400, lat=5\n'
WITH_REST = (
    'pid=7, openat, dfd=3, filename="d", flags=O_RDONLY|O_DIRECTORY|0x8000, mode=00, res=4, tid=7, '
    'comm="sh", abi=64, nr=257, ts=500, lat=5\n'
)
# The same header as an arm64 module writes it: O_DIRECTORY has another value there.
ARM_HEADER = "# mysysdig record v1 arch=aarch64 compat=aarch32 release=6.1.0-56-arm64 snaplen=128\n"
ARM_SYM_OPEN = "#sym open O_RDONLY=0x0 O_WRONLY=0x1 O_CREAT=0x40 O_TRUNC=0x200 O_DIRECTORY=0x4000\n"

FILE = HEADER + SYM_OPEN + SYM_SIGNAL + SYM_AF + OPENAT + KILL + CONNECT + READ + WITH_REST


def events(text: str) -> tuple[list, list]:
    errors = ErrorCollector()
    return parse_text(text, errors), errors.errors


def test_header_and_symbol_tables_become_one_header_before_the_records():
    evs, errors = events(FILE)
    assert errors == []
    header = evs[0]
    assert isinstance(header, Header)
    assert (header.version, header.arch, header.compat, header.release, header.snaplen) == (
        1,
        "x86_64",
        "ia32",
        "6.1.0-56-amd64",
        64,
    )
    assert header.line_no == 1
    assert list(header.tables) == ["open", "signal", "af"]
    assert header.tables["signal"] == {"SIGINT": 2, "SIGKILL": 9, "SIGCHLD": 17}
    assert header.symbols["O_CREAT"] == 0x40 and header.symbols["AF_INET"] == 2
    assert len(header.symbols) == 6 + 3 + 2
    assert header.fields == {"arch": "x86_64", "compat": "ia32", "release": "6.1.0-56-amd64", "snaplen": "64"}
    assert [type(e) for e in evs[1:]] == [Record] * 5
    assert [e.line_no for e in evs[1:]] == [5, 6, 7, 8, 9]


def test_symbolic_values_stay_text_in_args():
    evs, _ = events(FILE)
    openat, kill, connect = evs[1], evs[2], evs[3]
    assert openat.args["flags"] == "O_WRONLY|O_CREAT|O_TRUNC" and isinstance(openat.args["flags"], Symbol)
    assert openat.args["dfd"] == "AT_FDCWD"
    assert kill.args == {"pid": 8, "sig": "SIGKILL"}
    assert connect.args["uservaddr"] == {"family": "AF_INET", "addr": "127.0.0.1", "port": 4711}
    assert isinstance(connect.args["uservaddr"]["family"], Symbol)


def test_the_header_is_written_again_after_truncation():
    text = FILE + ARM_HEADER + ARM_SYM_OPEN + OPENAT
    evs, errors = events(text)
    assert errors == []
    headers = [e for e in evs if isinstance(e, Header)]
    assert [h.arch for h in headers] == ["x86_64", "aarch64"]
    assert headers[1].symbols["O_DIRECTORY"] == 0x4000 and headers[1].snaplen == 128
    assert isinstance(evs[-1], Record) and isinstance(evs[-2], Header)


def test_header_at_the_end_of_input_is_still_yielded():
    evs, errors = events(HEADER + SYM_OPEN)
    assert errors == [] and len(evs) == 1 and evs[0].tables["open"]["O_TRUNC"] == 0x200


@pytest.mark.parametrize(
    ("text", "line_no", "reason"),
    [
        (SYM_OPEN + READ, 1, "symbol table line without a '# mysysdig record' header line before it"),
        ("# mysysdig record vX arch=x86_64\n" + READ, 1, "malformed header line"),
        (HEADER + "#sym open O_RDONLY=12\n" + READ, 2, "malformed symbol table line"),
        (READ + HEADER.rstrip("\n"), 2, "truncated line (no newline at end of input)"),
    ],
)
def test_bad_header_lines_are_reported_and_skipped(text, line_no, reason):
    evs, errors = events(text)
    assert [(e.line_no, e.reason[: len(reason)]) for e in errors] == [(line_no, reason)]
    assert any(isinstance(e, Record) for e in evs)


def test_other_hash_lines_are_comments():
    evs, errors = events("# a comment\n" + READ)
    assert errors == [] and [type(e) for e in evs] == [Record]


def test_header_between_drop_marker_and_records():
    text = "drop=3, reason=cap, ts=1\n" + HEADER + SYM_SIGNAL + KILL
    evs, _ = events(text)
    assert [type(e) for e in evs] == [Marker, Header, Record]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("O_WRONLY|O_CREAT|O_TRUNC", 577),
        ("O_RDONLY", 0),
        ("O_RDONLY|O_DIRECTORY|0x8000", 0x18000),
        ("SIGCHLD", 17),
        ("AT_FDCWD", -100),
        ("O_WRONLY|O_NOSUCH", None),
        ("SIGUSR1", None),
    ],
)
def test_resolve_symbol(text, number):
    _, header = None, events(FILE)[0][0]
    assert resolve_symbol(text, header.symbols) == number


def test_at_fdcwd_needs_no_table():
    assert resolve_symbol("AT_FDCWD", {}) == -100
    resolver = SymbolResolver()
    assert resolver.raw({"dfd": Symbol("AT_FDCWD"), "flags": Symbol("O_RDONLY")}) == {"dfd": -100}
    assert resolver.missing_header == 1


def test_frames_pass_headers_aside():
    headers: list[Header] = []
    frames = list(iter_frames(parse_text(FILE), on_header=headers.append))
    assert len(headers) == 1 and sum(len(f) for f in frames) == 5


def test_read_records_skips_headers(tmp_path):
    path = tmp_path / "r.record"
    path.write_text(FILE)
    df = read_records(path)
    assert df["syscall"].tolist() == ["openat", "kill", "connect", "read", "openat"]
    assert [type(e) for e in iter_events(path)][:2] == [Header, Record]


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False, prog_name="mysysdig")


def test_parse_json_keeps_text_in_args_and_numbers_in_raw():
    result = run("parse", "--format", "json", "-", input=FILE)
    assert result.exit_code == 0 and result.stderr == ""
    objs = [json.loads(line) for line in result.stdout.splitlines()]
    header, openat, kill, connect, read, rest = objs
    assert header == {
        "header": "mysysdig record",
        "version": 1,
        "arch": "x86_64",
        "compat": "ia32",
        "release": "6.1.0-56-amd64",
        "snaplen": 64,
        "tables": {
            "open": {
                "O_RDONLY": 0,
                "O_WRONLY": 1,
                "O_RDWR": 2,
                "O_CREAT": 64,
                "O_TRUNC": 512,
                "O_DIRECTORY": 65536,
            },
            "signal": {"SIGINT": 2, "SIGKILL": 9, "SIGCHLD": 17},
            "af": {"AF_UNIX": 1, "AF_INET": 2},
        },
    }
    assert openat["args"]["flags"] == "O_WRONLY|O_CREAT|O_TRUNC" and openat["args"]["dfd"] == "AT_FDCWD"
    assert openat["raw"] == {"flags": 577, "dfd": -100}
    assert list(openat)[-1] == "raw"
    assert kill["raw"] == {"sig": 9}
    # Struct members may be symbolic too, but raw covers top-level arguments only.
    assert connect["args"]["uservaddr"]["family"] == "AF_INET" and "raw" not in connect
    assert "raw" not in read
    assert rest["raw"] == {"flags": 0x18000}


def test_raw_follows_the_latest_header():
    result = run("parse", "--format", "json", "-", input=FILE + ARM_HEADER + ARM_SYM_OPEN + WITH_REST)
    last = json.loads(result.stdout.splitlines()[-1])
    assert last["raw"] == {"flags": 0x4000 | 0x8000}


def test_without_a_header_symbols_are_left_out_of_raw_with_one_warning():
    result = run("parse", "--format", "json", "-", input=OPENAT + KILL + OPENAT)
    assert result.exit_code == 0
    objs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o.get("raw") for o in objs] == [{"dfd": -100}, None, {"dfd": -100}]
    assert result.stderr.splitlines() == [
        "mysysdig: <stdin>: 3 symbolic values have no raw number: "
        "no '# mysysdig record' header line came before them"
    ]


def test_unknown_names_are_counted_in_one_warning():
    line = KILL.replace("SIGKILL", "SIGRTMIN")
    result = run("parse", "--format", "json", "-", input=HEADER + SYM_SIGNAL + line + line)
    assert "raw" not in json.loads(result.stdout.splitlines()[-1])
    assert result.stderr.splitlines() == [
        "mysysdig: <stdin>: 2 symbolic values have no raw number: not in the header's symbol tables: SIGRTMIN"
    ]


def test_parse_text_shows_the_header():
    result = run("parse", "-", input=HEADER + SYM_SIGNAL + KILL)
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "--- mysysdig record v1 arch=x86_64 compat=ia32 release=6.1.0-56-amd64 snaplen=64 "
        "(3 symbols in 1 table) ---"
    )
    assert "kill(pid=8, sig=SIGKILL) = 0" in lines[1]
