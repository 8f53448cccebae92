"""plot: grouping, marks, helpers, and plot.py writing PNG and SVG files.

The marks are tested through what the figures hold (legend labels, titles,
footnotes, the points a ring is drawn on), not through pixels.
"""

import pytest

from csync_report import load_report
from csync_report.plot import (
    Plotter, build_groups, ccdf, cell_rings, colour, coverage_note, duration_label, loop_label,
    pick_ccdf_point, report_labels, short_number)
from csync_report.report import LEGACY_NOTE

THREADS_GROUP = "semaphore_threads_cs-100_permits-1_pin-none_think-200_weight-1"
TASKS_GROUP = ("semaphore_coroutines_arrival-poisson_rate-100000_cs-100_hold-yield_loops-2"
               "_permits-1_pin-none_think-200_weight-1")
BROADCAST_GROUP = "broadcast_threads_cs-100_permits-1_pin-none_think-200_weight-1"
FIGURES = ("throughput", "latency", "fairness", "cpu-switches")
STARVED = "starved in 5 of 5 repetitions (up to 2 of 4 workers)"
PARTLY_STARVED = "starved in 2 of 5 repetitions (up to 1 of 2 workers)"
FLAGGED = "latency recording cost > 2 %"
FLOOR = "below timer floor (2× a clock read)"
COVERAGE_NOTE = "error bars: order statistics of the median, coverage 93.8 % (n=5); below 95 %"


def sweep_groups(golden):
    report = load_report(golden("sweep-5reps.json"))
    return Plotter([report], ("png",)), {g.slug(): g for g in build_groups([report])}


def legend(fig):
    (box,) = fig.legends
    return [text.get_text() for text in box.get_texts()]


def footnotes(fig):
    """The figure's footnotes, unwrapped."""
    return " ".join(" ".join(t.get_text().split()) for t in fig.texts
                    if t.get_gid() == "footnotes")


def rings(ax, label):
    """The points of the rings labelled `label` in one panel."""
    found = [c for c in ax.collections if c.get_label() == label]
    return [tuple(xy) for c in found for xy in c.get_offsets()]


def test_groups_put_peers_with_csync_and_split_waiters(golden):
    groups = build_groups([load_report(golden("sweep-5reps.json"))])
    assert [g.slug() for g in groups] == [BROADCAST_GROUP, TASKS_GROUP, THREADS_GROUP]
    broadcast, tasks, threads = groups
    assert tasks.x_name == "tasks" and tasks.xs() == [8, 64]
    assert threads.x_name == "threads" and threads.xs() == [1, 2, 4]
    assert broadcast.xs() == [2, 4]
    # csync strategies in catalog order, then the peer; the not-ok cells are left out.
    assert [line.strategy for line in threads.lines.values()] == [
        "intrusive_list", "futex", "std_mutex_condvar"]
    assert [line.peer for line in threads.lines.values()] == [False, False, True]


def test_peers_come_from_the_cells_is_peer(golden):
    report = load_report(golden("sweep-5reps.json"))
    for cell in report.cells:
        strategy = cell["parameters"]["strategy"]
        if strategy == "futex":  # a csync strategy no list knows
            cell["parameters"]["strategy"] = "brand_new_strategy"
        if strategy == "intrusive_list":  # and a peer with a csync-like name
            cell["is_peer"] = True
    plotter = Plotter([report], ("png",))
    threads = next(g for g in build_groups([report]) if g.slug() == THREADS_GROUP)
    lines = list(threads.lines.values())
    # csync first; then the known peer, then the one no list knows.
    assert [(line.strategy, line.peer) for line in lines] == [
        ("brand_new_strategy", False), ("std_mutex_condvar", True), ("intrusive_list", True)]
    labels = ["brand_new_strategy", "std_mutex_condvar (peer)", "intrusive_list (peer)"]
    assert [plotter.line_label(threads, line) for line in lines] == labels
    styles = [plotter.style(threads, line) for line in lines]
    assert [s["linestyle"] for s in styles] == ["-", "--", "--"]
    assert styles[0]["color"].startswith("tab:") and styles[2]["color"][0].isdigit()
    assert colour("brand_new_strategy", False) == styles[0]["color"]  # stable
    assert legend(plotter.throughput_figure(threads))[:3] == labels


