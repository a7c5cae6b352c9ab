"""Which guest kernel to boot, and the per-architecture facts needed to boot it.

Everything that differs between x86_64 and arm64 lives in ARCHES, and every
userland ABI the workloads are compiled for in USER_ABIS, so adding an
architecture means adding table rows (plus fetching its files in setup.sh).

A target is one architecture on one kernel series ("x86_64-6.1",
"arm64-6.12", "x86_64-7.3"). scripts/setup.sh resolves each target's kernel from the
package lists, unpacks it under .cache/kernels/<abi>/ and records the result
in .cache/targets/<target>.env; resolve_kernel() only reads that record, so
tests and setup always agree on the kernel and no version is hard-coded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import TestbedError
from .paths import cache_dir


@dataclass(frozen=True)
class ArchSpec:
    """How to build for and boot one guest architecture."""

    name: str  # uname -m inside the guest
    deb_arch: str  # Debian architecture of its kernel packages
    flavour: str  # Debian kernel flavour: linux-image-<flavour> metapackage
    qemu: str
    machine: str
    cpu: str
    console: str  # serial device the kernel console and /init talk on
    sysroot: str  # guest userland (busybox, strace, libs); relative = under the cache
    triplet: str  # multiarch library directory name
    make_args: tuple[str, ...]  # extra kbuild arguments (ARCH=, CROSS_COMPILE=)
    user64: str  # USER_ABIS key of the native 64-bit programs
    user32: str  # USER_ABIS key of the 32-bit (compat) programs

    @property
    def cc(self) -> str:
        """C compiler producing static native guest binaries."""
        return USER_ABIS[self.user64].cc


@dataclass(frozen=True)
class UserAbi:
    """A userland ABI static workload programs can be compiled for."""

    name: str
    cc: str
    bits: int


USER_ABIS: dict[str, UserAbi] = {
    "x86_64": UserAbi("x86_64", "gcc", 64),
    "i686": UserAbi("i686", "i686-linux-gnu-gcc", 32),  # ia32, runs on x86_64 kernels
    "aarch64": UserAbi("aarch64", "aarch64-linux-gnu-gcc", 64),
    "armhf": UserAbi("armhf", "arm-linux-gnueabihf-gcc", 32),  # AArch32, runs on arm64 kernels
}

ARCHES: dict[str, ArchSpec] = {
    "x86_64": ArchSpec(
        name="x86_64",
        deb_arch="amd64",
        flavour="amd64",
        qemu="qemu-system-x86_64",
        machine="q35",
        cpu="max",
        console="ttyS0",
        sysroot="/",
        triplet="x86_64-linux-gnu",
        make_args=(),
        user64="x86_64",
        user32="i686",
    ),
    # cortex-a57 boots fastest under TCG (-cpu max: 7.8 s, cortex-a57: 2-3 s).
    # 6.1's headers need ARCH/CROSS_COMPILE; 6.12's override both themselves.
    "arm64": ArchSpec(
        name="aarch64",
        deb_arch="arm64",
        flavour="arm64",
        qemu="qemu-system-aarch64",
        machine="virt",
        cpu="cortex-a57",
        console="ttyAMA0",
        sysroot="sysroots/arm64",  # dpkg-deb -x of busybox-static, strace + libs
        triplet="aarch64-linux-gnu",
        make_args=("ARCH=arm64", "CROSS_COMPILE=aarch64-linux-gnu-"),
        user64="aarch64",
        user32="armhf",
    ),
}
ARCH_ALIASES = {"aarch64": "arm64", "amd64": "x86_64"}

# bookworm (6.1), bookworm-backports (6.12), trixie-backports (7.3: the
# newest series it publishes with headers; scripts/setup.sh NEW_SERIES).
SERIES = ("6.1", "6.12", "7.3")

# Every kernel build: no BTF for the module (6.12's headers would run pahole,
# which the host lacks; the module loads fine without it).
COMMON_MAKE_ARGS = ("CONFIG_DEBUG_INFO_BTF_MODULES=",)


@dataclass(frozen=True)
class Kernel:
    """A guest kernel that is unpacked locally and has headers to build against."""

    arch: str
    abi: str
    vmlinuz: Path
    headers: Path
    modules_dir: Path
    series: str = "6.1"
    version: str = ""  # Debian package version
    chroot: Path | None = None  # root of the userland its headers' tools need, if not the host's

    @property
    def spec(self) -> ArchSpec:
        """The arch table row for this kernel."""
        return arch_spec(self.arch)

    @property
    def target(self) -> str:
        """The target id, e.g. "arm64-6.12"."""
        return f"{self.arch}-{self.series}"

    @property
    def make_args(self) -> tuple[str, ...]:
        """kbuild arguments for building a module against this kernel."""
        return self.spec.make_args + COMMON_MAKE_ARGS

    @property
    def sysroot(self) -> Path:
        """Host folder holding the guest's userland binaries and libraries."""
        return cache_dir() / self.spec.sysroot


