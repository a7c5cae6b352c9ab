"""Boot a guest kernel in QEMU, run a shell script in it, collect its output.

Files come back over the serial console: /init prints each file under /out
gzip'd and base64-encoded between marker lines carrying a per-run nonce and a sha256,
and the host decodes and verifies them. The console is the one channel every
architecture and machine type has without extra kernel modules.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import fcntl
import gzip
import hashlib
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .errors import TestbedError, VmTimeout
from .initramfs import build_initramfs
from .kernel import Kernel

# Kernel messages that mean the kernel (most likely our module) misbehaved.
# Only lines carrying a printk timestamp are scanned, so a test script that
# echoes "BUG:" itself cannot trigger them.
KERNEL_ERROR_PATTERNS = (
    r"\bOops\b", r"\bBUG:", r"kernel BUG at", r"Call Trace:", r"general protection fault",
    r"Kernel panic", r"WARNING: CPU:", r"Unable to handle kernel", r"\bUBSAN:", r"\bKASAN:",
    r"list_(add|del) corruption", r"refcount_t:", r"detected stalls?", r"blocked for more than",
    r"stack-protector:", r"double fault",
)  # fmt: skip
_ERROR_RE = re.compile("|".join(KERNEL_ERROR_PATTERNS))
_KERNEL_LINE_RE = re.compile(r"\[\s*\d+\.\d{6}\]\s")
_BASE64_LINE_RE = re.compile(r"[A-Za-z0-9+/=]+")
_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded here: not safe after fork


@dataclass
class VmResult:
    """What one VM run produced."""

    console: str  # serial console, minus the base64 file transfer lines
    files: dict[str, bytes]  # everything under the guest's /out, by relative path
    status: int | None  # the script's exit status; None if it never finished
    kernel_errors: list[str]  # oops/BUG/WARNING/panic lines from console and dmesg
    timed_out: bool
    completed: bool  # /init sent every file and reached poweroff
    elapsed_s: float  # host wall-clock from QEMU start to exit
    boot_s: float | None = None  # host wall-clock until /init started
    command: list[str] = field(default_factory=list)  # the QEMU command line

    def text(self, name: str) -> str:
        """A file from /out decoded as text, e.g. result.text("console.txt")."""
        try:
            return self.files[name].decode(errors="replace")
        except KeyError:
            raise TestbedError(f"{name} not in /out; got {sorted(self.files)}") from None

    def check(self) -> VmResult:
        """Raise unless the script exited 0 with a clean kernel; return self."""
        problems = []
        if self.timed_out:
            problems.append("timed out")
        if self.kernel_errors:
            problems.append("kernel errors:\n  " + "\n  ".join(self.kernel_errors[:20]))
        if not self.completed:
            problems.append("guest did not finish sending /out")
        if self.status != 0:
            problems.append(f"script exit status {self.status}")
        if problems:
            raise TestbedError("VM run failed: " + "; ".join(problems) + "\n" + self.tail())
        return self

    def tail(self, lines: int = 40) -> str:
        """The end of the console, for error messages."""
        return "--- console tail ---\n" + "\n".join(self.console.splitlines()[-lines:])


def run_vm(
    kernel: Kernel,
    files: dict[str, Path],
    script: str,
    timeout_s: int = 300,
    icount: bool = False,
    mem_mb: int = 512,
    *,
    panic_on_oops: bool = True,
    append: str = "",
    qemu_args: Sequence[str] = (),
    raise_on_timeout: bool = True,
    echo: IO[str] | None = None,
) -> VmResult:
    """Boot kernel with files in an initramfs, run script (busybox sh), power off.

    The script's stdout+stderr land in /out/console.txt, its exit status in
    /out/status, and dmesg in /out/dmesg.txt; every file the script writes
    under /out comes back in VmResult.files. An oops panics the guest by
    default (panic_on_oops) so a broken module fails fast instead of hanging
    until the timeout. icount makes guest timing repeatable (needs -smp 1).
    echo streams the console live (e.g. sys.stderr) for debugging.
    """
    marker = f"@@TB-{secrets.token_hex(6)}"
    with tempfile.TemporaryDirectory(prefix="testbed-") as tmp:
        initrd = build_initramfs(kernel, files, script, marker, Path(tmp) / "initrd.gz")
        cmd = qemu_command(kernel, initrd, mem_mb, icount, panic_on_oops, append, qemu_args)
        raw, elapsed, boot_s, timed_out = _run_qemu(cmd, timeout_s, marker, echo)
    result = _make_result(raw, marker, elapsed, boot_s, timed_out, cmd)
    if timed_out and raise_on_timeout:
        raise VmTimeout(f"VM did not power off within {timeout_s}s\n{result.tail()}", result)
    return result


def qemu_command(
    kernel: Kernel,
    initrd: Path,
    mem_mb: int,
    icount: bool,
    panic_on_oops: bool,
    append: str,
    qemu_args: Sequence[str],
) -> list[str]:
    """The QEMU command line; arch differences come from the ARCHES table."""
    spec = kernel.spec
    # loglevel=5 (not quiet) so oops, Call Trace and WARNING lines, printed at
    # the default level 4, reach the console; panic=-1 + -no-reboot exits QEMU.
    cmdline = f"console={spec.console} loglevel=5 printk.time=1 panic=-1"
    if panic_on_oops:
        cmdline += " oops=panic"
    cmd = [
        spec.qemu, "-machine", spec.machine, "-cpu", spec.cpu, "-m", str(mem_mb),
        "-smp", "1", "-nographic", "-no-reboot", "-kernel", str(kernel.vmlinuz),
        "-initrd", str(initrd), "-append", f"{cmdline} {append}".strip(),
    ]  # fmt: skip
    if icount:
        cmd += ["-icount", "shift=3,sleep=off"]
    return cmd + list(qemu_args)


def _die_with_parent() -> None:
    """Kill QEMU if the test process dies, so no orphan eats the 2 cores."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _run_qemu(
    cmd: list[str], timeout_s: int, marker: str, echo: IO[str] | None
) -> tuple[bytes, float, float | None, bool]:
    """Run QEMU to exit or timeout; return console bytes, timings, timed_out."""
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
    except FileNotFoundError:
        raise TestbedError(f"{cmd[0]} not found: run scripts/setup.sh") from None
    _widen_pipe(proc)
    reader = _ConsoleReader(proc, marker, start, echo)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        proc.wait()
    finally:
        if proc.poll() is None:  # e.g. KeyboardInterrupt
            proc.kill()
            proc.wait()
    reader.join()
    return bytes(reader.data), time.monotonic() - start, reader.boot_s, timed_out


