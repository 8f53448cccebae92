"""compare: matching, ratios, intervals, p-values and Holm's correction,
verdicts, --fail-above and exit codes."""

import math
import statistics
from pathlib import Path

import pytest

from csync_report import load_report
from csync_report.compare import (
    METRICS, VERDICT_NOT_SIGNIFICANT, VERDICT_TOO_FEW, VERDICT_UNRESOLVED, CellComparison,
    compare_reports, format_comparison, geomean_by_strategy, regressions, repetitions_needed,
    samples, warnings)
from csync_report.report import LEGACY_NOTE, Report
from csync_report.stats import holm, log_mean_interval, shift_interval

FUTEX = "pingpong/futex/threads/threads:2"
STARVED_CELL = "semaphore/std_mutex_condvar/threads/threads:4"
PARTLY_STARVED_CELL = "semaphore/intrusive_list/threads/threads:2"
FLAGGED_CELL = "semaphore/intrusive_list/threads/threads:4"
FLOOR_CELL = "semaphore/futex/threads/threads:1"
STARVED_NOTES = ("baseline starved in 5 of 5 (up to 2 of 4)",
                 "candidate starved in 5 of 5 (up to 2 of 4)")
PARTLY_STARVED_NOTES = ("baseline starved in 2 of 5 (up to 1 of 2)",
                        "candidate starved in 2 of 5 (up to 1 of 2)")


@pytest.fixture
def pair(golden):
    return (load_report(golden("pingpong-baseline.json")),
            load_report(golden("pingpong-candidate.json")))


def by_name(comparison):
    return {c.name: c for c in comparison.cells}


def test_throughput_regression_is_found(pair):
    comparison = compare_reports(*pair, "throughput")
    cells = by_name(comparison)
    assert set(cells) == {FUTEX, "pingpong/intrusive_list/threads/threads:2",
                          "pingpong/std_mutex_condvar/threads/threads:2"}
    futex = cells[FUTEX]
    assert futex.ratio == pytest.approx(0.7, abs=0.03)
    assert (futex.baseline_n, futex.candidate_n) == (9, 10)
    assert futex.p_value < 0.001  # 9 vs 10 samples, completely separated
    assert futex.worse_percent == pytest.approx(30, abs=3)
    unchanged = cells["pingpong/intrusive_list/threads/threads:2"]
    assert unchanged.ratio == pytest.approx(1.0, abs=0.03) and not unchanged.significant
    assert [c.name for c in regressions(comparison, 10)] == [FUTEX]
    assert regressions(comparison, 40) == []


def test_latency_regression_is_higher(pair):
    comparison = compare_reports(*pair, "wake_p50")
    futex = by_name(comparison)[FUTEX]
    assert futex.ratio == pytest.approx(1.4, abs=0.05)
    assert futex.worse_percent == pytest.approx(40, abs=5)
    assert [c.name for c in regressions(comparison, 10)] == [FUTEX]


def test_cells_in_one_report_only(pair):
    comparison = compare_reports(*pair)
    assert comparison.only_baseline == ["pingpong/spin/threads/threads:2"]
    assert comparison.only_candidate == ["pingpong/atomic_waker/threads/threads:2"]


def test_geometric_mean_per_strategy(pair):
    means = geomean_by_strategy(compare_reports(*pair))
    assert list(means) == ["futex", "intrusive_list", "std_mutex_condvar"]
    assert means["futex"][0] == pytest.approx(0.7, abs=0.03) and means["futex"][1] == 1


def test_the_schema_2_metric_set():
    assert set(METRICS) == {
        "throughput", "acquire_p50", "acquire_p99", "acquire_p999", "wake_p50", "wake_p99",
        "herd_p50", "herd_p99", "reacquire_p50", "reacquire_p99", "jain", "relative_stddev",
        "starved", "cpu_per_op",
        "wasted_cpu_per_op", "voluntary_switches_per_op", "involuntary_switches_per_op",
        "overhead_fraction"}
    assert METRICS["wake_p50"].is_latency and METRICS["herd_p99"].is_latency
    assert not METRICS["overhead_fraction"].is_latency and not METRICS["throughput"].is_latency


@pytest.mark.parametrize("metric", sorted(METRICS))
def test_every_metric_has_samples_and_an_aggregate(golden, metric):
    report = load_report(golden("sweep-5reps.json"))
    cells = [c for c in report.ok_cells() if metric in c["aggregates"]]
    assert cells  # the sweep has every metric somewhere
    for cell in cells:
        assert len(samples(cell, METRICS[metric])) == cell["aggregates"][metric]["n"]


