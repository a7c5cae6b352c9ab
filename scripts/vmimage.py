"""A Debian root disk for the guest, and runs of scripts on it.

The test bed's initramfs (scripts/testbed) only holds busybox; real
workloads (nginx, wrk, peer tracers) need a Debian userland. This module
builds one with debootstrap, packs it into an ext4 image cached under
.cache/images/, and boots it: the test bed's initramfs acts as stage 1, loads
Debian's virtio and ext4 modules, mounts the image (opened by QEMU with
snapshot=on, so every run starts from the same state) and runs the caller's
script with `G` (chroot into the image) at hand. Whatever the script leaves in
/mnt/results comes back as a tar written to a second virtio disk, which is
much faster than the serial console for megabytes of records.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from scripts.testbed import Kernel, TestbedError, VmResult, insmod_ready, run_vm
from scripts.testbed.paths import REPO_ROOT, cache_dir

SUITE = "bookworm"
IMAGE_FORMAT = "4"  # bump when configure_root() changes, to drop cached images
FREE_SPACE_MB = 1536  # room in the image for records, captures and traces
OUT_DISK_MB = 2048  # sparse on the host; the guest writes one tar to it

# Kernel modules the guest needs to see its disks, in load order. Their
# dependencies are resolved with modinfo, so an ABI bump that adds one is
# picked up. Up to 6.x, ext4 reaches crc32c through the crypto API, not as a
# symbol dependency, so the crc32c modules the kernel has go in before it:
# the generic one, and where there is one the CPU's, as on a Debian system
# (udev loads it for the CPU, ext4's softdep loads every crc32c). ext4
# checksums its metadata with whichever is loaded when it mounts, and the
# generic one costs about 2.5 guest instructions per byte where SSE4.2's
# costs 0.2. Later kernels have crc32c in lib/, a dependency like any other.
STAGE1_MODULES = ("virtio_pci", "virtio_blk", "ext4")
STAGE1_CRC_MODULES = ("crc32c_generic", "crc32c_intel")

# A static page like the one a real site would serve (~600 bytes).
INDEX_HTML = """<!DOCTYPE html>
<html>
<head><title>mysysdig test page</title></head>
<body>
<h1>mysysdig</h1>
<p>This page is served by nginx inside a QEMU guest while my_sysdig.ko records
the syscalls of the nginx processes. Every request reads this file through
sendfile and appends a line to the access log.</p>
<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod
tempor incididunt ut labore et dolore magna aliqua.</p>
</body>
</html>
"""

NGINX_SITE = """server {
\tlisten 127.0.0.1:80 default_server;
\troot /var/www/mysysdig;
\tindex index.html;
\tserver_name _;
\tlocation / {
\t\ttry_files $uri $uri/ =404;
\t}
}
"""


@dataclass(frozen=True)
class ImageSpec:
    """A root image: a name for humans and the packages debootstrap adds."""

    name: str
    packages: tuple[str, ...]


DEMO_IMAGE = ImageSpec("demo", ("nginx", "wrk", "busybox", "kmod", "procps", "netbase"))


def log(message: str) -> None:
    """A progress line on stdout, flushed at once."""
    print(message, flush=True)


def mirror_url() -> str:
    """The Debian mirror the host's apt uses (deb822 or one-line sources)."""
    candidates: list[str] = []
    sources = sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))
    for path in sources:
        for stanza in re.split(r"\n\s*\n", path.read_text()):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                key, _, value = line.partition(":")
                if not line.startswith("#") and value.strip():
                    fields[key.strip().lower()] = value.strip()
            if SUITE in fields.get("suites", "").split() and "deb" in fields.get("types", "").split():
                candidates += fields.get("uris", "").split()
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]:
        if path.is_file():
            for line in path.read_text().splitlines():
                match = re.match(rf"deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+{SUITE}\s", line + " ")
                if match:
                    candidates.append(match.group(1))
    for url in candidates:
        if "security" not in url:
            return url.rstrip("/")
    raise TestbedError(f"no Debian {SUITE} mirror found in /etc/apt sources")


def image_path(spec: ImageSpec) -> Path:
    """Where the finished image of spec is cached; the name changes with its inputs."""
    key = hashlib.sha256(
        "\0".join(
            [IMAGE_FORMAT, SUITE, mirror_url(), *sorted(spec.packages), INDEX_HTML, NGINX_SITE]
        ).encode()
    ).hexdigest()[:12]
    return cache_dir() / "images" / f"{spec.name}-{key}.ext4"


