"""Run a shell script in the test VM by hand, for debugging.

python -m scripts.testbed --file /x=path --script 'uname -a; cat /proc/version'
python -m scripts.testbed --module --script 'insmod /my_sysdig.ko; dmesg | tail'
python -m scripts.testbed --arch arm64 --series 6.12 --module --script 'insmod /my_sysdig.ko'
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .build import build_module
from .errors import TestbedError, VmTimeout
from .kernel import ARCH_ALIASES, ARCHES, SERIES, resolve_kernel
from .vm import VmResult, print_result, run_vm


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options; each maps onto one run_vm argument."""
    parser = argparse.ArgumentParser(
        prog="python -m scripts.testbed",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--script", default="uname -a", help="busybox sh snippet to run")
    parser.add_argument("--script-file", type=Path, help="read the script from a file")
    parser.add_argument(
        "--file",
        action="append",
        default=[],
        metavar="GUEST=HOST",
        help="put HOST at GUEST path in the VM (repeatable)",
    )
    parser.add_argument(
        "--module", action="store_true", help="build my_sysdig.ko and put it at /my_sysdig.ko"
    )
    parser.add_argument("--arch", default="x86_64", choices=sorted([*ARCHES, *ARCH_ALIASES]))
    parser.add_argument("--series", default="6.1", choices=SERIES, help="kernel series")
    parser.add_argument("--timeout", type=int, default=300)
    parser.add_argument("--mem", type=int, default=512, help="guest memory in MB")
    parser.add_argument("--icount", action="store_true", help="repeatable guest timing")
    parser.add_argument("--no-panic-on-oops", action="store_true")
    parser.add_argument("--out", type=Path, help="save the files from /out here")
    parser.add_argument("--quiet", action="store_true", help="do not stream the console")
    return parser.parse_args(argv)


def guest_files(specs: list[str]) -> dict[str, Path]:
    """Parse GUEST=HOST pairs, checking the host side exists."""
    files = {}
    for spec in specs:
        guest, sep, host = spec.partition("=")
        if not sep or not Path(host).is_file():
            raise TestbedError(f"--file wants GUEST=HOST with an existing HOST file: {spec!r}")
        files[guest] = Path(host)
    return files


def save_files(result: VmResult, out: Path) -> None:
    """Write /out's files below out, keeping their relative paths."""
    for name, data in result.files.items():
        if ".." in Path(name).parts:
            raise TestbedError(f"refusing to save {name!r} outside {out}")
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    print(f"saved {len(result.files)} files to {out}")


def main(argv: list[str] | None = None) -> int:
    """Exit with the script's status (or 1 on a kernel error or timeout)."""
    args = parse_args(argv)
    try:
        kernel = resolve_kernel(args.arch, args.series)
        files = guest_files(args.file)
        if args.module:
            files["/my_sysdig.ko"] = build_module(kernel)
        script = args.script_file.read_text() if args.script_file else args.script
        result = run_vm(
            kernel,
            files,
            script,
            timeout_s=args.timeout,
            icount=args.icount,
            mem_mb=args.mem,
            panic_on_oops=not args.no_panic_on_oops,
            echo=None if args.quiet else sys.stderr,
        )
    except VmTimeout as exc:
        print(exc, file=sys.stderr)
        return 1
    except TestbedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print_result(result)
    if args.out:
        save_files(result, args.out)
    if result.kernel_errors or result.status is None:
        return 1
    return result.status


if __name__ == "__main__":
    sys.exit(main())
