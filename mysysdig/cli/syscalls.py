"""`mysysdig syscalls`: which syscalls a built my_sysdig.ko records, and which it decodes."""

from __future__ import annotations

import json

import click
import pandas as pd

from mysysdig.cli.common import csv_text, format_option, quiet_broken_pipe, text_table
from mysysdig.syscall_table import ModuleTable, TableError, coverage, read_module, read_names, support_table


def _wide(long: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """One row per syscall name, one column per (module, ABI): `NR decoded`, `NR generic` or missing."""
    kind = long["decoded"].map({True: " decoded", False: " generic"})
    text = long.assign(cell=long["nr"].astype(str) + kind)
    wide = text.pivot(index="syscall", columns="column", values="cell")
    wide = wide.reindex(columns=labels).sort_index()
    wide.columns.name = None
    return wide.reset_index()


@click.command("syscalls")
@click.argument("modules", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True))
@format_option()
@click.option("--decoded-only", is_flag=True, help="Only syscalls whose arguments the module decodes.")
@click.option("--generic-only", is_flag=True, help="Only syscalls recorded without arguments.")
@click.option(
    "--names",
    "names_file",
    type=click.File("r"),
    metavar="FILE",
    help="Only these syscall names (one per line, or a Markdown table's first column), "
    "and report per ABI which of them are generic or missing.",
)
def syscalls_command(
    modules: tuple[str, ...], fmt: str, decoded_only: bool, generic_only: bool, names_file: click.File | None
) -> None:
    """List the syscalls that the built modules MODULES know, per architecture and ABI.

    MODULES are my_sysdig.ko files (of any architecture: x86_64, arm64) or
    other ELF objects with a .mysysdig_syscalls section. Nothing is loaded:
    the table the build wrote into the module is read.

    \b
    OUTPUT
      One row per syscall name and one column per module and ABI (x86_64,
      ia32, aarch64, aarch32; with @RELEASE added when two modules share an
      architecture). A cell is the syscall's number in that ABI and either
      "decoded" (its arguments are recorded) or "generic" (the record has
      only the result); "-" when the ABI has no such syscall.
    \b
      table  aligned columns as above
      json   {"modules": [{"path", "arch", "compat_abi", "release",
             "syscalls"}], "syscalls": [{"syscall": NAME, "abis":
             {COLUMN: {"nr": N, "decoded": true|false}}}], and with
             --names "coverage": [{"column", "names", "decoded", "generic":
             [...], "missing": [...]}]}
      csv    syscall,COLUMN,... with the cells as in the table

    With --names, the table is limited to the listed names and a coverage
    report follows (on stderr for csv): per column, how many of the names
    are decoded, and which are generic or missing.

    \b
    EXAMPLES
      mysysdig syscalls my_sysdig.ko
      mysysdig syscalls build/amd64/my_sysdig.ko build/arm64/my_sysdig.ko --decoded-only
      mysysdig syscalls my_sysdig.ko --names gadget-syscalls.txt
    """
    if decoded_only and generic_only:
        raise click.UsageError("--decoded-only and --generic-only exclude each other")
    tables: list[ModuleTable] = []
    for path in modules:
        try:
            tables.append(read_module(path))
        except TableError as e:
            raise click.BadParameter(f"{path}: {e}", param_hint="MODULES") from None
    keep = "decoded" if decoded_only else "generic" if generic_only else "all"
    long = support_table(tables, keep)
    labels = list(dict.fromkeys(support_table(tables)["column"]))
    names = read_names(names_file.read()) if names_file is not None else None
    if names is not None:
        long = long[long["syscall"].isin(names)]
    wide = _wide(long, labels)
    report = coverage(tables, names) if names is not None else None
    with quiet_broken_pipe():
        if fmt == "json":
            click.echo(json.dumps(_json(tables, long, report)))
            return
        if fmt == "csv":
            click.echo(csv_text(wide))
        else:
            click.echo(text_table(wide, ["SYSCALL", *labels]))
        if report is not None:
            click.echo(_coverage_text(report), err=fmt == "csv")


def _json(tables: list[ModuleTable], long: pd.DataFrame, report: pd.DataFrame | None) -> dict:
    by_name: dict[str, dict] = {}
    for name, column, nr, decoded in long.sort_values("syscall").itertuples(index=False, name=None):
        by_name.setdefault(name, {})[column] = {"nr": int(nr), "decoded": bool(decoded)}
    obj: dict = {
        "modules": [
            {
                "path": t.path,
                "arch": t.arch,
                "compat_abi": t.compat_abi,
                "release": t.release,
                "syscalls": len(t.entries),
            }
            for t in tables
        ],
        "syscalls": [{"syscall": name, "abis": abis} for name, abis in by_name.items()],
    }
    if report is not None:
        obj["coverage"] = [
            {"column": c, "names": int(n), "decoded": int(d), "generic": g, "missing": m}
            for c, n, d, g, m in report.itertuples(index=False, name=None)
        ]
    return obj


def _coverage_text(report: pd.DataFrame) -> str:
    lines = []
    for column, names, decoded, generic, missing in report.itertuples(index=False, name=None):
        lines.append(
            f"{column}: {decoded} of {names} names decoded, {len(generic)} generic, {len(missing)} missing"
        )
        if generic:
            lines.append(f"  generic: {' '.join(generic)}")
        if missing:
            lines.append(f"  missing: {' '.join(missing)}")
    return "\n".join(lines)