def test_report_against_itself(golden):
    report = load_report(golden("sweep-5reps.json"))
    comparison = compare_reports(report, report)
    assert len(comparison.cells) == 17
    assert all(c.ratio == 1.0 and c.p_value == 1.0 for c in comparison.cells)
    assert [name for name, _ in comparison.not_compared] == [
        "semaphore/std_counting_semaphore/threads/threads:4",
        "semaphore/uring_futex/threads/threads:2"]
    assert any("fewer than 9 repetitions are weak" in w for w in warnings(comparison))


def test_metric_missing_from_cells(golden):
    report = load_report(golden("sweep-5reps.json"))
    comparison = compare_reports(report, report, "acquire_p50")
    assert [c.name for c in comparison.cells if c.name.startswith("broadcast")] == []
    reasons = [why for _, why in comparison.not_compared if "status" not in why]
    assert len(reasons) == 4 and all(
        "no acquire_p50 in the baseline (its latency runs timed no acquire latency)" == r
        for r in reasons)
    pingpong = load_report(golden("pingpong-baseline.json"))
    comparison = compare_reports(pingpong, pingpong, "herd_p50")
    assert comparison.cells == [] and len(comparison.not_compared) == 4
    assert "no cells were compared" in warnings(comparison)


def test_metric_missing_on_one_side_is_a_note(pair):
    baseline, candidate = pair
    futex = next(c for c in candidate.cells if c["name"] == FUTEX)
    del futex["aggregates"]["cpu_per_op"]
    comparison = compare_reports(baseline, candidate, "cpu_per_op")
    assert (FUTEX, "no cpu_per_op in the candidate") in comparison.not_compared
    assert len(comparison.cells) == 2
    text = format_comparison(comparison, baseline, candidate)
    assert f"  {FUTEX}: no cpu_per_op in the candidate" in text


def test_starved_and_flagged_cells_are_noted(golden):
    report = load_report(golden("sweep-5reps.json"))
    throughput = {c.name: c for c in compare_reports(report, report).cells}
    assert throughput[STARVED_CELL].notes == STARVED_NOTES
    # Starved in 2 of 5 repetitions (a median of 0) is noted too.
    assert throughput[PARTLY_STARVED_CELL].notes == PARTLY_STARVED_NOTES
    assert throughput[FLAGGED_CELL].notes == ()  # throughput is not a latency
    assert throughput[FLOOR_CELL].notes == ()
    latency = compare_reports(report, report, "acquire_p99")
    notes = {c.name: c.notes for c in latency.cells if c.notes}
    assert notes == {STARVED_CELL: STARVED_NOTES, PARTLY_STARVED_CELL: PARTLY_STARVED_NOTES,
                     FLAGGED_CELL: ("baseline latency flagged", "candidate latency flagged")}
    text = format_comparison(latency, report, report)
    row = next(line for line in text.splitlines() if line.startswith(FLAGGED_CELL))
    assert row.endswith("[baseline latency flagged; candidate latency flagged; "
                        "ties: normal-approximation p]")
    assert "latency flagged = latency recording cost > 2 %" in text


def test_schema_1_reports_compare_with_notes(golden):
    old = load_report(golden("schema1-mixed.json"))
    comparison = compare_reports(old, old, "cpu_per_op")
    assert len(comparison.cells) == 5  # cpu_per_op = user + sys, upgraded on load
    assert all(c.ratio == 1.0 for c in comparison.cells)
    text = format_comparison(comparison, old, old)
    assert f"note: {old.path}: {LEGACY_NOTE}" in text
    # A metric schema 1 did not record: skipped with a note, not a crash.
    starved = compare_reports(old, old, "starved")
    assert starved.cells == []
    reasons = {why for _, why in starved.not_compared if "status" not in why}
    assert reasons == {"no starved in the baseline (a schema 1 report)"}


def test_schema_1_against_schema_2(golden):
    old, new = load_report(golden("schema1-mixed.json")), load_report(golden("sweep-5reps.json"))
    comparison = compare_reports(old, new)
    assert comparison.legacy == {"baseline": 1}
    # Keys leave out parameters at their built-in values, so the cells match.
    assert [c.name for c in comparison.cells] == [
        "semaphore/futex/threads/threads:1", "semaphore/futex/threads/threads:2",
        "semaphore/std_mutex_condvar/threads/threads:1",
        "semaphore/std_mutex_condvar/threads/threads:2"]
    assert any("the baseline is a schema 1 report and the other one is not" in w
               for w in warnings(comparison))
    cpu = compare_reports(old, new, "cpu_per_op")
    assert len(cpu.cells) == 4
    starved = compare_reports(old, new, "starved")
    assert starved.cells == []
    assert ("semaphore/futex/threads/threads:1",
            "no starved in the baseline (a schema 1 report)") in starved.not_compared
    text = format_comparison(starved, old, new)
    assert f"note: {old.path}: {LEGACY_NOTE}" in text and f"note: {new.path}" not in text


