"""Every decoded syscall of the syscall-count gadget's table, checked against strace's view of the same run.

One boot per target. tests/workloads/sc_allcalls.c makes every syscall of the gadget's table that the
architecture has, with known arguments, and runs three times with the module recording it:

* alone (`direct`): every syscall of the table that has a tracepoint on this kernel must be there, decoded,
  with the tracepoint's argument names;
* under `strace -f -X raw -s 64` (`raw`): our values, with symbols turned back into numbers through the
  record file's `#sym` header, must equal strace's numbers;
* under `strace -f -s 64` (`sym`): our names must equal strace's names.

Both strace runs are recorded too, so each of our records is paired with strace's line for the very same
call (same thread, same order): pointers, fds and results compare exactly. Where strace and the module show
a value differently on purpose, the comparison applies one of the DIFFERENCES below, each of which is also a
row of docs/record-format.md's "Deliberate differences from strace"; everything else must match.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import pytest
import strace_oracle as so
from vm_support import RECORD, REPO, is_argument_field, module, vm_fixtures

from mysysdig.decode import parse_text
from mysysdig.decode.escapes import unescape_bytes
from mysysdig.model import Header, ParseError, Record, Symbol
from mysysdig.symbols import resolve_symbol
from mysysdig.syscall_table import read_module

pytestmark = pytest.mark.vm

# The gadget's "Supported Syscalls" table: name, then whether it lists it for x86_64 and for aarch64
# ("all" is the gadget's switch for all of them, not a syscall).
GADGET_TABLE = """
accept XX accept4 XX access X- all XX bind XX bpf XX brk XX capset XX chdir XX chmod X- chown X-
chroot XX clone XX clone3 XX close XX connect XX copy_file_range XX creat X- dup XX dup2 X- dup3 XX
epoll_create X- epoll_create1 XX epoll_wait X- eventfd X- eventfd2 XX execve XX execveat XX fchdir XX
fchmod XX fchmodat XX fchown XX fchownat XX fcntl XX flock XX fork X- fsconfig XX fstat XX futex XX
getcwd XX getdents X- getdents64 XX getegid XX geteuid XX getgid XX getpeername XX getresgid XX
getresuid XX getrlimit XX getsockname XX getsockopt XX getuid XX inotify_init X- inotify_init1 XX
io_uring_enter XX io_uring_register XX io_uring_setup XX ioctl XX kill XX lchown X- link X- linkat XX
listen XX lseek XX lstat X- mkdir X- mkdirat XX mlock XX mlock2 XX mlockall XX mmap XX mount XX
mprotect XX munlock XX munlockall XX munmap XX nanosleep XX open X- open_by_handle_at XX openat XX
openat2 XX pipe X- pipe2 XX poll X- ppoll XX prctl XX preadv XX ptrace XX pwritev XX quotactl XX
read XX readv XX recvfrom XX recvmmsg XX recvmsg XX rename X- renameat XX renameat2 XX rmdir X-
seccomp XX select X- semctl XX semget XX semop XX sendfile XX sendmmsg XX sendmsg XX sendto XX
setgid XX setns XX setpgid XX setresgid XX setresuid XX setrlimit XX setsid XX setsockopt XX setuid XX
shutdown XX signalfd X- signalfd4 XX socket XX socketpair XX splice XX stat X- symlink X-
symlinkat XX tgkill XX timerfd_create XX tkill XX umount2 XX unlink X- unlinkat XX unshare XX
userfaultfd XX vfork X- write XX writev XX
"""


def gadget_syscalls(arch: str) -> list[str]:
    words = GADGET_TABLE.split()
    column = {"x86_64": 0, "arm64": 1}[arch]
    rows = zip(words[::2], words[1::2], strict=True)
    return [name for name, marks in rows if marks[column] == "X" and name != "all"]


# Tracepoints named differently from the syscall (besides sys_enter_new<name>, e.g. newfstat).
TRACEPOINT_ALIASES = {"sendfile": "sendfile64", "umount2": "umount"}

STRACE = "strace -f -s 64"

SCRIPT = f"""
ip link set lo up || exit 9
run() {{
    name=$1; shift
    rm -rf /tmp/sc-allcalls
    insmod /my_sysdig.ko proc_name=sc_allcalls snaplen=64 || exit 10
    "$@"; echo $? > /out/$name.status
    rmmod my_sysdig || exit 11
    cp {RECORD} /out/$name.rec
}}
run direct /bin/sc_allcalls
run raw {STRACE} -X raw -o /out/raw.txt /bin/sc_allcalls
run sym {STRACE} -o /out/sym.txt /bin/sc_allcalls
ev=/sys/kernel/tracing/events/syscalls
for d in $ev/sys_enter_*; do echo "== ${{d##*/sys_enter_}}"; cat $d/format; done > /out/formats.txt
true
"""


# --- deliberate differences -------------------------------------------------------------------------------


# Each way a record deliberately shows a value unlike strace, keyed by its row in docs/record-format.md's
# "Deliberate differences from strace" (which gives the reasons). The comparison counts every use, and a
# difference no call needs any more fails the test, so the list stays exact.
DIFFERENCES = {
    "errors": "strace `= -1 ENOENT`, ours `res=-2`",
    "byte escapes": "strace octal `\\377`, ours `\\xff`: both are compared as bytes",
    "results in hex": "strace `= 0x7f...` for mmap, ours decimal",
    "memory behind pointers": "strace shows the struct or array a pointer points to, ours the pointer",
    "omitted arguments": "strace leaves out arguments the operation ignores (OMITS_TRAILING), ours has all",
    "clone arguments": "strace `clone(child_stack=, flags=, ...)` by name, ours in the tracepoint's order",
    "preadv, pwritev offset": "strace one offset, ours pos_l and pos_h",
    "futex private operations": "strace `FUTEX_WAKE_PRIVATE`, ours `FUTEX_WAKE|FUTEX_PRIVATE_FLAG`",
    "protocol 0": "strace `IPPROTO_IP` for socket(AF_INET*, ..., 0), ours 0",
    "rlimits": "strace `8192*1024` and `RLIM64_INFINITY`, ours `8388608` and `RLIM_INFINITY`",
    "sockaddr": "strace `sin_port=htons(80), sin_addr=inet_addr(...)`, flow info and scope; ours addr, port",
    "constants without a table": "strace names them (UNNAMED), ours prints the number",
    "flag order": "names in the kernel table's order, not strace's",
}

# "omitted arguments": the syscalls whose trailing arguments strace leaves out for some operations, and
# bpf, whose two common-attribute arguments (7.2 and later) the guest's strace (bookworm's) predates.
OMITS_TRAILING = {"fcntl", "futex", "prctl", "open", "openat", "ptrace", "bpf"}

# "constants without a table": (syscall, argument) that strace names and we print as numbers. Checked
# against strace -X raw; in the symbolic run only their presence is compared.
UNNAMED = {
    ("ioctl", "cmd"),
    ("getsockopt", "optname"),
    ("setsockopt", "optname"),
    ("quotactl", "cmd"),
    ("semget", "key"),
    ("fcntl", "arg"),
    ("prctl", "arg2"),
    ("capset", "data.effective"),
    ("capset", "data.permitted"),
    ("capset", "data.inheritable"),
    ("io_uring_setup", "params.features"),
}

CLONE_NAMES = {
    "flags": "clone_flags",
    "child_stack": "newsp",
    "parent_tid": "parent_tidptr",
    "child_tidptr": "child_tidptr",
    "tls": "tls",
}


# --- reading the run --------------------------------------------------------------------------------------


@dataclass
class Recording:
    header: Header
    records: list[Record]

    def symbols(self) -> dict[str, int]:
        return self.header.symbols


def read_recording(text: str) -> Recording:
    errors: list[ParseError] = []
    events = parse_text(text, errors.append)
    assert not errors, f"record file has bad lines: {errors[:5]}"
    headers = [e for e in events if isinstance(e, Header)]
    assert len(headers) == 1, "expected exactly one header"
    records = [e for e in events if isinstance(e, Record)]
    assert len(records) + 1 == len(events), "unexpected markers (drops?)"
    return Recording(headers[0], records)


def read_formats(text: str) -> dict[str, list[tuple[str, str]]]:
    """sys_enter_<name> -> [(type, field)] of the syscall's arguments, in order."""
    formats: dict[str, list[tuple[str, str]]] = {}
    for chunk in text.split("== ")[1:]:
        name, _, body = chunk.partition("\n")
        fields = re.findall(r"field:([^;]*?)\s*\b(\w+);", body)
        formats[name] = [(t.strip(), f) for t, f in fields if is_argument_field(f)]
    return formats


