"""Read strace's output (`strace -f -o FILE`, default or `-X raw`) into calls with parsed arguments.

The VM decode test compares the module's records with strace's view of the same run, so this module turns
each strace line `PID name(arg, arg, ...) = result` into a `Call` whose arguments are small value trees:

* `Str` for quoted strings (C escapes decoded to bytes; `cut` when strace printed `"..."...`),
* `Num` for integer literals (decimal, hex, octal) and `NULL` (value 0, `null` set),
* `Lst` for `[...]` and `Struct` for `{...}` (members keep their `name=` or None when positional, such as
  `inet_pton(AF_INET6, "::1", &sin6_addr)` inside a sockaddr),
* `InOut` for strace's `before => after` (an in/out argument shown at entry and exit),
* `Fn` for `name(args)` expressions (`htons(4711)`, `inet_addr("127.0.0.1")`),
* `Expr` for everything else, as text (`O_WRONLY|O_CREAT`, `0x1|0x80000`, `8192*1024`).

Comments (`/* 4 entries */`) are dropped. Calls split by another thread (`<unfinished ...>` and
`<... name resumed>`) are joined back into one call. Signal and exit lines (`--- SIG... ---`,
`+++ exited +++`) are skipped.
"""

from __future__ import annotations

import errno
import re
from dataclasses import dataclass, field
from typing import Union

Value = Union["Str", "Num", "Lst", "Struct", "InOut", "Fn", "Expr"]


@dataclass(frozen=True)
class Str:
    data: bytes
    cut: bool = False


@dataclass(frozen=True)
class Num:
    value: int
    null: bool = False  # written as NULL


@dataclass(frozen=True)
class Lst:
    items: tuple[Value, ...]
    cut: bool = False  # ended in `...`


@dataclass(frozen=True)
class Struct:
    members: tuple[tuple[str | None, Value], ...]
    cut: bool = False  # ended in `...`

    def get(self, name: str) -> Value | None:
        for key, value in self.members:
            if key == name:
                return value
        return None

    def names(self) -> list[str]:
        return [key for key, _ in self.members if key is not None]


@dataclass(frozen=True)
class InOut:
    before: Value
    after: Value


@dataclass(frozen=True)
class Fn:
    name: str
    args: tuple[Value, ...]


@dataclass(frozen=True)
class Expr:
    text: str


@dataclass
class Call:
    """One syscall as strace printed it; `args` are positional, `named` holds `name=value` arguments."""

    pid: int
    name: str
    args: list[Value]
    named: dict[str, Value]
    res: int | None  # None for `= ?` (exit, exit_group, a successful execve's old image)
    errno: str | None
    line_no: int
    text: str = field(repr=False)

    @property
    def kernel_res(self) -> int | None:
        """The result as the kernel returned it: `-1 ENOENT` becomes -2."""
        if self.errno is not None:
            return -errno_value(self.errno)
        return self.res


class StraceParseError(ValueError):
    pass


def errno_value(name: str) -> int:
    """ENOENT -> 2, also for the kernel-internal names strace shows (ERESTARTSYS, ...)."""
    internal = {
        "ERESTARTSYS": 512,
        "ERESTARTNOINTR": 513,
        "ERESTARTNOHAND": 514,
        "ERESTART_RESTARTBLOCK": 516,
    }
    if name in internal:
        return internal[name]
    value = getattr(errno, name, None)
    if not isinstance(value, int):
        raise StraceParseError(f"unknown errno name {name!r}")
    return value


_LINE = re.compile(r"(\d+)\s+(.*)")
_UNFINISHED = " <unfinished ...>"
_RESUMED = re.compile(r"<\.\.\. (\w+) resumed>\s?(.*)")
_NAME_EQ = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)=(?!=)")
_RESULT = re.compile(r"\s*=\s+(\?|0x[0-9a-f]+|-?\d+)(?:\s+(E[A-Z0-9_]+))?")
_NUMBER = re.compile(r"-?(?:0x[0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_FN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\(")
_SIMPLE_ESCAPES = {"n": 10, "t": 9, "r": 13, "v": 11, "f": 12, "a": 7, "b": 8, "\\": 92, '"': 34, "'": 39}


