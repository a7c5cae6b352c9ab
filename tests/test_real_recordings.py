"""Recordings made by my_sysdig.ko in the VM test bed (x86_64 and arm64, kernel 6.12), read end to end.

The expectations are counted from the files' text with plain string operations, not with mysysdig.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_columns import fast, normalised, slow

from mysysdig.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
RECORDINGS = sorted(FIXTURES.glob("real-*.record"))


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, prog_name="mysysdig")


def syscall_counts(path: Path) -> Counter[str]:
    lines = path.read_text(encoding="latin-1").splitlines()
    return Counter(line.split(", ", 2)[1] for line in lines if line.startswith("pid="))


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.name)
def test_real_recording_parses_cleanly_and_every_symbol_resolves(path):
    result = run("parse", "--format", "json", str(path))
    assert result.exit_code == 0 and result.stderr == ""  # no bad line, no unresolved symbol
    objs = [json.loads(line) for line in result.stdout.splitlines()]
    header = objs[0]
    assert header["header"] == "mysysdig record" and header["arch"] in ("x86_64", "aarch64")
    records = [o for o in objs if "syscall" in o]
    assert Counter(o["syscall"] for o in records) == syscall_counts(path)
    raw = [o for o in records if "raw" in o]
    assert raw, "the module writes flags symbolically, so some records must have raw numbers"
    for o in raw:
        for name, number in o["raw"].items():
            assert isinstance(number, int) and isinstance(o["args"][name], str)


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.name)
def test_real_recording_stats_and_readers_agree(path):
    obj = json.loads(run("stats", str(path), "--format", "json", "--top", "1000").stdout)
    assert {r["syscall"]: r["count"] for r in obj["syscalls"]} == syscall_counts(path)
    want, want_errors, *_ = slow(path)
    got, got_errors, *_ = fast(path)
    assert normalised(got) == normalised(want) and got_errors == want_errors == []