def tracepoint_of(name: str, formats: dict[str, Any]) -> str | None:
    for candidate in (name, f"new{name}", TRACEPOINT_ALIASES.get(name)):
        if candidate in formats:
            return candidate
    return None


target, run = vm_fixtures("decode", SCRIPT, statuses=("direct", "raw", "sym"))


@pytest.fixture(scope="module")
def formats(run):
    return read_formats(run.text("formats.txt"))


@pytest.fixture(scope="module")
def direct(run) -> Recording:
    return read_recording(run.text("direct.rec"))


# --- comparing one value ----------------------------------------------------------------------------------


class Mismatch(AssertionError):
    pass


@dataclass
class Context:
    mode: str  # "raw" or "sym"
    symbols: dict[str, int]
    syscall: str
    used: Counter[str] = field(default_factory=Counter)

    def number(self, value: Any) -> int | None:
        """Our value as the number it stands for."""
        if value is None:
            return 0
        if isinstance(value, Symbol):
            return resolve_symbol(value, self.symbols)
        if isinstance(value, int):
            return value
        return None


def their_number(theirs: so.Value, ctx: Context, arg: str) -> int | None:
    if (
        ctx.syscall == "capset"
        and arg.startswith("data.")
        and isinstance(theirs, so.Expr)
        and ctx.mode == "raw"
    ):
        # strace -X raw prints the two 32-bit words of a capability set as `lo|hi`
        parts = [so.eval_number(so.classify(p)) for p in theirs.text.split("|")]
        if len(parts) == 2 and None not in parts:
            return parts[0] | parts[1] << 32
    value = so.eval_number(theirs)
    if value is not None and isinstance(theirs, so.Expr) and "*" in theirs.text:
        ctx.used["rlimits"] += 1
    return value


