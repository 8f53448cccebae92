#!/usr/bin/env python3
"""Write the small golden reports under golden/ (run after a format change).

The reports follow docs/report-format.md (schema_version 2) with made-up,
deterministic numbers chosen so that the tests know the answers: the
baseline/candidate pair (pingpong: wake latencies only, no acquire latency)
has a clear futex regression and an unchanged intrusive_list; the sweep has
a cell starved in every repetition (std_mutex_condvar at 4 threads: 1 of 4
workers did no operation, 2 in one repetition), one starved in 2 of 5
(intrusive_list at 2 threads: the median of `starved` is 0), a cell whose
latencies are flagged (intrusive_list at 4 threads: recording cost 5 %,
verdict "above limit"), one whose overhead is "unresolved" (futex at 2
threads: the interval straddles 2 %), an acquire p50 below the timer floor
(futex at 1 thread: 40 ns, floor 50 ns), open-loop coroutine cells (verdict
"not applicable") and broadcast cells with wake and herd latencies. The
aggregates' intervals are the median's order statistics with their exact
coverage (93.75 % at 5 repetitions), as harness/src/metrics.cpp; csync cells
get `throughput_vs_peers` with the Hodges-Lehmann ratio and its exact
interval, computed here as the harness's `ratio_of` does (its recursion, not
the scripts' code). `schema1-mixed.json` is a schema 1 report (the format
before the paired runs), for the upgrade on load; regenerating leaves it as
it was. Written compact, as csync-bench writes reports (read them with
`python3 -m json.tool`). Regenerate: `python3 scripts/tests/make_golden.py`.
"""

import json
import math
import random
import statistics
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"
RUN_SETTINGS = {"duration_ms", "operations", "warmup_ms", "repetitions"}
PEERS = {"std_counting_semaphore", "std_mutex_condvar", "futex_spin_then_block"}
TIMER_COST_NS = 25.0
OVERHEAD_LIMIT = 0.02
INTERVAL_LEVEL = 0.95
WINDOW_NS = 100_000_000  # duration_ms 100: a worker starved all along stalls this long
OPEN_LOOP_REASON = "an open loop's throughput is its offered rate, whatever the timing costs"
LATENCY_SAMPLE_EVERY = 64  # the built-in value: not in a cell's parameters
AGGREGATE_SOURCES = {  # aggregate -> (path in a repetition, unit), as harness/src/runner.cpp
    "throughput": (("throughput_ops_per_s",), "ops/s"),
    "acquire_p50": (("latency_run", "acquire_latency_ns", "p50"), "ns"),
    "acquire_p99": (("latency_run", "acquire_latency_ns", "p99"), "ns"),
    "acquire_p999": (("latency_run", "acquire_latency_ns", "p999"), "ns"),
    "wake_p50": (("latency_run", "wake_latency_ns", "p50"), "ns"),
    "wake_p99": (("latency_run", "wake_latency_ns", "p99"), "ns"),
    "herd_p50": (("latency_run", "herd_latency_ns", "p50"), "ns"),
    "herd_p99": (("latency_run", "herd_latency_ns", "p99"), "ns"),
    "reacquire_p50": (("latency_run", "reacquire_latency_ns", "p50"), "ns"),
    "reacquire_p99": (("latency_run", "reacquire_latency_ns", "p99"), "ns"),
    "jain": (("fairness", "jain"), "index"),
    "relative_stddev": (("fairness", "relative_stddev"), "ratio"),
    "starved": (("starved",), "workers"),
    "cpu_per_op": (("cpu_ns_per_op",), "ns"),
    "wasted_cpu_per_op": (("wasted_cpu_ns_per_op",), "ns"),
    "voluntary_switches_per_op": (("voluntary_switches_per_op",), "switches"),
    "involuntary_switches_per_op": (("involuntary_switches_per_op",), "switches"),
    "overhead_fraction": (("latency_run", "overhead_fraction"), "ratio"),
}
SCHEMA_1_AGGREGATE_SOURCES = {
    "throughput": (("throughput_ops_per_s",), "ops/s"),
    "acquire_p50": (("acquire_latency_ns", "p50"), "ns"),
    "acquire_p99": (("acquire_latency_ns", "p99"), "ns"),
    "acquire_p999": (("acquire_latency_ns", "p999"), "ns"),
    "wake_p50": (("wake_latency_ns", "p50"), "ns"),
    "wake_p99": (("wake_latency_ns", "p99"), "ns"),
    "jain": (("fairness", "jain"), "index"),
    "relative_stddev": (("fairness", "relative_stddev"), "ratio"),
    "cpu_user_per_op": (("cpu_user_ns_per_op",), "ns"),
    "cpu_sys_per_op": (("cpu_sys_ns_per_op",), "ns"),
    "wasted_cpu_per_op": (("wasted_cpu_ns_per_op",), "ns"),
    "voluntary_switches_per_op": (("voluntary_switches_per_op",), "switches"),
    "involuntary_switches_per_op": (("involuntary_switches_per_op",), "switches"),
    "wakes_per_op": (("wakes_per_op",), "wakes"),
    "spurious_per_op": (("spurious_per_op",), "wakes"),
    "futile_per_op": (("futile_per_op",), "wakes"),
}


