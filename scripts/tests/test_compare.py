"""compare: matching, ratios, p-values, --fail-above and exit codes."""

import pytest

from csync_report import load_report
from csync_report.compare import (
    METRICS, compare_reports, format_comparison, geomean_by_strategy, regressions, samples,
    warnings)
from csync_report.report import LEGACY_NOTE

FUTEX = "pingpong/futex/threads/threads:2"
STARVED_CELL = "semaphore/std_mutex_condvar/threads/threads:4"
FLAGGED_CELL = "semaphore/intrusive_list/threads/threads:4"


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
        "herd_p50", "herd_p99", "jain", "relative_stddev", "starved", "cpu_per_op",
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
    assert len(reasons) == 4 and all("no acquire_p50 in the baseline" == r for r in reasons)
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
    assert throughput[STARVED_CELL].notes == ("baseline starved 1 of 4",
                                              "candidate starved 1 of 4")
    assert throughput[FLAGGED_CELL].notes == ()  # throughput is not a latency
    latency = compare_reports(report, report, "acquire_p99")
    notes = {c.name: c.notes for c in latency.cells if c.notes}
    assert notes == {STARVED_CELL: ("baseline starved 1 of 4", "candidate starved 1 of 4"),
                     FLAGGED_CELL: ("baseline latency flagged", "candidate latency flagged")}
    text = format_comparison(latency, report, report)
    row = next(line for line in text.splitlines() if line.startswith(FLAGGED_CELL))
    assert row.endswith("[baseline latency flagged; candidate latency flagged]")
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
    assert "no cell worse by more than 50%" in passed.stdout
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
    assert "cpu_per_op" in result.stdout and "cpu_user_per_op" not in result.stdout
    removed = run_script("compare.py", golden("pingpong-baseline.json"),
                         golden("pingpong-candidate.json"), "--metric", "wakes_per_op")
    assert removed.returncode == 2 and "invalid choice: 'wakes_per_op'" in removed.stderr
    path = golden("pingpong-baseline.json")
    bad = run_script("compare.py", path, path, "--fail-above", "-5")
    assert bad.returncode == 2 and "percentage >= 0" in bad.stderr