def is_memory(theirs: so.Value) -> bool:
    return isinstance(theirs, so.Str | so.Lst | so.Struct | so.InOut)


def compare(ours: Any, theirs: so.Value, ctx: Context, arg: str, ctype: str = "", cut: bool = False) -> None:
    """Raise Mismatch unless our value `ours` of argument `arg` shows what strace's `theirs` shows."""
    where = f"{ctx.syscall} {arg}"
    if isinstance(ours, dict):
        if not isinstance(theirs, so.Struct):
            raise Mismatch(f"{where}: ours {ours!r}, strace {theirs!r}")
        if "family" in ours:
            compare_sockaddr(ours, theirs, ctx, arg)
            return
        for name, value in ours.items():
            member = theirs.get(name)
            if member is None:
                # strace leaves out members that are zero (open_how's mode)
                if ctx.number(value) != 0:
                    raise Mismatch(f"{where}.{name}: ours {value!r}, strace has no such member: {theirs!r}")
                continue
            compare(value, member, ctx, f"{arg}.{name}")
        return
    if isinstance(ours, list):
        if not isinstance(theirs, so.Lst) or len(ours) != len(theirs.items) or cut != theirs.cut:
            raise Mismatch(f"{where}: ours {ours!r} (cut={cut}), strace {theirs!r}")
        for i, (a, b) in enumerate(zip(ours, theirs.items, strict=True)):
            compare(a, b, ctx, f"{arg}[{i}]")
        return
    if isinstance(ours, bytes | str) and not isinstance(ours, Symbol):
        data = ours if isinstance(ours, bytes) else os.fsencode(ours)
        if not isinstance(theirs, so.Str) or theirs.data != data or theirs.cut != cut:
            raise Mismatch(f"{where}: ours {data!r} (cut={cut}), strace {theirs!r}")
        if any(b < 0x20 or b > 0x7E for b in data):
            ctx.used["byte escapes"] += 1
        return
    compare_scalar(ours, theirs, ctx, arg, ctype)