def test_starved_cells_are_ringed_in_throughput_figures(golden):
    plotter, groups = sweep_groups(golden)
    threads = groups[THREADS_GROUP]
    starved = threads.lines[(0, "std_mutex_condvar", "")].cells[4]
    assert cell_rings(starved, ("starved", "flagged")) == [("starved", STARVED)]
    for figure in (plotter.throughput_figure, plotter.fairness_figure, plotter.cost_figure):
        fig = figure(threads)
        assert STARVED in legend(fig) and FLAGGED not in legend(fig)
        assert "hatched ring: starved cell" in footnotes(fig)
    fig = plotter.throughput_figure(threads)
    ((x, y),) = rings(fig.axes[0], STARVED)
    assert 4 < x < 5  # the peer's point, dodged right of x = 4
    assert y == pytest.approx(starved["aggregates"]["throughput"]["median"] * 1e-6)
    # Starved in 2 of 5 repetitions: the median of `starved` is 0, still ringed.
    partly = threads.lines[(0, "intrusive_list", "")].cells[2]
    assert partly["aggregates"]["starved"]["median"] == 0
    ((x, y),) = rings(fig.axes[0], PARTLY_STARVED)
    assert 1.5 < x < 2 and PARTLY_STARVED in legend(fig)
    # No figure of a group without starved cells says anything about them.
    tasks_fig = plotter.throughput_figure(groups[TASKS_GROUP])
    assert STARVED not in legend(tasks_fig) and footnotes(tasks_fig) == COVERAGE_NOTE


def test_flagged_latencies_are_ringed_and_footnoted(golden):
    plotter, groups = sweep_groups(golden)
    threads = groups[THREADS_GROUP]
    flagged = threads.lines[(0, "intrusive_list", "")].cells[4]
    assert cell_rings(flagged, ("starved", "flagged")) == [("flagged", FLAGGED)]
    fig = plotter.latency_figure(threads)
    assert FLAGGED in legend(fig)
    assert "red ring: latency recording cost > 2 %" in footnotes(fig)
    assert "harness_overhead.flagged" in footnotes(fig)
    for ax in fig.axes:  # every latency panel rings the one flagged point
        ((x, _),) = rings(ax, FLAGGED)
        assert 3 < x < 4  # intrusive_list, dodged left of x = 4
    # Throughput runs record no latency: nothing to flag there.
    assert FLAGGED not in legend(plotter.throughput_figure(threads))
    # The CCDF at 4 threads names the flagged line in its footnote.
    ccdf_fig = plotter.ccdf_figure(threads, 4)
    assert "latency recording cost > 2 % (intrusive_list)" in footnotes(ccdf_fig)
    assert "latency recording cost" not in footnotes(plotter.ccdf_figure(threads, 2))
    # An unresolved overhead (futex at 2 threads) is not marked.
    unresolved = threads.lines[(0, "futex", "")].cells[2]
    assert unresolved["harness_overhead"]["verdict"] == "unresolved"
    assert cell_rings(unresolved, ("starved", "flagged")) == []


def test_latency_figures_name_the_loop(golden):
    plotter, groups = sweep_groups(golden)
    assert loop_label(groups[THREADS_GROUP]) == "closed-loop"
    assert loop_label(groups[TASKS_GROUP]) == "open-loop"
    closed = plotter.latency_figure(groups[THREADS_GROUP])
    assert [ax.get_title() for ax in closed.axes] == [
        "acquire latency p50 (closed-loop)", "acquire latency p99 (closed-loop)"]
    opened = plotter.ccdf_figure(groups[TASKS_GROUP], 64)
    assert opened.axes[0].get_title() == "P(acquire latency ≥ x), open-loop"
    assert opened.axes[0].get_xlabel() == "open-loop latency"


