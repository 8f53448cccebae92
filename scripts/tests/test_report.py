"""Loading and validation: a file that is not a report fails with a message
naming the file and what is wrong; schema 2 is read as it is, schema 1 is
upgraded to its shape."""

import json
import math

import pytest

from csync_report import ReportError, load_report
from csync_report.report import (
    LEGACY_NOTE, Starved, below_timer_floor, cell_id, duration_label, is_peer,
    latency_flagged, latency_loop, longest_stall_ns, median_interval, overhead_verdict,
    percent, short_cpu_model, starved_label, starved_workers, timer_floor_ns, x_parameter)
from csync_report.stats import shift_interval


def error_for(path):
    with pytest.raises(ReportError) as info:
        load_report(path)
    message = str(info.value)
    assert str(path) in message
    return message


def write_variant(tmp_path, golden, change, name="sweep-5reps.json"):
    """A copy of a golden report (the sweep) with `change(data)` applied."""
    data = json.loads(golden(name).read_text())
    change(data)
    path = tmp_path / "variant.json"
    path.write_text(json.dumps(data))
    return path


def by_name(report):
    return {c["name"]: c for c in report.cells}


def test_loads_golden_report(golden):
    report = load_report(golden("sweep-5reps.json"))
    assert report.scenario_name == "tiny-sweep"
    assert report.host == "golden-a"
    assert len(report.cells) == 19
    assert [c["status"] for c in report.not_ok_cells()] == ["failed", "unavailable"]
    assert "tiny-sweep" in report.describe() and "Intel Xeon Gold 6148" in report.describe()
    assert report.legacy_schema is None and report.legacy_note is None
    assert report.data["schema_version"] == 2


def test_schema_2_is_read_as_it_is(golden):
    path = golden("sweep-5reps.json")
    raw = json.loads(path.read_text())
    report = load_report(path)
    assert report.data == raw  # nothing rewritten
    cells = by_name(report)
    condvar = cells["semaphore/std_mutex_condvar/threads/threads:4"]
    assert condvar["is_peer"] and is_peer(condvar)
    assert condvar["diagnostic"]["wakes_per_op"] is None  # a peer: no statistics hook
    assert starved_workers(condvar) == Starved(5, 5, 2, 4, "workers")
    assert starved_label(condvar) == "starved in 5 of 5 repetitions (up to 2 of 4 workers)"
    assert longest_stall_ns(condvar) == 100_000_000  # the whole window
    assert not latency_flagged(condvar) and latency_loop(condvar) == "closed"
    flagged = cells["semaphore/intrusive_list/threads/threads:4"]
    assert latency_flagged(flagged) and starved_label(flagged) is None
    assert overhead_verdict(flagged) == "above limit"
    assert flagged["harness_overhead"]["fraction"]["ci_low"] > 0.02
    assert latency_loop(cells["semaphore/futex/coroutines/tasks:8/loops:2"]) == "open"
    broadcast = cells["broadcast/futex/threads/threads:4"]
    assert {"wake_p50", "herd_p50", "herd_p99"} <= broadcast["aggregates"].keys()
    assert "acquire_p50" not in broadcast["aggregates"]
    assert broadcast["aggregates"]["herd_p50"]["below_timer_floor"] is False
    assert broadcast["herd_latency_histogram_ns"]
    futex_1 = cells["semaphore/futex/threads/threads:1"]
    assert below_timer_floor(futex_1, "acquire_p50") and timer_floor_ns(futex_1) == 50
    assert not below_timer_floor(futex_1, "acquire_p99")
    assert not below_timer_floor(futex_1, "throughput")  # not a latency: no such mark
    assert longest_stall_ns(futex_1) <= 3_000_000  # never starved: a few ms at most
    # Aggregates: the median's order-statistic interval with its exact coverage.
    throughput = futex_1["aggregates"]["throughput"]
    values = sorted(rep["throughput_ops_per_s"] for rep in futex_1["repetitions"])
    assert median_interval(throughput) == (values[0], values[-1], 0.9375)  # n = 5: [min, max]
    assert "ci95_low" not in throughput
    # A pingpong cell times no acquire latency: null in every latency run, no aggregate.
    pingpong = load_report(golden("pingpong-baseline.json")).cells[0]
    assert all(rep["latency_run"]["acquire_latency_ns"] is None
               for rep in pingpong["repetitions"])
    assert not {"acquire_p50", "acquire_p99", "acquire_p999"} & pingpong["aggregates"].keys()
    assert pingpong["acquire_latency_histogram_ns"] == [] and "wake_p50" in pingpong["aggregates"]
    # A not-ok cell says whether it is a peer too.
    failed = cells["semaphore/std_counting_semaphore/threads/threads:4"]
    assert failed["status"] == "failed" and is_peer(failed)