def compare_scalar(ours: Any, theirs: so.Value, ctx: Context, arg: str, ctype: str) -> None:
    where = f"{ctx.syscall} {arg}"
    mine = ctx.number(ours)
    if mine is None:
        raise Mismatch(f"{where}: cannot resolve our {ours!r} with the header's symbols")
    if is_memory(theirs):
        # strace shows what the pointer points to; we show the pointer
        if not ("*" in ctype or ctype == "unsigned long") or mine == 0:
            raise Mismatch(f"{where}: ours {ours!r} ({ctype}), strace shows memory {theirs!r}")
        ctx.used["memory behind pointers"] += 1
        return
    if ctx.mode == "raw" or not isinstance(ours, Symbol):
        value = their_number(theirs, ctx, arg)
        if value is not None:
            if value != mine:
                raise Mismatch(f"{where}: ours {ours!r} = {mine:#x}, strace {theirs!r}")
            return
        if ctx.mode == "raw":
            raise Mismatch(f"{where}: strace -X raw shows a non-number {theirs!r}")
        # symbolic run, we print a number where strace prints a name
        if (ctx.syscall, arg) in UNNAMED:
            ctx.used["constants without a table"] += 1
            return
        if ctx.syscall == "socket" and arg == "protocol" and mine == 0 and theirs == so.Expr("IPPROTO_IP"):
            ctx.used["protocol 0"] += 1
            return
        raise Mismatch(f"{where}: ours {ours!r}, strace names it {theirs!r}")
    # symbolic run, our value is named: compare the names
    names = so.flag_names(theirs)
    if names is None:
        raise Mismatch(f"{where}: ours {ours!r}, strace {theirs!r}")
    theirs_names, theirs_rest = names
    theirs_names = set(theirs_names)
    for name in list(theirs_names):
        m = re.fullmatch(r"(FUTEX_\w+)_PRIVATE", name)
        if m:
            theirs_names -= {name}
            theirs_names |= {m.group(1), "FUTEX_PRIVATE_FLAG"}
            ctx.used["futex private operations"] += 1
        if name == "RLIM64_INFINITY":
            theirs_names -= {name}
            theirs_names |= {"RLIM_INFINITY"}
            ctx.used["rlimits"] += 1
    our_names = {p for p in ours.split("|") if not p.startswith("0x")}
    our_rest = sum(int(p, 16) for p in ours.split("|") if p.startswith("0x"))
    if our_names != theirs_names or our_rest != theirs_rest:
        raise Mismatch(f"{where}: ours {ours!r}, strace {theirs!r}")
    if "|" in ours and ours.split("|") != [p.strip() for p in theirs.text.split("|")]:  # type: ignore[union-attr]
        ctx.used["flag order"] += 1


def compare_sockaddr(ours: dict[str, Any], theirs: so.Struct, ctx: Context, arg: str) -> None:
    where = f"{ctx.syscall} {arg}"
    family = theirs.get("sa_family")
    if family is None:
        raise Mismatch(f"{where}: strace shows no sa_family: {theirs!r}")
    compare(ours["family"], family, ctx, f"{arg}.family")
    want: dict[str, Any] = {}
    for name, value in theirs.members:
        if name in ("sin_port", "sin6_port"):
            want["port"] = (
                int.from_bytes(value.data, "big") if isinstance(value, so.Str) else so.eval_number(value)
            )
        elif name in ("sin_addr", "sin6_addr") and isinstance(value, so.Str):
            want["addr"] = str(ipaddress.ip_address(value.data))
        elif name == "sin_addr" and isinstance(value, so.Fn) and value.name == "inet_addr":
            want["addr"] = value.args[0].data.decode()  # type: ignore[union-attr]
        elif name is None and isinstance(value, so.Fn) and value.name == "inet_pton":
            want["addr"] = str(ipaddress.ip_address(value.args[1].data.decode()))  # type: ignore[union-attr]
        elif name == "sun_path":
            want["path"] = value
        elif name in ("sin6_flowinfo", "sin6_scope_id"):
            ctx.used["sockaddr"] += 1
    mine = {k: v for k, v in ours.items() if k != "family"}
    if set(mine) != set(want):
        raise Mismatch(f"{where}: ours {ours!r}, strace {theirs!r}")
    for key, value in mine.items():
        if key == "path":
            compare(value, want[key], ctx, f"{arg}.path")
        elif key == "addr":
            if str(ipaddress.ip_address(value)) != want[key]:
                raise Mismatch(f"{where}.addr: ours {value!r}, strace {want[key]!r}")
        elif value != want[key]:
            raise Mismatch(f"{where}.{key}: ours {value!r}, strace {want[key]!r}")
    ctx.used["sockaddr"] += 1


# --- comparing one call -----------------------------------------------------------------------------------