def parse_calls(text: str) -> list[Call]:
    """Every completed syscall line of an `strace -f -o` file, unfinished/resumed pairs joined."""
    calls: list[Call] = []
    pending: dict[int, str] = {}
    for line_no, line in enumerate(text.splitlines(), 1):
        m = _LINE.fullmatch(line)
        if m is None:
            raise StraceParseError(f"line {line_no}: no pid prefix (run strace with -f): {line!r}")
        pid, rest = int(m.group(1)), m.group(2)
        if rest.startswith(("---", "+++")):
            continue
        if rest.endswith(_UNFINISHED):
            pending[pid] = rest[: -len(_UNFINISHED)]
            continue
        resumed = _RESUMED.match(rest)
        if resumed:
            head = pending.pop(pid, None)
            if head is None or not head.startswith(resumed.group(1) + "("):
                raise StraceParseError(f"line {line_no}: resumed call without its start: {line!r}")
            rest = head + resumed.group(2)
        try:
            calls.append(parse_call(pid, rest, line_no))
        except StraceParseError as e:
            raise StraceParseError(f"line {line_no}: {e}: {line!r}") from None
    return calls


def parse_call(pid: int, text: str, line_no: int = 0) -> Call:
    m = _FN.match(text)
    if m is None:
        raise StraceParseError("no syscall name")
    args: list[Value] = []
    named: dict[str, Value] = {}
    pos = m.end()
    pos = _skip_space(text, pos)
    if text.startswith(")", pos):
        pos += 1
    else:
        while True:
            nm = _NAME_EQ.match(text, pos)
            if nm:
                value, pos = _value(text, nm.end())
                named[nm.group(1)] = value
            else:
                value, pos = _value(text, pos)
                args.append(value)
            pos = _skip_space(text, pos)
            if text.startswith(",", pos):
                pos = _skip_space(text, pos + 1)
            elif text.startswith(")", pos):
                pos += 1
                break
            else:
                raise StraceParseError(f"expected ',' or ')' at column {pos + 1}")
    r = _RESULT.match(text, pos)
    if r is None:
        raise StraceParseError(f"no result at column {pos + 1}")
    res = None if r.group(1) == "?" else int(r.group(1), 0)
    return Call(pid, m.group(1), args, named, res, r.group(2), line_no, text)


def _skip_space(s: str, pos: int) -> int:
    while True:
        while pos < len(s) and s[pos] == " ":
            pos += 1
        if s.startswith("/*", pos):
            end = s.find("*/", pos)
            if end < 0:
                raise StraceParseError("unterminated comment")
            pos = end + 2
            continue
        return pos


def _value(s: str, pos: int) -> tuple[Value, int]:
    value, pos = _single(s, pos)
    after = _skip_space(s, pos)
    if s.startswith("=>", after):
        out, pos = _single(s, _skip_space(s, after + 2))
        return InOut(value, out), pos
    return value, pos


def _single(s: str, pos: int) -> tuple[Value, int]:
    pos = _skip_space(s, pos)
    c = s[pos : pos + 1]
    if c == '"':
        return _string(s, pos)
    if c == "[":
        items, cut, pos = _items(s, pos + 1, "]", named=False)
        return Lst(tuple(v for _, v in items), cut), pos
    if c == "{":
        members, cut, pos = _items(s, pos + 1, "}", named=True)
        return Struct(tuple(members), cut), pos
    return _atom(s, pos)


def _string(s: str, pos: int) -> tuple[Str, int]:
    out = bytearray()
    i = pos + 1
    while True:
        if i >= len(s):
            raise StraceParseError("unterminated string")
        c = s[i]
        if c == '"':
            i += 1
            break
        if c != "\\":
            out += c.encode("latin-1")
            i += 1
            continue
        e = s[i + 1 : i + 2]
        if e in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[e])
            i += 2
        elif e == "x":
            m = re.compile(r"[0-9a-fA-F]{1,2}").match(s, i + 2)
            if m is None:
                raise StraceParseError("bad \\x escape")
            out.append(int(m.group(), 16))
            i = m.end()
        elif e.isdigit():
            m = re.compile(r"[0-7]{1,3}").match(s, i + 1)
            if m is None:
                raise StraceParseError("bad octal escape")
            out.append(int(m.group(), 8))
            i = m.end()
        else:
            raise StraceParseError(f"unknown escape \\{e}")
    if s.startswith("...", i):
        return Str(bytes(out), True), i + 3
    return Str(bytes(out)), i


