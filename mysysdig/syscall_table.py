"""The table of syscalls a built my_sysdig.ko knows, read from its `.mysysdig_syscalls` ELF section.

The module describes itself so that the question "which syscalls does this build record, and which does
it decode argument by argument?" can be answered for a .ko of any architecture without loading it, on any
machine. The section's layout is declared once, below, as a construct `Struct`; the same declaration
parses modules and builds the test fixtures, so the two cannot drift apart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd
from construct import (
    Array,
    Bytes,
    Const,
    ConstructError,
    Int8ul,
    Int16ub,
    Int16ul,
    Int32ub,
    Int32ul,
    PaddedString,
    Struct,
    this,
)
from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

SECTION = ".mysysdig_syscalls"
MAGIC = b"MYSCTAB1"
VERSION = 1
ENTRY_SIZE = 40


def _layout(little_endian: bool) -> Struct:
    """The section's layout in one byte order (the module writes it in its target's order)."""
    u32 = Int32ul if little_endian else Int32ub
    u16 = Int16ul if little_endian else Int16ub
    entry = Struct(
        "nr" / u32,
        "abi" / Int8ul,  # 64 or 32
        "decoded" / Int8ul,  # 1: arguments decoded; 0: generic record (no arguments)
        "reserved" / u16,
        "name" / PaddedString(32, "ascii"),
    )
    return Struct(
        "magic" / Const(MAGIC),
        "version" / u32,
        "entry_size" / u32,
        "count" / u32,
        "reserved" / u32,
        "arch" / PaddedString(16, "ascii"),
        "compat_abi" / PaddedString(16, "ascii"),
        "release" / PaddedString(64, "ascii"),
        # A later version may grow an entry; its first 40 bytes keep this layout.
        "entries"
        / Array(this.count, Struct("entry" / entry, "more" / Bytes(this._.entry_size - ENTRY_SIZE))),
    )


#: The layout in little-endian (x86_64, arm64) and big-endian byte order.
LITTLE = _layout(True)
BIG = _layout(False)


class TableError(ValueError):
    """The file is not an ELF file, has no syscall table section, or the section is malformed."""


@dataclass(frozen=True, slots=True)
class ModuleTable:
    """The syscall table of one module file.

    `entries` is a DataFrame with columns syscall, abi, nr, decoded (bool), one row per (name, ABI).
    """

    path: str
    arch: str
    compat_abi: str
    release: str
    entries: pd.DataFrame

    def abi_name(self, abi: int) -> str:
        """The column name users know an ABI by: the arch for 64-bit calls, the compat ABI for 32-bit."""
        return self.arch if abi == 64 else self.compat_abi


def parse_section(data: bytes, little_endian: bool = True) -> dict:
    """Parse the section's bytes; raises TableError with the reason when they are not a v1 table."""
    if data[: len(MAGIC)] != MAGIC:
        raise TableError(f"section {SECTION} does not start with {MAGIC.decode()}")
    layout = LITTLE if little_endian else BIG
    try:
        table = layout.parse(data)
    except ConstructError as e:
        raise TableError(f"malformed {SECTION} section: {e}") from None
    if table.version != VERSION:
        raise TableError(f"{SECTION} version {table.version} is not supported (this reader knows {VERSION})")
    if table.entry_size < ENTRY_SIZE:
        raise TableError(f"{SECTION} entry size {table.entry_size} is smaller than {ENTRY_SIZE}")
    return table


def _entry(name: str, abi: int, nr: int, decoded: bool) -> dict:
    return {"nr": nr, "abi": abi, "decoded": int(decoded), "reserved": 0, "name": name}


def build_section(
    arch: str,
    compat_abi: str,
    release: str,
    entries: list[tuple[str, int, int, bool]],
    little_endian: bool = True,
) -> bytes:
    """The section's bytes for (name, abi, nr, decoded) entries; used to make test fixtures."""
    layout = LITTLE if little_endian else BIG
    return layout.build(
        {
            "version": VERSION,
            "entry_size": ENTRY_SIZE,
            "count": len(entries),
            "reserved": 0,
            "arch": arch,
            "compat_abi": compat_abi,
            "release": release,
            "entries": [
                {"entry": _entry(name, abi, nr, decoded), "more": b""} for name, abi, nr, decoded in entries
            ],
        }
    )