def arg_names(rec: Record, fields: list[str]) -> list[str]:
    """Our argument names, without the captured buffer (`data=` after `res=`).

    mount's, ptrace's and capset's tracepoints have an argument called `data` themselves; it is printed in
    place, so `data` is the buffer only when the tracepoint has no such field.
    """
    return [n for n in rec.args if n != "data" or "data" in fields]


def compare_call(rec: Record, call: so.Call, fields: list[tuple[str, str]] | None, ctx: Context) -> bool:
    """Compare one record with strace's line for the same call; True when its arguments were compared."""
    where = f"record line {rec.line_no} vs strace line {call.line_no} ({call.text[:200]})"
    try:
        compare_result(rec, call, ctx)
        if not rec.args:
            # a generic record, or an execve whose entry ran under the old comm (no arguments)
            return False
        assert fields is not None, f"{rec.syscall} has arguments but no tracepoint"
        compare_args(rec, call, fields, ctx)
    except Mismatch as e:
        raise Mismatch(f"{where}: {e}") from None
    return True


def compare_result(rec: Record, call: so.Call, ctx: Context) -> None:
    theirs = call.kernel_res
    if call.errno is not None:
        ctx.used["errors"] += 1
    if theirs is None or rec.res is None:
        if theirs != rec.res:
            raise Mismatch(f"res: ours {rec.res}, strace {theirs}")
        return
    if re.search(r"\) = 0x", call.text):
        ctx.used["results in hex"] += 1
    if rec.res != theirs:
        raise Mismatch(f"res: ours {rec.res}, strace {theirs} {call.errno or ''}")


def compare_args(rec: Record, call: so.Call, fields: list[tuple[str, str]], ctx: Context) -> None:
    field_names = [f for _, f in fields]
    names = arg_names(rec, field_names)
    missing = [f for f in field_names if f not in names]
    assert len(missing) <= 1 and [f for f in field_names if f in names] == names, (field_names, names)
    buffer = missing[0] if missing else None

    theirs: dict[str, so.Value] = {}
    if rec.syscall == "clone":
        ctx.used["clone arguments"] += 1
        for name, value in call.named.items():
            theirs[CLONE_NAMES[name]] = value
    elif rec.syscall in ("preadv", "pwritev"):
        ctx.used["preadv, pwritev offset"] += 1
        theirs = dict(zip(field_names[:4], call.args, strict=True))
        if rec.args["pos_h"] != 0:
            raise Mismatch(f"pos_h={rec.args['pos_h']} (the workload passes 0)")
    else:
        if call.named:
            raise Mismatch(f"strace named arguments {list(call.named)}")
        if len(call.args) > len(fields):
            raise Mismatch(f"strace shows {len(call.args)} arguments, the tracepoint has {len(fields)}")
        if len(call.args) < len(fields):
            if rec.syscall not in OMITS_TRAILING:
                raise Mismatch(f"strace shows {len(call.args)} arguments, the tracepoint has {len(fields)}")
            ctx.used["omitted arguments"] += 1
        theirs = dict(zip(field_names, call.args, strict=False))

    for ctype, name in fields:
        if name not in theirs:
            continue
        if name == buffer:
            data = rec.args.get("data") if "data" not in field_names else None
            if data is None:
                # nothing captured: the call moved no bytes, or failed
                if isinstance(theirs[name], so.Str) and theirs[name].data:  # type: ignore[union-attr]
                    raise Mismatch(f"{name}: no data captured, strace {theirs[name]!r}")
                continue
            compare(unescape_bytes(data), theirs[name], ctx, name, ctype, cut="data" in rec.truncated)
            continue
        compare(rec.args[name], theirs[name], ctx, name, ctype, cut=name in rec.truncated)


def pair_calls(records: list[Record], calls: list[so.Call]) -> list[tuple[Record, so.Call]]:
    """Our records and strace's lines of one run, thread by thread, in order; the sequences must agree."""
    ours: dict[int, list[Record]] = defaultdict(list)
    theirs: dict[int, list[so.Call]] = defaultdict(list)
    for rec in records:
        ours[rec.tid].append(rec)
    for call in calls:
        theirs[call.pid].append(call)
    assert set(ours) == set(theirs), f"threads: ours {sorted(ours)}, strace {sorted(theirs)}"
    pairs = []
    for tid, recs in ours.items():
        our_names = [r.syscall for r in recs]
        their_names = [c.name for c in theirs[tid]]
        assert our_names == their_names, f"thread {tid}: ours {our_names}\nstrace {their_names}"
        pairs += zip(recs, theirs[tid], strict=True)
    return pairs