def test_starved_in_some_repetitions_is_marked(golden):
    # Starved in 2 of 5 repetitions: the median of `starved` is 0, but the cell
    # is not sound; the label counts repetitions, not fractions of workers.
    cells = by_name(load_report(golden("sweep-5reps.json")))
    partly = cells["semaphore/intrusive_list/threads/threads:2"]
    assert partly["aggregates"]["starved"]["median"] == 0
    assert starved_workers(partly) == Starved(2, 5, 1, 2, "workers")
    assert starved_label(partly) == "starved in 2 of 5 repetitions (up to 1 of 2 workers)"
    reps = [{"starved": 0, "ops_per_worker": [5, 5]}] * 4 + [{"starved": 1}]
    assert starved_label({"repetitions": reps}) == (
        "starved in 1 of 5 repetitions (up to 1 of 2 workers)")
    pairs = {"parameters": {"workload": "pingpong"},
             "repetitions": [{"starved": 1, "ops_per_worker": [0, 9]}]}
    assert starved_label(pairs) == "starved in 1 of 1 repetition (up to 1 of 2 pairs)"


def test_overhead_verdicts(golden):
    cells = by_name(load_report(golden("sweep-5reps.json")))
    verdicts = {name: overhead_verdict(c) for name, c in cells.items() if c["status"] == "ok"}
    assert verdicts["semaphore/intrusive_list/threads/threads:4"] == "above limit"
    assert verdicts["semaphore/futex/threads/threads:2"] == "unresolved"
    assert verdicts["semaphore/futex/threads/threads:4"] == "within limit"
    open_loop = cells["semaphore/futex/coroutines/tasks:8/loops:2"]
    assert overhead_verdict(open_loop) == "not applicable"
    assert "offered rate" in open_loop["harness_overhead"]["reason"]
    assert not latency_flagged(open_loop)
    # flagged is true for "above limit" alone.
    assert all(c["harness_overhead"]["flagged"] == (verdicts[n] == "above limit")
               for n, c in cells.items() if c["status"] == "ok")
    unresolved = cells["semaphore/futex/threads/threads:2"]["harness_overhead"]
    assert unresolved["fraction"]["ci_low"] <= 0.02 < unresolved["fraction"]["ci_high"]
    assert unresolved["flagged"] is False


def test_throughput_vs_peers_has_the_exact_interval(golden):
    # make_golden computes it as the harness's ratio_of does (its recursion for
    # the U distribution); the scripts' shift_interval must agree.
    report = load_report(golden("sweep-5reps.json"))
    cells = {c["key"]: c for c in report.ok_cells()}
    checked = 0
    for cell in report.ok_cells():
        for peer, ratio in (cell.get("throughput_vs_peers") or {}).items():
            assert set(ratio) == {"ratio", "ci_low", "ci_high", "ci_coverage"}
            other = cells[cell["key"].replace(cell["parameters"]["strategy"], peer)]
            mine = [math.log(r["throughput_ops_per_s"]) for r in cell["repetitions"]]
            theirs = [math.log(r["throughput_ops_per_s"]) for r in other["repetitions"]]
            shift = shift_interval(theirs, mine)  # mine - theirs: this cell over the peer
            assert ratio["ratio"] == pytest.approx(math.exp(shift.estimate), rel=1e-4)
            assert ratio["ci_low"] == pytest.approx(math.exp(shift.low), rel=1e-4)
            assert ratio["ci_high"] == pytest.approx(math.exp(shift.high), rel=1e-4)
            assert ratio["ci_coverage"] == pytest.approx(shift.coverage, rel=1e-4)
            checked += 1
    assert checked == 8  # semaphore threads: 2 strategies x 3; broadcast: 2


