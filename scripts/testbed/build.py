"""Build the kernel module and the static workload programs for a guest kernel."""

from __future__ import annotations

import fcntl
import filecmp
import hashlib
import lzma
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from fnmatch import fnmatch
from pathlib import Path

from .errors import TestbedError
from .kernel import Kernel, user_abi
from .paths import REPO_ROOT, cache_dir

# Kbuild output; never copied into the build tree so a stale object from an
# in-tree build cannot shadow a fresh one.
ARTEFACTS = (
    "*.o", "*.ko", "*.mod", "*.mod.c", "*.cmd", "modules.order", "Module.symvers",
    "*.a", "*.d", "*.dwo", ".tmp_*", "build.log",
)  # fmt: skip
MANIFEST = ".testbed-sources"  # in the build tree: what was mirrored last time


def build_module(
    kernel: Kernel,
    src_dir: Path = REPO_ROOT,
    *,
    module: str = "my_sysdig",
    make_args: Sequence[str] = (),
) -> Path:
    """Build <module>.ko from src_dir's Kbuild + kmod/ against kernel's headers.

    The sources are mirrored into .cache/build/<abi>/ so that builds for
    different kernels never share objects and the work tree stays clean. Only
    changed files are rewritten, so kbuild's incremental rebuild still works.
    """
    build_dir = _build_dir(kernel, src_dir)
    with _locked(build_dir.with_name(build_dir.name + ".lock")):
        _mirror_sources(src_dir, build_dir)
        _run_make(kernel, build_dir, make_args)
        return _find_ko(build_dir, module)