def compare_run(run, formats, mode: str) -> tuple[set[str], Counter[str]]:
    recording = read_recording(run.text(f"{mode}.rec"))
    calls = so.parse_calls(run.text(f"{mode}.txt"))
    compared: set[str] = set()
    used: Counter[str] = Counter()
    problems = []
    for rec, call in pair_calls(recording.records, calls):
        ctx = Context(mode, recording.symbols(), rec.syscall, used)
        tp = tracepoint_of(rec.syscall, formats)
        try:
            if compare_call(rec, call, formats.get(tp) if tp else None, ctx) or (
                tp is not None and not formats[tp]
            ):
                compared.add(rec.syscall)
        except (Mismatch, AssertionError) as e:
            problems.append(str(e))
    assert not problems, f"{len(problems)} differences from strace ({mode}):\n" + "\n".join(problems)
    return compared, used


# --- the tests --------------------------------------------------------------------------------------------


def expected_syscalls(target, formats) -> tuple[list[str], list[str]]:
    """The gadget's syscalls this target should decode, and those without a tracepoint on its kernel."""
    native = read_module(module(target)).entries
    known = set(native[native.abi == 64].syscall)
    wanted = [n for n in gadget_syscalls(target.arch) if n in known]
    return [n for n in wanted if tracepoint_of(n, formats)], [
        n for n in wanted if not tracepoint_of(n, formats)
    ]


def test_the_gadget_table_is_in_the_module(target):
    native = read_module(module(target)).entries
    native = native[native.abi == 64]
    decoded = set(native[native.decoded].syscall)
    missing = [n for n in gadget_syscalls(target.arch) if n not in set(native.syscall)]
    assert missing == [], f"gadget syscalls this architecture lacks: {missing}"
    assert [n for n in gadget_syscalls(target.arch) if n not in decoded] == []


def test_every_gadget_syscall_is_recorded_decoded(target, direct, formats):
    wanted, no_tracepoint = expected_syscalls(target, formats)
    assert not no_tracepoint, f"no tracepoint on this kernel: {no_tracepoint}"
    seen = {r.syscall for r in direct.records if r.args or not formats[tracepoint_of(r.syscall, formats)]}
    assert [n for n in wanted if n not in seen] == []


def test_argument_names_are_the_tracepoint_fields(direct, formats):
    checked = set()
    for rec in direct.records:
        if not rec.args:
            continue
        fields = [f for _, f in formats[tracepoint_of(rec.syscall, formats)]]
        names = arg_names(rec, fields)
        if len(names) < len(rec.args):
            missing = [f for f in fields if f not in names]
            assert len(missing) == 1, (rec.syscall, fields, names)
            fields.remove(missing[0])
        assert names == fields, (rec.syscall, fields, names)
        checked.add(rec.syscall)
    assert len(checked) >= 80


@pytest.fixture(scope="module")
def raw_compared(run, formats):
    return compare_run(run, formats, "raw")


@pytest.fixture(scope="module")
def sym_compared(run, formats):
    return compare_run(run, formats, "sym")


def test_values_match_strace_raw(target, raw_compared, formats):
    compared, _ = raw_compared
    wanted, _ = expected_syscalls(target, formats)
    assert [n for n in wanted if n not in compared] == []


def test_names_match_strace_symbolic(target, sym_compared, formats):
    compared, _ = sym_compared
    wanted, _ = expected_syscalls(target, formats)
    assert [n for n in wanted if n not in compared] == []


def test_deliberate_differences_are_documented_and_needed(raw_compared, sym_compared):
    used = raw_compared[1] + sym_compared[1]
    doc = (REPO / "docs" / "record-format.md").read_text()
    table = doc.split("## Deliberate differences from strace", 1)[1]
    rows = {row.split("|")[1].strip() for row in table.splitlines() if row.startswith("| ")}
    assert set(DIFFERENCES) <= rows, f"not in docs/record-format.md: {set(DIFFERENCES) - rows}"
    assert [d for d in DIFFERENCES if not used[d]] == [], "differences no call needed any more"