def test_no_weak_warning_with_nine_repetitions(pair):
    assert warnings(compare_reports(*pair)) == []


def test_formatted_output(pair):
    text = format_comparison(compare_reports(*pair), *pair)
    assert "context differs: host: golden-a -> golden-b" in text
    assert "higher is better" in text
    assert "note:" not in text and "notes:" not in text
    futex_row = next(line for line in text.splitlines() if line.startswith(FUTEX))
    assert futex_row.endswith("worse")


def test_a_run_under_wine_is_flagged(pair):
    baseline, candidate = pair
    candidate.data["context"] = dict(candidate.context, platform="windows",
                                     emulator="wine 8.0 (host Linux 6.1.0)")
    text = format_comparison(compare_reports(baseline, candidate), baseline, candidate)
    assert "context differs: platform: linux -> windows" in text
    assert "context differs: emulator: None -> wine 8.0 (host Linux 6.1.0)" in text
    assert f"warning: {candidate.path} was measured under wine 8.0" in text
    assert "not windows" in text


def test_cli_reports_and_exits_0(run_script, golden):
    result = run_script("compare.py", golden("pingpong-baseline.json"),
                        golden("pingpong-candidate.json"))
    assert result.returncode == 0, result.stderr
    assert FUTEX in result.stdout and "geometric mean of ratios" in result.stdout
    assert result.stderr == ""


def test_cli_fail_above(run_script, golden):
    args = ("compare.py", golden("pingpong-baseline.json"), golden("pingpong-candidate.json"))
    failed = run_script(*args, "--fail-above", "10")
    assert failed.returncode == 1
    assert f"REGRESSION {FUTEX}: throughput" in failed.stdout
    passed = run_script(*args, "--fail-above", "50")
    assert passed.returncode == 0
    assert "no cell resolvably worse by more than 50% (Holm-adjusted p < 0.05, whole 95% " \
           "interval beyond it)" in passed.stdout
    latency = run_script(*args, "--metric", "wake_p50", "--fail-above", "10")
    assert latency.returncode == 1 and f"REGRESSION {FUTEX}: wake_p50" in latency.stdout
    cpu = run_script(*args, "--metric", "cpu_per_op", "--fail-above", "10")
    assert cpu.returncode == 1 and f"REGRESSION {FUTEX}: cpu_per_op" in cpu.stdout


def test_cli_schema_1_report(run_script, golden):
    old = golden("schema1-mixed.json")
    result = run_script("compare.py", old, old, "--metric", "starved")
    assert result.returncode == 0, result.stderr
    assert "schema 1 report: measured with the old instrument" in result.stdout
    assert "no starved in the baseline (a schema 1 report)" in result.stdout
    assert "no cells were compared" in result.stderr
    mixed = run_script("compare.py", old, golden("sweep-5reps.json"))
    assert mixed.returncode == 0
    assert "the baseline is a schema 1 report" in mixed.stderr


def test_cli_improvement_does_not_fail(run_script, golden):
    # Swapped: the candidate is the faster one.
    result = run_script("compare.py", golden("pingpong-candidate.json"),
                        golden("pingpong-baseline.json"), "--fail-above", "5")
    assert result.returncode == 0
    assert "better" in result.stdout


def test_cli_warns_about_few_repetitions(run_script, golden):
    sweep = golden("sweep-5reps.json")
    result = run_script("compare.py", sweep, sweep)
    assert result.returncode == 0
    assert "p-values from fewer than 9 repetitions are weak" in result.stderr


@pytest.mark.parametrize("bad, expected", [
    ("gbench.json", "looks like Google Benchmark output"),
    ("not-json.txt", "not JSON"),
    ("no-such-file.json", "cannot read"),
])
def test_cli_bad_input_exits_2(run_script, golden, bad, expected):
    result = run_script("compare.py", golden(bad), golden("pingpong-candidate.json"))
    assert result.returncode == 2
    assert expected in result.stderr and bad in result.stderr
    assert result.stdout == ""


