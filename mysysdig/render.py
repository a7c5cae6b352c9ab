"""How records and markers are shown: as JSON objects and as readable one-line text.

JSON is the machine interface, so its keys are fixed (docs and tests rely on them): ts, pid, tid, comm,
syscall, nr, abi, res, lat_ns, args, `truncated` only when something was cut, and `raw` only when an
argument was written symbolically (`args` shows what the record says, `raw` the number behind it). The
text form is for people and may change; it follows strace's habits (`name(args) = result <seconds>`)
because that is what readers of syscall traces already know.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from mysysdig.decode.escapes import escape_user_string
from mysysdig.decode.values import FieldError, nested_fields
from mysysdig.model import Header, Marker, Record, Symbol
from mysysdig.schema import errno_name

NS_PER_S = 1_000_000_000


def record_json(record: Record, raw: dict[str, int] | None = None) -> dict[str, Any]:
    """The JSON object of a record; `args` includes the captured buffer as `data` (escaped text).

    `raw` maps symbolically written arguments to their numbers (see `mysysdig.symbols.SymbolResolver`);
    it is left out when empty so records without symbols keep their plain shape.
    """
    obj: dict[str, Any] = {
        "ts": record.ts,
        "pid": record.pid,
        "tid": record.tid,
        "comm": record.comm,
        "syscall": record.syscall,
        "nr": record.nr,
        "abi": record.abi,
        "res": record.res,
        "lat_ns": record.lat_ns,
        "args": record.args,
    }
    if record.truncated:
        obj["truncated"] = list(record.truncated)
    if raw:
        obj["raw"] = raw
    return obj


#: Header line fields shown with a type of their own; any other field is passed through as a string.
_HEADER_KEYS = ("arch", "compat", "release", "snaplen")


def header_json(header: Header) -> dict[str, Any]:
    """The JSON object of a header: `"header": "mysysdig record"`, its fields, and the symbol tables."""
    obj: dict[str, Any] = {"header": "mysysdig record", "version": header.version}
    for key in _HEADER_KEYS:
        obj[key] = getattr(header, key)
    for key, value in header.fields.items():
        obj.setdefault(key, value)
    obj["tables"] = header.tables
    return obj


def format_header(header: Header) -> str:
    """One readable line: where the recording comes from and how many symbols its tables hold."""
    fields = " ".join(f"{k}={v}" for k, v in header.fields.items())
    tables = len(header.tables)
    return (
        f"--- mysysdig record v{header.version} {fields} "
        f"({len(header.symbols)} symbols in {tables} table{'' if tables == 1 else 's'}) ---"
    )


def marker_json(marker: Marker) -> dict[str, Any]:
    """The JSON object of a marker: `"marker": "drop"` plus the fields the marker line has."""
    obj: dict[str, Any] = {"marker": marker.kind, "drop": marker.drop, "reason": marker.reason}
    if marker.cpu is not None:
        obj["cpu"] = marker.cpu
    obj["ts"] = marker.ts
    return obj


def format_ts(ts: int) -> str:
    """ISO 8601 UTC with all nine digits, since syscalls a few ns apart must still be told apart."""
    seconds, ns = divmod(ts, NS_PER_S)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ns:09d}Z"


def format_value(value: Any) -> str:
    """Write a decoded value back in record notation; ints come out in decimal (their notation is gone)."""
    if value is None:
        return "NULL"
    if isinstance(value, Symbol):
        return str(value)
    if isinstance(value, str):
        return f'"{escape_user_string(value)}"'
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={format_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def _captured_data(record: Record) -> str | None:
    """The captured buffer, or None when `data` is an ordinary argument written in place (mount's)."""
    data = record.args.get("data")
    if not isinstance(data, str) or record.res is None:
        return None
    if record.raw_args and "data=" in record.raw_args:
        try:
            in_place, _ = nested_fields(", " + record.raw_args)
        except FieldError:
            in_place = {}
        if "data" in in_place:
            return None
    return data


def format_record(record: Record) -> str:
    """One readable line: `time comm[pid/tid] name(args) = res ERRNO (text) <seconds> data="..."`."""
    data = _captured_data(record)
    if record.raw_args or not record.args:
        arg_text = record.raw_args
    else:
        arg_text = ", ".join(
            f"{k}={format_value(v)}" for k, v in record.args.items() if not (k == "data" and data is not None)
        )
    parts = [
        format_ts(record.ts),
        f"{escape_user_string(record.comm)}[{record.pid}/{record.tid}]",
        f"{record.syscall}({arg_text})",
    ]
    if record.res is None:
        parts.append("= ?")
    else:
        parts.append(f"= {record.res}")
        name = errno_name(record.res)
        if name is not None:
            parts.append(f"{name} ({os.strerror(-record.res)})")
    if record.lat_ns is not None:
        seconds, ns = divmod(record.lat_ns, NS_PER_S)
        parts.append(f"<{seconds}.{ns:09d}>")
    if data is not None:
        parts.append(f'data="{data}"' + ("..." if "data" in record.truncated else ""))
    notes = []
    if record.abi != 64:
        notes.append(f"abi={record.abi}")
    if record.syscall == "unknown":
        notes.append(f"nr={record.nr}")
    if notes:
        parts.append("[" + " ".join(notes) + "]")
    return " ".join(parts)


def format_marker(marker: Marker) -> str:
    """One readable line saying how many records were lost and why."""
    if marker.reason == "ring":
        why = f"ring buffer of CPU {marker.cpu} full"
    elif marker.reason == "cap":
        why = "record file reached max_size"
    else:
        why = marker.reason
    return f"{format_ts(marker.ts)} --- {marker.drop} records dropped: {why} ---"
