"""`make bench`: what does my_sysdig.ko cost a loaded web server, next to its peers (issue 6)?

One QEMU boot of Debian's 6.1 kernel on the bench image (nginx, wrk, ab, strace, sysdig, bpftrace, LTTng),
with `-icount shift=3,sleep=off -smp 1` so that guest time counts instructions and runs repeat to well under
1%. Every case runs in that one boot, in the same order, for each round:

  load phase   tracer on, `wrk -t1 -c10 -d10s` against nginx on 127.0.0.1 (then `ab -c 100 -n N`), tracer off
  micro phase  tracer on, bench/scbench: N x getppid, N x 4 KiB read of a file, N x 64-byte write to
               /dev/null, timed in the guest with clock_gettime; tracer off

After the rounds, --miss-pairs more load phases (wrk only) of the empty probes and the filter miss, back
to back, alternating which goes first: that target is a gap about as small as one run's spread.

In the micro phase the "target" of a case (the process my_sysdig's proc_name, LTTng's pid tracker or strace
picks) is scbench itself instead of the nginx worker. Guest nanoseconds under -icount are instruction counts:
only ratios to the baseline mean anything.

Writes bench/results.json (everything measured) and bench/results.md (tables).

    python -m scripts.bench [--rounds 2] [--duration 10] [--ab 5000] [--n 100000] [--cases a,b]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.benchbuild import (
    build_floor,
    build_insnprof,
    build_lttng,
    build_scap,
    build_scbench,
)
from scripts.testbed import TestbedError, build_module, resolve_kernel
from scripts.testbed.paths import REPO_ROOT
from scripts.vmimage import DEMO_IMAGE, DiskRun, ImageSpec, ProgressEcho, build_image, log, run_on_image

BENCH_IMAGE = ImageSpec(
    "bench", DEMO_IMAGE.packages + ("apache2-utils", "strace", "sysdig", "bpftrace", "lttng-tools")
)
RESULTS_JSON = REPO_ROOT / "bench" / "results.json"
RESULTS_MD = REPO_ROOT / "bench" / "results.md"
MICRO_CALLS = ("getppid", "read4k", "write64")


@dataclass(frozen=True)
class Case:
    """One configuration; the guest script defines on_<id> and off_<id>."""

    id: str
    label: str
    micro_label: str = ""  # when the micro phase traces something else than the load phase

    @property
    def micro(self) -> str:
        return self.micro_label or self.label


CASES = (
    Case("baseline", "no tracer"),
    Case("floor", "empty sys_enter/sys_exit probes (bench/floor)"),
    Case("mysysdig_nomatch", "my_sysdig proc_name=nomatch (filter matches nothing)"),
    Case("mysysdig_nginx", "my_sysdig proc_name=nginx", "my_sysdig proc_name=scbench"),
    Case(
        "mysysdig_nginx_bin",
        "my_sysdig proc_name=nginx format=binary",
        "my_sysdig proc_name=scbench format=binary",
    ),
    Case(
        "mysysdig_nginx_raw",
        "my_sysdig proc_name=nginx format=raw",
        "my_sysdig proc_name=scbench format=raw",
    ),
    Case(
        "mysysdig_nginx_buffered",
        "my_sysdig proc_name=nginx direct_io=0",
        "my_sysdig proc_name=scbench direct_io=0",
    ),
    Case(
        "mysysdig_nginx_bin_buffered",
        "my_sysdig proc_name=nginx format=binary direct_io=0",
        "my_sysdig proc_name=scbench format=binary direct_io=0",
    ),
    Case("mysysdig_all", "my_sysdig, no filter (every process)"),
    Case("mysysdig_all_bin", "my_sysdig, no filter (every process), format=binary"),
    Case(
        "mysysdig_deferred",
        "diagnostic: my_sysdig proc_name=nginx, writer deferred "
        "(flush_ms=10000 ring_kb=65536; wrk -d8s, no ab)",
        "diagnostic: my_sysdig proc_name=scbench, writer deferred (flush_ms=10000 ring_kb=65536)",
    ),
    Case("lttng_none", "LTTng all syscalls, pid tracker matching nothing"),
    Case(
        "lttng_worker", "LTTng all syscalls, pid tracker = nginx worker", "LTTng all syscalls, pid = scbench"
    ),
    Case("lttng_all", "LTTng all syscalls, every process"),
    Case("sysdig", "sysdig -w capture (every process)"),
    Case("bpftrace", "bpftrace: count raw_syscalls:sys_enter by comm"),
    Case("strace", "strace -f attached to the nginx worker", "strace -f on scbench"),
)

# Runs in the initramfs after vmimage.STAGE1; G runs a command in the Debian root (/mnt from here).
GUEST_SCRIPT = r"""
READBACK={readback}  # 0 when profiled: text's line counts would read the whole file back
ABI='{abi}'; N={n}; NSTRACE={n_strace}; DUR={duration}; AB={ab}; ROUNDS='{rounds}'; CASES='{cases}'
MISS_PAIRS={miss_pairs}
R=/mnt/results
up() {{ cut -d' ' -f1 /proc/uptime; }}
fail() {{ echo "$*" >> $R/errors.txt; say "ERROR: $*"; }}
meta() {{ echo "$1 $2" >> $P.meta; }}