def canonical(params, drop):
    return json.dumps({k: v for k, v in params.items() if k not in drop},
                      sort_keys=True, separators=(",", ":"))


def cell_name(p):
    where = (f"threads:{p['threads']}" if p["waiters"] == "threads"
             else f"tasks:{p['tasks']}/loops:{p['loops']}")
    return f"{p['workload']}/{p['strategy']}/{p['waiters']}/{where}"


def params_of(workload, strategy, waiters, x, reps, arrival="closed"):
    """A cell's parameters as harness/src/scenario.cpp (cell_params::to_json) writes
    them: `latency_sample_every` and `arrival` only where they are not the
    built-in values, so the same cell has the same key in schema 1 and 2."""
    p = {"workload": workload, "strategy": strategy, "waiters": waiters, "permits": 1,
         "weight": 1, "critical_section_ns": 100, "think_ns": 200, "fairness": "default",
         "pinning": "none", "duration_ms": 100, "warmup_ms": 10, "repetitions": reps}
    if arrival != "closed":
        p.update(arrival=arrival, arrival_rate_per_s=100000)
    if waiters == "threads":
        p["threads"] = x
    else:
        p.update(tasks=x, loops=2, hold="yield")
    return p


def latency_summary(p50, spread):
    """{count, min, mean, p50, ...}; `spread` scales the tail."""
    return {"count": 1000, "min": p50 // 2, "mean": p50 * 1.2, "p50": p50,
            "p90": p50 * (1 + spread), "p99": p50 * (1 + 4.5 * spread),
            "p999": p50 * (1 + 14.5 * spread), "max": p50 * (1 + 50 * spread)}


def fairness(ops):
    total, n = sum(ops), len(ops)
    mean = total / n
    squares = sum(o * o for o in ops)
    return {"jain": total * total / (n * squares) if squares else 1.0,
            "relative_stddev": statistics.pstdev(ops) / mean if mean else 0.0,
            "min_ops": min(ops), "max_ops": max(ops)}


def per_repetition(value, index):
    """A shape entry: one value for every repetition, or a list of one per repetition."""
    return value[index] if isinstance(value, list) else value


