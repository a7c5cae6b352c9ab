"""Where my_sysdig's per-call instructions go: an exact profile of one syscall loop.

    python -m bench.profile_probe [--call getppid] [--params 'proc_name=scbench format=binary']
    python -m bench.profile_probe --counts FILE --kallsyms FILE [--base-counts FILE ...] [--per N]

Boots the bench kernel under QEMU with bench/insnprof (a TCG plugin counting guest kernel
instructions per translation block) three times: without a tracer, with the empty-probe
floor module, and with my_sysdig and the given parameters. Each boot runs scbench's loop for
one syscall (read4k reads text, as make bench's scbench does). The guest's /proc/kallsyms
maps blocks to functions; the table gives
instructions per call for each function, in each boot, and what my_sysdig adds over the
floor. Guest perf has no PMU under TCG and samples; this counts.

    python -m bench.profile_probe --steady mysysdig_nginx_bin [--base floor] [--durations 5,10]

The --steady form runs `make bench`'s script for one case and a base case, each twice with wrk
running for the two durations, and subtracts the short boot from the long one: what is left is
steady load alone (no boot, nginx start, module load or unload), per request, then the base case's
per request is subtracted from the case's. It prints what the case adds to a request, and per record.

The second form reads the counts of a `make bench` run made with --insn-profile (the
guest leaves kallsyms.txt and each my_sysdig case's module symbols in .cache/bench-last/)
and prints the functions' totals, minus those of a --base-counts run of another case (the
floor's, say), divided by N (e.g. the records written).
"""

from __future__ import annotations

import argparse
import bisect
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from scripts.benchbuild import build_floor, build_insnprof, build_scbench, crc32c_module
from scripts.testbed import build_module, resolve_kernel, run_vm
from scripts.testbed.paths import REPO_ROOT, cache_dir

GUEST_SCRIPT = """
insmod /crc32c-intel.ko
yes 'The quick brown fox jumps over the lazy dog.' | head -c 1048576 > /tmp/data
{load}
/scbench {calls} /tmp/data {call}
cat /proc/kallsyms > /out/kallsyms
{unload}
"""


def profile(case: str, load: str, unload: str, files: dict[str, Path], call: str, calls: int) -> dict:
    """Instructions per function (kernel and modules) in one boot running one loop."""
    counts = cache_dir() / "build" / "insnprof" / f"{case}.txt"
    script = GUEST_SCRIPT.format(load=load, unload=unload, calls=calls, call=call)
    kernel = resolve_kernel("x86_64", "6.1")
    result = run_vm(
        kernel,
        # loaded as make bench's image loads it: the binary and raw writers' CRC-32C uses it
        {"/scbench": build_scbench(), "/crc32c-intel.ko": crc32c_module(kernel), **files},
        script,
        timeout_s=900,
        icount=True,
        qemu_args=["-plugin", f"{build_insnprof()},out={counts}"],
    )
    lines = [line for line in result.text("console.txt").splitlines() if line.startswith("scbench")]
    print(f"{case}: {' '.join(lines)}")
    return by_function(counts.read_text(), result.files["kallsyms"].decode())


def by_function(counts: str, kallsyms: str) -> dict[str, int]:
    """Sum each block's instructions into the function its first instruction belongs to."""
    syms = []
    for line in kallsyms.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] in "tTwW":
            module = parts[3].strip("[]") + ":" if len(parts) > 3 else ""
            syms.append((int(parts[0], 16), module + parts[2]))
    syms.sort()
    addrs = [a for a, _ in syms]
    totals: dict[str, int] = defaultdict(int)
    for line in counts.splitlines():
        if line.startswith("#"):
            continue
        vaddr, insns, count = line.split()
        i = bisect.bisect_right(addrs, int(vaddr, 16)) - 1
        totals[syms[i][1] if i >= 0 else "?"] += int(insns) * int(count)
    return totals


def compare(args: argparse.Namespace) -> None:
    """The three boots, and the table of what my_sysdig adds over the floor."""
    kernel = resolve_kernel("x86_64", "6.1")
    ko, floor = build_module(kernel, args.src), build_floor(kernel)
    loop = (args.call, args.calls)
    load = f"insmod /my_sysdig.ko {args.params}"
    runs = {
        "baseline": profile("baseline", "", "", {}, *loop),
        "floor": profile("floor", "insmod /floor.ko", "rmmod probe_floor", {"/floor.ko": floor}, *loop),
        "my_sysdig": profile("my_sysdig", load, "rmmod my_sysdig", {"/my_sysdig.ko": ko}, *loop),
    }
    per_call = args.calls * 21 / 20  # scbench runs calls/20 more as its warm-up
    rows = []
    for name in set().union(*runs.values()):
        vals = [runs[r].get(name, 0) / per_call for r in runs]
        rows.append((vals[2] - vals[1], name, vals))
    rows.sort(reverse=True)
    totals = [sum(r.values()) / per_call for r in runs.values()]
    rows = rows[: args.top] + [(totals[2] - totals[1], "total kernel (boot included)", totals)]
    print(f"\n{args.call}, my_sysdig {args.params}: guest instructions per call")
    print(f"{'function':50} {'baseline':>9} {'floor':>9} {'my_sysdig':>9} {'added':>9}")
    for added, name, vals in rows:
        print(f"{name:50} {vals[0]:9.1f} {vals[1]:9.1f} {vals[2]:9.1f} {added:9.1f}")