def test_cli_help_and_bad_threshold(run_script, golden):
    result = run_script("compare.py", "--help")
    assert result.returncode == 0 and "--fail-above" in result.stdout
    help_text = " ".join(result.stdout.split())
    assert "Holm's step-down method" in help_text and "--alpha" in help_text
    assert "its whole interval beyond PCT" in help_text
    assert "no resolvable difference" in help_text
    assert "cpu_per_op" in result.stdout and "cpu_user_per_op" not in result.stdout
    removed = run_script("compare.py", golden("pingpong-baseline.json"),
                         golden("pingpong-candidate.json"), "--metric", "wakes_per_op")
    assert removed.returncode == 2 and "invalid choice: 'wakes_per_op'" in removed.stderr
    path = golden("pingpong-baseline.json")
    bad = run_script("compare.py", path, path, "--fail-above", "-5")
    assert bad.returncode == 2 and "percentage >= 0" in bad.stderr


def synthetic(cells, path="synthetic.json", metric="throughput"):
    """A report of hand-made cells, {name: per-repetition values}: only what
    compare needs (strategy = the name's first part)."""
    results = []
    for name, values in cells.items():
        results.append({
            "name": name, "key": name, "status": "ok", "is_peer": False,
            "parameters": {"strategy": name.split("/")[0]},
            "aggregates": {metric: {"median": statistics.median(values), "n": len(values),
                                    "unit": "ops/s"}},
            "repetitions": [{METRICS[metric].sample_path[0]: v} for v in values]})
    return Report(Path(path), {"context": {}, "scenario": {"name": "synthetic"},
                               "results": results})


def spread(center, n, step=0.01):
    """n distinct values around `center`, 1 % apart."""
    return [center * (1 + step * (i - (n - 1) / 2)) for i in range(n)]


def test_p_values_are_holm_adjusted_over_the_cells(pair):
    comparison = compare_reports(*pair)
    raw = [c.p_value for c in comparison.cells]
    assert [c.p_adjusted for c in comparison.cells] == pytest.approx(holm(raw))
    futex = by_name(comparison)[FUTEX]
    assert futex.p_adjusted == pytest.approx(3 * futex.p_value)  # the smallest of 3
    assert futex.significant and futex.verdict == "worse"
    text = format_comparison(comparison, *pair)
    assert "p Holm = adjusted over the 3 cells compared" in text


def test_ratio_interval_is_the_hodges_lehmann_interval_of_log_values(pair):
    baseline, candidate = pair
    comparison = compare_reports(baseline, candidate)
    base = {c["name"]: c for c in baseline.cells}
    cand = {c["name"]: c for c in candidate.cells}
    for cell in comparison.cells:
        a = samples(base[cell.name], METRICS["throughput"])
        b = samples(cand[cell.name], METRICS["throughput"])
        expected = shift_interval([math.log(v) for v in a], [math.log(v) for v in b])
        assert cell.shift == expected and cell.log_scale
        assert (cell.ratio_low, cell.ratio_high) == (pytest.approx(math.exp(expected.low)),
                                                     pytest.approx(math.exp(expected.high)))
        assert cell.ratio_low <= cell.ratio <= cell.ratio_high
        assert cell.coverage >= 0.95 and cell.p_method == "exact"  # 9 and 10 a side
    futex = by_name(comparison)[FUTEX]
    assert futex.ratio_high < 1 and futex.resolved
    assert futex.least_worse_percent == pytest.approx((1 - futex.ratio_high) * 100)
    unchanged = by_name(comparison)["pingpong/intrusive_list/threads/threads:2"]
    assert unchanged.ratio_low < 1 < unchanged.ratio_high
    assert unchanged.verdict == VERDICT_UNRESOLVED
    assert unchanged.resolution_percent == pytest.approx(
        (math.sqrt(unchanged.ratio_high / unchanged.ratio_low) - 1) * 100)
    text = format_comparison(comparison, *pair)
    row = next(line for line in text.splitlines()
               if line.startswith("pingpong/intrusive_list/threads/threads:2"))
    assert f"[{unchanged.ratio_low:.3f}, {unchanged.ratio_high:.3f}]" in row
    assert row.endswith(f"no resolvable difference (+-{unchanged.resolution_percent:.2g}%)")
    assert "95% interval" in text.splitlines()[text.splitlines().index("") + 1]


def test_small_change_is_no_resolvable_difference():
    # 1 % apart on a 4 % spread: the interval contains 1.
    base = synthetic({"s/a": spread(100, 9, 0.01)})
    cand = synthetic({"s/a": spread(101, 9, 0.01)})
    cell, = compare_reports(base, cand).cells
    assert cell.ratio == pytest.approx(1.01)
    assert cell.ratio_low < 1 < cell.ratio_high
    assert cell.verdict == VERDICT_UNRESOLVED and not cell.resolved
    assert regressions(compare_reports(cand, base), 0) == []


