"""Symbolic argument values (`O_WRONLY|O_CREAT`, `SIGCHLD`, `AT_FDCWD`) turned back into numbers.

The module prints flags and enums by the kernel's names, which is what people read, but programs that
compare or mask values need the number the traced program passed. The names' values differ between
architectures (O_DIRECTORY is 0x10000 on x86_64 and 0x4000 on arm64), so they are never taken from the
machine running mysysdig: the record file's header carries the tables the module itself used
(`mysysdig.model.Header`), and only those are trusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mysysdig.model import Header, Symbol

#: The one symbol the module may print without a table: the "current directory" fd of the *at() calls,
#: -100 on every Linux architecture (include/uapi/linux/fcntl.h).
AT_FDCWD = -100
_BUILTIN = {"AT_FDCWD": AT_FDCWD}


def resolve_symbol(text: str, symbols: Mapping[str, int]) -> int | None:
    """The number a symbolic value stands for: the OR of its names' values and its `|0x...` rest.

    Returns None when a name is in none of the tables, because a guessed value would be silently wrong.
    """
    if text in _BUILTIN:
        return _BUILTIN[text]
    value = 0
    for part in text.split("|"):
        if part.startswith("0x"):
            value |= int(part, 16)
            continue
        bits = symbols.get(part)
        if bits is None:
            return None
        value |= bits
    return value


def symbol_names(text: str) -> list[str]:
    """The names in a symbolic value, without the trailing `|0x...` of unnamed bits."""
    return [part for part in text.split("|") if not part.startswith("0x")]


def needs_table(text: str) -> bool:
    """Whether resolving `text` needs a header's tables (AT_FDCWD alone does not)."""
    return text not in _BUILTIN


class SymbolResolver:
    """Raw numbers of a record's symbolic arguments, under the most recent header of the stream.

    Feed it the stream's Headers (`use`) and ask for `raw(args)`. Values that cannot be resolved are
    left out and counted in `missing_header` (no header seen yet, e.g. a file cut from the middle of a
    recording) or `unknown` (a name that none of the header's tables has), so a caller can warn once
    rather than per record.
    """

    def __init__(self, header: Header | None = None) -> None:
        self.header = header
        self.missing_header = 0
        self.unknown: dict[str, int] = {}

    def use(self, header: Header) -> None:
        """Resolve from now on with this header's tables (a truncated file starts a new header)."""
        self.header = header

    def resolve(self, value: Any) -> int | None:
        """The number of one value: ints stay, Symbols are resolved, anything else gives None."""
        if type(value) is int:
            return value
        if not isinstance(value, Symbol):
            return None
        if self.header is None:
            if needs_table(value):
                self.missing_header += 1
                return None
            return resolve_symbol(value, {})
        number = resolve_symbol(value, self.header.symbols)
        if number is None:
            for name in symbol_names(value):
                if name not in self.header.symbols and name not in _BUILTIN:
                    self.unknown[name] = self.unknown.get(name, 0) + 1
        return number

    def raw(self, args: Mapping[str, Any]) -> dict[str, int]:
        """`{argument: number}` for each top-level argument written symbolically and resolvable."""
        out: dict[str, int] = {}
        for name, value in args.items():
            if isinstance(value, Symbol):
                number = self.resolve(value)
                if number is not None:
                    out[name] = number
        return out


# --- Open flags, for `mysysdig files` -----------------------------------------------------------------

_ACCESS_MODES = ("O_RDONLY", "O_WRONLY", "O_RDWR")
_O_ACCMODE = 3

#: Open flags of the architectures the module supports, used for flags recorded as numbers when the file
#: has no header: include/uapi/asm-generic/fcntl.h (x86_64 and its ia32 ABI) and arm64's overrides of
#: O_DIRECTORY, O_NOFOLLOW, O_DIRECT and O_LARGEFILE (arch/arm64/include/uapi/asm/fcntl.h).
_GENERIC_OPEN = {
    "O_RDONLY": 0o0,
    "O_WRONLY": 0o1,
    "O_RDWR": 0o2,
    "O_CREAT": 0o100,
    "O_EXCL": 0o200,
    "O_NOCTTY": 0o400,
    "O_TRUNC": 0o1000,
    "O_APPEND": 0o2000,
    "O_NONBLOCK": 0o4000,
    "O_DSYNC": 0o10000,
    "FASYNC": 0o20000,
    "O_DIRECT": 0o40000,
    "O_LARGEFILE": 0o100000,
    "O_DIRECTORY": 0o200000,
    "O_NOFOLLOW": 0o400000,
    "O_NOATIME": 0o1000000,
    "O_CLOEXEC": 0o2000000,
    "O_SYNC": 0o4000000 | 0o10000,
    "O_PATH": 0o10000000,
    "O_TMPFILE": 0o20000000 | 0o200000,
}
_ARM64_OPEN = {
    **_GENERIC_OPEN,
    "O_DIRECTORY": 0o40000,
    "O_NOFOLLOW": 0o100000,
    "O_DIRECT": 0o200000,
    "O_LARGEFILE": 0o400000,
    "O_TMPFILE": 0o20000000 | 0o40000,
}
OPEN_FLAGS: dict[str, dict[str, int]] = {"x86_64": _GENERIC_OPEN, "aarch64": _ARM64_OPEN}


def open_table(header: Header | None) -> dict[str, int]:
    """The open flag values to decode numbers with: the header's own table, else the arch's built-in one."""
    if header is not None and header.tables.get("open"):
        return header.tables["open"]
    arch = header.arch if header is not None and header.arch in OPEN_FLAGS else "x86_64"
    return OPEN_FLAGS[arch]


def decode_flags(
    value: int, table: Mapping[str, int], access_modes: tuple[str, ...] = _ACCESS_MODES
) -> list[str]:
    """Names of the bits of a flag word, widest fields first (O_TMPFILE before O_DIRECTORY).

    The access mode (the low two bits of open flags) is a field, not bits, so it is named from its value;
    bits no name covers are given as one `0x...` at the end, as the module does.
    """
    names: list[str] = []
    rest = value
    if access_modes:
        mode = value & _O_ACCMODE
        by_value = {table[m]: m for m in access_modes if m in table}
        names.append(by_value.get(mode, hex(mode)))
        rest &= ~_O_ACCMODE
    candidates = [(k, v) for k, v in table.items() if v and k not in access_modes]
    candidates.sort(key=lambda kv: -bin(kv[1]).count("1"))
    for name, bits in candidates:
        if rest & bits == bits:
            names.append(name)
            rest &= ~bits
    if rest:
        names.append(hex(rest))
    return names