def test_schema_1_is_upgraded(golden):
    report = load_report(golden("schema1-mixed.json"))
    assert report.legacy_schema == 1 and report.legacy_note == LEGACY_NOTE
    assert "old instrument" in LEGACY_NOTE and "schema 1" in LEGACY_NOTE
    assert report.data["schema_version"] == 2
    raw = {c["name"]: c for c in json.loads(golden("schema1-mixed.json").read_text())["results"]}
    cells = by_name(report)
    assert all("is_peer" in c for c in report.cells)
    assert [n for n, c in cells.items() if c["is_peer"]] == [
        "semaphore/std_mutex_condvar/threads/threads:1",
        "semaphore/std_mutex_condvar/threads/threads:2"]

    name = "pingpong/futex/threads/threads:2"
    cell, old = cells[name], raw[name]
    for rep, old_rep in zip(cell["repetitions"], old["repetitions"]):
        run = rep["latency_run"]
        assert run["acquire_latency_ns"] == old_rep["acquire_latency_ns"]
        assert run["wake_latency_ns"] == old_rep["wake_latency_ns"]
        assert run["herd_latency_ns"] is None and run["overhead_fraction"] is None
        assert run["throughput_ops_per_s"] == old_rep["throughput_ops_per_s"]
        assert rep["cpu_ns_per_op"] == pytest.approx(
            old_rep["cpu_user_ns_per_op"] + old_rep["cpu_sys_ns_per_op"])
        assert rep["starved"] is None and rep["ops_per_worker"] is None
        for gone in ("acquire_latency_ns", "wake_latency_ns", "cpu_user_ns_per_op",
                     "cpu_sys_ns_per_op", "wakes_per_op", "spurious_per_op", "futile_per_op",
                     "max_holders", "latency_sample_every"):
            assert gone not in rep
    aggregates = cell["aggregates"]
    assert not {"cpu_user_per_op", "cpu_sys_per_op", "wakes_per_op", "starved"} & aggregates.keys()
    for name, aggregate in aggregates.items():  # bootstrap intervals: no exact coverage
        old_aggregate = old["aggregates"].get(name, {})
        assert "ci95_low" not in aggregate and "ci95_high" not in aggregate
        assert median_interval(aggregate) == (old_aggregate.get("ci95_low"),
                                              old_aggregate.get("ci95_high"), None)
    assert all(rep["longest_stall_ns_per_worker"] is None for rep in cell["repetitions"])
    assert longest_stall_ns(cell) is None
    cpu = sorted(r["cpu_ns_per_op"] for r in cell["repetitions"])
    assert aggregates["cpu_per_op"]["median"] == pytest.approx(cpu[1])
    assert aggregates["cpu_per_op"]["n"] == 3 and aggregates["cpu_per_op"]["unit"] == "ns"
    assert aggregates["wake_p50"]["below_timer_floor"] is False  # 5 µs, floor 60 ns
    assert cell["diagnostic"] == {"operations": None, "max_holders": 1, "violations": 0,
                                  "wakes_per_op": 0.5, "spurious_per_op": 0.0,
                                  "futile_per_op": 0.0}
    assert cell["measurement"] == {"latency_sample_every": 4, "latency_loop": "closed",
                                   "timer_cost_ns": 30.0, "timer_floor_ns": 60.0}
    overhead = cell["harness_overhead"]
    assert overhead["flagged"] is None and overhead["fraction"] is None
    assert overhead["verdict"] is None and overhead_verdict(cell) is None
    assert overhead["schema_1_fraction"] == 0.03  # above 2 %, but too noisy to flag on
    assert not latency_flagged(cell) and starved_label(cell) is None

    peer = cells["semaphore/std_mutex_condvar/threads/threads:1"]
    assert peer["diagnostic"]["wakes_per_op"] is None  # schema 1 wrote 0 for peers
    unavailable = cells["semaphore/uring_futex/threads/threads:2"]
    assert unavailable["is_peer"] is False and "diagnostic" not in unavailable