def test_holm_turns_a_lone_small_p_into_not_significant():
    # 20 unchanged cells and one whose samples barely separate: p < 0.05 on
    # its own and an interval that excludes 1, but not after Holm over 21.
    cells_a = {f"s/{i:02}": spread(100 + i, 9) for i in range(20)}
    cells_b = {f"s/{i:02}": spread(100 + i, 9) for i in range(20)}
    cells_a["s/moved"] = spread(100, 9)
    cells_b["s/moved"] = spread(104, 9)
    comparison = compare_reports(synthetic(cells_a), synthetic(cells_b))
    moved = by_name(comparison)["s/moved"]
    assert 0.05 / 21 < moved.p_value < 0.05
    assert moved.p_adjusted == pytest.approx(min(1, 21 * moved.p_value))
    assert moved.resolved and not moved.significant and moved.can_reach_alpha
    assert moved.verdict == VERDICT_NOT_SIGNIFICANT
    assert regressions(comparison, 0) == []
    text = format_comparison(comparison, synthetic(cells_a), synthetic(cells_b))
    assert "not significant after Holm: the interval excludes 1, but with 21 cells" in text
    # The same cell alone is a significant change.
    alone = compare_reports(synthetic({"s/moved": cells_a["s/moved"]}),
                            synthetic({"s/moved": cells_b["s/moved"]})).cells[0]
    assert alone.p_adjusted == alone.p_value and alone.verdict == "better"


def test_too_few_repetitions_for_the_family():
    # 5 a side, completely separated: p = 2/252 = 0.0079, below 0.05 alone,
    # but Holm over 10 cells needs p < 0.005 first.
    cells_a = {f"s/{i}": spread(100 + i, 5) for i in range(10)}
    cells_b = {f"s/{i}": spread(100 + i, 5) for i in range(10)}
    cells_b["s/0"] = spread(50, 5)
    comparison = compare_reports(synthetic(cells_a), synthetic(cells_b))
    slow = by_name(comparison)["s/0"]
    assert slow.p_value == pytest.approx(2 / 252) and slow.resolved
    assert slow.verdict == VERDICT_TOO_FEW and not slow.can_reach_alpha
    found = warnings(comparison)
    assert any("over 10 cells Holm's correction asks the smallest p to be below 0.05/10 = "
               "0.005" in w and "6 repetitions a side would let any cell reach it" in w
               for w in found)
    # With 5 cells Holm's first step asks 0.01: reachable.
    few = compare_reports(synthetic(dict(list(cells_a.items())[:5])),
                          synthetic(dict(list(cells_b.items())[:5])))
    assert by_name(few)["s/0"].verdict == "worse"


def test_samples_too_small_for_the_interval_level():
    # 3 vs 3: the widest interval covers 90 %, and no p can fall below 0.1.
    comparison = compare_reports(synthetic({"s/a": [1.0, 1.1, 1.2]}),
                                 synthetic({"s/a": [2.0, 2.1, 2.2]}))
    cell, = comparison.cells
    assert not cell.shift.reaches and cell.coverage == pytest.approx(0.9)
    assert cell.ratio_low == pytest.approx(2.0 / 1.2) and cell.ratio_high == pytest.approx(2.2)
    assert cell.verdict == VERDICT_TOO_FEW
    assert "n too small for a 95% interval" in cell.stat_notes
    text = format_comparison(comparison, synthetic({}), synthetic({}))
    row = next(line for line in text.splitlines() if line.startswith("s/a"))
    assert "90.0%" in row and "too few repetitions" in row
    assert "n too small: even the widest interval" in text
    assert any("with 3 and 3 repetitions no p-value can fall below 0.05" in w
               for w in warnings(comparison))


def test_exact_p_with_one_small_side():
    # 4 baseline repetitions, 20 candidate ones: exact (min <= 8), like SciPy.
    comparison = compare_reports(synthetic({"s/a": spread(100, 4)}),
                                 synthetic({"s/a": spread(120, 20)}))
    cell, = comparison.cells
    assert cell.p_method == "exact"
    assert cell.p_value == pytest.approx(2 / math.comb(24, 4))