def test_broadcast_draws_wake_herd_and_reacquire_latency(golden):
    plotter, groups = sweep_groups(golden)
    broadcast = groups[BROADCAST_GROUP]
    fig = plotter.latency_figure(broadcast)
    assert [ax.get_title() for ax in fig.axes] == [
        "wake latency p50 (closed-loop)", "wake latency p99 (closed-loop)",
        "herd latency p50 (closed-loop)", "herd latency p99 (closed-loop)",
        "reacquire latency p50 (closed-loop)", "reacquire latency p99 (closed-loop)"]
    ccdf_fig = plotter.ccdf_figure(broadcast, 4)
    assert [ax.get_title() for ax in ccdf_fig.axes] == [
        "P(wake latency ≥ x), closed-loop", "P(herd latency ≥ x), closed-loop",
        "P(reacquire latency ≥ x), closed-loop"]


def test_cpu_figure_shows_cpu_and_wasted(golden):
    plotter, groups = sweep_groups(golden)
    threads = groups[THREADS_GROUP]
    fig = plotter.cost_figure(threads)
    assert [ax.get_title() for ax in fig.axes] == [
        "CPU per op, user + sys", "wasted CPU per op (CPU − busy work)",
        "context switches per op, vol. + invol."]
    futex = threads.lines[(0, "futex", "")]
    futex_cpu = next(bars.lines[0] for bars in fig.axes[0].containers
                     if bars.get_label() == "futex")
    assert list(futex_cpu.get_ydata()) == pytest.approx(
        [c["aggregates"]["cpu_per_op"]["median"] for _, c in futex.points()])


def test_schema_1_figures_carry_the_legacy_note(golden):
    old = load_report(golden("schema1-mixed.json"))
    plotter = Plotter([old], ("png",))
    for group in build_groups([old]):
        for _, fig in plotter.figures(group):
            assert footnotes(fig) == LEGACY_NOTE
    # With several reports the note says which one it is about; a schema 1 and a
    # schema 2 report of the same cells share figures.
    new = load_report(golden("sweep-5reps.json"))
    both = Plotter([old, new], ("png",))
    groups = {g.slug(): g for g in build_groups([old, new])}
    assert groups[THREADS_GROUP].reports() == [0, 1]
    notes = footnotes(both.throughput_figure(groups[THREADS_GROUP]))
    assert notes.startswith(f"{COVERAGE_NOTE} hatched ring: starved cell")
    assert notes.endswith(f"golden-old: {LEGACY_NOTE}")
    assert footnotes(both.throughput_figure(groups[TASKS_GROUP])) == COVERAGE_NOTE


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


def test_null_switch_counts_are_no_value():
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


def test_error_bars_are_the_median_intervals_with_their_coverage(golden):
    plotter, groups = sweep_groups(golden)
    threads = groups[THREADS_GROUP]
    fig = plotter.throughput_figure(threads)
    bars = next(b for b in fig.axes[0].containers if b.get_label() == "futex")
    futex = [cell for _, cell in threads.lines[(0, "futex", "")].points()]
    segments = bars.lines[2][0].get_segments()
    assert [(seg[0][1], seg[1][1]) for seg in segments] == [
        (pytest.approx(c["aggregates"]["throughput"]["ci_low"] * 1e-6),
         pytest.approx(c["aggregates"]["throughput"]["ci_high"] * 1e-6)) for c in futex]
    assert footnotes(fig).startswith(COVERAGE_NOTE)
    # 9 and 10 repetitions: coverage 96.1 % and 97.9 %, above 95 %: no note.
    pair = [load_report(golden("pingpong-baseline.json")),
            load_report(golden("pingpong-candidate.json"))]
    (group,) = build_groups(pair)
    assert "error bars" not in footnotes(Plotter(pair, ("png",)).throughput_figure(group))


