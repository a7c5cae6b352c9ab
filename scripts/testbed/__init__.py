"""Build my_sysdig.ko and boot it in QEMU: the kernel-module test bed.

The host kernel cannot load modules, so tests build the module against a
Debian kernel fetched by scripts/setup.sh and run it in a throwaway VM:

    kernel = resolve_kernel("arm64", "6.12")       # or TARGETS[i].kernel()
    ko = build_module(kernel)
    result = run_vm(kernel, {"/my_sysdig.ko": ko}, "insmod /my_sysdig.ko").check()

Targets are x86_64 and arm64 on Debian bookworm's 6.1, on 6.12 from
bookworm-backports and on 7.3 from trixie-backports (built in a trixie
chroot); TARGETS lists them (MYSYSDIG_TARGETS narrows it), with ids such as
"x86_64-6.1", "arm64-6.12" and "x86_64-7.3".
"""

from .build import build_module, build_static, crc32c_accelerator, insmod_ready
from .errors import TestbedError, VmTimeout
from .kernel import (
    ALL_TARGETS,
    ARCHES,
    SERIES,
    TARGETS,
    USER_ABIS,
    ArchSpec,
    Kernel,
    Target,
    UserAbi,
    parse_target,
    resolve_kernel,
)
from .vm import VmResult, kernel_errors, run_vm

__all__ = [
    "ALL_TARGETS",
    "ARCHES",
    "SERIES",
    "TARGETS",
    "USER_ABIS",
    "ArchSpec",
    "Kernel",
    "Target",
    "UserAbi",
    "TestbedError",
    "VmResult",
    "VmTimeout",
    "build_module",
    "build_static",
    "crc32c_accelerator",
    "insmod_ready",
    "kernel_errors",
    "parse_target",
    "resolve_kernel",
    "run_vm",
]