def test_fail_above_needs_the_whole_interval_beyond_the_threshold():
    base = spread(100, 12, 0.01)
    slower = [v * 0.88 for v in spread(100, 12, 0.01)]  # 12 % slower, interval about +-3 %
    comparison = compare_reports(synthetic({"s/a": base}), synthetic({"s/a": slower}))
    cell, = comparison.cells
    assert cell.worse_percent == pytest.approx(12)
    assert 5 < cell.least_worse_percent < 12 and cell.verdict == "worse"
    assert [c.name for c in regressions(comparison, 5)] == ["s/a"]
    assert regressions(comparison, 11) == []  # the ratio is beyond 11 %, the interval not
    # An improvement never fails.
    assert regressions(compare_reports(synthetic({"s/a": slower}),
                                       synthetic({"s/a": base})), 0) == []


def test_fail_above_does_not_fire_on_unresolved_or_holm_rejected_cells():
    cell = CellComparison("s/a", "s", 100, 80, 0.8, 0.001, 9, 9, True,
                          shift=shift_interval([0.0, 0.1], [-0.3, -0.2]),
                          ratio_low=0.7, ratio_high=0.85, p_adjusted=0.2)
    assert cell.verdict == VERDICT_NOT_SIGNIFICANT

    class Holder:
        cells = [cell]

    assert regressions(Holder, 5) == []
    cell.p_adjusted = 0.01
    assert [c.name for c in regressions(Holder, 5)] == ["s/a"]
    assert regressions(Holder, 16) == []  # 0.85: only 15 % worse at best


def test_additive_interval_where_values_are_not_positive():
    base = synthetic({"s/a": [0.0, 1.0, 2.0, 1.0, 0.0, 2.0]}, metric="starved")
    cand = synthetic({"s/a": [2.0, 3.0, 4.0, 3.0, 2.0, 4.0]}, metric="starved")
    cell, = compare_reports(base, cand, "starved").cells
    assert not cell.log_scale and "additive interval" in cell.stat_notes
    expected = shift_interval([0.0, 1.0, 2.0, 1.0, 0.0, 2.0], [2.0, 3.0, 4.0, 3.0, 2.0, 4.0])
    assert cell.shift == expected
    assert cell.ratio == 3.0  # medians 1 and 3
    assert (cell.ratio_low, cell.ratio_high) == (1 + expected.low, 1 + expected.high)
    assert cell.p_method == "normal (ties)" and "ties: normal-approximation p" in cell.stat_notes
    zero = synthetic({"s/a": [0.0] * 6}, metric="starved")
    both, = compare_reports(zero, zero, "starved").cells
    assert both.ratio == 1.0 and both.ratio_low is None and both.verdict == VERDICT_UNRESOLVED
    text = format_comparison(compare_reports(zero, zero, "starved"), zero, zero)
    assert "diff [0, 0]" in text


def test_geometric_mean_has_a_t_interval_over_cells():
    ratios = {"s/1": 0.9, "s/2": 0.95, "s/3": 0.8, "t/1": 1.1}
    base = synthetic({name: spread(100, 9) for name in ratios})
    cand = synthetic({name: [v * r for v in spread(100, 9)] for name, r in ratios.items()})
    comparison = compare_reports(base, cand)
    means = geomean_by_strategy(comparison)
    s = means["s"]
    g, low, high = log_mean_interval([0.9, 0.95, 0.8])
    assert (s.ratio, s.cells, s.method) == (pytest.approx(g), 3, "t")
    assert (s.low, s.high) == (pytest.approx(low), pytest.approx(high))
    t = means["t"]  # one cell: its own interval
    only = by_name(comparison)["t/1"]
    assert (t.cells, t.method, t.low, t.high) == (1, "cell", only.ratio_low, only.ratio_high)
    text = format_comparison(comparison, base, cand)
    assert f"[{s.low:.3f}, {s.high:.3f}]  (3 cells)" in text
    assert "95% t interval over the strategy's cells" in text


def test_alpha_sets_the_family_level_and_the_interval_level(pair):
    comparison = compare_reports(*pair, alpha=0.1)
    assert comparison.alpha == 0.1
    assert all(c.alpha == 0.1 for c in comparison.cells)
    text = format_comparison(comparison, *pair)
    assert "90% interval" in text and "alpha = 0.1" in text
    narrow = by_name(comparison)[FUTEX]
    wide = by_name(compare_reports(*pair, alpha=0.01))[FUTEX]
    assert wide.ratio_low <= narrow.ratio_low and narrow.ratio_high <= wide.ratio_high
    with pytest.raises(ValueError):
        compare_reports(*pair, alpha=1.5)


