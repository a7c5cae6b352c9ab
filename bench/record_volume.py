"""Bytes per record of the text and binary formats for the nginx workload, measured in one VM boot.

    python -m bench.record_volume [--duration 5] [--out docs/record-volume.md]

Boots the demo image (scripts/vmimage.py) with -icount, records nginx under `wrk -t1 -c10` with
proc_name=nginx once per format, and compares the files' record bytes: the header of each format (the text
`#` lines; the binary file header) is left out, since it is written once per file whatever its length.
The records of both runs are decoded with mysysdig, so the counts come from the files themselves.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from mysysdig.decode.binary import iter_events as binary_events
from mysysdig.decode.binary import read_header
from mysysdig.decode.text import parse_text
from mysysdig.model import Record
from scripts.demo import parse_stats
from scripts.testbed import build_module, resolve_kernel
from scripts.vmimage import DEMO_IMAGE, build_image, run_on_image

SCRIPT = r"""
cp /files/my_sysdig.ko /mnt/root/my_sysdig.ko
G nginx || exit 11
sleep 1
for fmt in text binary; do
    G insmod /root/my_sysdig.ko proc_name=nginx format=$fmt || exit 10
    G wrk -t1 -c10 -d{duration}s http://127.0.0.1:80/ > /mnt/results/wrk-$fmt.txt 2>&1 || exit 12
    cat /proc/my_sysdig/stats > /mnt/results/stats-$fmt.txt
    G rmmod my_sysdig || exit 13
    cp /mnt/etc/syscall-record/record /mnt/results/record-$fmt || exit 14
done
"""


def text_volume(data: bytes) -> tuple[int, int]:
    text = data.decode("latin-1")
    records = sum(1 for e in parse_text(text) if isinstance(e, Record))
    header = sum(len(line) + 1 for line in text.splitlines() if line.startswith("#"))
    return records, len(data) - header


def binary_volume(data: bytes) -> tuple[int, int]:
    with tempfile.NamedTemporaryFile(suffix=".bin") as f:
        f.write(data)
        f.flush()
        records = sum(1 for e in binary_events(f.name) if isinstance(e, Record))
        with open(f.name, "rb") as g:
            header = 24 + len(read_header(g).text.encode("ascii", errors="replace"))
    return records, len(data) - header


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("docs/record-volume.md"))
    args = parser.parse_args(argv)
    kernel = resolve_kernel("x86_64", "6.1")
    run = run_on_image(
        kernel,
        build_image(DEMO_IMAGE),
        SCRIPT.format(duration=args.duration),
        {"/files/my_sysdig.ko": build_module(kernel)},
        timeout_s=1800,
        icount=True,
    )
    rows = {}
    for fmt, volume in (("text", text_volume), ("binary", binary_volume)):
        data = run.results[f"record-{fmt}"]
        records, body = volume(data)
        stats = parse_stats(run.results[f"stats-{fmt}.txt"].decode())
        dropped = sum(v for k, v in stats.items() if k.startswith("records_dropped"))
        rows[fmt] = (records, body, dropped)
    text_per, binary_per = (rows[f][1] / rows[f][0] for f in ("text", "binary"))
    table = "\n".join(
        [
            "# Record volume: text and binary, nginx under wrk",
            "",
            f"Command: `python -m bench.record_volume --duration {args.duration}`: one boot of the demo",
            "image with `-icount`, nginx recorded (proc_name=nginx) under `wrk -t1 -c10`, once per format.",
            "Bytes leave out each file's header (written once per file).",
            "",
            "| format | records | record bytes | bytes/record | dropped |",
            "| --- | --- | --- | --- | --- |",
            *(f"| {fmt} | {r:,} | {b:,} | {b / r:.1f} | {d} |" for fmt, (r, b, d) in rows.items()),
            "",
            f"Binary records take {binary_per / text_per:.2f} of the bytes of text records.",
            "",
        ]
    )
    args.out.write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
