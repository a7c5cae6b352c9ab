"""Build the initramfs the guest boots: busybox + strace base, /init, test files.

The image is two concatenated gzip'd cpio archives (the kernel unpacks them
in order): a base with busybox and strace that only changes when the host's
packages change, cached by content hash under .cache/initramfs/, and a small
per-run part with /init, the test script and the caller's files.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .cpio import CpioWriter
from .errors import TestbedError
from .kernel import Kernel
from .paths import cache_dir

FORMAT_VERSION = "1"  # bump when the base layout changes, to drop cached bases
BASE_DIRS = ("bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp", "run",
             "root", "etc", "out", "testbed")  # fmt: skip
LIB_DIRS = ("lib/{t}", "usr/lib/{t}", "lib", "usr/lib", "lib64", "usr/lib64")

# /init: PID 1 in the guest. Kept in busybox sh so it works on any arch.
# Lines between "FILE" and "END" markers are base64 of the gzip'd file (the
# serial line moves only ~270 KB/s under TCG, and records compress well); the
# console log level is dropped to 1 first so kernel messages cannot interleave.
INIT_TEMPLATE = r"""#!/bin/sh
/bin/busybox --install -s
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /etc/syscall-record /out /tmp
M='{marker}'
echo "$M BOOTED $(cut -d' ' -f1 /proc/uptime)"
cd /
# The script runs in its own session; whatever it leaves running in the
# background is killed when it exits, or it would hold tee's pipe open.
{{ setsid sh -c 'echo $$ >/testbed/pgid; exec sh /testbed/script.sh' </dev/null
  echo $? >/out/status
  kill -9 -"$(cat /testbed/pgid)" 2>/dev/null
}} 2>&1 | tee /out/console.txt
echo "$M SCRIPT-DONE $(cut -d' ' -f1 /proc/uptime)"
dmesg >/out/dmesg.txt
echo 1 >/proc/sys/kernel/printk
cd /out
find . -type f | sort | while IFS= read -r f; do
  echo "$M FILE $(sha256sum "$f" | cut -d' ' -f1) $(wc -c <"$f") ${{f#./}}"
  gzip -1 -c "$f" | base64
  echo "$M END"
done
echo "$M DONE $(cut -d' ' -f1 /proc/uptime)"
poweroff -f
"""


@dataclass(frozen=True)
class GuestFile:
    """One file to put in the image: its guest path, host source and mode."""

    guest: str
    host: Path
    mode: int


def build_initramfs(kernel: Kernel, files: dict[str, Path], script: str, marker: str, out: Path) -> Path:
    """Write the complete initrd for one run to out and return it."""
    run = CpioWriter()
    run.add_file("/init", INIT_TEMPLATE.format(marker=marker).encode(), 0o755)
    run.add_file("/testbed/script.sh", script.encode(), 0o755)
    for guest, host in files.items():
        if not guest.startswith("/"):
            raise TestbedError(f"guest path must be absolute: {guest!r}")
        run.add_file(guest, Path(host).read_bytes(), Path(host).stat().st_mode & 0o777)
    out.write_bytes(base_image(kernel) + gzip.compress(run.getvalue(), compresslevel=1))
    return out


def base_image(kernel: Kernel) -> bytes:
    """Return the gzip'd base cpio, rebuilding it only if its inputs changed."""
    entries = _base_entries(kernel)
    key = hashlib.sha256(FORMAT_VERSION.encode())
    for entry in entries:
        key.update(f"{entry.guest}\0{entry.mode:o}\0".encode())
        key.update(hashlib.sha256(entry.host.read_bytes()).digest())
    path = cache_dir() / "initramfs" / f"base-{kernel.arch}-{key.hexdigest()[:16]}.cpio.gz"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(gzip.compress(_base_cpio(entries), compresslevel=6))
        tmp.replace(path)  # atomic: concurrent runs never read half a file
    return path.read_bytes()


def _base_cpio(entries: list[GuestFile]) -> bytes:
    cpio = CpioWriter()
    for directory in BASE_DIRS:
        cpio.add_dir(directory)
    cpio.add_chardev("/dev/console", 5, 1)  # opened by the kernel before /init runs
    cpio.add_symlink("/bin/sh", "busybox")
    for entry in entries:
        cpio.add_file(entry.guest, entry.host.read_bytes(), entry.mode)
    return cpio.getvalue()


def _base_entries(kernel: Kernel) -> list[GuestFile]:
    """busybox, strace and every shared object strace needs, from the sysroot."""
    sysroot = kernel.sysroot
    busybox = sysroot / "bin" / "busybox"
    strace = sysroot / "usr" / "bin" / "strace"
    for path in (busybox, strace):
        if not path.is_file():
            raise TestbedError(f"{path} missing: run scripts/setup.sh")
    entries = [GuestFile("/bin/busybox", busybox, 0o755), GuestFile("/usr/bin/strace", strace, 0o755)]
    entries += _library_closure(strace, sysroot, kernel.spec.triplet)
    return entries


def _library_closure(binary: Path, sysroot: Path, triplet: str) -> list[GuestFile]:
    """The dynamic loader and all DT_NEEDED libraries, transitively.

    Read from the ELF headers with readelf rather than ldd, because ldd runs
    the binary and so cannot work for another architecture's sysroot.
    Libraries keep their directory, so the guest's ld.so finds them without
    an ld.so.cache.
    """
    found: dict[str, GuestFile] = {}
    interp = _interpreter(binary)
    if interp:
        found[interp] = GuestFile(interp, _host_path(sysroot, interp), 0o755)
    todo = [binary]
    while todo:
        for soname in _needed(todo.pop()):
            guest = _find_library(soname, sysroot, triplet)
            if guest not in found:
                found[guest] = GuestFile(guest, _host_path(sysroot, guest), 0o644)
                todo.append(found[guest].host)
    return sorted(found.values(), key=lambda entry: entry.guest)


def _readelf(args: list[str], path: Path) -> str:
    proc = subprocess.run(["readelf", "-W", *args, str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise TestbedError(f"readelf {' '.join(args)} {path} failed: {proc.stderr}")
    return proc.stdout


def _interpreter(binary: Path) -> str | None:
    match = re.search(r"Requesting program interpreter: (\S+)\]", _readelf(["-l"], binary))
    return match.group(1) if match else None


def _needed(path: Path) -> list[str]:
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", _readelf(["-d"], path))


def _find_library(soname: str, sysroot: Path, triplet: str) -> str:
    for template in LIB_DIRS:
        guest = "/" + template.format(t=triplet) + "/" + soname
        if _host_path(sysroot, guest).is_file():
            return guest
    raise TestbedError(f"shared library {soname} not found under {sysroot}")


def _host_path(sysroot: Path, guest: str) -> Path:
    """Host file for a guest path; resolve() follows the sysroot's symlinks."""
    return (sysroot / guest.lstrip("/")).resolve()