def _widen_pipe(proc: subprocess.Popen[bytes]) -> None:
    """Give QEMU's console pipe 1 MiB (the default pipe-max-size) instead of 64 KiB.

    x86's emulated 16550 drops a byte the chardev refuses a few times running (MAX_XMIT_RETRY in
    QEMU's hw/char/serial.c), and a full pipe refuses: a reader starved on a loaded host once cost
    a file transfer ("invalid distance too far back"). 1 MiB is about 4 s of console at TCG speed.
    """
    assert proc.stdout is not None
    with contextlib.suppress(OSError):
        fcntl.fcntl(proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)


class _ConsoleReader(threading.Thread):
    """Drains QEMU's stdout so it never blocks, notes when /init started."""

    def __init__(
        self, proc: subprocess.Popen[bytes], marker: str, start: float, echo: IO[str] | None
    ) -> None:
        super().__init__(daemon=True)
        self.proc = proc
        self.data = bytearray()
        self.boot_s: float | None = None
        self._boot_marker = f"{marker} BOOTED".encode()
        self._marker = marker
        self._start = start
        self._echo = echo
        self._partial = b""
        self._in_file = False

    def run(self) -> None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while chunk := os.read(fd, 65536):
            self.data += chunk
            if self.boot_s is None and self._boot_marker in self.data[-65536 - 64 :]:
                self.boot_s = time.monotonic() - self._start
            if self._echo is not None:
                self._echo_lines(chunk)

    def _echo_lines(self, chunk: bytes) -> None:
        """Echo whole lines, skipping base64 file bodies (megabytes of noise)."""
        assert self._echo is not None
        *lines, self._partial = (self._partial + chunk).split(b"\n")
        for raw in lines:
            line = raw.decode(errors="replace").rstrip("\r")
            if self._marker in line:
                self._in_file = " FILE " in line
            elif self._in_file and _BASE64_LINE_RE.fullmatch(line):
                continue
            self._echo.write(line + "\n")
        self._echo.flush()