def build_image(spec: ImageSpec) -> Path:
    """Return the cached ext4 image of spec, building it first if needed."""
    final = image_path(spec)
    if final.exists():
        log(f"image: {final.relative_to(REPO_ROOT) if final.is_relative_to(REPO_ROOT) else final} (cached)")
        return final
    if os.geteuid() != 0:
        raise TestbedError("building the guest image needs root (debootstrap): run as root")
    for tool in ("debootstrap", "mkfs.ext4"):
        if shutil.which(tool) is None:
            raise TestbedError(f"{tool} not found: run scripts/setup-image.sh")
    final.parent.mkdir(parents=True, exist_ok=True)
    debs = cache_dir() / "debootstrap"
    debs.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"image-{spec.name}-", dir=final.parent) as tmp:
        root = Path(tmp) / "root"
        mirror = mirror_url()
        log(f"image: debootstrap {SUITE} minbase + {','.join(spec.packages)} from {mirror} (about 1-2 min)")
        _run(
            [
                "debootstrap", "--variant=minbase", f"--include={','.join(spec.packages)}",
                f"--cache-dir={debs}", SUITE, str(root), mirror,
            ],
            Path(tmp) / "debootstrap.log",
        )  # fmt: skip
        configure_root(root)
        used_mb = _du_mb(root)
        size_mb = used_mb + FREE_SPACE_MB
        log(f"image: mkfs.ext4 -d ({used_mb} MB used, {size_mb} MB image)")
        partial = Path(tmp) / "root.ext4"
        # Inode tables and journal written now: otherwise the guest's ext4lazyinit thread zeroes them in
        # the background during runs, stealing CPU and disk time at random points of a benchmark.
        _run(
            [
                "mkfs.ext4", "-q", "-F", "-L", "root", "-E", "lazy_itable_init=0,lazy_journal_init=0",
                "-d", str(root), str(partial), f"{size_mb}M",
            ]
        )  # fmt: skip
        partial.replace(final)
    for stale in final.parent.glob(f"{spec.name}-*.ext4"):
        if stale != final:
            stale.unlink()
    log(f"image: built {final.name} in {time.monotonic() - started:.0f} s")
    return final


def configure_root(root: Path) -> None:
    """Make the debootstrapped tree a bootable, small, nginx-serving guest root."""
    (root / "etc/hostname").write_text("guest\n")
    (root / "etc/hosts").write_text("127.0.0.1 localhost guest\n")
    (root / "etc/syscall-record").mkdir(parents=True, exist_ok=True)
    www = root / "var/www/mysysdig"
    www.mkdir(parents=True, exist_ok=True)
    (www / "index.html").write_text(INDEX_HTML)
    sites = root / "etc/nginx/sites-enabled"
    if sites.is_dir():
        for link in sites.iterdir():
            link.unlink()
        (root / "etc/nginx/sites-available/mysysdig").write_text(NGINX_SITE)
        (sites / "mysysdig").symlink_to("/etc/nginx/sites-available/mysysdig")
    # Not needed in a guest that lives for one run: docs, manuals, apt's state.
    for pattern in (
        "var/cache/apt/archives/*.deb",
        "var/lib/apt/lists/*",
        "usr/share/doc/*",
        "usr/share/man/*",
    ):
        for path in root.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def _du_mb(path: Path) -> int:
    out = subprocess.run(["du", "-sm", str(path)], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0])


def _run(cmd: Sequence[str], log_path: Path | None = None) -> None:
    """Run cmd; on failure raise with the tail of its output."""
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    output = proc.stdout + proc.stderr
    if log_path is not None:
        log_path.write_text(output)
    if proc.returncode != 0:
        raise TestbedError(f"{' '.join(cmd[:3])} ... failed (exit {proc.returncode}):\n{output[-3000:]}")


def stage1_modules(kernel: Kernel) -> list[Path]:
    """The .ko files of STAGE1_MODULES and their dependencies, in load order, ready for insmod.

    A module built into the kernel (virtio_pci from 6.12 on) needs no file and is left out.
    """
    by_name = {
        path.name.split(".ko")[0].replace("-", "_"): path for path in kernel.modules_dir.rglob("*.ko*")
    }
    builtin_list = kernel.modules_dir / "modules.builtin"
    builtin = {
        Path(line).name.split(".ko")[0].replace("-", "_")
        for line in (builtin_list.read_text().split() if builtin_list.exists() else [])
    }
    ordered: list[Path] = []

    def visit(name: str) -> None:
        name = name.replace("-", "_")
        if name in builtin:
            return
        path = by_name.get(name)
        if path is None:
            raise TestbedError(f"module {name} not found under {kernel.modules_dir}")
        if path in ordered:
            return
        depends = subprocess.run(
            ["modinfo", "-F", "depends", str(path)], capture_output=True, text=True, check=True
        ).stdout.strip()
        for dep in filter(None, depends.split(",")):
            visit(dep)
        ordered.append(path)

    crc = [name for name in STAGE1_CRC_MODULES if name in by_name]
    for name in (*STAGE1_MODULES[:-1], *crc, STAGE1_MODULES[-1]):
        visit(name)
    return [insmod_ready(kernel, path) for path in ordered]