@dataclass(frozen=True)
class Target:
    """One architecture on one kernel series: what a VM test runs on."""

    arch: str
    series: str

    @property
    def id(self) -> str:
        return f"{self.arch}-{self.series}"

    @property
    def spec(self) -> ArchSpec:
        return arch_spec(self.arch)

    def kernel(self) -> Kernel:
        return resolve_kernel(self.arch, self.series)

    def __str__(self) -> str:
        return self.id


ALL_TARGETS: tuple[Target, ...] = tuple(Target(arch, series) for arch in ARCHES for series in SERIES)


def _selected_targets() -> list[Target]:
    """ALL_TARGETS, or those named in MYSYSDIG_TARGETS (comma/space separated)."""
    chosen = os.environ.get("MYSYSDIG_TARGETS", "").replace(",", " ").split()
    return [parse_target(name) for name in chosen] if chosen else list(ALL_TARGETS)


def parse_target(name: str | Target) -> Target:
    """Parse "arm64-6.12" (or "aarch64-6.12") into a Target."""
    if isinstance(name, Target):
        return name
    arch, sep, series = name.rpartition("-")
    if not sep or series not in SERIES:
        raise TestbedError(f"bad target {name!r}: want <arch>-<series>, series one of {SERIES}")
    return Target(canonical_arch(arch), series)


def canonical_arch(arch: str) -> str:
    return ARCH_ALIASES.get(arch, arch)


def arch_spec(arch: str) -> ArchSpec:
    """Look up an architecture, naming the supported ones on a typo."""
    try:
        return ARCHES[canonical_arch(arch)]
    except KeyError:
        raise TestbedError(f"unknown arch {arch!r}; known: {', '.join(ARCHES)}") from None


def user_abi(name: str) -> UserAbi:
    """A userland ABI by name; a kernel arch name means its native ABI."""
    if name in USER_ABIS:
        return USER_ABIS[name]
    if canonical_arch(name) in ARCHES:
        return USER_ABIS[ARCHES[canonical_arch(name)].user64]
    raise TestbedError(f"unknown userland ABI {name!r}; known: {', '.join(USER_ABIS)}")


def read_target_record(target_id: str) -> dict[str, str]:
    """The key=value lines scripts/setup.sh wrote for a target."""
    path = cache_dir() / "targets" / f"{target_id}.env"
    if not path.is_file():
        raise TestbedError(f"no kernel for target {target_id} ({path} missing): run scripts/setup.sh")
    record = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            record[key.strip()] = value.strip()
    if "error" in record:
        raise TestbedError(f"target {target_id} is unavailable: {record['error']}")
    if not record.get("abi"):
        raise TestbedError(f"{path} names no kernel ABI: run scripts/setup.sh")
    return record


def resolve_kernel(arch: str = "x86_64", series: str = "6.1") -> Kernel:
    """The kernel scripts/setup.sh fetched for arch on series ("6.1", "6.12", "7.3").

    Fails with a message naming the missing piece (or why setup could not
    fetch it) rather than letting QEMU or make fail later with something
    cryptic. Never falls back to another kernel.
    """
    arch = canonical_arch(arch)
    arch_spec(arch)
    if series not in SERIES:
        raise TestbedError(f"unknown kernel series {series!r}; known: {', '.join(SERIES)}")
    record = read_target_record(f"{arch}-{series}")
    abi = record["abi"]
    root = cache_dir() / "kernels" / abi
    kernel = Kernel(
        arch=arch,
        abi=abi,
        vmlinuz=root / "boot" / f"vmlinuz-{abi}",
        headers=root / "usr" / "src" / f"linux-headers-{abi}",
        modules_dir=root / "lib" / "modules" / abi,
        series=series,
        version=record.get("version", ""),
        chroot=Path(record["chroot"]) if record.get("chroot") else None,
    )
    for what, path in (
        ("kernel image", kernel.vmlinuz),
        ("kernel modules", kernel.modules_dir),
        ("kernel headers", kernel.headers / "Makefile"),
        *([("build chroot", kernel.chroot / "usr" / "bin" / "make")] if kernel.chroot else []),
    ):
        if not path.exists():
            raise TestbedError(
                f"{what} for {arch}-{series} kernel {abi} missing ({path}): run scripts/setup.sh"
            )
    return kernel


TARGETS: list[Target] = _selected_targets()
