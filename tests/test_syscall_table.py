"""`mysysdig syscalls` on ELF files built here: the table section is made with the same construct layout
the reader uses, wrapped in a minimal ELF relocatable object written byte by byte below.

Expected tables are spelled out by hand from the entries given to the fixtures.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

from mysysdig.cli import main
from mysysdig.syscall_table import SECTION, TableError, build_section, read_module, read_names

EM_X86_64 = 62
EM_AARCH64 = 183
EM_PPC64 = 21


def write_elf(path: Path, sections: dict[str, bytes], machine: int, little: bool = True) -> Path:
    """A minimal ELF64 relocatable file: the null section, .shstrtab, then the given PROGBITS sections."""
    e = "<" if little else ">"
    names = b"\0.shstrtab\0" + b"".join(name.encode() + b"\0" for name in sections)
    body = bytearray(b"\0" * 64)
    offsets = []
    for data in [names, *sections.values()]:
        offsets.append(len(body))
        body += data
        body += b"\0" * (-len(body) % 8)
    shoff = len(body)
    ident = b"\x7fELF" + bytes([2, 1 if little else 2, 1, 0]) + b"\0" * 8
    body[0:64] = ident + struct.pack(
        e + "HHIQQQIHHHHHH", 1, machine, 1, 0, 0, shoff, 0, 64, 0, 0, 64, 2 + len(sections), 1
    )
    shdrs = struct.pack(e + "IIQQQQIIQQ", *([0] * 10))
    shdrs += struct.pack(e + "IIQQQQIIQQ", 1, 3, 0, 0, offsets[0], len(names), 0, 0, 1, 0)
    name_at = len(b"\0.shstrtab\0")
    for (name, data), offset in zip(sections.items(), offsets[1:], strict=True):
        shdrs += struct.pack(e + "IIQQQQIIQQ", name_at, 1, 2, 0, offset, len(data), 0, 0, 8, 0)
        name_at += len(name) + 1
    path.write_bytes(bytes(body) + shdrs)
    return path


X86_ENTRIES = [
    ("read", 64, 0, True),
    ("write", 64, 1, True),
    ("open", 64, 2, True),
    ("getppid", 64, 110, False),
    ("read", 32, 3, True),
    ("getppid", 32, 64, False),
]
ARM_ENTRIES = [
    ("read", 64, 63, True),
    ("write", 64, 64, False),
    ("getppid", 64, 173, False),
    ("read", 32, 3, True),
]


@pytest.fixture
def modules(tmp_path: Path) -> tuple[Path, Path]:
    x86 = write_elf(
        tmp_path / "x86.ko",
        {".text": b"\x90" * 16, SECTION: build_section("x86_64", "ia32", "6.1.0-56-amd64", X86_ENTRIES)},
        EM_X86_64,
    )
    arm = write_elf(
        tmp_path / "arm.ko",
        {SECTION: build_section("aarch64", "aarch32", "6.1.0-56-arm64", ARM_ENTRIES)},
        EM_AARCH64,
    )
    return x86, arm


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, prog_name="mysysdig")


def test_read_module_gives_every_entry(modules):
    table = read_module(modules[0])
    assert (table.arch, table.compat_abi, table.release) == ("x86_64", "ia32", "6.1.0-56-amd64")
    assert list(table.entries.itertuples(index=False, name=None)) == X86_ENTRIES


def test_big_endian_module_is_read_in_its_byte_order(tmp_path):
    path = write_elf(
        tmp_path / "be.ko",
        {SECTION: build_section("ppc64", "ppc32", "6.1", [("read", 64, 3, True)], little_endian=False)},
        EM_PPC64,
        little=False,
    )
    table = read_module(path)
    assert table.arch == "ppc64" and list(table.entries.itertuples(index=False, name=None)) == [
        ("read", 64, 3, True)
    ]
    # Read in the wrong order, the count would be 0x01000000: the ELF header's byte order is what counts.
    assert path.read_bytes().find(b"\x00\x00\x00\x01\x00\x00\x00\x28") > 0


def test_table_with_two_architectures(modules):
    result = run("syscalls", str(modules[0]), str(modules[1]))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "SYSCALL  x86_64       ia32        aarch64      aarch32",
        "getppid  110 generic  64 generic  173 generic  -",
        "open     2 decoded    -           -            -",
        "read     0 decoded    3 decoded   63 decoded   3 decoded",
        "write    1 decoded    -           64 generic   -",
    ]


def test_decoded_only_and_generic_only(modules):
    decoded = run("syscalls", str(modules[0]), str(modules[1]), "--decoded-only", "--format", "csv")
    assert decoded.stdout.splitlines() == [
        "syscall,x86_64,ia32,aarch64,aarch32",
        "open,2 decoded,,,",
        "read,0 decoded,3 decoded,63 decoded,3 decoded",
        "write,1 decoded,,,",
    ]
    generic = run("syscalls", str(modules[0]), str(modules[1]), "--generic-only", "--format", "csv")
    assert generic.stdout.splitlines() == [
        "syscall,x86_64,ia32,aarch64,aarch32",
        "getppid,110 generic,64 generic,173 generic,",
        "write,,,64 generic,",
    ]
    assert run("syscalls", str(modules[0]), "--decoded-only", "--generic-only").exit_code == 2


def test_json(modules):
    obj = json.loads(run("syscalls", str(modules[0]), str(modules[1]), "--format", "json").stdout)
    assert obj["modules"] == [
        {
            "path": str(modules[0]),
            "arch": "x86_64",
            "compat_abi": "ia32",
            "release": "6.1.0-56-amd64",
            "syscalls": 6,
        },
        {
            "path": str(modules[1]),
            "arch": "aarch64",
            "compat_abi": "aarch32",
            "release": "6.1.0-56-arm64",
            "syscalls": 4,
        },
    ]
    rows = {row["syscall"]: row["abis"] for row in obj["syscalls"]}
    assert list(rows) == ["getppid", "open", "read", "write"]
    assert rows["write"] == {"x86_64": {"nr": 1, "decoded": True}, "aarch64": {"nr": 64, "decoded": False}}
    assert rows["read"]["aarch32"] == {"nr": 3, "decoded": True}


def test_names_restrict_the_table_and_report_coverage(modules, tmp_path):
    # The syscall-count gadget's README table, as a user would save it.
    names = tmp_path / "names.md"
    names.write_text("|syscall|x86_64|aarch64|\n|-|-|-|\n|read|X|X|\n|write|X|X|\n|open|X||\n|splice|X|X|\n")
    result = run("syscalls", str(modules[0]), str(modules[1]), "--names", str(names))
    assert result.stdout.splitlines() == [
        "SYSCALL  x86_64     ia32       aarch64     aarch32",
        "open     2 decoded  -          -           -",
        "read     0 decoded  3 decoded  63 decoded  3 decoded",
        "write    1 decoded  -          64 generic  -",
        "x86_64: 3 of 4 names decoded, 0 generic, 1 missing",
        "  missing: splice",
        "ia32: 1 of 4 names decoded, 0 generic, 3 missing",
        "  missing: write open splice",
        "aarch64: 1 of 4 names decoded, 1 generic, 2 missing",
        "  generic: write",
        "  missing: open splice",
        "aarch32: 1 of 4 names decoded, 0 generic, 3 missing",
        "  missing: write open splice",
    ]
    obj = json.loads(run("syscalls", str(modules[1]), "--names", str(names), "--format", "json").stdout)
    assert obj["coverage"][0] == {
        "column": "aarch64",
        "names": 4,
        "decoded": 1,
        "generic": ["write"],
        "missing": ["open", "splice"],
    }


def test_same_architecture_twice_is_told_apart_by_release(tmp_path):
    a = write_elf(
        tmp_path / "a.ko", {SECTION: build_section("x86_64", "ia32", "6.1", [("read", 64, 0, True)])}, 62
    )
    b = write_elf(
        tmp_path / "b.ko", {SECTION: build_section("x86_64", "ia32", "6.12", [("read", 64, 0, False)])}, 62
    )
    result = run("syscalls", str(a), str(b), "--format", "csv")
    assert result.stdout.splitlines() == ["syscall,x86_64@6.1,x86_64@6.12", "read,0 decoded,0 generic"]


def test_files_without_the_table_are_usage_errors(tmp_path, modules):
    bare = write_elf(tmp_path / "bare.o", {".text": b"\x90"}, EM_X86_64)
    result = run("syscalls", str(bare))
    assert result.exit_code == 2 and f"no {SECTION} section" in result.stderr
    junk = tmp_path / "junk.ko"
    junk.write_bytes(b"not an elf file at all")
    assert "not an ELF file" in run("syscalls", str(junk)).stderr
    bad = write_elf(tmp_path / "bad.ko", {SECTION: b"MYSCTAB1" + b"\x02\0\0\0" + b"\0" * 108}, EM_X86_64)
    with pytest.raises(TableError, match="version 2"):
        read_module(bad)


def test_read_names_accepts_plain_lists_and_markdown():
    assert read_names("read write\n# comment\nopen, close\nread\n") == ["read", "write", "open", "close"]
    readme = "# Gadget\n**Build**\n```\nmake build\n```\n|syscall|x86_64|\n|-|-|\n|accept|X|\n|bind|X|\n"
    assert read_names(readme) == ["accept", "bind"]