def test_coverage_note_lists_every_coverage_below_95_percent(golden):
    report = load_report(golden("sweep-5reps.json"))
    for cell in report.ok_cells():
        if cell["parameters"].get("tasks") == 64:  # as if run with 3 repetitions
            cell["aggregates"]["throughput"].update(ci_coverage=0.75, n=3)
    groups = {g.slug(): g for g in build_groups([report])}
    fig = Plotter([report], ("png",)).throughput_figure(groups[TASKS_GROUP])
    assert footnotes(fig) == ("error bars: order statistics of the median, coverage "
                              "93.8 % (n=5), 75 % (n=3); below 95 %")
    assert coverage_note(groups[TASKS_GROUP].cells(), ("throughput",)).endswith("below 95 %")
    assert coverage_note(groups[TASKS_GROUP].cells(), ("no_such_aggregate",)) is None


def test_starved_cells_are_marked_in_latency_figures_and_ccdfs(golden):
    plotter, groups = sweep_groups(golden)
    threads = groups[THREADS_GROUP]
    fig = plotter.latency_figure(threads)
    assert STARVED in legend(fig) and PARTLY_STARVED in legend(fig)
    for ax in fig.axes:
        ((x, _),) = rings(ax, STARVED)
        assert 4 < x < 5
        ((x, _),) = rings(ax, PARTLY_STARVED)
        assert 1.5 < x < 2
    notes = footnotes(fig)
    assert "hatched ring: starved cell" in notes and "in no latency histogram" in notes
    at_4 = footnotes(plotter.ccdf_figure(threads, 4))
    assert ("starved: std_mutex_condvar (peer) in 5 of 5 repetitions (up to 2 of 4 workers): "
            "some worker did no operation in those throughput runs") in at_4
    at_2 = footnotes(plotter.ccdf_figure(threads, 2))
    assert "starved: intrusive_list in 2 of 5 repetitions (up to 1 of 2 workers)" in at_2
    assert "starved" not in footnotes(plotter.ccdf_figure(threads, 1))


def test_latencies_below_the_timer_floor_are_marked(golden):
    plotter, groups = sweep_groups(golden)
    threads = groups[THREADS_GROUP]
    futex_1 = threads.lines[(0, "futex", "")].cells[1]
    assert cell_rings(futex_1, ("floor",), "acquire_p50") == [("floor", FLOOR)]
    assert cell_rings(futex_1, ("floor",), "acquire_p99") == []
    fig = plotter.latency_figure(threads)
    p50, p99 = fig.axes
    ((x, y),) = rings(p50, FLOOR)
    assert 1 <= x < 1.2 and y == pytest.approx(futex_1["aggregates"]["acquire_p50"]["median"])
    assert rings(p99, FLOOR) == []
    assert FLOOR in legend(fig)
    assert ("dotted square: median below the timer floor, 2× the cost of a clock read "
            "(measurement.timer_floor_ns, 50 ns): below it the clock dominates the latency"
            in footnotes(fig))
    # The CCDF where it happens draws the floor as a line and names the line.
    ccdf_fig = plotter.ccdf_figure(threads, 1)
    (floor,) = [line for line in ccdf_fig.axes[0].get_lines() if line.get_label() == FLOOR]
    assert list(floor.get_xdata()) == [50, 50]
    assert FLOOR in legend(ccdf_fig)
    assert "dash-dotted line: the timer floor (futex), 2× the cost" in footnotes(ccdf_fig)
    at_4 = plotter.ccdf_figure(threads, 4)
    assert FLOOR not in legend(at_4) and "timer floor" not in footnotes(at_4)
    # Throughput figures say nothing about it.
    assert "timer floor" not in footnotes(plotter.throughput_figure(threads))