def test_schema_1_peer_ratios_are_upgraded(tmp_path, golden):
    def change(data):
        data["results"][0]["throughput_vs_peers"] = {"std_mutex_condvar": 2.5,
                                                     "std_counting_semaphore": None}
    report = load_report(write_variant(tmp_path, golden, change, "schema1-mixed.json"))
    assert report.cells[0]["throughput_vs_peers"] == {
        "std_mutex_condvar": {"ratio": 2.5, "ci_low": None, "ci_high": None,
                              "ci_coverage": None},
        "std_counting_semaphore": {"ratio": None, "ci_low": None, "ci_high": None,
                                   "ci_coverage": None}}


def test_schema_1_errors_name_the_file_s_own_paths(tmp_path, golden):
    def change(data):
        data["results"][4]["repetitions"][1] = 7
    path = write_variant(tmp_path, golden, change, "schema1-mixed.json")
    assert "$.results[4].repetitions[1]: expected an object, got a number" in error_for(path)


def test_not_json(golden):
    assert "not JSON" in error_for(golden("not-json.txt"))


def test_google_benchmark_output(golden):
    message = error_for(golden("gbench.json"))
    assert "not a csync-bench report" in message
    assert "looks like Google Benchmark output" in message


def test_missing_file(tmp_path):
    assert "cannot read" in error_for(tmp_path / "missing.json")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.json"
    path.write_text("\n")
    assert "not JSON: the file is empty" in error_for(path)


def test_top_level_array(tmp_path):
    path = tmp_path / "array.json"
    path.write_text("[1, 2]")
    assert "expected a JSON object, got an array" in error_for(path)


def test_missing_tool(tmp_path, golden):
    path = write_variant(tmp_path, golden, lambda d: d.pop("tool"))
    assert 'no "tool" key, expected "tool": "csync-bench"' in error_for(path)


def test_other_tool(tmp_path, golden):
    path = write_variant(tmp_path, golden, lambda d: d.update(tool="other-bench"))
    assert "tool is 'other-bench'" in error_for(path)


@pytest.mark.parametrize("version, shown", [(3, "3"), (0, "0"), ("2", '"2"'), (True, "true"),
                                            (None, "null")])
def test_unsupported_schema_version(tmp_path, golden, version, shown):
    path = write_variant(tmp_path, golden, lambda d: d.update(schema_version=version))
    message = error_for(path)
    assert f"$.schema_version: unsupported schema_version {shown};" in message
    assert "these scripts read 2 (and 1, upgraded on load)" in message


def test_schema_2_cell_without_is_peer(tmp_path, golden):
    path = write_variant(tmp_path, golden, lambda d: d["results"][17].pop("is_peer"))
    assert "$.results[17].is_peer: required" in error_for(path)


@pytest.mark.parametrize("change, expected", [
    (lambda c: c.pop("measurement"), "$.results[2].measurement: required"),
    (lambda c: c.pop("diagnostic"), "$.results[2].diagnostic: required"),
    (lambda c: c["harness_overhead"].update(flagged="yes"),
     "$.results[2].harness_overhead.flagged: expected a boolean, got a string"),
    (lambda c: c["harness_overhead"].pop("verdict"),
     "$.results[2].harness_overhead.verdict: required"),
    (lambda c: c["harness_overhead"].update(verdict="fine"),
     '$.results[2].harness_overhead.verdict: expected one of "within limit", "above limit", '
     '"unresolved", "not applicable", got "fine"'),
    (lambda c: c["harness_overhead"].update(flagged=True),
     '$.results[2].harness_overhead.flagged: true with verdict "within limit"; flagged is '
     'true exactly when the verdict is "above limit"'),
    (lambda c: c.update(throughput_vs_peers={"std_mutex_condvar": 0.9}),
     "$.results[2].throughput_vs_peers.std_mutex_condvar: expected an object "
     "{ratio, ci_low, ci_high, ci_coverage}, got a number"),
    (lambda c: c.update(throughput_vs_peers=[]),
     "$.results[2].throughput_vs_peers: expected an object, got an array"),
    (lambda c: c["measurement"].pop("latency_loop"),
     "$.results[2].measurement.latency_loop: required"),
    (lambda c: c["measurement"].update(latency_loop="poisson"),
     '$.results[2].measurement.latency_loop: expected "closed" or "open", got "poisson"'),
    (lambda c: c["repetitions"][3].pop("latency_run"),
     "$.results[2].repetitions[3].latency_run: required"),
    (lambda c: c.update(herd_latency_histogram_ns=[[1]]),
     "$.results[2].herd_latency_histogram_ns: expected [[bucket_lower_bound_ns, count], ...]"),
])
def test_schema_2_ok_cell_objects(tmp_path, golden, change, expected):
    path = write_variant(tmp_path, golden, lambda d: change(d["results"][2]))
    assert expected in error_for(path)