def repetition(rng, shape, index):
    """One pair's throughput run, with its latency run under `latency_run`."""
    jitter = lambda: 1 + rng.uniform(-0.03, 0.03)  # noqa: E731
    throughput = shape["throughput"] * jitter()
    ops = round(throughput * 0.1)
    starved = per_repetition(shape["starved"], index)
    busy = shape["workers"] - starved
    ops_per_worker = [round(ops / busy * jitter()) for _ in range(busy)]
    ops_per_worker += [0] * starved
    stalls = [1_000_000 * rng.randint(1, 3) for _ in range(busy)] + [WINDOW_NS] * starved
    ops = sum(ops_per_worker)
    overhead = (per_repetition(shape["overhead"], index) if isinstance(shape["overhead"], list)
                else shape["overhead"] * jitter())
    latency_throughput = throughput * (1 - overhead)
    latency_run = {
        "elapsed_s": 0.1, "operations": round(latency_throughput * 0.1),
        "throughput_ops_per_s": latency_throughput,
        "overhead_fraction": 1 - latency_throughput / throughput,
        "acquire_latency_ns": None, "wake_latency_ns": None, "herd_latency_ns": None,
        "reacquire_latency_ns": None,
        "max_wait_ns_per_worker": [], "censored_waits": starved,
        "censored_timed": 0, "censored_max_age_ns": 0}
    if shape["latency"]:
        latency_run["acquire_latency_ns"] = latency_summary(round(shape["latency"] * jitter()), 2)
    if not shape["herd"]:  # broadcast times its waiters per round: no per-worker maximum
        longest = shape["latency"] or shape["wake"]
        latency_run["max_wait_ns_per_worker"] = [longest * 100] * shape["workers"]
    for kind in ("wake", "herd", "reacquire"):
        if shape[kind]:
            latency_run[f"{kind}_latency_ns"] = latency_summary(round(shape[kind] * jitter()), 1)
    cpu = 1e9 / throughput * jitter()
    return {
        "elapsed_s": 0.1, "operations": ops, "throughput_ops_per_s": ops / 0.1,
        "ops_per_worker": ops_per_worker, "starved": starved,
        "longest_stall_ns_per_worker": stalls,
        "fairness": fairness(ops_per_worker), "censored_waits": starved,
        "cpu_ns_per_op": cpu, "wasted_cpu_ns_per_op": cpu * 0.5,
        "voluntary_switches_per_op": 0.3 * jitter(),
        "involuntary_switches_per_op": 0.001 * jitter(),
        "latency_run": latency_run,
    }


def binomial_half_cdf(n):
    """cdf[k] = P(Binomial(n, 1/2) <= k)."""
    total, cdf = 0, []
    for k in range(n + 1):
        total += math.comb(n, k)
        cdf.append(total / 2**n)
    return cdf


def symmetric_rank(cdf, count, level=INTERVAL_LEVEL):
    """The largest k (1-based) with 1 - 2 cdf[k-1] >= level, or 1; and its
    coverage (harness/src/metrics.cpp, symmetric_rank)."""
    k = 1
    while k < (count + 1) // 2 and 1 - 2 * cdf[k] >= level:
        k += 1
    return k, 1 - 2 * cdf[k - 1]


def summary(values, unit):
    """An aggregate as harness/src/metrics.cpp writes it: the median's
    order-statistic interval [x(k), x(n+1-k)] and its exact coverage."""
    ordered, n = sorted(values), len(values)
    if n == 1:
        low = high = ordered[0]
        coverage = 0.0
    else:
        k, coverage = symmetric_rank(binomial_half_cdf(n), n)
        low, high = ordered[k - 1], ordered[n - k]
    return {"median": statistics.median(values), "mean": statistics.fmean(values),
            "stddev": statistics.stdev(values) if n > 1 else 0.0,
            "ci_low": low, "ci_high": high, "ci_coverage": coverage, "n": n, "unit": unit}


def schema_1_summary(values, unit):
    """A schema 1 aggregate: a (here made-up) bootstrap 95 % interval."""
    return {"median": statistics.median(values), "mean": statistics.fmean(values),
            "stddev": statistics.stdev(values) if len(values) > 1 else 0.0,
            "ci95_low": min(values), "ci95_high": max(values), "n": len(values), "unit": unit}