# bg_start NAME CMD...: CMD in the Debian root in the background; its pid in /mnt/tmp/NAME.pid
bg_start() {{
  bg_name=$1; shift; rm -f /mnt/tmp/$bg_name.pid
  G sh -c 'echo $$ > /tmp/'"$bg_name"'.pid; exec "$@"' sh "$@" &
  eval "JOB_$bg_name=\$!"
  i=0; until [ -s /mnt/tmp/$bg_name.pid ]; do i=$((i + 1)); [ $i -lt 300 ] || return 1; sleep 0.1; done
}}
bg_pid() {{ cat /mnt/tmp/$1.pid; }}
# gone PID: the process has exited (a zombie waiting for `wait` counts)
gone() {{ ! kill -0 $1 2>/dev/null || grep -q '^State:[[:space:]]*Z' /proc/$1/status 2>/dev/null; }}
# bg_stop NAME [SIGNAL]: signal it (INT by default), give it 60 s to exit, then KILL it, so that a
# tracer that ignores the signal fails its case (errors.txt) instead of hanging the whole run
bg_stop() {{
  bs_pid=$(bg_pid $1); kill -${{2:-INT}} "$bs_pid" 2>/dev/null
  if ! wait_for 60 gone "$bs_pid"; then fail "$1 did not exit on SIG${{2:-INT}}"; kill -KILL "$bs_pid"; fi
  eval "wait \$JOB_$1"
}}
# wait_for SECONDS CMD...: poll until CMD succeeds
wait_for() {{
  w_max=$(($1 * 10)); shift; i=0
  until "$@"; do i=$((i + 1)); [ $i -lt $w_max ] || return 1; sleep 0.1; done
}}

on_baseline() {{ :; }}
off_baseline() {{ :; }}

on_floor() {{ G insmod /root/probe_floor.ko; }}
off_floor() {{ G rmmod probe_floor; }}

ms_on() {{ G insmod /root/my_sysdig.ko "$@" {module_args}; }}
ms_off() {{
  cat /proc/my_sysdig/stats > $P.stats
  grep '\[my_sysdig\]' /proc/kallsyms > $P.kallsyms
  G rmmod my_sysdig || return 1
  dmesg | grep 'my_sysdig: stopped' | tail -n 1 > $P.final
  # stat, not wc -c: reading the file back adds its bytes to a profile of the whole boot
  meta trace_bytes "$(G stat -c %s /etc/syscall-record/record)"
  if [ "$1" = binary ]; then
    # file header: 24 bytes, then text_len (little-endian u32 at offset 16) bytes of header text
    tl=$(G od --endian=little -An -tu4 -j16 -N4 /etc/syscall-record/record | tr -d ' ')
    if [ -n "$tl" ]; then meta header_bytes "$((24 + tl))"; else fail "$c: no binary file header"; fi
  elif [ $READBACK = 1 ]; then  # not when profiled: text's whole file read back
    meta trace_lines "$(wc -l < /mnt/etc/syscall-record/record)"
    meta header_bytes "$(grep '^#' /mnt/etc/syscall-record/record | wc -c)"
    meta drop_markers "$(grep -c '^drop=' /mnt/etc/syscall-record/record)"
  fi
  head -c 100000 /mnt/etc/syscall-record/record > $P.record-head
  rm -f /mnt/etc/syscall-record/record
}}
on_mysysdig_nomatch() {{ ms_on proc_name=nomatch; }}
off_mysysdig_nomatch() {{ ms_off; }}
on_mysysdig_nginx() {{ ms_on proc_name=$TCOMM; }}
off_mysysdig_nginx() {{ ms_off; }}
on_mysysdig_nginx_bin() {{ ms_on proc_name=$TCOMM format=binary; }}
off_mysysdig_nginx_bin() {{ ms_off binary; }}
on_mysysdig_nginx_raw() {{ ms_on proc_name=$TCOMM format=raw; }}
off_mysysdig_nginx_raw() {{ ms_off binary; }}
on_mysysdig_nginx_buffered() {{ ms_on proc_name=$TCOMM direct_io=0; }}
off_mysysdig_nginx_buffered() {{ ms_off; }}
on_mysysdig_nginx_bin_buffered() {{ ms_on proc_name=$TCOMM format=binary direct_io=0; }}
off_mysysdig_nginx_bin_buffered() {{ ms_off binary; }}
on_mysysdig_all() {{ ms_on; }}
off_mysysdig_all() {{ ms_off; }}
on_mysysdig_all_bin() {{ ms_on format=binary; }}
off_mysysdig_all_bin() {{ ms_off binary; }}
# The writer's first drain after insmod comes 10 s later and the ring holds everything until then, so
# wrk -d8s and the scbench loop (~4 s) see the probe's own cost, without rendering and file writes.
on_mysysdig_deferred() {{ ms_on proc_name=$TCOMM flush_ms=10000 ring_kb=65536; }}
off_mysysdig_deferred() {{ ms_off; }}

lt_on() {{
  G lttng create bench --output=/root/lttng-trace > $P.lttng 2>&1 || return 1
  G lttng enable-event --kernel --syscall --all >> $P.lttng 2>&1 || return 1
  case $1 in
    none) G lttng untrack --kernel --all --pid >> $P.lttng 2>&1 || return 1 ;;
    target) G lttng untrack --kernel --all --pid >> $P.lttng 2>&1 &&
            G lttng track --kernel --pid=$TPID >> $P.lttng 2>&1 || return 1 ;;
  esac
  G lttng start >> $P.lttng 2>&1
}}
lt_off() {{
  G lttng stop >> $P.lttng 2>&1
  G lttng destroy >> $P.lttng 2>&1
  meta trace_bytes "$(du -sb /mnt/root/lttng-trace | cut -f1)"
  rm -rf /mnt/root/lttng-trace
}}
on_lttng_none() {{ lt_on none; }}
off_lttng_none() {{ lt_off; }}
on_lttng_worker() {{ lt_on target; }}
off_lttng_worker() {{ lt_off; }}
on_lttng_all() {{ lt_on all; }}
off_lttng_all() {{ lt_off; }}

