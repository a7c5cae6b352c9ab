"""Benchmark of the binary record decoder: records per second and peak memory on a generated file.

    python -m bench.binary_decode [--records 20000000] [--out docs/binary-decode-bench.md]

The file mimics a web server's mix (epoll_wait, accept4 with a sockaddr, recvfrom with 64 captured bytes,
writev, close), written in blocks of 4096 records as the module writes them. Timing covers
mysysdig.decode.binary.iter_frames plus a per-syscall count, which is what `mysysdig stats` needs; it runs
in a child process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mysysdig.decode.binary import BLOCK_HEADER, FILE_HEADER, HEAD, VERSION, encode_varint
from mysysdig.decode.checksum import checksum

HEADER_TEXT = (
    "# mysysdig record v1 arch=x86_64 compat=ia32 release=bench snaplen=64\n"
    "#names 64 3=close 20=writev 45=recvfrom 232=epoll_wait 288=accept4\n"
    "#desc 64 3 fd:FD\n"
    "#desc 64 20 fd:FD vec:PTR vlen:ULONG\n"
    "#desc 64 45 fd:FD ubuf:BUF_RET size:ULONG flags:FLAGS:msg addr:SOCKADDR_OUT addr_len:PTR\n"
    "#desc 64 232 epfd:FD events:PTR maxevents:INT timeout:INT\n"
    "#desc 64 288 fd:FD upeer_sockaddr:SOCKADDR_OUT upeer_addrlen:PTR flags:FLAGS:socktype\n"
    "#render msg - MSG_DONTWAIT=0x40/0x40\n"
    "#render socktype - SOCK_STREAM=0x1/0xf SOCK_NONBLOCK=0x800/0x800\n"
    "#render af - AF_UNIX=0x1/0x1 AF_INET=0x2/0x2 AF_INET6=0xa/0xa\n"
)
BLOCK = 4096


def _var(args: list[int], captures: list[tuple[int, bytes]] = ()) -> bytes:  # type: ignore[assignment]
    out = b"".join(encode_varint(a) for a in args)
    for arg, data in captures:
        out += bytes([arg, 0]) + len(data).to_bytes(2, "little") + data
    return out


SOCKADDR = (2).to_bytes(2, "little") + (4711).to_bytes(2, "big") + bytes([127, 0, 0, 1]) + bytes(8)
# (nr, nargs, ncap, var): one request's calls in an nginx worker
MIX = [
    (232, 4, 0, _var([8, 0x7FFD0000, 512, -1])),
    (288, 4, 1, _var([6, 0x7FFD1000, 0x7FFD2000, 0x800], [(1, SOCKADDR)])),
    (
        45,
        6,
        1,
        _var(
            [12, 0x55550000, 1024, 0, 0, 0],
            [(1, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: wrk\r\n"[:64])],
        ),
    ),
    (20, 3, 0, _var([12, 0x7FFD3000, 2])),
    (232, 4, 0, _var([8, 0x7FFD0000, 512, -1])),
    (3, 1, 0, _var([12])),
]


def generate(path: Path, records: int) -> None:
    """Write `records` syscall records in module-sized blocks (same layout declarations as the reader)."""
    raw = HEADER_TEXT.encode()
    with open(path, "wb") as f:
        f.write(
            FILE_HEADER.build(
                {"byte_order": 0x01020304, "version": VERSION, "text_len": len(raw), "reserved": 0}
            )
        )
        f.write(raw)
        kinds = np.arange(BLOCK) % len(MIX)
        var = b"".join(MIX[k][3] for k in kinds)
        heads = np.zeros(BLOCK, dtype=HEAD)
        heads["type"] = 1
        heads["nr"] = [MIX[k][0] for k in kinds]
        heads["nargs"] = [MIX[k][1] for k in kinds]
        heads["ncap"] = [MIX[k][2] for k in kinds]
        heads["var_len"] = [len(MIX[k][3]) for k in kinds]
        heads["lat"] = 1000 + kinds * 37
        heads["res"] = kinds
        heads["tid"] = 4242
        thread = np.zeros(1, dtype=HEAD)
        thread[["type", "tid", "res", "var_len"]] = (2, 4242, 4242, 5)  # a thread record: pid in res
        done, ts = 0, 1_700_000_000_000_000_000
        while done < records:
            n = min(BLOCK, records - done)
            h = np.concatenate([thread, heads[:n]]) if done == 0 else heads[:n].copy()
            h["ts"][-n:] = ts + np.arange(n) * 1000
            v = (
                (b"nginx" if done == 0 else b"") + b"".join(MIX[k][3] for k in kinds[:n])
                if n < BLOCK
                else ((b"nginx" if done == 0 else b"") + var)
            )
            body = h.tobytes() + v
            crc = checksum(VERSION, b"", body)
            f.write(BLOCK_HEADER.build({"count": len(h), "var_bytes": len(v), "crc": crc}))
            f.write(body)
            done, ts = done + n, ts + n * 1000


def measure(path: Path) -> dict[str, float]:
    """Decode and count per syscall; run in its own process for a clean peak RSS."""
    from collections import Counter

    from mysysdig.decode.binary import iter_frames

    start = time.perf_counter()
    counts: Counter[str] = Counter()
    n = 0
    for frame in iter_frames(path):
        counts.update(frame["syscall"].value_counts().to_dict())
        n += len(frame)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"records": n, "seconds": seconds, "records_per_s": n / seconds, "peak_rss_mib": peak_kib / 1024}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=20_000_000)
    parser.add_argument("--out", type=Path, default=Path("docs/binary-decode-bench.md"))
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.bin"
        generate(path, args.records)
        size = path.stat().st_size
        out = subprocess.run(
            [sys.executable, "-m", "bench.binary_decode", "--measure", str(path)],
            check=True,
            capture_output=True,
            text=True,
        )
    result = json.loads(out.stdout)
    table = "\n".join(
        [
            "# Binary record decoding benchmark",
            "",
            f"Command: `python -m bench.binary_decode --records {args.records}` "
            f"(Python {platform.python_version()}, {platform.machine()}, one core).",
            "",
            "| records | file MiB | bytes/record | seconds | records/s | peak RSS MiB |",
            "| --- | --- | --- | --- | --- | --- |",
            f"| {result['records']:,} | {size / 2**20:.0f} | {size / result['records']:.1f} | "
            f"{result['seconds']:.2f} | {result['records_per_s']:,.0f} | {result['peak_rss_mib']:.0f} |",
            "",
            "What is timed: `mysysdig.decode.binary.iter_frames` (block CRC check, record heads decoded",
            "in bulk with numpy, syscall names, comm) plus a count per syscall: the work of `stats`.",
            "",
        ]
    )
    args.out.write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
