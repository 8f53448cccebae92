"""plot: grouping, helpers, and plot.py writing PNG and SVG files."""

import pytest

from csync_report import load_report
from csync_report.plot import (
    build_groups, ccdf, duration_label, pick_ccdf_point, report_labels, short_number)

THREADS_GROUP = "semaphore_threads_cs-100_permits-1_pin-none_think-200_weight-1"
TASKS_GROUP = "semaphore_coroutines_cs-100_hold-yield_loops-2_permits-1_pin-none_think-200_weight-1"
FIGURES = ("throughput", "latency", "fairness", "cpu-switches")


def test_groups_put_peers_with_csync_and_split_waiters(golden):
    groups = build_groups([load_report(golden("sweep-5reps.json"))])
    assert [g.slug() for g in groups] == [TASKS_GROUP, THREADS_GROUP]
    tasks, threads = groups
    assert tasks.x_name == "tasks" and tasks.xs() == [8, 64]
    assert threads.x_name == "threads" and threads.xs() == [1, 2, 4]
    # csync strategies in catalog order, then the peer; the not-ok cells are left out.
    assert [line.strategy for line in threads.lines.values()] == [
        "intrusive_list", "futex", "std_mutex_condvar"]


def test_reports_with_matching_groups_share_figures(golden):
    reports = [load_report(golden("pingpong-baseline.json")),
               load_report(golden("pingpong-candidate.json"))]
    (group,) = build_groups(reports)
    assert group.reports() == [0, 1]
    assert report_labels(reports) == ["golden-a", "golden-b"]


def test_a_run_under_wine_never_shares_figures_with_native_ones(golden):
    path = golden("pingpong-baseline.json")
    native, wine = load_report(path), load_report(path)
    wine.data["context"] = dict(native.context, platform="windows",
                                emulator="wine 8.0 (host Linux 6.1.0)")
    groups = build_groups([native, wine])
    assert [g.reports() for g in groups] == [[0], [1]]
    emulated = next(g for g in groups if g.reports() == [1])
    assert "under wine 8.0" in emulated.describe()
    assert "under-wine_8.0" in emulated.slug()
    assert len({g.slug() for g in groups}) == 2  # no file overwrites another


def test_null_switch_counts_are_no_value(golden):
    from csync_report.plot import median_of_sums
    cell = {"repetitions": [{"voluntary_switches_per_op": None,
                             "involuntary_switches_per_op": None}] * 3}
    assert median_of_sums(cell, ("voluntary_switches_per_op",
                                 "involuntary_switches_per_op")) is None


def test_same_host_labels_name_what_differs(golden):
    path = golden("pingpong-baseline.json")
    first, second = load_report(path), load_report(path)
    second.data["context"] = dict(first.context, loop_backend="portable")
    assert report_labels([first, second]) == ["golden-a, loop_backend io_uring",
                                              "golden-a, loop_backend portable"]


def test_ccdf():
    xs, ys = ccdf([[200, 1], [100, 3], [0, 0], [400, 0]])
    assert xs == [100, 200]
    assert ys == [1.0, 0.25]
    assert ccdf([]) == ([], [])


def test_ccdf_point():
    assert pick_ccdf_point([1, 2, 4, 8], None) == 8
    assert pick_ccdf_point([1, 2, 4, 8], 4) == 4
    assert pick_ccdf_point([1, 2, 4, 8], 3) == 4  # nearer on the log axis
    assert pick_ccdf_point([8, 64], 1000) == 64


def test_tick_labels():
    assert [short_number(v) for v in (0, 0.5, 500, 2000, 1e7, 1e-6)] == [
        "0", "0.5", "500", "2k", "10M", "1e-6"]
    assert [duration_label(v) for v in (0, 250, 2000, 1.5e7, 3e9)] == [
        "0", "250 ns", "2 µs", "15 ms", "3 s"]


def test_plot_writes_png_and_svg(run_script, golden, tmp_path):
    result = run_script("plot.py", golden("sweep-5reps.json"), "-o", tmp_path)
    assert result.returncode == 0, result.stderr
    expected = {f"{group}_{figure}.{fmt}"
                for group in (THREADS_GROUP, TASKS_GROUP)
                for figure in FIGURES for fmt in ("png", "svg")}
    expected |= {f"{THREADS_GROUP}_ccdf-threads-4.{fmt}" for fmt in ("png", "svg")}
    expected |= {f"{TASKS_GROUP}_ccdf-tasks-64.{fmt}" for fmt in ("png", "svg")}
    assert {p.name for p in tmp_path.iterdir()} == expected
    png = tmp_path / f"{THREADS_GROUP}_throughput.png"
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    svg = (tmp_path / f"{THREADS_GROUP}_throughput.svg").read_text()
    assert "<svg" in svg and "allowed CPUs" in svg and "tiny-sweep on golden-a" in svg
    assert f"wrote {png}" in result.stdout
    assert ("skipped semaphore/std_counting_semaphore/threads/threads:4: failed"
            in result.stdout)
    assert "skipped semaphore/uring_futex/threads/threads:2: unavailable" in result.stdout


def test_plot_two_reports_png_only_ccdf_at(run_script, golden, tmp_path):
    result = run_script("plot.py", golden("pingpong-baseline.json"),
                        golden("pingpong-candidate.json"), "-o", tmp_path / "out",
                        "--format", "png", "--ccdf-at", "3")
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert all(name.endswith(".png") for name in names) and len(names) == 5
    assert any(name.endswith("_ccdf-threads-2.png") for name in names)  # the only x


@pytest.mark.parametrize("bad, expected", [
    ("gbench.json", "looks like Google Benchmark output"),
    ("not-json.txt", "not JSON"),
])
def test_plot_refuses_non_reports(run_script, golden, tmp_path, bad, expected):
    result = run_script("plot.py", golden("sweep-5reps.json"), golden(bad), "-o", tmp_path)
    assert result.returncode == 2
    assert bad in result.stderr and expected in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing drawn before every input is checked


def test_plot_bad_format_and_help(run_script, golden, tmp_path):
    bad = run_script("plot.py", golden("sweep-5reps.json"), "-o", tmp_path, "--format", "gif")
    assert bad.returncode == 2 and "--format" in bad.stderr
    help_text = run_script("plot.py", "--help")
    assert help_text.returncode == 0 and "--ccdf-at" in help_text.stdout