def mann_whitney_cdf(m, n):
    """cdf[u] = P(U <= u) for samples of m and n distinct values under H0, by the
    recursion harness/src/metrics.cpp uses: f(i, j, u) = f(i-1, j, u-j) + f(i, j-1, u)."""
    top = m * n
    f = [[1] + [0] * top for _ in range(m + 1)]  # j = 0: only u = 0
    for j in range(1, n + 1):
        for i in range(1, m + 1):
            f[i] = [f[i][u] + (f[i - 1][u - j] if u >= j else 0) for u in range(top + 1)]
    total, running, cdf = sum(f[m]), 0, []
    for count in f[m]:
        running += count
        cdf.append(min(1.0, running / total))
    return cdf


def ratio_of(a, b):
    """{ratio, ci_low, ci_high, ci_coverage}: the Hodges-Lehmann estimate of a / b
    and its exact interval (harness/src/metrics.cpp, ratio_of; up to 50 a side)."""
    assert len(a) <= 50 and len(b) <= 50
    d = sorted(math.log(x) - math.log(y) for x in a for y in b)
    k, coverage = symmetric_rank(mann_whitney_cdf(len(a), len(b)), len(d))
    return {"ratio": math.exp(statistics.median(d)), "ci_low": math.exp(d[k - 1]),
            "ci_high": math.exp(d[len(d) - k]), "ci_coverage": coverage}


def add_peer_ratios(cells):
    """Every ok csync cell's `throughput_vs_peers` against the ok peers at its point."""
    def throughputs(cell):
        return [rep["throughput_ops_per_s"] for rep in cell["repetitions"]]

    for cell in cells:
        if cell["status"] != "ok" or cell["is_peer"]:
            continue
        cell["throughput_vs_peers"] = {
            peer["parameters"]["strategy"]: ratio_of(throughputs(cell), throughputs(peer))
            for peer in cells
            if peer["status"] == "ok" and peer["is_peer"] and peer["point"] == cell["point"]}


def value_at(obj, path):
    for step in path:
        obj = obj.get(step) if isinstance(obj, dict) else None
    return obj


def aggregates(reps, sources, timer_floor=None, summarize=summary):
    result = {}
    for name, (path, unit) in sources.items():
        values = [v for v in (value_at(rep, path) for rep in reps) if v is not None]
        if values:
            result[name] = summarize(values, unit)
            if timer_floor is not None and unit == "ns" and path[0] == "latency_run":
                result[name]["below_timer_floor"] = result[name]["median"] < timer_floor
    return result


