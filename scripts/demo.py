"""`make demo`: record nginx under load with my_sysdig.ko in a VM and summarise the records.

Builds (or reuses) a Debian bookworm guest image with nginx and wrk, boots Debian's 6.1 kernel in QEMU with
that image, loads my_sysdig.ko with proc_name=nginx, starts nginx, runs `wrk -t1 -c10 -d5s` against it,
unloads the module and brings the record file back on a virtio disk. Then prints wrk's requests/s, the
module's /proc/my_sysdig/stats counters, `mysysdig stats FILE --top 20` and the first records.

    python -m scripts.demo [--duration 5] [--keep DIR]

The guest runs under TCG without -icount, so requests/s are those of an emulated CPU (a few hundred per
second), not of the host.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from scripts.testbed import TestbedError, build_module, resolve_kernel
from scripts.testbed.paths import REPO_ROOT, cache_dir
from scripts.vmimage import DEMO_IMAGE, DiskRun, ProgressEcho, build_image, log, run_on_image

SAMPLE_RECORDS = 10

GUEST_SCRIPT = r"""
say "insmod my_sysdig.ko proc_name=nginx"
cp /files/my_sysdig.ko /mnt/root/my_sysdig.ko
G insmod /root/my_sysdig.ko proc_name=nginx || exit 10
say "starting nginx (records its start-up too)"
G nginx || exit 11
sleep 1
G ps -eo pid,comm,args | grep '[n]ginx' > /mnt/results/ps.txt
say "wrk -t1 -c10 -d{duration}s http://127.0.0.1:80/"
G wrk -t1 -c10 -d{duration}s http://127.0.0.1:80/ > /mnt/results/wrk.txt 2>&1 || exit 12
cat /proc/my_sysdig/stats > /mnt/results/stats.txt
say "rmmod my_sysdig"
G rmmod my_sysdig || exit 13
dmesg | grep my_sysdig > /mnt/results/dmesg.txt
cp /mnt/etc/syscall-record/record /mnt/results/record || exit 14
say "record file: $(wc -c < /mnt/results/record) bytes, $(wc -l < /mnt/results/record) lines"
"""


def parse_stats(text: str) -> dict[str, int]:
    """/proc/my_sysdig/stats: one `name value` pair per line."""
    stats: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            stats[parts[0]] = int(parts[1])
    return stats


def parse_wrk(text: str) -> dict[str, float]:
    """Requests/s, requests, duration and errors from wrk's report."""
    out: dict[str, float] = {}
    if match := re.search(r"Requests/sec:\s+([\d.]+)", text):
        out["requests_per_s"] = float(match.group(1))
    if match := re.search(r"(\d+) requests in ([\d.]+)(m?s)", text):
        out["requests"] = int(match.group(1))
        out["duration_s"] = float(match.group(2)) / (1000 if match.group(3) == "ms" else 1)
    if match := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text):
        out["non_2xx"] = int(match.group(1))
    if match := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text):
        out["socket_errors"] = sum(int(group) for group in match.groups())
    return out


def mysysdig_command() -> list[str]:
    """The installed `mysysdig` CLI, or the package run by this interpreter."""
    found = shutil.which("mysysdig")
    if found:
        return [found]
    return [
        sys.executable,
        "-c",
        "import sys; from mysysdig.cli import main; sys.argv[0] = 'mysysdig'; main()",
    ]


def run_setup() -> None:
    """Install debootstrap and e2fsprogs if missing (idempotent, quick when done)."""
    subprocess.run(["bash", str(REPO_ROOT / "scripts" / "setup-image.sh")], check=True)


def boot(duration: int) -> DiskRun:
    kernel = resolve_kernel()
    log(f"demo: building my_sysdig.ko for {kernel.abi}")
    ko = build_module(kernel)
    image = build_image(DEMO_IMAGE)
    log("demo: booting the guest (QEMU TCG, 1 vCPU)")
    started = time.monotonic()
    run = run_on_image(
        kernel,
        image,
        GUEST_SCRIPT.format(duration=duration),
        {"/files/my_sysdig.ko": ko},
        timeout_s=300 + 10 * duration,
        echo=ProgressEcho(),
    )
    log(f"demo: guest finished in {time.monotonic() - started:.0f} s")
    if run.vm.kernel_errors:
        raise TestbedError("kernel errors in the guest:\n  " + "\n  ".join(run.vm.kernel_errors[:20]))
    if run.vm.status != 0:
        raise TestbedError(f"guest script failed with status {run.vm.status}\n{run.vm.tail()}")
    run.vm.check()
    return run


def report(run: DiskRun, record: Path) -> int:
    """Print the summary; return the exit status (1 if the module lost records)."""
    wrk = parse_wrk(run.text("wrk.txt"))
    stats = parse_stats(run.text("stats.txt"))
    lines = run.results["record"].count(b"\n")
    print()
    print("== wrk -t1 -c10 against nginx, with my_sysdig recording nginx ==")
    print(run.text("wrk.txt").rstrip())
    print()
    print("== /proc/my_sysdig/stats just before rmmod ==")
    for name, value in stats.items():
        print(f"  {name:22} {value}")
    final = run.text("dmesg.txt").strip().splitlines()
    if final:
        print(f"  at rmmod (dmesg): {final[-1].split('] ', 1)[-1]}")
    requests = int(wrk.get("requests", 0))
    size = len(run.results["record"])
    print()
    print(f"== record file {record} ==")
    print(f"  {size} bytes, {lines} lines")
    if requests and lines:
        print(
            f"  {lines / requests:.1f} records and {size / requests:.0f} bytes per request; "
            f"{size / lines:.0f} bytes per record"
        )
    print()
    print(f"== mysysdig stats {record} --top 20 ==", flush=True)
    stats_run = subprocess.run([*mysysdig_command(), "stats", str(record), "--top", "20"], check=False)
    if stats_run.returncode != 0:
        print(f"(mysysdig stats exited with status {stats_run.returncode})")
    print()
    print(f"== first {SAMPLE_RECORDS} records (header lines starting with # not shown) ==")
    shown = 0
    with open(record, errors="replace") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            print(line.rstrip("\n")[:300])
            shown += 1
            if shown == SAMPLE_RECORDS:
                break
    print()
    rps = wrk.get("requests_per_s")
    print(f"requests/s: {rps if rps is not None else 'n/a (see wrk output above)'}")
    dropped = sum(value for name, value in stats.items() if name.startswith("records_dropped"))
    if dropped or stats.get("write_errors") or wrk.get("socket_errors") or wrk.get("non_2xx"):
        print(
            f"WARNING: dropped records {dropped}, write errors {stats.get('write_errors', 0)}, "
            f"wrk socket errors {wrk.get('socket_errors', 0)}, non-2xx {wrk.get('non_2xx', 0)}"
        )
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=5, help="wrk duration in seconds (default 5)")
    parser.add_argument(
        "--keep", type=Path, default=cache_dir() / "demo", help="where to keep the record file (.cache/demo)"
    )
    args = parser.parse_args()
    started = time.monotonic()
    run_setup()
    try:
        run = boot(args.duration)
    except TestbedError as exc:
        print(f"demo: FAILED: {exc}", file=sys.stderr)
        return 1
    args.keep.mkdir(parents=True, exist_ok=True)
    record = args.keep / "record"
    record.write_bytes(run.results["record"])
    for name in ("wrk.txt", "stats.txt", "ps.txt"):
        (args.keep / name).write_bytes(run.results.get(name, b""))
    status = report(run, record)
    print(f"demo: done in {time.monotonic() - started:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