def read_module(path: str | os.PathLike[str]) -> ModuleTable:
    """Read the syscall table of a built module (.ko) or any ELF object carrying the section."""
    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            section = elf.get_section_by_name(SECTION)
            if section is None:
                raise TableError(f"no {SECTION} section (not my_sysdig.ko, or built before it had one)")
            data = section.data()
            little = elf.little_endian
    except ELFError as e:
        raise TableError(f"not an ELF file: {e}") from None
    table = parse_section(data, little)
    rows = [(e.entry.name, e.entry.abi, e.entry.nr, bool(e.entry.decoded)) for e in table.entries]
    frame = pd.DataFrame(rows, columns=["syscall", "abi", "nr", "decoded"]).astype(
        {"syscall": object, "abi": "int64", "nr": "int64", "decoded": bool}
    )
    return ModuleTable(os.fspath(path), table.arch, table.compat_abi, table.release, frame)


def column_labels(modules: list[ModuleTable]) -> list[tuple[ModuleTable, int, str]]:
    """One (module, abi, label) per table column: `x86_64`, `ia32`, ... in the order given.

    When two modules share an architecture (two kernel releases), the release is added to tell them apart.
    """
    arch_count: dict[str, int] = {}
    for module in modules:
        arch_count[module.arch] = arch_count.get(module.arch, 0) + 1
    columns = []
    for module in modules:
        for abi in sorted(set(module.entries["abi"]), reverse=True):
            label = module.abi_name(abi)
            if arch_count[module.arch] > 1:
                label = f"{label}@{module.release}"
            columns.append((module, abi, label))
    return columns


def support_table(modules: list[ModuleTable], keep: str = "all") -> pd.DataFrame:
    """Long table: syscall, column, nr, decoded - one row per syscall and column where it exists.

    `keep` is "all", "decoded" or "generic" and filters the rows on their decoded flag.
    """
    parts = []
    for module, abi, label in column_labels(modules):
        part = module.entries[module.entries["abi"] == abi][["syscall", "nr", "decoded"]].copy()
        part.insert(1, "column", label)
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=["syscall", "column", "nr", "decoded"])
    long = pd.concat(parts, ignore_index=True)
    if keep == "decoded":
        long = long[long["decoded"]]
    elif keep == "generic":
        long = long[~long["decoded"]]
    return long.reset_index(drop=True)


def coverage(modules: list[ModuleTable], names: list[str]) -> pd.DataFrame:
    """Per column: how many of `names` it decodes, and which are generic or missing."""
    rows = []
    for module, abi, label in column_labels(modules):
        entries = module.entries[module.entries["abi"] == abi]
        decoded = set(entries.loc[entries["decoded"], "syscall"])
        known = set(entries["syscall"])
        rows.append(
            {
                "column": label,
                "names": len(names),
                "decoded": sum(1 for n in names if n in decoded),
                "generic": [n for n in names if n in known and n not in decoded],
                "missing": [n for n in names if n not in known],
            }
        )
    return pd.DataFrame(rows, columns=["column", "names", "decoded", "generic", "missing"])


def read_names(text: str) -> list[str]:
    """Syscall names from a list file: one or more per line (spaces or commas), `#` comments allowed.

    A Markdown file with a table, such as the syscall-count gadget's README ("Supported Syscalls",
    `|accept|X|X|`), works too: then only the table rows count, by their first cell, without the header and
    separator rows, so the prose around the table is not taken for names.
    """
    names: list[str] = []
    lines = [raw.strip() for raw in text.splitlines()]
    markdown = any(line.startswith("|") for line in lines)
    for line in lines:
        if not line or line.startswith("#") or (markdown and not line.startswith("|")):
            continue
        if markdown:
            cell = line.strip("|").split("|")[0].strip()
            if cell and cell.lower() != "syscall" and set(cell) - {"-", ":"}:
                names.append(cell)
            continue
        names.extend(n for n in line.replace(",", " ").split() if n)
    seen: set[str] = set()
    return [n for n in names if not (n in seen or seen.add(n))]