scap_open() {{ ls -l /proc/$(bg_pid sysdig)/fd 2>/dev/null | grep -q scap; }}
on_sysdig() {{
  G insmod /root/scap.ko || return 1
  bg_start sysdig sysdig -w /root/capture.scap > $P.sysdig 2>&1 || return 1
  wait_for 60 scap_open || return 1
  sleep 1
}}
off_sysdig() {{
  bg_stop sysdig INT
  meta trace_bytes "$(wc -c < /mnt/root/capture.scap)"
  rm -f /mnt/root/capture.scap
  G rmmod scap
}}

# "Attaching 1 probe..." may sit in stdio's buffer: its perf event fd says the probe is attached.
BPF_PROG='tracepoint:raw_syscalls:sys_enter {{ @[comm] = count(); }}'
bpf_ready() {{
  grep -q Attaching $P.bpftrace || ls -l /proc/$(bg_pid bpftrace)/fd 2>/dev/null | grep -q perf_event
}}
on_bpftrace() {{
  bg_start bpftrace bpftrace -e "$BPF_PROG" > $P.bpftrace 2>&1 || return 1
  wait_for 120 bpf_ready
}}
off_bpftrace() {{ bg_stop bpftrace INT; }}

traced() {{ ! grep -q '^TracerPid:[[:space:]]*0$' /proc/$TPID/status; }}
on_strace() {{
  bg_start strace strace -f -qq -o /root/strace.out -p $TPID || return 1
  wait_for 60 traced
}}
off_strace() {{
  bg_stop strace INT
  meta trace_bytes "$(wc -c < /mnt/root/strace.out)"
  rm -f /mnt/root/strace.out
}}

phase_load() {{
  c=$1; P=$R/$c.$2.load; TPID=$WORKER; TCOMM=nginx; dur=$DUR; ab=$AB
  case $2 in m*) ab=0 ;; esac  # the filter-miss pairs: wrk only
  # the deferred writer's first drain comes 10 s after insmod: measure before it
  if [ $c = mysysdig_deferred ]; then ab=0; [ $dur -le 8 ] || dur=8; fi
  say "round $2: $c: wrk -d${{dur}}s$( [ $ab -gt 0 ] && echo ", ab -n $ab")"
  sync
  meta start "$(up)"
  on_$c load || fail "$c round $2 load: tracer did not start"
  meta on "$(up)"
  sleep 1
  G wrk -t1 -c10 -d${{dur}}s http://127.0.0.1:80/ > $P.wrk 2>&1 || fail "$c round $2: wrk failed"
  if [ $ab -gt 0 ]; then
    G ab -q -c 100 -n $ab http://127.0.0.1:80/ > $P.ab 2>&1 || fail "$c round $2: ab failed"
  fi
  meta measured "$(up)"
  off_$c load || fail "$c round $2 load: tracer did not stop cleanly"
  meta end "$(up)"
}}

stopped() {{ grep -q '^State:[[:space:]]*T' /proc/$TPID/status 2>/dev/null; }}
phase_micro() {{
  c=$1; P=$R/$c.$2.micro; n=$N; [ $c = strace ] && n=$NSTRACE
  say "round $2: $c: scbench $n"
  sync
  meta start "$(up)"
  rm -f /mnt/tmp/scbench.pid
  # scbench stops itself before its exec, so the tracer can be pointed at its pid first
  G sh -c 'echo $$ > /tmp/scbench.pid; kill -STOP $$; exec "$@"' sh /root/scbench $n /root/file1m \
    > $P.out 2>&1 &
  job=$!
  wait_for 30 test -s /mnt/tmp/scbench.pid || fail "$c round $2: scbench did not start"
  TPID=$(cat /mnt/tmp/scbench.pid); TCOMM=scbench
  wait_for 30 stopped || fail "$c round $2: scbench did not stop itself"
  on_$c micro || fail "$c round $2 micro: tracer did not start"
  meta on "$(up)"
  sleep 1
  kill -CONT $TPID
  wait $job || fail "$c round $2: scbench failed"
  meta measured "$(up)"
  off_$c micro || fail "$c round $2 micro: tracer did not stop cleanly"
  meta end "$(up)"
}}