def test_warning_on_intervals_wider_than_the_resolution():
    noisy_a = [100, 80, 120, 90, 110, 70, 130, 95, 105]
    noisy_b = [v * 1.02 for v in noisy_a]
    comparison = compare_reports(synthetic({"s/a": noisy_a}), synthetic({"s/a": noisy_b}))
    cell, = comparison.cells
    assert cell.verdict == VERDICT_UNRESOLVED and cell.resolution_percent > 10
    found = warnings(comparison)
    assert any("1 of 1 cells cannot resolve a change smaller than 5% (their 95% intervals "
               "are wider than +-5%" in w for w in found)
    assert not any("cannot resolve" in w for w in warnings(comparison, 50))


def test_report_against_itself_is_unresolved_everywhere(golden):
    report = load_report(golden("sweep-5reps.json"))
    comparison = compare_reports(report, report)
    assert all(c.ratio_low <= 1 <= c.ratio_high for c in comparison.cells)
    # 5 a side and 17 cells: Holm needs p < 0.05/17 first, 2/252 cannot.
    assert {c.verdict for c in comparison.cells} == {VERDICT_TOO_FEW}
    means = geomean_by_strategy(comparison)
    assert all(m.ratio == pytest.approx(1) and m.low == pytest.approx(1) for m in means.values())


def test_cli_fail_above_reports_the_interval(run_script, golden):
    args = ("compare.py", golden("pingpong-baseline.json"), golden("pingpong-candidate.json"))
    failed = run_script(*args, "--fail-above", "10")
    line = next(ln for ln in failed.stdout.splitlines() if "REGRESSION" in ln)
    assert "interval [" in line and "Holm p = " in line and "at least" in line
    # 30 % worse, but the interval reaches to about 28 %: no resolvable regression beyond 29.
    at_29 = run_script(*args, "--fail-above", "29")
    assert at_29.returncode == 0 and "no cell resolvably worse by more than 29%" in at_29.stdout
    looser = run_script(*args, "--fail-above", "29", "--alpha", "0.5")
    assert looser.returncode == 1
    bad = run_script(*args, "--alpha", "2")
    assert bad.returncode == 2 and "between 0 and 1" in bad.stderr


def test_nine_repetitions_are_enough_for_holm_over_200_cells():
    # 9 a side, completely separated, among 199 unchanged cells: the exact
    # p = 2 / C(18, 9) = 4.1e-5 passes Holm's first step (0.05/200 = 2.5e-4);
    # the normal approximation's 4.1e-4 would not have, and the cell would
    # have been "too few repetitions".
    cells_a = {f"s/{i:03}": spread(100 + i, 9) for i in range(199)}
    cells_b = dict(cells_a)
    cells_a["s/moved"] = spread(100, 9)
    cells_b["s/moved"] = spread(150, 9)
    comparison = compare_reports(synthetic(cells_a), synthetic(cells_b))
    moved = by_name(comparison)["s/moved"]
    assert moved.p_method == "exact" and moved.p_value == pytest.approx(2 / math.comb(18, 9))
    assert moved.p_adjusted == pytest.approx(200 * moved.p_value)
    assert moved.verdict == "better" and moved.can_reach_alpha
    # Before, exact only up to 8 a side: 12 repetitions a side for 1000 cells.
    assert repetitions_needed(1000, 0.05) == 9


def test_below_timer_floor_is_noted_for_latency_metrics(golden):
    report = load_report(golden("sweep-5reps.json"))
    p50 = by_name(compare_reports(report, report, "acquire_p50"))
    assert p50[FLOOR_CELL].notes == ("baseline below timer floor", "candidate below timer floor")
    assert by_name(compare_reports(report, report, "acquire_p99"))[FLOOR_CELL].notes == ()
    text = format_comparison(compare_reports(report, report, "acquire_p50"), report, report)
    row = next(line for line in text.splitlines() if line.startswith(FLOOR_CELL))
    assert "[baseline below timer floor; candidate below timer floor" in row
    assert ("below timer floor = the median lies below 2x the cost of a clock read "
            "(measurement.timer_floor_ns): the clock dominates it") in text
    throughput = format_comparison(compare_reports(report, report), report, report)
    assert "below timer floor" not in throughput


