"""Which guest kernel to boot, and the per-architecture facts needed to boot it.

Everything that differs between x86_64 and arm64 lives in ARCHES, so adding an
architecture means adding one table row (plus fetching its files in setup.sh).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import TestbedError
from .paths import cache_dir


@dataclass(frozen=True)
class ArchSpec:
    """How to build for and boot one guest architecture."""

    name: str  # uname -m inside the guest
    flavour: str  # Debian kernel flavour: linux-image-<flavour> metapackage
    qemu: str
    machine: str
    cpu: str
    console: str  # serial device the kernel console and /init talk on
    sysroot: str  # guest userland (busybox, strace, libs); relative = under the cache
    triplet: str  # multiarch library directory name
    make_args: tuple[str, ...]  # extra kbuild arguments (ARCH=, CROSS_COMPILE=)
    cc: str  # C compiler producing static guest binaries


ARCHES: dict[str, ArchSpec] = {
    "x86_64": ArchSpec(
        name="x86_64",
        flavour="amd64",
        qemu="qemu-system-x86_64",
        machine="q35",
        cpu="max",
        console="ttyS0",
        sysroot="/",
        triplet="x86_64-linux-gnu",
        make_args=(),
        cc="gcc",
    ),
    # Not wired into setup.sh yet: see shared notes on arm64 for the download
    # and the kbuild link fix-up. cortex-a57 boots fastest under TCG.
    "aarch64": ArchSpec(
        name="aarch64",
        flavour="arm64",
        qemu="qemu-system-aarch64",
        machine="virt",
        cpu="cortex-a57",
        console="ttyAMA0",
        sysroot="sysroots/arm64",  # dpkg-deb -x of busybox-static, strace + libs
        triplet="aarch64-linux-gnu",
        make_args=("ARCH=arm64", "CROSS_COMPILE=aarch64-linux-gnu-"),
        cc="aarch64-linux-gnu-gcc",
    ),
}

HOST_ARCH = os.uname().machine


@dataclass(frozen=True)
class Kernel:
    """A guest kernel that is unpacked locally and has headers to build against."""

    arch: str
    abi: str
    vmlinuz: Path
    headers: Path
    modules_dir: Path

    @property
    def spec(self) -> ArchSpec:
        """The arch table row for this kernel."""
        return arch_spec(self.arch)

    @property
    def sysroot(self) -> Path:
        """Host folder holding the guest's userland binaries and libraries."""
        return cache_dir() / self.spec.sysroot


def arch_spec(arch: str) -> ArchSpec:
    """Look up an architecture, naming the supported ones on a typo."""
    try:
        return ARCHES[arch]
    except KeyError:
        raise TestbedError(f"unknown arch {arch!r}; known: {', '.join(ARCHES)}") from None


def current_abi(flavour: str) -> str:
    """Return the ABI that linux-image-<flavour> currently depends on.

    Debian renames the kernel package on every ABI bump, so this is read from
    apt instead of being hard-coded; MYSYSDIG_KERNEL_ABI pins it by hand.
    """
    pinned = os.environ.get("MYSYSDIG_KERNEL_ABI")
    if pinned:
        return pinned
    meta = f"linux-image-{flavour}"
    try:
        out = subprocess.run(
            ["apt-cache", "depends", meta], capture_output=True, text=True, check=False
        ).stdout
    except FileNotFoundError:
        raise TestbedError("apt-cache not found: the testbed needs a Debian host") from None
    match = re.search(rf"Depends: linux-image-(\S+-{re.escape(flavour)})$", out, re.M)
    if not match:
        raise TestbedError(f"cannot resolve the ABI of {meta} from apt: run scripts/setup.sh")
    return match.group(1)


def resolve_kernel(arch: str = "x86_64") -> Kernel:
    """Find the current Debian kernel for arch, unpacked by scripts/setup.sh.

    Fails with a message naming the missing piece rather than letting QEMU or
    make fail later with something cryptic.
    """
    spec = arch_spec(arch)
    abi = current_abi(spec.flavour)
    root = cache_dir() / "kernels" / abi
    kernel = Kernel(
        arch=arch,
        abi=abi,
        vmlinuz=root / "boot" / f"vmlinuz-{abi}",
        headers=_headers_dir(arch, abi, root),
        modules_dir=root / "lib" / "modules" / abi,
    )
    for what, path in (
        ("kernel image", kernel.vmlinuz),
        ("kernel modules", kernel.modules_dir),
        ("kernel headers", kernel.headers / "Makefile"),
    ):
        if not path.exists():
            raise TestbedError(f"{what} for {arch} kernel {abi} missing ({path}): run scripts/setup.sh")
    return kernel


def _headers_dir(arch: str, abi: str, root: Path) -> Path:
    """Native headers are installed by apt; foreign ones are unpacked in the cache."""
    if arch == HOST_ARCH:
        return Path("/usr/src") / f"linux-headers-{abi}"
    return root / "usr" / "src" / f"linux-headers-{abi}"