def _make_result(
    raw: bytes, marker: str, elapsed: float, boot_s: float | None, timed_out: bool, cmd: list[str]
) -> VmResult:
    text = raw.decode(errors="replace").replace("\r\n", "\n").replace("\r", "")
    console, files, completed = parse_transfer(text, marker)
    status_text = files.get("status", b"").decode(errors="replace").strip()
    return VmResult(
        console=console,
        files=files,
        status=int(status_text) if status_text.lstrip("-").isdigit() else None,
        kernel_errors=kernel_errors(console, files.get("dmesg.txt", b"").decode(errors="replace")),
        timed_out=timed_out,
        completed=completed,
        elapsed_s=elapsed,
        boot_s=boot_s,
        command=cmd,
    )


def parse_transfer(text: str, marker: str) -> tuple[str, dict[str, bytes], bool]:
    """Split the console into (console without file bodies, files, saw DONE).

    A file is kept only if it arrived whole with a matching sha256; a file cut
    off by a panic is dropped, a corrupted one raises (transport bug).
    """
    console: list[str] = []
    files: dict[str, bytes] = {}
    current: list[str] | None = None
    header: list[str] = []
    completed = False
    for line in text.split("\n"):
        if marker in line:
            words = line[line.index(marker) + len(marker) :].split(maxsplit=3)
            verb = words[0] if words else ""
            if verb == "FILE" and len(words) == 4:
                header, current = words[1:], []
            elif verb == "END" and current is not None:
                name, data = _decode_file(header, current)
                files[name] = data
                current = None
            elif verb == "DONE":
                completed = True
        elif current is not None and _BASE64_LINE_RE.fullmatch(line):
            current.append(line)
            continue
        console.append(line)
    return "\n".join(console), files, completed


def _decode_file(header: list[str], body: list[str]) -> tuple[str, bytes]:
    digest, size, name = header
    try:
        data = gzip.decompress(base64.b64decode("".join(body)))
    except (ValueError, OSError, EOFError) as exc:
        raise TestbedError(f"/out/{name} garbled on the serial console: {exc}") from None
    if len(data) != int(size) or hashlib.sha256(data).hexdigest() != digest:
        raise TestbedError(
            f"/out/{name} corrupted on the serial console: got {len(data)} bytes, "
            f"expected {size} with sha256 {digest}"
        )
    return name, data


def kernel_errors(console: str, dmesg: str = "") -> list[str]:
    """Kernel error lines from the console and dmesg, each once, in order."""
    seen: dict[str, None] = {}
    for line in (console + "\n" + dmesg).split("\n"):
        stamp = _KERNEL_LINE_RE.search(line)
        if stamp and _ERROR_RE.search(line, stamp.end()):
            seen.setdefault(line[stamp.start() :].strip(), None)
    return list(seen)


def print_result(result: VmResult, out: IO[str] = sys.stdout) -> None:
    """One-paragraph summary, for the CLI and for debugging tests."""
    boot = f"{result.boot_s:.1f}s" if result.boot_s is not None else "never"
    out.write(
        f"status={result.status} completed={result.completed} timed_out={result.timed_out} "
        f"boot={boot} total={result.elapsed_s:.1f}s files={sorted(result.files)}\n"
    )
    for line in result.kernel_errors:
        out.write(f"KERNEL ERROR: {line}\n")
