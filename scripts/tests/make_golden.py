#!/usr/bin/env python3
"""Write the small golden reports under golden/ (run after a format change).

The reports follow docs/report-format.md (schema_version 1) with made-up,
deterministic numbers chosen so that the tests know the answers: the
baseline/candidate pair has a clear futex regression and an unchanged
intrusive_list. Written compact, as csync-bench writes reports (read them with
`python3 -m json.tool`). Regenerate: `python3 scripts/tests/make_golden.py`.
"""

import json
import random
import statistics
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"
RUN_SETTINGS = {"duration_ms", "operations", "warmup_ms", "repetitions"}
PEERS = {"std_counting_semaphore", "std_mutex_condvar", "futex_spin_then_block"}
AGGREGATE_SOURCES = {  # aggregate -> (path in a repetition, unit)
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


def params_of(workload, strategy, waiters, x, reps):
    p = {"workload": workload, "strategy": strategy, "waiters": waiters, "permits": 1,
         "weight": 1, "critical_section_ns": 100, "think_ns": 200, "fairness": "default",
         "pinning": "none", "duration_ms": 100, "warmup_ms": 10, "repetitions": reps}
    if waiters == "threads":
        p["threads"] = x
    else:
        p.update(tasks=x, loops=2, hold="yield")
    return p


def repetition(rng, throughput, latency, wake):
    jitter = lambda: 1 + rng.uniform(-0.03, 0.03)  # noqa: E731
    p50 = round(latency * jitter())
    rep = {
        "elapsed_s": 0.1, "operations": round(throughput * 0.1),
        "throughput_ops_per_s": throughput * jitter(),
        "acquire_latency_ns": {"count": 1000, "min": p50 // 2, "mean": p50 * 1.2, "p50": p50,
                               "p90": p50 * 3, "p99": p50 * 10, "p999": p50 * 30,
                               "max": p50 * 100},
        "wake_latency_ns": None,
        "fairness": {"jain": min(1.0, 0.97 * jitter()), "relative_stddev": 0.05,
                     "min_ops": 90, "max_ops": 110},
        "cpu_user_ns_per_op": 1e9 / throughput * 0.8 * jitter(),
        "cpu_sys_ns_per_op": 1e9 / throughput * 0.2 * jitter(),
        "wasted_cpu_ns_per_op": 1e9 / throughput * 0.5,
        "voluntary_switches_per_op": 0.3 * jitter(),
        "involuntary_switches_per_op": 0.001 * jitter(),
        "wakes_per_op": 0.5, "spurious_per_op": 0.0, "futile_per_op": 0.0,
        "max_holders": 1, "latency_sample_every": 4,
    }
    if wake:
        w50 = round(wake * jitter())
        rep["wake_latency_ns"] = {"count": 1000, "min": w50 // 2, "mean": w50 * 1.1,
                                  "p50": w50, "p90": w50 * 2, "p99": w50 * 4,
                                  "p999": w50 * 8, "max": w50 * 20}
    return rep


def aggregates(reps):
    result = {}
    for name, (path, unit) in AGGREGATE_SOURCES.items():
        values = []
        for rep in reps:
            value = rep
            for step in path:
                value = value.get(step) if isinstance(value, dict) else None
            if value is not None:
                values.append(value)
        if values:
            result[name] = {"median": statistics.median(values),
                            "mean": statistics.fmean(values),
                            "stddev": statistics.stdev(values) if len(values) > 1 else 0.0,
                            "ci95_low": min(values), "ci95_high": max(values),
                            "n": len(values), "unit": unit}
    return result


def histogram(center):
    return [[center // 2, 5], [center, 60], [center * 3, 25], [center * 10, 9],
            [center * 100, 1]]


def ok_cell(index, params, seed, throughput, latency, wake=None):
    rng = random.Random(seed)
    reps = [repetition(rng, throughput, latency, wake) for _ in range(params["repetitions"])]
    cell = base_cell(index, params)
    cell.update(status="ok", aggregates=aggregates(reps), repetitions=reps,
                acquire_latency_histogram_ns=histogram(latency),
                harness_overhead={"measured": True, "fraction": 0.01,
                                  "estimated_fraction": 0.01, "latency_sample_every": 4,
                                  "throughput_with_recording": throughput,
                                  "throughput_without_recording": throughput,
                                  "timer_cost_ns": 25.0})
    if wake:
        cell["wake_latency_histogram_ns"] = histogram(wake)
    if params["strategy"] not in PEERS:
        cell["throughput_vs_peers"] = {}
    return cell


def base_cell(index, params):
    threads = params.get("threads", params.get("loops", 1))
    return {"cell": index, "name": cell_name(params),
            "key": canonical(params, RUN_SETTINGS),
            "point": canonical(params, RUN_SETTINGS | {"strategy", "fairness", "spin_budget"}),
            "parameters": params, "worker_threads": threads, "oversubscribed": threads > 2}


def not_ok_cell(index, params, status, reason):
    cell = base_cell(index, params)
    cell.update(status=status, reason=reason)
    return cell


def report(name, host, cells, reps):
    return {
        "schema_version": 1, "tool": "csync-bench",
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
                    "loop_backend": "io_uring", "timer_cost_ns": 25.0},
        "scenario": {"name": name, "description": "golden test report",
                     "path": f"scenarios/{name}.json", "hash": "0000000000000000"},
        "run": {"seed": 1, "quick": False, "smoke": False, "repetitions_override": reps,
                "strategies_filter": [], "cells": len(cells), "complete": True},
        "excluded": [],
        "results": cells,
    }


def sweep():
    """Semaphore sweep, 5 repetitions: thread and coroutine groups, two cells not ok."""
    cells = []
    speed = {"futex": 2e6, "intrusive_list": 1e6, "std_mutex_condvar": 0.8e6}
    for threads in (1, 2, 4):
        for strategy, throughput in speed.items():
            params = params_of("semaphore", strategy, "threads", threads, 5)
            cells.append(ok_cell(len(cells), params, len(cells), throughput / threads**0.3,
                                 200 * threads))
    for tasks in (8, 64):
        for strategy in ("futex", "intrusive_list"):
            params = params_of("semaphore", strategy, "coroutines", tasks, 5)
            cells.append(ok_cell(len(cells), params, len(cells), 1e6, 50 * tasks))
    cells.append(not_ok_cell(len(cells), params_of("semaphore", "std_counting_semaphore",
                                                   "threads", 4, 5), "failed",
                             "1 workers were still blocked long after the stop: a lost wake-up"))
    cells.append(not_ok_cell(len(cells), params_of("semaphore", "uring_futex", "threads", 2, 5),
                             "unavailable", "unavailable: io_uring futex not supported"))
    return report("tiny-sweep", "golden-a", cells, None)


def pingpong(candidate):
    """Pingpong, 9 (baseline) or 10 (candidate) repetitions: futex regresses in the
    candidate (throughput 0.7x, wake latency 1.4x); spin is only in the baseline,
    atomic_waker only in the candidate; the rest are unchanged."""
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
        cells.append(ok_cell(len(cells), params, seed, throughput, wake, wake=wake))
    return report("pingpong", "golden-b" if candidate else "golden-a", cells, reps)


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
               "pingpong-candidate.json": pingpong(True), "gbench.json": gbench()}
    for name, data in outputs.items():
        (GOLDEN / name).write_text(json.dumps(rounded(data), separators=(",", ":")) + "\n")
    (GOLDEN / "not-json.txt").write_text("csync-bench: this is a log, not a report\n")


if __name__ == "__main__":
    main()
