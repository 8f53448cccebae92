"""compare: matching, ratios, p-values, --fail-above and exit codes."""

import pytest

from csync_report import load_report
from csync_report.compare import (
    compare_reports, format_comparison, geomean_by_strategy, regressions, warnings)

FUTEX = "pingpong/futex/threads/threads:2"


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


def test_report_against_itself(golden):
    report = load_report(golden("sweep-5reps.json"))
    comparison = compare_reports(report, report)
    assert len(comparison.cells) == 13
    assert all(c.ratio == 1.0 and c.p_value == 1.0 for c in comparison.cells)
    assert [name for name, _ in comparison.not_compared] == [
        "semaphore/std_counting_semaphore/threads/threads:4",
        "semaphore/uring_futex/threads/threads:2"]
    assert any("fewer than 9 repetitions are weak" in w for w in warnings(comparison))


def test_metric_missing_from_cells(golden):
    report = load_report(golden("sweep-5reps.json"))
    comparison = compare_reports(report, report, "wake_p50")
    assert comparison.cells == []
    reasons = [why for _, why in comparison.not_compared if "status" not in why]
    assert len(reasons) == 13 and all("no wake_p50 in the baseline" == r for r in reasons)
    assert "no cells were compared" in warnings(comparison)


def test_no_weak_warning_with_nine_repetitions(pair):
    assert warnings(compare_reports(*pair)) == []


def test_formatted_output(pair):
    text = format_comparison(compare_reports(*pair), *pair)
    assert "context differs: host: golden-a -> golden-b" in text
    assert "higher is better" in text
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
    path = golden("pingpong-baseline.json")
    bad = run_script("compare.py", path, path, "--fail-above", "-5")
    assert bad.returncode == 2 and "percentage >= 0" in bad.stderr