def test_no_acquire_latency_means_no_acquire_panel(golden):
    # Pingpong times only wake latencies (acquire_latency_ns null in every run).
    reports = [load_report(golden("pingpong-baseline.json"))]
    plotter = Plotter(reports, ("png",))
    (group,) = build_groups(reports)
    fig = plotter.latency_figure(group)
    assert [ax.get_title() for ax in fig.axes] == [
        "wake latency p50 (closed-loop)", "wake latency p99 (closed-loop)"]
    ccdf_fig = plotter.ccdf_figure(group, 2)
    assert [ax.get_title() for ax in ccdf_fig.axes] == ["P(wake latency ≥ x), closed-loop"]
    # Without wake latencies either: no latency figure and no CCDF, not empty ones.
    for cell in reports[0].ok_cells():
        for name in ("wake_p50", "wake_p99"):
            cell["aggregates"].pop(name)
        cell.pop("wake_latency_histogram_ns")
        for rep in cell["repetitions"]:
            rep["latency_run"]["wake_latency_ns"] = None
    assert plotter.latency_figure(group) is None and plotter.ccdf_figure(group, 2) is None
    assert [suffix for suffix, _ in plotter.figures(group)] == [
        "throughput", "fairness", "cpu-switches"]


def test_plot_writes_png_and_svg(run_script, golden, tmp_path):
    result = run_script("plot.py", golden("sweep-5reps.json"), "-o", tmp_path)
    assert result.returncode == 0, result.stderr
    expected = {f"{group}_{figure}.{fmt}"
                for group in (THREADS_GROUP, TASKS_GROUP, BROADCAST_GROUP)
                for figure in FIGURES for fmt in ("png", "svg")}
    expected |= {f"{THREADS_GROUP}_ccdf-threads-4.{fmt}" for fmt in ("png", "svg")}
    expected |= {f"{BROADCAST_GROUP}_ccdf-threads-4.{fmt}" for fmt in ("png", "svg")}
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
    assert (f"semaphore/std_mutex_condvar/threads/threads:4: {STARVED}; longest stall of a "
            f"worker 100 ms" in result.stdout)
    assert f"semaphore/intrusive_list/threads/threads:2: {PARTLY_STARVED}" in result.stdout
    assert ("semaphore/intrusive_list/threads/threads:4: latency recording cost > 2 % "
            "(median 4.87 %, interval 4.86 % to 4.91 %, coverage 93.8 %): its latencies are "
            "flagged" in result.stdout)
    assert ("latency recording cost unresolved in 1 cell (the interval of the paired runs' "
            "overhead straddles the limit" in result.stdout)
    assert result.stdout.rstrip().count("unresolved") == 1
    assert "not marked in the figures): semaphore/futex/threads/threads:2\n" in result.stdout
    # Open loops are not judged: nothing about the coroutine cells' overhead.
    assert not any("coroutines" in line for line in result.stdout.splitlines()
                   if not line.startswith("wrote"))
    assert "schema 1" not in result.stdout
    throughput_svg = (tmp_path / f"{THREADS_GROUP}_throughput.svg").read_text()
    assert STARVED in throughput_svg
    latency_svg = (tmp_path / f"{THREADS_GROUP}_latency.svg").read_text()
    assert "closed-loop" in latency_svg and "latency recording cost" in latency_svg


def test_plot_schema_1_report(run_script, golden, tmp_path):
    result = run_script("plot.py", golden("schema1-mixed.json"), "-o", tmp_path,
                        "--format", "png")
    assert result.returncode == 0, result.stderr
    assert f"note: {LEGACY_NOTE}" in result.stdout
    assert "starved" not in result.stdout and "flagged" not in result.stdout
    names = {p.name for p in tmp_path.iterdir()}
    assert len(names) == 10  # semaphore and pingpong: 4 figures and a CCDF each


def test_plot_two_reports_png_only_ccdf_at(run_script, golden, tmp_path):
    result = run_script("plot.py", golden("pingpong-baseline.json"),
                        golden("pingpong-candidate.json"), "-o", tmp_path / "out",
                        "--format", "png", "--ccdf-at", "3")
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert all(name.endswith(".png") for name in names) and len(names) == 5
    assert "starved" not in result.stdout and "flagged" not in result.stdout
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