def test_latency_rows_say_whether_each_side_was_closed_or_open_loop(golden):
    report = load_report(golden("sweep-5reps.json"))
    comparison = compare_reports(report, report, "acquire_p50")
    loops = {c.name: c.loop for c in comparison.cells}
    assert loops[FLOOR_CELL] == "closed"
    assert loops["semaphore/futex/coroutines/tasks:8/loops:2"] == "open"
    text = format_comparison(comparison, report, report)
    assert ("latency loop (measurement.latency_loop): baseline closed-loop (9 cells), "
            "open-loop (4 cells); candidate closed-loop (9 cells), open-loop (4 cells)") in text
    header = next(line for line in text.splitlines() if line.startswith("cell "))
    assert header.split()[:3] == ["cell", "loop", "baseline"]
    row = next(line for line in text.splitlines()
               if line.startswith("semaphore/futex/coroutines/tasks:8/loops:2"))
    assert row.split()[1] == "open"
    assert not any("closed-loop on one side" in w for w in warnings(comparison))
    # Throughput is not a latency: no loop column.
    plain = format_comparison(compare_reports(report, report), report, report)
    assert "latency loop" not in plain
    assert next(line for line in plain.splitlines()
                if line.startswith("cell ")).split()[:2] == ["cell", "baseline"]


def test_a_loop_that_differs_between_the_sides_is_shown_and_warned(golden):
    baseline = load_report(golden("sweep-5reps.json"))
    candidate = load_report(golden("sweep-5reps.json"))
    cell = next(c for c in candidate.cells if c["name"] == FLOOR_CELL)
    cell["measurement"]["latency_loop"] = "open"
    comparison = compare_reports(baseline, candidate, "acquire_p99")
    assert by_name(comparison)[FLOOR_CELL].loop == "closed -> open"
    text = format_comparison(comparison, baseline, candidate)
    row = next(line for line in text.splitlines() if line.startswith(FLOOR_CELL))
    assert row.split()[1:4] == ["closed", "->", "open"]
    assert "candidate closed-loop (8 cells), open-loop (5 cells)" in text
    (warning,) = [w for w in warnings(comparison) if "closed-loop on one side" in w]
    assert warning.startswith("1 of 13 cells were measured closed-loop on one side and "
                              "open-loop on the other")
    assert f"{FLOOR_CELL}: closed -> open" in warning


def test_pingpong_has_no_acquire_latency_to_compare(pair, run_script, golden):
    comparison = compare_reports(*pair, "acquire_p50")
    assert comparison.cells == []
    assert {why for _, why in comparison.not_compared} == {
        "no acquire_p50 in the baseline (its latency runs timed no acquire latency)"}
    text = format_comparison(comparison, *pair)
    assert "latency loop (measurement.latency_loop): baseline no cells" in text
    assert "no cells were compared" in warnings(comparison)
    result = run_script("compare.py", golden("pingpong-baseline.json"),
                        golden("pingpong-candidate.json"), "--metric", "acquire_p99",
                        "--fail-above", "5")
    assert result.returncode == 0, result.stderr
    assert "its latency runs timed no acquire latency" in result.stdout
    assert "no cells were compared" in result.stderr
    # Its wake latencies compare as before, closed-loop on both sides.
    wake = compare_reports(*pair, "wake_p50")
    assert {c.loop for c in wake.cells} == {"closed"}


def test_a_merged_cell_is_compared_through_its_invocations_medians(pair):
    """Repetitions of one process are not independent: a cell merged from
    several invocations (csync-bench --invocations) gives one sample per
    invocation, its median, when both sides are merged; against a side of
    one process the units differ, so both are compared as repetitions and
    the row says so."""
    baseline, candidate = pair
    metric = METRICS["throughput"]
    for side, count in ((candidate, 3), (baseline, 3)):
        cell = next(c for c in side.data["results"] if c["name"] == FUTEX)
        for i, rep in enumerate(cell["repetitions"]):
            rep["invocation"] = 1 + i % count
        if side is candidate:
            reps = cell["repetitions"]
            expected = [statistics.median(r["throughput_ops_per_s"] for r in reps[k::3])
                        for k in range(3)]
            assert samples(cell, metric) == expected
            assert len(samples(cell, metric, pooled=True)) == len(reps)
            mixed = by_name(compare_reports(baseline, candidate, "throughput"))[FUTEX]
            assert (mixed.baseline_n, mixed.candidate_n) == (9, 10)
            assert any("compared as repetitions" in note for note in mixed.notes)
    both = by_name(compare_reports(baseline, candidate, "throughput"))[FUTEX]
    assert (both.baseline_n, both.candidate_n) == (3, 3)
    assert both.candidate_merged and both.baseline_merged
    assert not any("compared as repetitions" in note for note in both.notes)
    text = "\n".join(warnings(compare_reports(baseline, candidate, "throughput")))
    assert "of the candidate merge several invocations" in text
