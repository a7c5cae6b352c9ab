"""The benchmark's own arithmetic: the instruction profile's attribution and the targets' verdicts.

Both turn raw numbers into the claims the overhead notes quote, so they are checked on inputs whose
answer is worked out by hand here.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.profile_probe import by_function  # noqa: E402
from scripts.bench import targets  # noqa: E402

KALLSYMS = """\
ffffffff81000000 T _stext
ffffffff81000100 t ktime_get
ffffffff81000200 D some_data
ffffffffc0001000 t probe_sys_enter\t[my_sysdig]
ffffffffc0001080 t probe_sys_exit\t[my_sysdig]
"""


def test_blocks_count_for_the_function_they_start_in():
    counts = "\n".join(
        [
            "ffffffff81000104 5 10",  # inside ktime_get: 50
            "ffffffff81000110 2 10",  # ktime_get again: 20
            "ffffffff81000210 3 1",  # past a data symbol, still ktime_get's text: 3
            "ffffffffc0001000 7 100",  # probe_sys_enter: 700
            "ffffffffc00010a0 4 100",  # probe_sys_exit: 400
            "ffffffff80000000 9 1",  # before every symbol
            "# blocks 6",
        ]
    )
    totals = by_function(counts, KALLSYMS)
    assert dict(totals) == {
        "ktime_get": 73,
        "my_sysdig:probe_sys_enter": 700,
        "my_sysdig:probe_sys_exit": 400,
        "?": 9,
    }


def case(cid: str, label: str, wrk: list[float], getppid: float | None = None, dropped: int = 0) -> dict:
    rounds = []
    for rps in wrk:
        rnd = {
            "load": {"wrk": {"rps": rps}, "mysysdig_final": {"dropped": dropped, "written": 1000}},
            "micro": {"per_call_ns": {"getppid": getppid}},
        }
        rounds.append(rnd)
    return {"id": cid, "label": label, "micro_label": "", "rounds": rounds}


def test_targets_are_judged_from_the_numbers():
    cases = {
        c["id"]: c
        for c in [
            case("baseline", "none", [1000, 1000], getppid=2000),
            case("floor", "floor", [990, 990], getppid=2600),
            case("mysysdig_nomatch", "nomatch", [986, 986]),  # 0.4 points below the floor: met
            case("mysysdig_nginx_raw", "raw", [960, 950]),  # 0.955, the fastest format: the target
            case("mysysdig_nginx_bin", "bin", [960, 940], getppid=3800),  # 0.95, no drops: met
            case("mysysdig_nginx", "text", [950, 950], dropped=3),  # 0.95 but dropped records: missed
            case("mysysdig_deferred", "deferred", [970, 970], getppid=3840),  # (3840-2600)/8 = 155
            case("lttng_worker", "lttng", [800, 800]),
        ]
    }
    wrk = {cid: sum(r["load"]["wrk"]["rps"] for r in c["rounds"]) / 2000 for cid, c in cases.items()}
    text, other = "\n".join(targets(cases, cases["baseline"], wrk)).split("not targets of the issue")
    assert (
        "raw (the fastest format in this run): 0.955 of baseline req/s, target >= 0.95, 0 dropped: met"
        in text
    )
    assert "0.40 points, the mean of 2 pairs of runs back to back (0.40, 0.40, standard error 0.00)" in text
    assert "standard error 0.00): met" in text
    assert "bin: 0.950 of baseline req/s, target >= 0.95, 0 dropped: met" in other
    assert "text: 0.950 of baseline req/s, target >= 0.90, 6 dropped: **missed**" in text
    assert "getppid, deferred: 155 guest instructions per call above the empty probes" in text
    assert "target <= 150: **missed**" in text
    assert "getppid, bin: 150 guest instructions" in other
    assert "bin 0.950 vs lttng 0.800: cheaper" in text
    assert "text 0.950 vs lttng 0.800: cheaper" in text


def test_targets_of_a_one_round_run():
    """make bench --rounds 1 (a quick run) has one round per case: the verdicts still come out."""
    cases = {
        c["id"]: c
        for c in [
            case("baseline", "none", [1000]),
            case("floor", "floor", [990]),
            case("mysysdig_nginx_bin", "bin", [900], dropped=2),
        ]
    }
    wrk = {cid: c["rounds"][0]["load"]["wrk"]["rps"] / 1000 for cid, c in cases.items()}
    text = "\n".join(targets(cases, cases["baseline"], wrk))
    assert (
        "bin (the fastest format in this run): 0.900 of baseline req/s, target >= 0.95, 2 dropped: **missed**"
        in text
    )


def test_filter_miss_pairs_add_to_the_rounds():
    """The extra pairs count against the rounds' mean baseline; a pair with a failed run is left out."""
    cases = {
        c["id"]: c
        for c in [
            case("baseline", "none", [1000, 1010]),  # mean 1005
            case("floor", "floor", [990, 1000]),
            case("mysysdig_nomatch", "nomatch", [985, 990]),  # 0.50 and 0.99 points
        ]
    }
    pairs = [
        {"pair": 1, "first": "floor", "rps": {"floor": 990.0, "mysysdig_nomatch": 989.0}},  # 0.10
        {"pair": 2, "first": "mysysdig_nomatch", "rps": {"floor": 992.0, "mysysdig_nomatch": None}},
        {"pair": 3, "first": "floor", "rps": {"floor": 991.0, "mysysdig_nomatch": 990.0}},  # 0.10
    ]
    wrk = {cid: 0.99 for cid in cases}
    text = "\n".join(targets(cases, cases["baseline"], wrk, pairs))
    # mean (0.50 + 0.99 + 0.10 + 0.10) / 4 = 0.42; sample sd 0.42, standard error 0.21
    assert "0.42 points, the mean of 4 pairs of runs back to back (0.50, 0.99, 0.10, 0.10" in text
    assert "standard error 0.21): met" in text