def test_missing_results(tmp_path, golden):
    path = write_variant(tmp_path, golden, lambda d: d.pop("results"))
    assert "$.results: required" in error_for(path)


def test_ok_cell_without_aggregates(tmp_path, golden):
    path = write_variant(tmp_path, golden, lambda d: d["results"][3].pop("aggregates"))
    assert "$.results[3].aggregates: required" in error_for(path)


def test_bad_histogram(tmp_path, golden):
    def change(data):
        data["results"][0]["acquire_latency_histogram_ns"] = [[1, 2, 3]]
    message = error_for(write_variant(tmp_path, golden, change))
    assert "$.results[0].acquire_latency_histogram_ns" in message


def test_not_ok_cells_need_no_measurements(golden):
    report = load_report(golden("sweep-5reps.json"))
    failed = report.not_ok_cells()[0]
    assert "aggregates" not in failed and failed["reason"]


def test_is_peer_comes_from_the_cell():
    def cell(strategy, **peer):
        return {"parameters": {"strategy": strategy}, **peer}
    # The cell's is_peer wins over any list of names.
    assert not is_peer(cell("some_new_csync_strategy", is_peer=False))
    assert is_peer(cell("futex", is_peer=True))
    # Without it (never after loading), the schema 1 list decides.
    assert not is_peer(cell("futex")) and not is_peer(cell("iocp"))
    assert is_peer(cell("std_mutex_condvar")) and is_peer(cell("some_new_peer"))


def test_marks_where_not_known():
    assert starved_workers({"aggregates": {}}) is None
    assert starved_workers({"repetitions": [{"starved": 0}, {"starved": None}]}) is None
    # The median is not what counts: the repetitions are.
    assert starved_workers({"aggregates": {"starved": {"median": 2}}, "repetitions": []}) is None
    no_workers = {"repetitions": [{"starved": 2}, {}]}
    assert starved_label(no_workers) == "starved in 1 of 1 repetition (up to 2 workers)"
    assert starved_label({"repetitions": [{"starved": 1}, {"starved": 0}]}) == (
        "starved in 1 of 2 repetitions (up to 1 worker)")
    assert not latency_flagged({}) and not latency_flagged({"harness_overhead": {"flagged": None}})
    assert latency_loop({}) is None and overhead_verdict({}) is None
    assert longest_stall_ns({"repetitions": [{"longest_stall_ns_per_worker": []}]}) is None
    assert not below_timer_floor({}, "acquire_p50") and timer_floor_ns({}) is None
    assert median_interval(None) == (None, None, None)
    assert median_interval({"ci_low": 1, "ci_high": 2}) == (1, 2, None)


def test_helpers():
    assert [percent(c) for c in (0.9375, 0.75, 0.5, 0.0, 0.984375)] == [
        "93.8 %", "75 %", "50 %", "0 %", "98.4 %"]
    assert [duration_label(v) for v in (0, 250, 2000, 1.5e7, 1e8, 3e9)] == [
        "0", "250 ns", "2 µs", "15 ms", "100 ms", "3 s"]
    assert cell_id({"key": "k", "name": "n"}) == "k"
    assert cell_id({"name": "n"}) == "n"
    assert x_parameter({"parameters": {"waiters": "coroutines"}}) == "tasks"
    assert x_parameter({"parameters": {"waiters": "threads"}}) == "threads"
    assert short_cpu_model("Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz") == "Intel Xeon Gold 6148"
    assert short_cpu_model("AMD EPYC 7B13 64-Core Processor") == "AMD EPYC 7B13"
    assert short_cpu_model(None) == "unknown CPU"