def build_static(
    sources: Sequence[Path],
    out_dir: Path,
    *,
    arch: str = "x86_64",
    cflags: Sequence[str] = (),
) -> list[Path]:
    """Compile each C file into a static binary named after it, in out_dir.

    arch is a userland ABI: "x86_64", "i686" (ia32), "aarch64" or "armhf"
    (AArch32); a kernel arch name ("arm64") means its native ABI. Static so
    the guest needs no libc; -Werror so a sloppy workload fails the build
    instead of misbehaving in the VM. A binary newer than its source (and
    built with the same command) is kept; concurrent callers (pytest-xdist)
    are serialised and each binary appears atomically.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    cc = user_abi(arch).cc
    outputs = []
    with _locked(out_dir / ".lock"):
        for src in sources:
            out = out_dir / Path(src).stem
            cmd = [cc, "-static", "-O1", "-Wall", "-Werror", *cflags, "-o", str(out), str(src)]
            stamp = out.with_name(f".{out.name}.cmd")
            if not _up_to_date(out, Path(src), stamp, cmd):
                tmp = out.with_name(f".{out.name}.tmp")
                _check_run([*cmd[:-2], str(tmp), str(src)], f"compiling {src} for {arch}")
                tmp.replace(out)
                stamp.write_text(" ".join(cmd))
            outputs.append(out)
    return outputs


def insmod_ready(kernel: Kernel, module: Path) -> Path:
    """module as busybox insmod takes it: uncompressed (Debian's kernels since 6.12 ship .ko.xz).

    The uncompressed copy is cached per kernel ABI.
    """
    if module.suffix != ".xz":
        return module
    out = cache_dir() / "build" / "modules" / kernel.abi / module.stem
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_bytes(lzma.decompress(module.read_bytes()))
        tmp.replace(out)
    return out


def crc32c_accelerator(kernel: Kernel) -> Path | None:
    """x86's crc32c-intel.ko from kernel's modules, ready for busybox insmod; None elsewhere.

    Before crc32c() in lib/ used the CPU (7.x), my_sysdig's binary and raw writers take their CRC-32C
    from the crypto API's "crc32c", which is this module when it is loaded; a guest without the
    kernel's modules must load it by hand.
    """
    found = sorted((kernel.modules_dir / "kernel/arch/x86/crypto").glob("crc32c-intel.ko*"))
    return insmod_ready(kernel, found[0]) if found else None


def _up_to_date(out: Path, src: Path, stamp: Path, cmd: list[str]) -> bool:
    return (
        out.is_file()
        and stamp.is_file()
        and stamp.read_text() == " ".join(cmd)
        and out.stat().st_mtime_ns >= src.stat().st_mtime_ns
    )


def _build_dir(kernel: Kernel, src_dir: Path) -> Path:
    """One build tree per kernel (and per source tree other than the repo's)."""
    base = cache_dir() / "build"
    name = f"{kernel.abi}"
    if Path(src_dir).resolve() != REPO_ROOT:
        digest = hashlib.sha256(str(Path(src_dir).resolve()).encode()).hexdigest()[:8]
        name += f"-{digest}"
    return base / name


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Serialise builds of one tree across processes (e.g. pytest-xdist)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _is_artefact(name: str) -> bool:
    return any(fnmatch(name, pattern) for pattern in ARTEFACTS)


def _source_files(src_dir: Path) -> dict[Path, Path]:
    """Map relative path -> source file for Kbuild and everything under kmod/.

    In a git work tree, files git ignores (objects, generated headers left by
    an in-tree `make`) are skipped, so only real sources reach the build.
    """
    if not (src_dir / "Kbuild").is_file():
        raise TestbedError(f"no Kbuild file in {src_dir}")
    listed = _git_files(src_dir)
    if listed is None:
        listed = [p.relative_to(src_dir) for p in (src_dir / "kmod").rglob("*") if p.is_file()]
        listed.append(Path("Kbuild"))
    return {
        rel: src_dir / rel
        for rel in sorted(listed)
        if (src_dir / rel).is_file() and not _is_artefact(rel.name)
    }


def _git_files(src_dir: Path) -> list[Path] | None:
    """Tracked plus untracked-but-not-ignored files, or None outside git."""
    proc = subprocess.run(
        ["git", "-C", str(src_dir), "ls-files", "-z", "--cached", "--others",
         "--exclude-standard", "--", "Kbuild", "kmod"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        return None
    return [Path(name) for name in proc.stdout.split("\0") if name]


def _mirror_sources(src_dir: Path, build_dir: Path) -> None:
    """Make build_dir's sources equal src_dir's, touching only what changed.

    A manifest of the files mirrored last time tells which ones vanished
    upstream and must go, without touching files kbuild generated itself.
    """
    wanted = _source_files(Path(src_dir))
    build_dir.mkdir(parents=True, exist_ok=True)
    manifest = build_dir / MANIFEST
    previous = manifest.read_text().splitlines() if manifest.exists() else []
    for gone in set(previous) - {str(rel) for rel in wanted}:
        (build_dir / gone).unlink(missing_ok=True)
    for rel, src in wanted.items():
        dest = build_dir / rel
        if dest.is_file() and filecmp.cmp(src, dest, shallow=False):
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)  # fresh mtime: make sees the change
    manifest.write_text("".join(f"{rel}\n" for rel in wanted))


# Runs "$@" chrooted into $1 with the cache ($2) bind-mounted at its own path
# inside, in a private mount namespace, so nothing stays mounted afterwards.
IN_CHROOT = """
root=$1 cache=$2
shift 2
mkdir -p "$root$cache"
mount --bind "$cache" "$root$cache"
mount -t proc proc "$root/proc"
exec chroot "$root" "$@"
"""


def _run_make(kernel: Kernel, build_dir: Path, make_args: Sequence[str]) -> None:
    cmd = [
        "make", f"-j{os.cpu_count() or 1}", "-C", str(kernel.headers), f"M={build_dir}",
        *kernel.make_args, *make_args, "modules",
    ]  # fmt: skip
    if kernel.chroot is not None:
        # Headers whose kbuild tools and compiler come from a newer Debian (scripts/setup.sh).
        cache = str(cache_dir().resolve())
        cmd = ["unshare", "--mount", "--propagation", "private", "--",
               "sh", "-euc", IN_CHROOT, "sh", str(kernel.chroot), cache, *cmd]  # fmt: skip
    log = _check_run(cmd, f"building module for {kernel.abi}")
    (build_dir / "build.log").write_text(log)


def _find_ko(build_dir: Path, module: str) -> Path:
    found = sorted(build_dir.rglob(f"{module}.ko"))
    if len(found) != 1:
        raise TestbedError(f"expected one {module}.ko under {build_dir}, found {found}")
    return found[0]


def _check_run(cmd: Sequence[str], what: str) -> str:
    """Run cmd; on failure raise with its output so the test log shows why."""
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise TestbedError(f"{what} failed ({' '.join(cmd)}):\n{output[-4000:]}")
    return output