def totals(args: argparse.Namespace) -> None:
    """Per-function totals of a profiled bench run, minus a base run's, divided by --per."""
    funcs = by_function(args.counts.read_text(), args.kallsyms.read_text())
    base: dict[str, int] = {}
    if args.base_counts:
        base = by_function(args.base_counts.read_text(), args.base_kallsyms.read_text())
    added = {name: funcs.get(name, 0) - base.get(name, 0) for name in set(funcs) | set(base)}
    rows = sorted(added.items(), key=lambda kv: -kv[1])
    mine = sum(v for k, v in added.items() if k.startswith("my_sysdig:"))
    print(f"{'function':50} {'added':>14} {'per':>9}")
    for name, total in [*rows[: args.top], ("my_sysdig: (all functions)", mine)]:
        print(f"{name:50} {total:14d} {total / args.per:9.1f}")


def bench_boot(case: str, duration: int, work: Path) -> tuple[dict[str, int], dict]:
    """One `scripts.bench` boot of @case, profiled: instructions per function and the load round's results."""
    out, counts = work / f"{case}.{duration}", work / f"{case}.{duration}.counts"
    cmd = [sys.executable, "-m", "scripts.bench", "--cases", case, "--rounds", "1", "--ab", "0", "--n", "1"]
    cmd += ["--duration", str(duration), "--out", str(out), "--insn-profile", str(counts)]
    subprocess.run(cmd, check=True, cwd=REPO_ROOT, stdout=subprocess.DEVNULL)
    last = cache_dir() / "bench-last"
    module_syms = last / f"{case}.1.load.kallsyms"
    kallsyms = (last / "kallsyms.txt").read_text() + (module_syms.read_text() if module_syms.exists() else "")
    load = json.loads((out / "results.json").read_text())["cases"][0]["rounds"][0]["load"]
    return by_function(counts.read_text(), kallsyms), load


def _mine(per_function: dict[str, float]) -> float:
    return sum(v for n, v in per_function.items() if n.startswith("my_sysdig:"))


def steady(args: argparse.Namespace) -> None:
    """What @args.steady adds to one request of steady load over @args.base, per function."""
    short, long_ = (int(d) for d in args.durations.split(","))
    work = cache_dir() / "build" / "insnprof" / "steady"
    work.mkdir(parents=True, exist_ok=True)
    per_request: dict[str, dict[str, float]] = {}
    records = 0
    for case in (args.base, args.steady):
        (a, load_a), (b, load_b) = bench_boot(case, short, work), bench_boot(case, long_, work)
        requests = load_b["wrk"]["requests"] - load_a["wrk"]["requests"]
        per_request[case] = {n: (b.get(n, 0) - a.get(n, 0)) / requests for n in set(a) | set(b)}
        final_a, final_b = load_a.get("mysysdig_final", {}), load_b.get("mysysdig_final", {})
        if "written" in final_b:
            records = (final_b["written"] - final_a.get("written", 0)) / requests
    case, base = per_request[args.steady], per_request[args.base]
    added = {n: case.get(n, 0) - base.get(n, 0) for n in set(case) | set(base)}
    total, mine = sum(added.values()), _mine(added)
    per_rec = records or 1.0
    print(f"\n{args.steady} over {args.base}, steady load: kernel instructions per request")
    print(f"({records:.1f} records per request)" if records else "(no records: per record is per request)")
    # the two cases' own counts too: a function that moved between names shows as one up, one down
    print(f"{'function':50} {args.base:>12} {'case':>12} {'per request':>12} {'per record':>11}")
    rows = sorted(added.items(), key=lambda kv: -abs(kv[1]))[: args.top]
    sums = {
        "my_sysdig: (all functions)": (_mine(base), _mine(case), mine),
        "total kernel": (sum(base.values()), sum(case.values()), total),
    }
    for name, (b, c, v) in [*((n, (base.get(n, 0), case.get(n, 0), v)) for n, v in rows), *sums.items()]:
        print(f"{name:50} {b:12.1f} {c:12.1f} {v:12.1f} {v / per_rec:11.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--call", default="getppid", choices=("getppid", "read4k", "write64"))
    parser.add_argument("--calls", type=int, default=50000)
    parser.add_argument("--params", default="proc_name=scbench format=binary")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument(
        "--src", type=Path, default=REPO_ROOT, help="source tree of the module, e.g. a git worktree (A/B)"
    )
    parser.add_argument("--counts", type=Path, help="insnprof output of a bench run")
    parser.add_argument("--kallsyms", type=Path, help="the guest's kallsyms for --counts")
    parser.add_argument("--base-counts", type=Path, help="a run to subtract, e.g. the floor case's")
    parser.add_argument("--base-kallsyms", type=Path)
    parser.add_argument("--per", type=float, default=1.0, help="divide --counts totals by this")
    parser.add_argument("--steady", help="a make bench case: what it adds to a request of steady load")
    parser.add_argument("--base", default="floor", help="the case --steady is compared with")
    parser.add_argument("--durations", default="5,10", help="wrk seconds of the short and the long boot")
    args = parser.parse_args()
    if args.steady:
        steady(args)
    elif args.counts:
        totals(args)
    else:
        compare(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