def histogram(center):
    return [[center // 2, 5], [center, 60], [center * 3, 25], [center * 10, 9],
            [center * 100, 1]]


def overhead_verdict(fraction, loop):
    """harness/src/runner.cpp: the interval of the paired runs' overhead against the limit."""
    if loop != "closed":
        return "not applicable"
    if fraction["ci_low"] > OVERHEAD_LIMIT:
        return "above limit"
    return "within limit" if fraction["ci_high"] <= OVERHEAD_LIMIT else "unresolved"


def ok_cell(index, params, seed, throughput, latency, wake=None, herd=None, reacquire=None,
            starved=0, overhead=0.005, loop="closed"):
    """A schema 2 ok cell. `latency` None: no acquire latency (pingpong, broadcast).
    `starved` and `overhead`: one value, or a list of one per repetition."""
    rng = random.Random(seed)
    workers = (1 if params["workload"] == "pingpong"
               else params.get("threads", params.get("tasks", 1)))
    shape = {"throughput": throughput, "latency": latency, "wake": wake, "herd": herd,
             "reacquire": reacquire,
             "workers": workers, "starved": starved, "overhead": overhead}
    reps = [repetition(rng, shape, i) for i in range(params["repetitions"])]
    peer = params["strategy"] in PEERS
    overheads = [rep["latency_run"]["overhead_fraction"] for rep in reps]
    fraction = summary(overheads, "ratio")
    verdict = overhead_verdict(fraction, loop)
    cell = base_cell(index, params)
    cell.update(
        status="ok",
        measurement={"latency_sample_every": params.get("latency_sample_every",
                                                         LATENCY_SAMPLE_EVERY),
                     "latency_loop": loop, "timer_cost_ns": TIMER_COST_NS,
                     "timer_floor_ns": 2 * TIMER_COST_NS},
        harness_overhead={"fraction": fraction, "min": min(overheads), "max": max(overheads),
                          "limit": OVERHEAD_LIMIT, "verdict": verdict,
                          "flagged": verdict == "above limit",
                          **({"reason": OPEN_LOOP_REASON} if loop != "closed" else {})},
        diagnostic={"operations": round(throughput * 0.1), "max_holders": 1, "violations": 0,
                    "wakes_per_op": None if peer else 0.5,
                    "spurious_per_op": None if peer else 0.0,
                    "futile_per_op": None if peer else 0.0},
        aggregates=aggregates(reps, AGGREGATE_SOURCES, 2 * TIMER_COST_NS),
        acquire_latency_histogram_ns=histogram(latency) if latency else [])
    if wake:
        cell["wake_latency_histogram_ns"] = histogram(wake)
    if herd:
        cell["herd_latency_histogram_ns"] = histogram(herd)
    if reacquire:
        cell["reacquire_latency_histogram_ns"] = histogram(reacquire)
    cell["repetitions"] = reps
    if not peer:
        cell["throughput_vs_peers"] = {}  # add_peer_ratios fills it in
    return cell


def base_cell(index, params, schema=2):
    threads = params.get("threads", params.get("loops", 1))
    cell = {"cell": index, "name": cell_name(params),
            "key": canonical(params, RUN_SETTINGS),
            "point": canonical(params, RUN_SETTINGS | {"strategy", "fairness", "spin_budget"}),
            "parameters": params}
    if schema == 2:
        cell["is_peer"] = params["strategy"] in PEERS
    cell.update(worker_threads=threads, oversubscribed=threads > 2)
    return cell


def not_ok_cell(index, params, status, reason, schema=2):
    cell = base_cell(index, params, schema)
    cell.update(status=status, reason=reason)
    return cell


def report(name, host, cells, reps, schema=2):
    if schema == 2:
        add_peer_ratios(cells)
    data = {
        "schema_version": schema, "tool": "csync-bench",
        "context": {"host": host, "platform": "linux", "emulator": None, "machine": "x86_64",
                    "cpu_model": "Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz",
                    "cpus_online": 2, "cpus_allowed": 2, "kernel": "Linux 6.1.0 #1 SMP",
                    "compiler": "g++ 12.2.0", "cxx_flags": "-O3 -DNDEBUG",
                    "build_type": "Release", "csync_git_sha": "golden",
                    "date": "2026-11-26T00:00:00Z", "load_average": [0.1, 0.1, 0.1],
                    "steal_ticks_at_start": 0, "steal_ticks_at_end": 0,
                    "io_uring": {"ring": "available", "futex": "available"},
                    "iocp": {"port": "unavailable: I/O completion ports are a Windows API; "
                                     "this is not a Windows build",
                             "wait_completion_packet": "unavailable: I/O completion ports are "
                                                       "a Windows API; this is not a Windows build"},
                    "loop_backend": "io_uring", "timer_cost_ns": TIMER_COST_NS,
                    **({"burn_ns_per_iteration": 0.5} if schema == 2 else {})},
        "scenario": {"name": name, "description": "golden test report",
                     "path": f"scenarios/{name}.json", "hash": "0000000000000000"},
        "run": {"seed": 1, "quick": False, "smoke": False, "repetitions_override": reps,
                "strategies_filter": [], "cells": len(cells), "complete": True},
        "excluded": [],
        "results": cells,
    }
    return data


# The sweep's marked semaphore thread cells: (strategy, threads) -> ok_cell arguments.
SWEEP_MARKS = {
    ("std_mutex_condvar", 4): {"starved": [1, 1, 2, 1, 1]},  # every repetition
    ("intrusive_list", 2): {"starved": [0, 1, 0, 0, 1]},  # 2 of 5: the median is 0
    ("intrusive_list", 4): {"overhead": 0.05},  # above limit: flagged
    ("futex", 2): {"overhead": [0.015, 0.025, 0.02, 0.018, 0.03]},  # straddles 2 %: unresolved
    ("futex", 1): {"latency": 40},  # acquire p50 below the timer floor (50 ns)
}


def sweep():
    """5 repetitions: a closed-loop semaphore thread sweep (SWEEP_MARKS: starved,
    flagged, unresolved and below-the-floor cells), an open-loop coroutine sweep,
    a broadcast sweep (wake and herd latencies, no acquire), and two cells not ok."""
    cells = []
    speed = {"futex": 2e6, "intrusive_list": 1e6, "std_mutex_condvar": 0.8e6}
    for threads in (1, 2, 4):
        for strategy, throughput in speed.items():
            params = params_of("semaphore", strategy, "threads", threads, 5)
            marks = {"latency": 200 * threads, "overhead": 0.005,
                     **SWEEP_MARKS.get((strategy, threads), {})}
            cells.append(ok_cell(len(cells), params, len(cells), throughput / threads**0.3,
                                 **marks))
    for tasks in (8, 64):
        for strategy in ("futex", "intrusive_list"):
            params = params_of("semaphore", strategy, "coroutines", tasks, 5, arrival="poisson")
            cells.append(ok_cell(len(cells), params, len(cells), 1e6, 50 * tasks, loop="open"))
    for threads in (2, 4):
        for strategy in ("futex", "std_mutex_condvar"):
            params = params_of("broadcast", strategy, "threads", threads, 5)
            cells.append(ok_cell(len(cells), params, len(cells), 5e4, None,
                                 wake=3000 * threads, herd=9000 * threads,
                                 reacquire=2000))
    cells.append(not_ok_cell(len(cells), params_of("semaphore", "std_counting_semaphore",
                                                   "threads", 4, 5), "failed",
                             "1 workers were still blocked long after the stop: a lost wake-up"))
    cells.append(not_ok_cell(len(cells), params_of("semaphore", "uring_futex", "threads", 2, 5),
                             "unavailable", "unavailable: io_uring futex not supported"))
    return report("tiny-sweep", "golden-a", cells, None)


def pingpong(candidate):
    """Pingpong, 9 (baseline) or 10 (candidate) repetitions: futex regresses in the
    candidate (throughput 0.7x, wake latency 1.4x); spin is only in the baseline,
    atomic_waker only in the candidate; the rest are unchanged. Only wake latencies:
    pingpong's latency runs time no acquire latency (acquire_latency_ns null)."""
    reps = 10 if candidate else 9
    strategies = {"futex": (1e5, 5000), "intrusive_list": (8e4, 6000),
                  "std_mutex_condvar": (7e4, 7000),
                  ("atomic_waker" if candidate else "spin"): (2e5, 400)}
    cells = []
    for strategy, (throughput, wake) in strategies.items():
        if candidate and strategy == "futex":
            throughput, wake = throughput * 0.7, wake * 1.4
        params = params_of("pingpong", strategy, "threads", 2, reps)
        seed = 1000 * candidate + len(cells)
        cells.append(ok_cell(len(cells), params, seed, throughput, None, wake=wake))
    return report("pingpong", "golden-b" if candidate else "golden-a", cells, reps)


# --- schema 1 (one run per repetition; latencies sampled inside it) ----------------

def schema_1_repetition(rng, throughput, latency, wake, peer):
    jitter = lambda: 1 + rng.uniform(-0.03, 0.03)  # noqa: E731
    p50 = round(latency * jitter())
    rep = {
        "elapsed_s": 0.1, "operations": round(throughput * 0.1),
        "throughput_ops_per_s": throughput * jitter(),
        "acquire_latency_ns": latency_summary(p50, 2),
        "wake_latency_ns": None,
        "fairness": {"jain": min(1.0, 0.97 * jitter()), "relative_stddev": 0.05,
                     "min_ops": 90, "max_ops": 110},
        "cpu_user_ns_per_op": 1e9 / throughput * 0.8 * jitter(),
        "cpu_sys_ns_per_op": 1e9 / throughput * 0.2 * jitter(),
        "wasted_cpu_ns_per_op": 1e9 / throughput * 0.5,
        "voluntary_switches_per_op": 0.3 * jitter(),
        "involuntary_switches_per_op": 0.001 * jitter(),
        "wakes_per_op": 0.0 if peer else 0.5, "spurious_per_op": 0.0, "futile_per_op": 0.0,
        "max_holders": 1, "latency_sample_every": 4,
    }
    if wake:
        rep["wake_latency_ns"] = latency_summary(round(wake * jitter()), 1)
    return rep


def schema_1_ok_cell(index, params, seed, throughput, latency, wake=None):
    rng = random.Random(seed)
    peer = params["strategy"] in PEERS
    reps = [schema_1_repetition(rng, throughput, latency, wake, peer)
            for _ in range(params["repetitions"])]
    cell = base_cell(index, params, schema=1)
    cell.update(status="ok", aggregates=aggregates(reps, SCHEMA_1_AGGREGATE_SOURCES,
                                                   summarize=schema_1_summary),
                repetitions=reps, acquire_latency_histogram_ns=histogram(latency),
                harness_overhead={"measured": True, "fraction": 0.03,
                                  "estimated_fraction": 0.01, "latency_sample_every": 4,
                                  "throughput_with_recording": throughput * 0.97,
                                  "throughput_without_recording": throughput,
                                  "timer_cost_ns": 30.0})
    if wake:
        cell["wake_latency_histogram_ns"] = histogram(wake)
    if not peer:
        cell["throughput_vs_peers"] = {}
    return cell


def schema_1():
    """A schema 1 report, 3 repetitions: a semaphore thread sweep of futex and the
    std_mutex_condvar peer (the same keys as the sweep's cells), a pingpong futex
    cell (wake latency), one cell not ok."""
    cells = []
    for threads in (1, 2):
        for strategy, throughput in (("futex", 2e6), ("std_mutex_condvar", 0.8e6)):
            params = params_of("semaphore", strategy, "threads", threads, 3)
            cells.append(schema_1_ok_cell(len(cells), params, 500 + len(cells), throughput,
                                          200 * threads))
    cells.append(schema_1_ok_cell(len(cells), params_of("pingpong", "futex", "threads", 2, 3),
                                  500 + len(cells), 1e5, 10000, wake=5000))
    cells.append(not_ok_cell(len(cells), params_of("semaphore", "uring_futex", "threads", 2, 3),
                             "unavailable", "unavailable: io_uring futex not supported",
                             schema=1))
    return report("schema1-mixed", "golden-old", cells, None, schema=1)


def gbench():
    return {"context": {"date": "2026-11-26T00:00:00+00:00", "host_name": "golden",
                        "executable": "csync-micro", "num_cpus": 2},
            "benchmarks": [{"name": "AtomicPair", "run_type": "iteration", "iterations": 1000,
                            "real_time": 13.5, "cpu_time": 13.5, "time_unit": "ns"}]}


def rounded(value):
    """Floats to 5 significant digits, to keep the files small."""
    if isinstance(value, float):
        return float(f"{value:.5g}")
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def main():
    outputs = {"sweep-5reps.json": sweep(), "pingpong-baseline.json": pingpong(False),
               "pingpong-candidate.json": pingpong(True), "schema1-mixed.json": schema_1(),
               "gbench.json": gbench()}
    for name, data in outputs.items():
        (GOLDEN / name).write_text(json.dumps(rounded(data), separators=(",", ":")) + "\n")
    (GOLDEN / "not-json.txt").write_text("csync-bench: this is a log, not a report\n")


if __name__ == "__main__":
    main()
