"""Build my_sysdig.ko and boot it in QEMU: the kernel-module test bed.

The host kernel cannot load modules, so tests build the module against a
Debian kernel fetched by scripts/setup.sh and run it in a throwaway VM:

    kernel = resolve_kernel()
    ko = build_module(kernel)
    result = run_vm(kernel, {"/my_sysdig.ko": ko}, "insmod /my_sysdig.ko").check()
"""

from .build import build_module, build_static
from .errors import TestbedError, VmTimeout
from .kernel import ARCHES, ArchSpec, Kernel, resolve_kernel
from .vm import VmResult, kernel_errors, run_vm

__all__ = [
    "ARCHES",
    "ArchSpec",
    "Kernel",
    "TestbedError",
    "VmResult",
    "VmTimeout",
    "build_module",
    "build_static",
    "kernel_errors",
    "resolve_kernel",
    "run_vm",
]
