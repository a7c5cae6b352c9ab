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