# Runs in the initramfs before the caller's script: brings up the disk and
# defines helpers. G runs a command in the Debian root; say prints a progress
# line the host shows live.
STAGE1 = r"""
say() {{ echo "@@ $*"; }}
G() {{ chroot /mnt /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root TERM=dumb LANG=C "$@"; }}
# a CPU without the instructions refuses its crc32c: the generic one stays
for m in {modules}; do
  insmod /stage1/$m || case $m in crc32c-intel.*) ;; *) echo "stage1: insmod $m failed"; exit 90 ;; esac
done
n=0
while [ ! -b /dev/vda ] || [ ! -b /dev/vdb ]; do
  n=$((n + 1)); [ $n -lt 100 ] || {{ echo "stage1: no /dev/vda, /dev/vdb"; exit 91; }}; sleep 0.1
done
mkdir -p /mnt
mount -t ext4 /dev/vda /mnt || exit 92
mount -t proc proc /mnt/proc
mount -t sysfs sysfs /mnt/sys
mount -t devtmpfs devtmpfs /mnt/dev
mkdir -p /mnt/dev/pts /mnt/dev/shm
mount -t devpts devpts /mnt/dev/pts
mount -t tmpfs tmpfs /mnt/dev/shm
mount -t tmpfs tmpfs /mnt/run
mount -t tmpfs tmpfs /mnt/tmp
mount -t tracefs tracefs /mnt/sys/kernel/tracing
mount -t debugfs debugfs /mnt/sys/kernel/debug
ip link set lo up
mkdir -p /mnt/results
say "stage1: root mounted, $(cut -d' ' -f1 /proc/uptime) s after boot"
"""

# After the caller's script, whatever its status: the results go to /dev/vdb.
SAVE = r"""
cd /mnt/results && tar -cf /dev/vdb . && sync
cd /
exit $status
"""


@dataclass
class DiskRun:
    """A finished run on the root image: the test bed's result plus /mnt/results."""

    vm: VmResult
    results: dict[str, bytes]

    def text(self, name: str) -> str:
        """A file the guest left in /mnt/results, as text."""
        try:
            return self.results[name].decode(errors="replace")
        except KeyError:
            raise TestbedError(f"{name} not in the guest's results; got {sorted(self.results)}") from None


class ProgressEcho(io.TextIOBase):
    """Console stream for run_vm(echo=...): shows only the script's `say` lines."""

    def __init__(self, prefix: str = "  guest: ", show: Callable[[str], None] = log) -> None:
        super().__init__()
        self._prefix = prefix
        self._show = show
        self._partial = ""

    def write(self, text: str) -> int:
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            if line.startswith("@@ "):
                self._show(self._prefix + line[3:].rstrip("\r"))
        return len(text)

    def flush(self) -> None:
        sys.stdout.flush()


def run_on_image(
    kernel: Kernel,
    image: Path,
    script: str,
    files: dict[str, Path],
    *,
    timeout_s: int,
    icount: bool = False,
    mem_mb: int = 2048,
    echo: io.TextIOBase | None = None,
    qemu_args: Sequence[str] = (),
) -> DiskRun:
    """Boot kernel with image as /dev/vda (snapshot) and run script after STAGE1.

    files go into the initramfs (e.g. {"/files/my_sysdig.ko": ko}); the script
    copies what the Debian root needs into /mnt. It runs under busybox sh;
    `G cmd` runs cmd in the Debian root.
    """
    modules = stage1_modules(kernel)
    staged = {f"/stage1/{path.name}": path for path in modules}
    body = STAGE1.format(modules=" ".join(path.name for path in modules))
    with tempfile.TemporaryDirectory(prefix="vmimage-") as tmp:
        user = Path(tmp) / "user.sh"
        user.write_text(script)
        out_disk = Path(tmp) / "out.img"
        with open(out_disk, "wb") as disk:
            disk.truncate(OUT_DISK_MB * 1024 * 1024)
        full = body + "( . /stage1/user.sh )\nstatus=$?\n" + SAVE
        vm = run_vm(
            kernel,
            {**staged, **files, "/stage1/user.sh": user},
            full,
            timeout_s=timeout_s,
            icount=icount,
            mem_mb=mem_mb,
            qemu_args=[
                "-drive",
                f"file={image},format=raw,if=virtio,snapshot=on",
                "-drive",
                f"file={out_disk},format=raw,if=virtio",
                *qemu_args,
            ],  # fmt: skip
            echo=echo,  # type: ignore[arg-type]
        )
        results = _read_tar(out_disk)
    return DiskRun(vm=vm, results=results)


def _read_tar(path: Path) -> dict[str, bytes]:
    """Regular files of the tar at the start of path (empty if none was written)."""
    with open(path, "rb") as disk:
        if not disk.read(512).strip(b"\0"):
            return {}
    found: dict[str, bytes] = {}
    with tarfile.open(path, mode="r:") as tar:
        for member in tar:
            if member.isfile():
                data = tar.extractfile(member)
                if data is not None:
                    found[member.name.removeprefix("./")] = data.read()
    return found