say "preparing the guest root"
cp /files/my_sysdig.ko /files/probe_floor.ko /files/scap.ko /files/scbench /mnt/root/
mkdir -p /mnt/lib/modules/$ABI/extra
cp /files/lttng/*.ko /mnt/lib/modules/$ABI/extra/
cp /files/kmeta/* /mnt/lib/modules/$ABI/
G depmod $ABI || fail "depmod failed"
# scbench reads text (records show it with few escapes, as they would a served page or a config file)
yes 'The quick brown fox jumps over the lazy dog.' | head -c 1048576 > /mnt/root/file1m
G nginx || {{ fail "nginx did not start"; exit 1; }}
sleep 1
WORKER=$(G pgrep -f 'nginx: worker' | head -n 1)
[ -n "$WORKER" ] || {{ fail "no nginx worker"; exit 1; }}
say "starting lttng-sessiond (loads the LTTng modules)"
G lttng-sessiond -d > $R/lttng-sessiond.txt 2>&1 || fail "lttng-sessiond failed"
wait_for 120 sh -c 'lsmod | grep -q lttng_tracer' || fail "LTTng modules not loaded"
G lttng list > /dev/null 2>&1 || fail "lttng list failed"
lsmod > $R/lsmod.txt
cat /proc/kallsyms > $R/kallsyms.txt
G wrk -t1 -c10 -d2s http://127.0.0.1:80/ > $R/warmup.wrk 2>&1
for r in $ROUNDS; do
  for c in $CASES; do
    phase_load $c $r
    phase_micro $c $r
  done
done
# The filter-miss target is a gap of a few tenths of a point, about the spread of one wrk run: more
# back-to-back runs of just those two cases, in ABBA order so that a drift over the boot cancels.
case " $CASES " in *" floor "*) case " $CASES " in *" mysysdig_nomatch "*)
  for k in $(seq 1 $MISS_PAIRS); do
    order="floor mysysdig_nomatch"; [ $((k % 2)) = 1 ] || order="mysysdig_nomatch floor"
    for c in $order; do phase_load $c m$k; done
  done ;;
esac ;; esac
dmesg > $R/dmesg.txt
say "all cases done at $(up) s guest time"
"""


def parse_wrk(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    if match := re.search(r"Requests/sec:\s+([\d.]+)", text):
        out["rps"] = float(match.group(1))
    if match := re.search(r"(\d+) requests in ([\d.]+)(m?s)", text):
        out["requests"] = int(match.group(1))
        out["seconds"] = float(match.group(2)) / (1000 if match.group(3) == "ms" else 1)
    if match := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text):
        out["socket_errors"] = sum(int(group) for group in match.groups())
    if match := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text):
        out["non_2xx"] = int(match.group(1))
    return out


def parse_ab(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    if match := re.search(r"Requests per second:\s+([\d.]+)", text):
        out["rps"] = float(match.group(1))
    if match := re.search(r"Complete requests:\s+(\d+)", text):
        out["requests"] = int(match.group(1))
    if match := re.search(r"Failed requests:\s+(\d+)", text):
        out["failed"] = int(match.group(1))
    return out


def parse_micro(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for match in re.finditer(r"scbench (\w+) calls=(\d+) ns=(\d+) per_call=([\d.]+)", text):
        out[match.group(1)] = int(match.group(3)) / int(match.group(2))
        out[f"{match.group(1)}_calls"] = int(match.group(2))
    return out


def parse_pairs(text: str) -> dict[str, float]:
    """`name value` lines (meta files, /proc/my_sysdig/stats)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            with contextlib.suppress(ValueError):
                out[parts[0]] = float(parts[1])
    return out


def parse_final(text: str) -> dict[str, int]:
    """my_sysdig's unload line: 'stopped, N records written, M dropped'."""
    match = re.search(r"stopped, (\d+) records written, (\d+) dropped", text)
    return {"written": int(match.group(1)), "dropped": int(match.group(2))} if match else {}


def collect(run: DiskRun, cases: list[Case], rounds: list[int]) -> list[dict[str, Any]]:
    """Per case and round, everything the guest measured."""
    res = run.results
    out = []
    for case in cases:
        entry: dict[str, Any] = {"id": case.id, "label": case.label, "micro_label": case.micro, "rounds": []}
        for rnd in rounds:
            load_p, micro_p = f"{case.id}.{rnd}.load", f"{case.id}.{rnd}.micro"

            def text(name: str) -> str:
                return res.get(name, b"").decode(errors="replace")

            load: dict[str, Any] = {
                "wrk": parse_wrk(text(f"{load_p}.wrk")),
                "ab": parse_ab(text(f"{load_p}.ab")),
                "meta": parse_pairs(text(f"{load_p}.meta")),
            }
            micro: dict[str, Any] = {
                "per_call_ns": parse_micro(text(f"{micro_p}.out")),
                "meta": parse_pairs(text(f"{micro_p}.meta")),
            }
            for phase, prefix in ((load, load_p), (micro, micro_p)):
                if f"{prefix}.stats" in res:
                    phase["mysysdig_stats"] = parse_pairs(text(f"{prefix}.stats"))
                    phase["mysysdig_final"] = parse_final(text(f"{prefix}.final"))
                if f"{prefix}.lttng" in res:
                    phase["lttng_output"] = text(f"{prefix}.lttng")[-2000:]
            entry["rounds"].append({"round": rnd, "load": load, "micro": micro})
        out.append(entry)
    return out


def collect_miss_pairs(run: DiskRun, pairs: int) -> list[dict[str, Any]]:
    """The extra floor and filter-miss runs, wrk req/s each, in the order the guest ran them."""
    out = []
    for k in range(1, pairs + 1):
        rps = {}
        for cid in ("floor", "mysysdig_nomatch"):
            wrk = run.results.get(f"{cid}.m{k}.load.wrk", b"").decode(errors="replace")
            rps[cid] = parse_wrk(wrk).get("rps")
        out.append({"pair": k, "first": "floor" if k % 2 else "mysysdig_nomatch", "rps": rps})
    return out


def filter_miss_gaps(
    cases: dict[str, Any], base: dict[str, Any], miss_pairs: Sequence[dict[str, Any]]
) -> list[float]:
    """The empty probes' wrk req/s minus the filter miss's, in points of the baseline's, once per pair of
    runs back to back: each round's, then the extra pairs' (against the rounds' mean baseline)."""
    floor, nomatch = cases.get("floor"), cases.get("mysysdig_nomatch")
    if floor is None or nomatch is None:
        return []
    gaps = []
    for r in range(len(base["rounds"])):
        ref, a, b = (_get(c, r, "load", "wrk", "rps") for c in (base, floor, nomatch))
        gaps.append(points_below(a, b, ref))
    ref = baseline_rps(base)
    gaps += [pair_gap(pair, ref) for pair in miss_pairs]
    return [g for g in gaps if g is not None]


def baseline_rps(base: dict[str, Any]) -> float | None:
    """The rounds' mean: the extra pairs run no baseline of their own."""
    values = [v for r in range(len(base["rounds"])) if (v := _get(base, r, "load", "wrk", "rps"))]
    return sum(values) / len(values) if values else None


def points_below(floor: float | None, nomatch: float | None, ref: float | None) -> float | None:
    """The miss's req/s below the floor's in points of @ref, the baseline's; None if a run gave none."""
    return 100 * (floor - nomatch) / ref if floor and nomatch and ref else None


def pair_gap(pair: dict[str, Any], ref: float | None) -> float | None:
    """One extra pair's gap (points_below)."""
    return points_below(pair["rps"].get("floor"), pair["rps"].get("mysysdig_nomatch"), ref)


def _ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:.3f}" if value and base else "n/a"


def _num(value: float | None, fmt: str = "{:.0f}") -> str:
    return fmt.format(value) if value is not None else "n/a"


def _get(entry: dict[str, Any], rnd: int, *path: str) -> float | None:
    node: Any = entry["rounds"][rnd]
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return float(node) if isinstance(node, int | float) else None


def requests_in(entry: dict[str, Any], rnd: int) -> float:
    """wrk's plus ab's requests: everything a load phase's trace covers."""
    return (_get(entry, rnd, "load", "wrk", "requests") or 0) + (
        _get(entry, rnd, "load", "ab", "requests") or 0
    )


def record_bytes(entry: dict[str, Any], rnd: int, phase: str) -> float:
    """Bytes of my_sysdig's records: the file minus its header (# lines; binary: 24 bytes + text_len)."""
    trace = _get(entry, rnd, phase, "meta", "trace_bytes") or 0
    return trace - (_get(entry, rnd, phase, "meta", "header_bytes") or 0)


def _mean_ratio(case: dict[str, Any], base: dict[str, Any], *path: str) -> float | None:
    ratios = []
    for r in range(len(case["rounds"])):
        value, ref = _get(case, r, *path), _get(base, r, *path)
        if value and ref:
            ratios.append(value / ref)
    return sum(ratios) / len(ratios) if ratios else None


def summary(data: dict[str, Any]) -> list[str]:
    """Findings computed from the numbers (nothing typed in by hand)."""
    cases = {c["id"]: c for c in data["cases"]}
    base = cases.get("baseline")
    if base is None:
        return []
    out = ["## Summary (computed from the tables below)", ""]
    wrk = {cid: _mean_ratio(c, base, "load", "wrk", "rps") for cid, c in cases.items()}
    ranked = sorted((r, cases[cid]["label"]) for cid, r in wrk.items() if r is not None and cid != "baseline")
    if ranked:
        out.append(
            "- wrk req/s relative to baseline, mean of rounds, costliest first: "
            + "; ".join(f"{label} {ratio:.3f}" for ratio, label in ranked)
            + "."
        )
    spreads = []
    for case in cases.values():
        values = [_get(case, r, "load", "wrk", "rps") for r in range(len(case["rounds"]))]
        values = [v for v in values if v]
        if len(values) > 1:
            spreads.append((max(values) - min(values)) / (sum(values) / len(values)))
    if spreads:
        out.append(
            f"- Round-to-round spread of wrk req/s: at most {100 * max(spreads):.2f}% of a case's mean."
        )
    target, deferred = wrk.get("mysysdig_nginx"), wrk.get("mysysdig_deferred")
    if target is not None and deferred is not None:
        out.append(
            f"- my_sysdig proc_name=nginx loses {1 - target:.3f} of the baseline's req/s; with the writer "
            f"deferred (the probe path alone, rendering and file writes postponed) it loses "
            f"{1 - deferred:.3f}: the writer thread accounts for {(deferred - target) / (1 - target):.0%} "
            "of the loss on one CPU."
        )
    floor, nomatch = wrk.get("floor"), wrk.get("mysysdig_nomatch")
    if floor is not None and nomatch is not None:
        out.append(
            f"- Filter that matches nothing: {nomatch:.3f} vs {floor:.3f} for empty probes "
            f"(the tracepoint floor)."
        )
    for call in MICRO_CALLS:
        parts = []
        for cid in (
            "floor",
            "mysysdig_nomatch",
            "mysysdig_deferred",
            "mysysdig_nginx",
            "mysysdig_nginx_bin",
            "mysysdig_nginx_raw",
            "lttng_worker",
            "sysdig",
        ):
            if cid in cases:
                value = _get(cases[cid], 0, "micro", "per_call_ns", call)
                ref = _get(base, 0, "micro", "per_call_ns", call)
                if value and ref:
                    parts.append(f"{cid} {value - ref:+.0f}")
        if parts:
            out.append(f"- {call}, guest ns added per call (round 1): " + ", ".join(parts) + ".")
    for cid, case in cases.items():
        for phase in ("load", "micro"):
            for r in range(len(case["rounds"])):
                dropped = _get(case, r, phase, "mysysdig_final", "dropped")
                written = _get(case, r, phase, "mysysdig_final", "written")
                if dropped:
                    total = dropped + (written or 0)
                    out.append(
                        f"- {cid}, {phase} phase, round {r + 1}: my_sysdig dropped {dropped:.0f} of "
                        f"{total:.0f} records ({dropped / total:.1%}); a dropped record is never rendered, "
                        "so this phase's cost understates the cost of recording everything."
                    )
    return out + targets(cases, base, wrk, data.get("miss_pairs", [])) + [""]


NS_PER_INSN = 8  # -icount shift=3: each guest instruction advances guest time 2^3 ns


FASTEST_CANDIDATES = ("mysysdig_nginx_raw", "mysysdig_nginx_bin")


def targets(
    cases: dict[str, Any],
    base: dict[str, Any],
    wrk: dict[str, float | None],
    miss_pairs: Sequence[dict[str, Any]] = (),
) -> list[str]:
    """The issue's targets, each checked against this run's numbers, then the same bars applied to the
    configurations they are not set for (binary, the page cache), so that a reader sees those too."""
    out = ["", "## Targets (issue 6), checked against this run", ""]
    other = ["", "## The same bars for the other configurations (not targets of the issue)", ""]

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    gaps = filter_miss_gaps(cases, base, miss_pairs)
    if gaps:
        mean = sum(gaps) / len(gaps)
        spread = ""
        if len(gaps) > 1:
            var = sum((g - mean) ** 2 for g in gaps) / (len(gaps) - 1)
            spread = f", standard error {(var / len(gaps)) ** 0.5:.2f}"
        out.append(
            f"- Filter matching nothing within 0.5 points of the empty probes: {mean:.2f} points, the mean "
            f"of {len(gaps)} pairs of runs back to back ({', '.join(f'{g:.2f}' for g in gaps)}{spread}): "
            f"{verdict(mean <= 0.5)}."
        )
    # "the fastest record format": whichever of raw and binary measured faster in this run
    measured = [cid for cid in FASTEST_CANDIDATES if wrk.get(cid) is not None]
    fastest = max(measured, key=lambda cid: wrk[cid] or 0) if measured else None
    goals = (
        *((cid, 0.95, cid == fastest) for cid in FASTEST_CANDIDATES),
        ("mysysdig_nginx", 0.90, True),
        ("mysysdig_nginx_bin_buffered", 0.95, False),
        ("mysysdig_nginx_buffered", 0.90, False),
    )
    for cid, goal, is_target in goals:
        ratio = wrk.get(cid)
        if ratio is None:
            continue
        rounds = range(len(cases[cid]["rounds"]))
        drops = sum(_get(cases[cid], r, "load", "mysysdig_final", "dropped") or 0 for r in rounds)
        direct = _get(cases[cid], 0, "load", "mysysdig_stats", "direct_io")
        ways = {1: ", file written with direct I/O", 0: ", file written through the page cache"}
        how = ways.get(direct, "")
        which = " (the fastest format in this run)" if cid == fastest else ""
        (out if is_target else other).append(
            f"- {cases[cid]['label']}{which}: {ratio:.3f} of baseline req/s, target >= {goal:.2f}, "
            f"{drops:.0f} dropped{how}: {verdict(ratio >= goal and drops == 0)}."
        )
    ref = _get(cases.get("floor", {}), 0, "micro", "per_call_ns", "getppid") if "floor" in cases else None
    # the target is the probe's per-event cost: with the writer deferred, none of the writer's work is in it
    for cid, is_target in (("mysysdig_deferred", True), ("mysysdig_nginx_bin", False)):
        value = _get(cases[cid], 0, "micro", "per_call_ns", "getppid") if cid in cases else None
        if value and ref:
            insns = (value - ref) / NS_PER_INSN
            label = cases[cid]["micro_label"] or cases[cid]["label"]
            (out if is_target else other).append(
                f"- getppid, {label}: {insns:.0f} guest instructions per call above the empty probes, "
                f"target <= 150: {verdict(insns <= 150)}."
            )
    pairs = (
        ("mysysdig_nomatch", "lttng_none"),
        ("mysysdig_nginx_raw", "lttng_worker"),
        ("mysysdig_nginx_bin", "lttng_worker"),
        ("mysysdig_all_bin", "lttng_all"),
        ("mysysdig_all_bin", "sysdig"),
        ("mysysdig_nginx", "lttng_worker"),
        ("mysysdig_all", "lttng_all"),
    )
    for mine, peer in pairs:
        a, b = wrk.get(mine), wrk.get(peer)
        if a is not None and b is not None:
            out.append(
                f"- {cases[mine]['label']} {a:.3f} vs {cases[peer]['label']} {b:.3f}: "
                f"{'cheaper' if a > b else '**costlier**'}."
            )
    return out + (other if len(other) > 3 else [])


def markdown(data: dict[str, Any]) -> str:
    cases: list[dict[str, Any]] = data["cases"]
    nrounds = len(data["config"]["rounds"])
    base = next((c for c in cases if c["id"] == "baseline"), None)
    meta = data["meta"]
    cfg = data["config"]
    lines = [
        "# Syscall tracer overhead: my_sysdig.ko and its peers",
        "",
        f"Generated by `make bench` (scripts/bench.py) on {meta['date']}: kernel {meta['kernel']}, "
        f"QEMU TCG `-icount {cfg['icount']} -smp 1`, {cfg['mem_mb']} MB, all cases in one boot, "
        f"{nrounds} round(s), each running every case in the order below. "
        f"my_sysdig built from {meta['git']}."
        + (
            f" Every my_sysdig case loaded with `{cfg['module_args']}` after its own parameters."
            if cfg.get("module_args")
            else ""
        ),
        f"Host wall time of the run: {meta['wall_s']:.0f} s (guest boot to power-off {meta['vm_s']:.0f} s).",
        "",
        "Guest time under -icount counts instructions: absolute req/s and ns are not those of real hardware; "
        "the ratios to the baseline are what to read (1.000 = no overhead).",
        "",
        *summary(data),
        f"## Load: nginx on 127.0.0.1, `wrk -t1 -c10 -d{cfg['duration']}s`"
        + (f", then `ab -c 100 -n {cfg['ab']}`" if cfg["ab"] else ""),
        "",
    ]
    head = ["case"]
    for r in range(1, nrounds + 1):
        head += [f"wrk req/s r{r}", f"ratio r{r}"]
    if cfg["ab"]:
        for r in range(1, nrounds + 1):
            head += [f"ab req/s r{r}", f"ratio r{r}"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for case in cases:
        row = [f"{case['label']}"]
        for r in range(nrounds):
            value = _get(case, r, "load", "wrk", "rps")
            row += [_num(value, "{:.1f}"), _ratio(value, base and _get(base, r, "load", "wrk", "rps"))]
        if cfg["ab"]:
            for r in range(nrounds):
                value = _get(case, r, "load", "ab", "rps")
                row += [_num(value, "{:.1f}"), _ratio(value, base and _get(base, r, "load", "ab", "rps"))]
        lines.append("| " + " | ".join(row) + " |")
    pairs = data.get("miss_pairs", [])
    if pairs and base:
        ref = baseline_rps(base)
        lines += [
            "",
            f"## Filter that matches nothing: {len(pairs)} more pairs of runs, back to back",
            "",
            "After the rounds, wrk alone (no ab) against the empty probes and my_sysdig proc_name=nomatch, "
            "alternating which runs first. The gap is in points of the rounds' mean baseline req/s.",
            "",
            "| pair | first | empty probes wrk req/s | filter miss wrk req/s | gap, points |",
            "|---|---|---|---|---|",
        ]
        for pair in pairs:
            rps = pair["rps"]
            lines.append(
                f"| {pair['pair']} | {pair['first']} | {_num(rps.get('floor'), '{:.1f}')} | "
                f"{_num(rps.get('mysysdig_nomatch'), '{:.1f}')} | {_num(pair_gap(pair, ref), '{:.2f}')} |"
            )
    lines += [
        "",
        f"## Syscall microbenchmark (bench/scbench.c): guest ns per call, N = {cfg['n']} "
        f"(strace: {cfg['n_strace']})",
        "",
        "In this phase the target of the targeted cases is scbench itself (my_sysdig proc_name=scbench, "
        "LTTng pid tracker = scbench's pid, strace -f on scbench); `+ns` is the added cost per call over "
        "the baseline (round 1).",
        "",
    ]
    head = ["case"]
    for call in MICRO_CALLS:
        head += [f"{call} r{r}" for r in range(1, nrounds + 1)] + [f"{call} ratio r1", f"{call} +ns"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for case in cases:
        row = [case["micro_label"]]
        for call in MICRO_CALLS:
            values = [_get(case, r, "micro", "per_call_ns", call) for r in range(nrounds)]
            row += [_num(v, "{:.0f}") for v in values]
            base_v = base and _get(base, 0, "micro", "per_call_ns", call)
            row.append(_ratio(values[0], base_v))
            row.append(_num(values[0] - base_v, "{:+.0f}") if values[0] is not None and base_v else "n/a")
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "## Trace volume in the load phase (wrk + ab requests)",
        "",
        "Trace bytes: my_sysdig's record file, LTTng's trace directory, sysdig's capture, strace's output. "
        "Records and dropped: my_sysdig's unload line (records written; records_dropped_ring + _cap + "
        "_write, counting the final drain). Bytes/record leaves out the record file's header: its `#` lines, "
        "or for format=binary the file header (24 bytes + its text_len bytes of header text).",
        "",
        "| case | round | requests | trace bytes | bytes/request | records | records/request | bytes/record "
        "| dropped | entries_missed |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for case in cases:
        for r in range(nrounds):
            trace = _get(case, r, "load", "meta", "trace_bytes")
            if trace is None:
                continue
            reqs = requests_in(case, r)
            written = _get(case, r, "load", "mysysdig_final", "written")
            dropped = _get(case, r, "load", "mysysdig_final", "dropped")
            missed = _get(case, r, "load", "mysysdig_stats", "entries_missed")
            lines.append(
                f"| {case['label']} | {r + 1} | {reqs:.0f} | {trace:.0f} | "
                f"{_num(trace / reqs if reqs else None, '{:.0f}')} | {_num(written)} | "
                f"{_num(written / reqs if written is not None and reqs else None, '{:.1f}')} | "
                f"{_num(record_bytes(case, r, 'load') / written if written else None, '{:.0f}')} | "
                f"{_num(dropped)} | {_num(missed)} |"
            )
    lines += [
        "",
        "## Trace volume in the micro phase",
        "",
        "| case | round | trace bytes | records | bytes/record | dropped | entries_missed |",
        "|---|---|---|---|---|---|---|",
    ]
    for case in cases:
        for r in range(nrounds):
            trace = _get(case, r, "micro", "meta", "trace_bytes")
            if trace is None:
                continue
            written = _get(case, r, "micro", "mysysdig_final", "written")
            lines.append(
                f"| {case['micro_label']} | {r + 1} | {trace:.0f} | {_num(written)} | "
                f"{_num(record_bytes(case, r, 'micro') / written if written else None, '{:.0f}')} | "
                f"{_num(_get(case, r, 'micro', 'mysysdig_final', 'dropped'))} | "
                f"{_num(_get(case, r, 'micro', 'mysysdig_stats', 'entries_missed'))} |"
            )
    if data.get("errors"):
        lines += ["", "## Errors reported by the guest", ""] + [f"- {e}" for e in data["errors"]]
    return "\n".join(lines) + "\n"


def kernel_meta_files(modules_dir: Path) -> dict[str, Path]:
    """modules.order/builtin(.modinfo): what depmod and modprobe read, without the 390 MB of modules."""
    files = {}
    for name in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
        if (modules_dir / name).exists():
            files[f"/files/kmeta/{name}"] = modules_dir / name
    return files


def source_state() -> str:
    """The commit and whether kmod/ or Kbuild differ from it, taken just before the module is built."""
    head = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    diff = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "diff", "HEAD", "--", "kmod", "Kbuild"], capture_output=True
    ).stdout
    untracked = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "ls-files", "--others", "--exclude-standard", "--", "kmod"],
        capture_output=True,
        text=True,
    ).stdout.split()
    if not diff and not untracked:
        return f"commit {head}"
    digest = hashlib.sha256(diff + "\0".join(untracked).encode()).hexdigest()[:8]
    return f"commit {head} plus uncommitted kmod/ changes (diff sha256 {digest})"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=int, default=10, help="wrk seconds per case and round")
    parser.add_argument("--ab", type=int, default=2000, help="ab requests per case and round (0: no ab)")
    parser.add_argument("--n", type=int, default=50000, help="scbench calls per syscall")
    parser.add_argument("--n-strace", type=int, default=5000, help="scbench calls per syscall under strace")
    parser.add_argument(
        "--miss-pairs",
        type=int,
        default=4,
        help="extra back-to-back wrk runs of the empty probes and the filter miss, after the rounds",
    )
    parser.add_argument("--cases", default=",".join(c.id for c in CASES), help="comma-separated case ids")
    parser.add_argument("--timeout", type=int, default=3000, help="guest timeout in seconds")
    parser.add_argument("--out", type=Path, default=RESULTS_JSON.parent, help="where results.{json,md} go")
    parser.add_argument(
        "--module-args",
        default="",
        help="my_sysdig parameters added after each case's own, e.g. 'flush_ms=20' (the last value wins)",
    )
    parser.add_argument(
        "--insn-profile",
        type=Path,
        help="count guest kernel instructions per block into this file (bench/profile_probe.py reads it)",
    )
    args = parser.parse_args()
    if not re.fullmatch(r"[\w=,.:/ -]*", args.module_args):
        parser.error(f"--module-args {args.module_args!r}: only module parameters (name=value ...)")
    started = time.monotonic()
    wanted = args.cases.split(",")
    unknown = set(wanted) - {c.id for c in CASES}
    if unknown:
        parser.error(f"unknown cases {sorted(unknown)}; known: {[c.id for c in CASES]}")
    cases = [c for c in CASES if c.id in wanted]
    rounds = list(range(1, args.rounds + 1))

    subprocess.run(["bash", str(REPO_ROOT / "scripts" / "setup-image.sh"), "bench"], check=True)
    try:
        kernel = resolve_kernel()
        log(f"bench: building modules for {kernel.abi}")
        # Others edit kmod/ and rebuild the shared build tree while this runs: note the sources now and
        # keep a private copy of the module that gets measured.
        sources = source_state()
        private = REPO_ROOT / ".cache" / "bench-ko"
        private.mkdir(parents=True, exist_ok=True)
        ko = private / "my_sysdig.ko"
        shutil.copyfile(build_module(kernel), ko)
        ko_sha = hashlib.sha256(ko.read_bytes()).hexdigest()[:16]
        files = {
            "/files/my_sysdig.ko": ko,
            "/files/probe_floor.ko": build_floor(kernel),
            "/files/scap.ko": build_scap(kernel),
            "/files/scbench": build_scbench(),
            **{f"/files/lttng/{ko.name}": ko for ko in build_lttng(kernel)},
            **kernel_meta_files(kernel.modules_dir),
        }
        image = build_image(BENCH_IMAGE)
        script = GUEST_SCRIPT.format(
            module_args=args.module_args,
            readback=0 if args.insn_profile else 1,
            abi=kernel.abi,
            n=args.n,
            n_strace=args.n_strace,
            duration=args.duration,
            ab=args.ab,
            rounds=" ".join(map(str, rounds)),
            cases=" ".join(c.id for c in cases),
            miss_pairs=args.miss_pairs,
        )
        log(
            f"bench: booting the guest (-icount shift=3,sleep=off): {len(cases)} cases x {len(rounds)} rounds"
        )
        run = run_on_image(
            kernel,
            image,
            script,
            files,
            timeout_s=args.timeout,
            icount=True,
            mem_mb=2048,
            echo=ProgressEcho(),
            qemu_args=["-plugin", f"{build_insnprof()},out={args.insn_profile}"] if args.insn_profile else [],
        )
    except TestbedError as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return 1
    vm = run.vm
    if vm.kernel_errors or vm.status != 0 or not run.results:
        print(
            f"bench: guest failed: status {vm.status}, kernel errors {vm.kernel_errors[:10]}", file=sys.stderr
        )
        print(vm.tail(60), file=sys.stderr)
        if not run.results:
            return 1
    errors = run.text("errors.txt").splitlines() if "errors.txt" in run.results else []
    data: dict[str, Any] = {
        "meta": {
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "kernel": kernel.abi,
            "host": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
            "qemu": subprocess.run(
                ["qemu-system-x86_64", "--version"], capture_output=True, text=True
            ).stdout.splitlines()[0],
            "git": f"{sources}; my_sysdig.ko sha256 {ko_sha}",
            "wall_s": time.monotonic() - started,
            "vm_s": vm.elapsed_s,
            "kernel_errors": vm.kernel_errors,
            "guest_status": vm.status,
        },
        "config": {
            "rounds": rounds,
            "duration": args.duration,
            "ab": args.ab,
            "n": args.n,
            "n_strace": args.n_strace,
            "icount": "shift=3,sleep=off",
            "mem_mb": 2048,
            "module_args": args.module_args,
            "miss_pairs": args.miss_pairs,
            "image_packages": list(BENCH_IMAGE.packages),
        },
        "cases": collect(run, cases, rounds),
        "miss_pairs": collect_miss_pairs(run, args.miss_pairs),
        "errors": errors,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(data, indent=1) + "\n")
    report = markdown(data)
    (args.out / "results.md").write_text(report)
    raw = REPO_ROOT / ".cache" / "bench-last"
    raw.mkdir(parents=True, exist_ok=True)
    for name, blob in run.results.items():
        (raw / name).write_bytes(blob)
    (raw / "console.txt").write_text(vm.console)
    print(report)
    log(f"bench: wrote {args.out / 'results.md'} and results.json; raw guest files in {raw}")
    log(f"bench: done in {time.monotonic() - started:.0f} s")
    return 0 if not errors and not vm.kernel_errors and vm.status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
