"""Build what the overhead benchmark loads in the guest, cached under .cache/build/.

- probe_floor.ko (bench/floor/): empty sys_enter/sys_exit probes, the floor cost of any tracepoint tracer;
- scap.ko from Debian's falcosecurity-scap-dkms (sysdig's kernel driver);
- LTTng's 48 modules from Debian's lttng-modules-dkms, minus its timer probe, which does not build against
  current bookworm 6.1 headers (trace_hrtimer_start changed in a 6.1 stable update);
- scbench, the static syscall microbenchmark (bench/scbench.c);
- libinsnprof.so (bench/insnprof/), the QEMU plugin behind bench/profile_probe.py, against the
  qemu-plugin.h of Debian's qemu source (fetched once from the mirror).

The .deb files are downloaded by scripts/setup-image.sh (`bench`); nothing is installed on the host.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import urllib.request
from collections.abc import Callable
from pathlib import Path

from scripts.testbed import Kernel, TestbedError, build_static, crc32c_accelerator
from scripts.testbed.paths import REPO_ROOT, cache_dir
from scripts.vmimage import log, mirror_url

BENCH_DIR = REPO_ROOT / "bench"


def _run(cmd: list[str], cwd: Path | None, log_path: Path, what: str) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    log_path.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise TestbedError(f"{what} failed (log {log_path}):\n{(proc.stdout + proc.stderr)[-3000:]}")


def _deb(package: str) -> Path:
    found = sorted((cache_dir() / "debs").glob(f"{package}_*.deb"))
    if not found:
        raise TestbedError(f"{package} .deb missing under .cache/debs: run scripts/setup-image.sh bench")
    return found[-1]


def _strip(kos: list[Path], dest: Path) -> list[Path]:
    """Copy modules to dest without debug info (LTTng's are 68 MB with it, 6.5 MB without)."""
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for ko in kos:
        target = dest / ko.name
        shutil.copyfile(ko, target)
        subprocess.run(["strip", "--strip-debug", str(target)], check=True)
        out.append(target)
    return out


def _build_deb_modules(
    kernel: Kernel,
    package: str,
    patch: Callable[[Path], None],
    make: Callable[[Path], list[str]],
    subdir: str,
) -> list[Path]:
    """Unpack package's /usr/src/<subdir>*, patch it, build it; cached per .deb and ABI."""
    deb = _deb(package)
    base = cache_dir() / "build" / f"peers-{kernel.abi}" / deb.stem
    done = base / "ko"
    stamp = base / "built"
    # the stamp lists the modules; a .ko deleted since (a Kbuild "M=... clean" above .cache) rebuilds
    if stamp.exists() and all((done / name).is_file() for name in stamp.read_text().split()):
        return sorted(done.glob("*.ko"))
    log(f"bench: building {package} modules for {kernel.abi} (once; LTTng's take 2-3 min on 2 cores)")
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    unpacked = base / "deb"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
    sources = sorted((unpacked / "usr" / "src").glob(f"{subdir}*"))
    if len(sources) != 1:
        raise TestbedError(f"expected one /usr/src/{subdir}* in {deb.name}, found {sources}")
    src = sources[0]
    patch(src)
    _run(make(src), src, base / "build.log", f"building {package}")
    kos = sorted(src.rglob("*.ko"))
    if not kos:
        raise TestbedError(f"building {package} produced no .ko (log {base / 'build.log'})")
    result = _strip(kos, done)
    stamp.write_text("\n".join(ko.name for ko in result) + "\n")
    return result


def build_scap(kernel: Kernel) -> Path:
    """sysdig's driver, scap.ko."""

    def make(src: Path) -> list[str]:
        return ["make", f"-j{os.cpu_count() or 1}", "-C", str(kernel.headers), f"M={src}", "modules"]

    kos = _build_deb_modules(kernel, "falcosecurity-scap-dkms", lambda src: None, make, "scap-")
    found = [ko for ko in kos if ko.name == "scap.ko"]
    if not found:
        raise TestbedError(f"no scap.ko among {kos}")
    return found[0]


def build_lttng(kernel: Kernel) -> list[Path]:
    """LTTng's kernel modules (lttng-tracer.ko and friends), without the timer probe."""

    def patch(src: Path) -> None:
        kbuild = src / "src" / "probes" / "Kbuild"
        lines = kbuild.read_text().splitlines(keepends=True)
        kbuild.write_text("".join(line for line in lines if "lttng-probe-timer.o" not in line))

    def make(src: Path) -> list[str]:
        return ["make", f"-j{os.cpu_count() or 1}", f"KERNELDIR={kernel.headers}", "modules"]

    return _build_deb_modules(kernel, "lttng-modules-dkms", patch, make, "lttng-modules-")


def build_floor(kernel: Kernel) -> Path:
    """bench/floor/probe_floor.ko, built in .cache/build/floor-<abi>/."""
    build = cache_dir() / "build" / f"floor-{kernel.abi}"
    build.mkdir(parents=True, exist_ok=True)
    for name in ("Kbuild", "probe_floor.c"):
        src, dest = BENCH_DIR / "floor" / name, build / name
        if not dest.exists() or dest.read_bytes() != src.read_bytes():
            shutil.copyfile(src, dest)
    cmd = ["make", "-C", str(kernel.headers), f"M={build}", "modules"]
    _run(cmd, None, build / "build.log", "building probe_floor.ko")
    return build / "probe_floor.ko"


def build_scbench() -> Path:
    """bench/scbench.c as a static binary."""
    (out,) = build_static([BENCH_DIR / "scbench.c"], cache_dir() / "build" / "scbench-x86_64")
    return out


QEMU_SOURCE = "pool/main/q/qemu/qemu_7.2+dfsg.orig.tar.xz"  # Debian bookworm's qemu, plugin API version 1


def build_insnprof() -> Path:
    """bench/insnprof/insnprof.c as a QEMU plugin, in .cache/build/insnprof/."""
    work = cache_dir() / "build" / "insnprof"
    header = work / "include" / "qemu-plugin.h"
    if not header.exists():
        header.parent.mkdir(parents=True, exist_ok=True)
        tarball = work / Path(QEMU_SOURCE).name
        if not tarball.exists():
            log(f"insnprof: fetching {QEMU_SOURCE} (23 MB) for qemu-plugin.h")
            urllib.request.urlretrieve(f"{mirror_url()}/{QEMU_SOURCE}", tarball)
        with tarfile.open(tarball) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith("include/qemu/qemu-plugin.h"))
            source = tar.extractfile(member)
            if source is None:
                raise TestbedError(f"{member.name} in {tarball} is not a file")
            header.write_bytes(source.read())
    src, out = BENCH_DIR / "insnprof" / "insnprof.c", work / "libinsnprof.so"
    if not out.exists() or out.stat().st_mtime < src.stat().st_mtime:
        cmd = ["gcc", "-O2", "-Wall", "-Werror", "-shared", "-fPIC", f"-I{header.parent}", "-o", str(out)]
        _run([*cmd, str(src)], None, work / "build.log", "building libinsnprof.so")
    return out


def crc32c_module(kernel: Kernel) -> Path:
    """crc32c-intel.ko, for guests that boot without the bench image (whose initramfs loads it for
    ext4): the profiles run on x86_64 6.1 only."""
    module = crc32c_accelerator(kernel)
    if module is None:
        raise TestbedError(f"no crc32c-intel module under {kernel.modules_dir}")
    return module
