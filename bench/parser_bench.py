"""Throughput and memory of `mysysdig stats` on a generated record file.

    python bench/parser_bench.py                    # 2 GB file, default stats
    python bench/parser_bench.py --size 200M --args "--latency --errors --by process"

Writes a record file of realistic nginx-like lines (the mix of the seed's web-server recording: accept4,
epoll_wait, read with data, openat with symbolic flags, writev, close), runs `mysysdig stats` on it in a
child process, and reports records per CPU-second (user + system time of the child, so other load on the
machine does not count as ours) and the child's peak RSS. It also times the line parser that `parse`
uses on the first 200k lines, for comparison. Nothing here is a pass/fail test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time

LINES = [
    'pid={p}, accept4, fd=6, upeer_sockaddr={{family=AF_INET, addr="127.0.0.1", port={port}}}, '
    'upeer_addrlen=0x7ffd1c2a4e10, flags=SOCK_NONBLOCK, res={fd}, tid={p}, comm="nginx", abi=64, nr=288, '
    "ts={ts}, lat={lat}\n",
    "pid={p}, epoll_wait, epfd=8, events=0x7ffd1c2a4e10, maxevents=512, timeout=-1, res=1, tid={p}, "
    'comm="nginx", abi=64, nr=232, ts={ts}, lat={lat}\n',
    'pid={p}, read, fd={fd}, count=1024, res=78, data="GET / HTTP/1.1\\r\\nHost: localhost\\r\\nUser-Agent: '
    'ApacheBench/2.3\\r\\nAcc"..., tid={p}, comm="nginx", abi=64, nr=0, ts={ts}, lat={lat}\n',
    'pid={p}, openat, dfd=AT_FDCWD, filename="/usr/share/nginx/html/index.html", '
    'flags=O_RDONLY|O_NONBLOCK|O_CLOEXEC, mode=00, res=12, tid={p}, comm="nginx", abi=64, nr=257, '
    "ts={ts}, lat={lat}\n",
    'pid={p}, writev, fd={fd}, vec=0x7ffd1c2a4e10, vlen=2, res=853, tid={p}, comm="nginx", abi=64, nr=20, '
    "ts={ts}, lat={lat}\n",
    'pid={p}, close, fd={fd}, res=0, tid={p}, comm="nginx", abi=64, nr=3, ts={ts}, lat={lat}\n',
    'pid={p}, close, fd=99, res=-9, tid={p}, comm="nginx", abi=64, nr=3, ts={ts}, lat={lat}\n',
]
HEADER = "# mysysdig record v1 arch=x86_64 compat=ia32 release=6.1.0-56-amd64 snaplen=64\n"


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(float(text[:-1]) * units[text[-1].upper()]) if text[-1].upper() in units else int(text)


def generate(path: str, size: int, seed: int = 1) -> int:
    """Write about `size` bytes; returns the number of records. A 64 MB block is built once and repeated
    (timestamps repeat too, which no statistic here depends on), so gigabytes take seconds, not minutes."""
    rng = random.Random(seed)
    ts = 1_732_280_000_000_000_000
    block_lines = []
    length = 0
    while length < 64 << 20:
        ts += rng.randint(1_000, 50_000)
        line = rng.choice(LINES).format(
            p=rng.choice((22569, 22570)),
            fd=rng.randint(10, 400),
            port=rng.randint(30000, 60000),
            ts=ts,
            lat=rng.randint(300, 80_000),
        )
        block_lines.append(line)
        length += len(line)
    block = "".join(block_lines).encode()
    records = 0
    with open(path, "wb") as f:
        f.write(HEADER.encode())
        written = 0
        while written < size:
            f.write(block)
            written += len(block)
            records += len(block_lines)
    return records


def run_child(cmd: list[str]) -> tuple[float, int, float]:
    """(CPU seconds, peak RSS in bytes, wall seconds) of a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, after.ru_maxrss * 1024, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="2G", help="size of the generated file (default 2G)")
    ap.add_argument("--file", help="use this record file instead of generating one")
    ap.add_argument("--args", default="", help="extra arguments for mysysdig stats")
    ap.add_argument("--keep", action="store_true", help="keep the generated file")
    opts = ap.parse_args()

    tmpdir = None
    if opts.file:
        path = opts.file
        with open(path, "rb") as f:
            records = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 24), b""))
    else:
        tmpdir = tempfile.mkdtemp(prefix="mysysdig-bench-")
        path = os.path.join(tmpdir, "bench.record")
        t = time.monotonic()
        records = generate(path, parse_size(opts.size))
        took = time.monotonic() - t
        print(f"generated {os.path.getsize(path) / 1e9:.2f} GB, {records} records in {took:.1f}s")
    try:
        cmd = [
            sys.executable,
            "-c",
            "from mysysdig.cli import main; main()",
            "stats",
            path,
            *opts.args.split(),
        ]
        cpu, rss, wall = run_child(cmd)
        size = os.path.getsize(path)
        print(f"mysysdig stats {opts.args}".rstrip())
        print(f"  {records} records, {size / 1e9:.2f} GB")
        print(f"  CPU time {cpu:.1f}s (wall {wall:.1f}s): {records / cpu:,.0f} records per CPU-second")
        print(f"  peak RSS {rss / 2**20:.0f} MiB")

        from mysysdig.decode.text import parse_lines

        with open(path, encoding="latin-1", newline="\n") as f:
            head = [line for _, line in zip(range(200_000), f, strict=False)]
        t = time.process_time()
        n = sum(1 for _ in parse_lines(head))
        print(f"  line parser (mysysdig parse): {n / (time.process_time() - t):,.0f} lines per CPU-second")
    finally:
        if tmpdir and not opts.keep:
            os.remove(path)
            os.rmdir(tmpdir)
        elif tmpdir:
            print(f"kept {path}")


if __name__ == "__main__":
    main()