def _items(s: str, pos: int, close: str, named: bool) -> tuple[list[tuple[str | None, Value]], bool, int]:
    items: list[tuple[str | None, Value]] = []
    cut = False
    pos = _skip_space(s, pos)
    if s.startswith(close, pos):
        return items, cut, pos + 1
    while True:
        pos = _skip_space(s, pos)
        if s.startswith("...", pos) and not s.startswith('..."', pos):
            cut = True
            pos = _skip_space(s, pos + 3)
        else:
            name = None
            nm = _NAME_EQ.match(s, pos) if named else None
            if nm:
                name, pos = nm.group(1), nm.end()
            value, pos = _value(s, pos)
            items.append((name, value))
            pos = _skip_space(s, pos)
        if s.startswith(",", pos):
            pos += 1
        elif s.startswith(close, pos):
            return items, cut, pos + 1
        else:
            raise StraceParseError(f"expected ',' or {close!r} at column {pos + 1}")


def _atom(s: str, pos: int) -> tuple[Value, int]:
    """Read an expression up to the next top-level separator and classify it."""
    depth = 0
    i = pos
    while i < len(s):
        c = s[i]
        if c == '"':
            _, i = _string(s, i)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and (c == "," or s.startswith((" =>", " /*", " = "), i)):
            break
        i += 1
    text = s[pos:i].strip()
    if not text:
        raise StraceParseError(f"empty value at column {pos + 1}")
    return classify(text), i


def classify(text: str) -> Value:
    if text == "NULL":
        return Num(0, null=True)
    if _NUMBER.fullmatch(text):
        return Num(int(text, 0) if not re.fullmatch(r"-?0[0-7]+", text) else int(text, 8))
    m = _FN.match(text)
    if m and text.endswith(")") and _balanced_call(text, m.end()):
        items, _, _ = _items(text, m.end(), ")", named=False)
        return Fn(m.group(1), tuple(v for _, v in items))
    return Expr(text)


def _balanced_call(text: str, start: int) -> bool:
    """True when the parenthesis opened before `start` closes at the very end of `text`."""
    depth = 1
    i = start
    while i < len(text):
        c = text[i]
        if c == '"':
            _, i = _string(text, i)
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i == len(text) - 1
        i += 1
    return False


def eval_number(value: Value, symbols: dict[str, int] | None = None) -> int | None:
    """The integer strace meant, or None if it is not a number.

    Handles literals, `A|B` (or-ed parts), `N*1024` (strace's rlimit style), `1<<N`, `htons(N)`/`htonl(N)`
    and, with `symbols`, names.
    """
    if isinstance(value, Num):
        return value.value
    if isinstance(value, Fn) and value.name in ("htons", "htonl") and len(value.args) == 1:
        return eval_number(value.args[0], symbols)
    if not isinstance(value, Expr):
        return None
    total = 0
    for part in value.text.split("|"):
        part = part.strip()
        if "<<" in part:
            a, _, b = part.partition("<<")
            x, y = _term(a, symbols), _term(b, symbols)
            if x is None or y is None:
                return None
            total |= x << y
            continue
        if "*" in part:
            product = 1
            for factor in part.split("*"):
                f = _term(factor, symbols)
                if f is None:
                    return None
                product *= f
            total |= product
            continue
        t = _term(part, symbols)
        if t is None:
            return None
        total |= t
    return total


def _term(text: str, symbols: dict[str, int] | None) -> int | None:
    text = text.strip()
    if _NUMBER.fullmatch(text):
        value = classify(text)
        assert isinstance(value, Num)
        return value.value
    if symbols is not None and text in symbols:
        return symbols[text]
    return None


def flag_names(value: Value) -> tuple[frozenset[str], int] | None:
    """`A|B|0600` as ({A, B}, 0o600): the names and the or of the numeric parts, for symbolic comparison."""
    if isinstance(value, Num):
        return frozenset(), value.value
    if not isinstance(value, Expr) or "(" in value.text or "<<" in value.text or "*" in value.text:
        return None
    names = set()
    rest = 0
    for part in value.text.split("|"):
        part = part.strip()
        if _NUMBER.fullmatch(part):
            rest |= eval_number(classify(part)) or 0
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            names.add(part)
        else:
            return None
    return frozenset(names), rest
