"""Figures for csync-bench reports, one set per group of comparable cells.

A group is the cells sharing every parameter except the x axis (threads, or
tasks for coroutine waiters), the run settings and what tells the lines
apart: strategy, fairness and spin budget (so peers, which carry no fairness
choice, land in the csync cells' figures). Groups with the same parameters
from several reports share figures; the lines then carry the report's host.
A report made under an emulator (context.emulator, e.g. Wine) is never drawn
with native ones: the emulator joins its groups' parameters, so its cells get
figures of their own, titled "under <emulator>".

Conventions, the same in every figure: one colour per csync strategy; peers
(the cells' `is_peer`) grey, dashed, with hollow markers; one marker shape per
report. Error bars are the aggregates' order-statistic intervals of the
median (`ci_low`, `ci_high`); where their coverage (`ci_coverage`) is below
95 % (5 repetitions or fewer) a footnote gives it. Every figure but the
CCDF puts a hatched ring on a starved cell (some worker did no operation in
at least one repetition: the throughput is the others' alone, and the waits
that never ended are in no latency histogram), with a legend entry per
"starved in K of R repetitions (up to N of M workers)"; the CCDF names the
starved lines in a footnote. Latency figures put a red ring on a cell whose
latency recording cost more than the limit (`harness_overhead.flagged`), a
dotted square on a median below the timer floor (`below_timer_floor`: the
clock dominates it; the CCDF draws the floor as a vertical line), say so in
footnotes, and name the latency loop (closed or open) in their panel titles.
A kind of latency no cell of a group timed (pingpong's acquire latency) gets
no panel, and a group with none gets no latency figure. A schema 1 report
(upgraded on load) gets a footnote naming the old instrument.
"""

import json
import math
import re
import textwrap
from collections import defaultdict
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")  # files only: no display, no GUI toolkit needed

from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator  # noqa: E402

from .report import (  # noqa: E402
    CONTEXT_KEYS, CSYNC_STRATEGIES, INTERVAL_LEVEL, KNOWN_PEERS, RUN_SETTINGS,
    below_timer_floor, csync_rank, duration_label, is_peer, latency_flagged, latency_loop,
    median_interval, overhead_limit, peer_rank, percent, short_cpu_model, starved_label,
    timer_floor_ns, x_parameter)

LINE_PARAMETERS = frozenset({"strategy", "fairness", "spin_budget"})
CSYNC_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple",
                 "tab:brown", "tab:pink", "tab:olive", "tab:cyan")
PEER_GREYS = ("0.2", "0.45", "0.65", "0.8")
LATENCY_KINDS = ("acquire", "wake", "herd", "reacquire")
RING_STYLES = {  # scatter() styles of the rings around marked points
    "starved": {"marker": "o", "s": 150, "facecolors": "none", "edgecolors": "0.1",
                "hatch": "////", "linewidths": 0.8, "zorder": 3},
    "flagged": {"marker": "o", "s": 170, "facecolors": "none", "edgecolors": "tab:red",
                "linewidths": 1.4, "zorder": 3},
    "floor": {"marker": "s", "s": 120, "facecolors": "none", "edgecolors": "0.3",
              "linestyles": ":", "linewidths": 1.2, "zorder": 3},
}
FLOOR_LABEL = "below timer floor (2× a clock read)"
FLOOR_LINE = {"color": "0.3", "linestyle": "-.", "linewidth": 1.0}
REPORT_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
VARIANT_LINESTYLES = ("-", "-.", ":", (0, (5, 1, 1, 1, 1, 1)))
# Layout, in inches (see Plotter.new_figure).
PANEL_WIDTH, PANEL_HEIGHT = 5.0, 3.3
GAP_WIDTH, GAP_HEIGHT = 0.9, 0.75
MARGIN_LEFT, MARGIN_BOTTOM = 0.8, 0.6
CHAR_WIDTH = 0.068  # legend, 8 pt
TITLE_CHAR_WIDTH = 0.085  # suptitle, 10 pt
NOTE_HEIGHT = 0.16  # one footnote line, 7.5 pt
NOTE_CHAR_WIDTH = 0.062
ABBREVIATIONS = {"critical_section_ns": "cs", "think_ns": "think", "pinning": "pin",
                 "queue_capacity": "qcap", "emulator": "under",
                 "latency_sample_every": "sample", "arrival_rate_per_s": "rate"}
DESCRIPTIONS = {"critical_section_ns": "critical section", "think_ns": "think",
                "queue_capacity": "queue capacity", "spin_budget": "spin budget",
                "emulator": "under", "latency_sample_every": "latency sampled 1 in",
                "arrival_rate_per_s": "arrival rate"}
UNITS = {"critical_section_ns": " ns", "think_ns": " ns", "arrival_rate_per_s": " /s"}


@dataclass
class Line:
    """One strategy (and fairness/spin-budget variant) of one report: cells by x."""

    report: int
    strategy: str
    variant: str
    peer: bool = False  # the cells' is_peer
    cells: dict = field(default_factory=dict)

    def points(self):
        return sorted(self.cells.items())


@dataclass
class Group:
    """Comparable cells of one or more reports, drawn in the same figures."""

    parameters: tuple  # sorted (name, value) pairs
    x_name: str
    lines: dict = field(default_factory=dict)  # (report, strategy, variant) -> Line

    def xs(self):
        return sorted({x for line in self.lines.values() for x in line.cells})

    def reports(self):
        return sorted({line.report for line in self.lines.values()})

    def cells(self):
        return [cell for line in self.lines.values() for cell in line.cells.values()]

    def describe(self):
        params = dict(self.parameters)
        head = [f"{params.pop('workload', '?')}, {params.pop('waiters', '?')} waiters"]
        return ", ".join(head + [f"{DESCRIPTIONS.get(k, k)} {v}{UNITS.get(k, '')}"
                                 for k, v in sorted(params.items())])

    def slug(self):
        """A stable, filesystem-safe file name stem from the group's parameters."""
        params = dict(self.parameters)
        head = [str(params.pop("workload", "")), str(params.pop("waiters", ""))]
        parts = head + [f"{ABBREVIATIONS.get(k, k)}-{v}" for k, v in sorted(params.items())]
        return re.sub(r"[^A-Za-z0-9.-]+", "_", "_".join(p for p in parts if p))


@dataclass
class Plotter:
    """Draws every figure of every group of some reports."""

    reports: list
    formats: tuple = ("png", "svg")
    ccdf_at: int | None = None
    labels: list = field(init=False)

    def __post_init__(self):
        self.labels = report_labels(self.reports)

    def write_all(self, outdir):
        """Write all figures under outdir; returns the paths written."""
        outdir.mkdir(parents=True, exist_ok=True)
        written = []
        for group in build_groups(self.reports):
            for suffix, figure in self.figures(group):
                written += save(figure, outdir / f"{group.slug()}_{suffix}", self.formats)
        return written

    def figures(self, group):
        """(file suffix, Figure) pairs for one group; figures without data are left out."""
        at = pick_ccdf_point(group.xs(), self.ccdf_at)
        candidates = [
            ("throughput", self.throughput_figure(group)),
            ("latency", self.latency_figure(group)),
            (f"ccdf-{group.x_name}-{at}", self.ccdf_figure(group, at)),
            ("fairness", self.fairness_figure(group)),
            ("cpu-switches", self.cost_figure(group)),
        ]
        return [(suffix, fig) for suffix, fig in candidates if fig is not None]

    # --- figures -------------------------------------------------------------------

    def throughput_figure(self, group):
        fig, axes = self.new_figure(group, "Throughput", ["throughput (M ops/s)"],
                                    marks=("starved",), intervals=("throughput",))
        self.plot_aggregate(axes[0], group, "throughput", scale=1e-6, marks=("starved",))
        axes[0].set_ylim(bottom=0)
        return self.finish(fig, axes, group)

    def latency_figure(self, group):
        kinds = [k for k in LATENCY_KINDS if has_aggregate(group, f"{k}_p50")]
        if not kinds:
            return None
        panels = [(kind, p) for kind in kinds for p in ("p50", "p99")]
        loop = loop_label(group)
        titles = [f"{kind} latency {p}" + (f" ({loop})" if loop else "") for kind, p in panels]
        names = [f"{kind}_{p}" for kind, p in panels]
        marks = ("flagged", "floor", "starved")
        fig, axes = self.new_figure(group, "Latency percentiles", titles, columns=2,
                                    marks=marks, intervals=names, latency=True)
        for ax, name in zip(axes, names):
            self.plot_aggregate(ax, group, name, marks=marks)
            scale_axis(ax, "y", unit="ns")
        return self.finish(fig, axes, group)

    def ccdf_figure(self, group, at):
        """One panel per kind of latency timed at x = `at`. A CCDF has no points to
        ring: its footnotes name the lines that are flagged, starved or below the
        timer floor, and a dash-dotted line marks that floor."""
        kinds = [k for k in LATENCY_KINDS if has_histogram(group, k, at)]
        if not kinds:
            return None
        loop = loop_label(group)
        titles = [f"P({kind} latency ≥ x)" + (f", {loop}" if loop else "") for kind in kinds]
        at_x = [(label, line.cells[at]) for label, line in self.labelled_lines(group)
                if line.cells.get(at)]
        floors = {kind: ccdf_floors(group, kind, at) for kind in kinds}
        fig, axes = self.new_figure(
            group, f"Latency CCDF at {group.x_name} = {at}", titles, columns=len(kinds),
            latency=True,
            flagged_lines=[label for label, cell in at_x if latency_flagged(cell)],
            starved_lines=[f"{label} {starved_label(cell).removeprefix('starved ')}"
                           for label, cell in at_x if starved_label(cell)],
            floor_lines=[label for label, cell in at_x
                         if any(below_timer_floor(cell, f"{k}_p50") for k in kinds)],
            floors=sorted({f for found in floors.values() for f in found}))
        for ax, kind in zip(axes, kinds):
            for line in group.lines.values():
                cell = line.cells.get(at)
                histogram = cell.get(f"{kind}_latency_histogram_ns") if cell else None
                if histogram:
                    xs, ys = ccdf(histogram)
                    ax.step(xs, ys, where="post", **self.style(group, line, markers=False))
            for floor in floors[kind]:
                ax.axvline(floor, label=FLOOR_LABEL, **FLOOR_LINE)
            scale_axis(ax, "x", unit="ns")
            scale_axis(ax, "y")
            ax.set_xlabel(f"{loop} latency" if loop else "latency")
            ax.grid(True, which="major", alpha=0.3)
        return self.finish(fig, axes, group, x_axis=False)

    def fairness_figure(self, group):
        fig, axes = self.new_figure(group, "Fairness", ["Jain's index (1 = perfectly fair)"],
                                    marks=("starved",), intervals=("jain",))
        self.plot_aggregate(axes[0], group, "jain", marks=("starved",))
        axes[0].set_ylim(0, 1.05)
        return self.finish(fig, axes, group)

    def cost_figure(self, group):
        """CPU (user + sys, `cpu_per_op`), the part of it that was not the workload's
        own busy work (`wasted_cpu_per_op`), and context switches per operation."""
        titles = ["CPU per op, user + sys", "wasted CPU per op (CPU − busy work)",
                  "context switches per op, vol. + invol."]
        fig, axes = self.new_figure(group, "CPU and context switches", titles, columns=3,
                                    marks=("starved",),
                                    intervals=("cpu_per_op", "wasted_cpu_per_op"))
        for ax, name in zip(axes, ("cpu_per_op", "wasted_cpu_per_op")):
            self.plot_aggregate(ax, group, name, marks=("starved",))
            scale_axis(ax, "y", "ns")
        switches = ("voluntary_switches_per_op", "involuntary_switches_per_op")
        self.plot_values(axes[2], group, lambda cell: median_of_sums(cell, switches),
                         marks=("starved",))
        scale_axis(axes[2], "y")
        return self.finish(fig, axes, group)

    # --- building blocks -----------------------------------------------------------

    def new_figure(self, group, what, titles, columns=1, marks=(), intervals=(),
                   latency=False, **ccdf_notes):
        """A figure with a fixed layout: plots of a constant size, room on the right
        for the legend, on top for the title and below for the footnotes
        (`figure_notes`: what the `marks` drawn in it mean, the coverage of the
        error bars of the aggregates `intervals` where it is below 95 %, and
        any schema 1 report; `ccdf_notes`: a CCDF's lines whose latencies
        are flagged, starved or below the timer floor, and the floors drawn).

        Sized by hand rather than with tight_layout/bbox_inches="tight", which
        measure every tick label and made the full report take a minute.
        """
        rows = math.ceil(len(titles) / columns)
        labels = [self.line_label(group, line) for line in group.lines.values()]
        labels += [label for _, label in self.allowed_cpus(group)]
        labels += mark_labels(group, marks, intervals)
        if ccdf_notes.get("floors"):
            labels.append(FLOOR_LABEL)
        legend_width = 0.5 + CHAR_WIDTH * max(map(len, labels))
        plots_width = MARGIN_LEFT + columns * PANEL_WIDTH + (columns - 1) * GAP_WIDTH
        width = plots_width + legend_width
        suptitle = "\n".join(textwrap.fill(text, int(width / TITLE_CHAR_WIDTH))
                             for text in (f"{what}: {self.title_context(group)}",
                                          group.describe()))
        notes = [textwrap.fill(note, int((width - 0.3) / NOTE_CHAR_WIDTH))
                 for note in self.figure_notes(group, marks, intervals, latency,
                                               **ccdf_notes)]
        note_lines = sum(note.count("\n") + 1 for note in notes)
        bottom = MARGIN_BOTTOM + (0.1 + NOTE_HEIGHT * note_lines if notes else 0.0)
        top = 0.45 + 0.18 * suptitle.count("\n")
        height = top + rows * PANEL_HEIGHT + (rows - 1) * GAP_HEIGHT + bottom
        fig = Figure(figsize=(width, height), dpi=100)
        fig.subplots_adjust(left=MARGIN_LEFT / width, right=plots_width / width,
                            bottom=bottom / height, top=1 - top / height,
                            wspace=GAP_WIDTH / PANEL_WIDTH, hspace=GAP_HEIGHT / PANEL_HEIGHT)
        fig.suptitle(suptitle, fontsize=10, y=1 - 0.08 / height, va="top")
        if notes:
            fig.text(0.15 / width, 0.08 / height, "\n".join(notes), fontsize=7.5,
                     ha="left", va="bottom", gid="footnotes")
        axes = [fig.add_subplot(rows, columns, i + 1) for i in range(len(titles))]
        for ax, title in zip(axes, titles):
            ax.set_title(title, fontsize=10)
        return fig, axes

    def figure_notes(self, group, marks=(), intervals=(), latency=False, flagged_lines=(),
                     starved_lines=(), floor_lines=(), floors=()):
        """The footnotes of a figure of `group` (plain text, one per entry).

        `marks`: the rings drawn on points ("starved", "flagged", "floor");
        `intervals`: the aggregates drawn with error bars; `latency`: a figure
        of the latency runs; the rest name a CCDF's lines (it has no points to
        ring) and the timer floors it draws.
        """
        notes = []
        cells = group.cells()
        coverage = coverage_note(cells, intervals)
        if coverage:
            notes.append(coverage)
        if starved_lines or ("starved" in marks and any(starved_label(c) for c in cells)):
            consequence = ("the waits that never ended (censored at the stop) are in no "
                           "latency histogram, so its latencies leave the longest waits out"
                           if latency else "its throughput is the other workers' alone")
            if starved_lines:
                notes.append(f"starved: {'; '.join(starved_lines)}: some worker did no "
                             f"operation in those throughput runs; {consequence}")
            else:
                notes.append(f"hatched ring: starved cell: some worker did no operation in "
                             f"at least one throughput run (legend: in how many "
                             f"repetitions, and the most workers in one); {consequence}")
        flagged = [c for c in cells if latency_flagged(c)]
        if flagged and ("flagged" in marks or flagged_lines):
            where = f" ({', '.join(flagged_lines)})" if flagged_lines else ""
            ring = "" if flagged_lines else "red ring: "
            notes.append(f"{ring}{flagged_label(flagged[0])}{where}: the latency runs' "
                         f"throughput was lower than the throughput runs' by more than "
                         f"that, over the whole interval of the paired runs "
                         f"(harness_overhead.flagged), so these latencies were measured on "
                         f"a disturbed system")
        floor_cells = [c for c in cells if any(below_timer_floor(c, name) for name in intervals)]
        if ("floor" in marks and floor_cells) or floor_lines:
            values = floors or sorted({timer_floor_ns(c) for c in floor_cells} - {None})
            where = f" ({', '.join(floor_lines)})" if floor_lines else ""
            head = ("dash-dotted line: the timer floor" if floors
                    else "median below the timer floor" if floor_lines
                    else "dotted square: median below the timer floor")
            notes.append(f"{head}{where}, 2× the cost of a clock read "
                         f"(measurement.timer_floor_ns"
                         + (f", {', '.join(duration_label(v) for v in values)}" if values else "")
                         + "): below it the clock dominates the latency (below_timer_floor)")
        for i in group.reports():
            note = self.reports[i].legacy_note
            if note:
                who = f"{self.labels[i]}: " if len(self.reports) > 1 else ""
                notes.append(f"{who}{note}")
        return notes

    def title_context(self, group):
        """Scenario names and machines of the reports in the group."""
        parts = []
        for i in group.reports():
            report, ctx = self.reports[i], self.reports[i].context
            parts.append(f"{report.scenario_name} on {report.host} "
                         f"({short_cpu_model(ctx.get('cpu_model'))}, "
                         f"{ctx.get('cpus_allowed', '?')} CPUs)")
        return "; ".join(dict.fromkeys(parts))

    def plot_aggregate(self, ax, group, name, scale=1.0, marks=()):
        """Median of an aggregate per x, with the median's interval (`ci_low`,
        `ci_high`) as error bars; `figure_notes` gives their coverage where it
        is below 95 %."""
        def value(cell):
            agg = cell["aggregates"].get(name)
            return None if agg is None else agg["median"] * scale

        def error(cell):
            agg = cell["aggregates"][name]
            low, high, _ = median_interval(agg)
            if low is None or high is None:
                return (0.0, 0.0)
            median = agg["median"]
            return (max(median - low, 0.0) * scale, max(high - median, 0.0) * scale)

        self.plot_values(ax, group, value, error, marks, metric=name)

    def plot_values(self, ax, group, value, error=None, marks=(), metric=None):
        """One line per Line of the group: value(cell) at each x, skipping None;
        then a ring on each point `marks` asks for ("starved", "flagged",
        "floor": the aggregate `metric` below the timer floor)."""
        marked = defaultdict(list)  # (ring style, legend label) -> [(x, y)]
        for index, line in enumerate(group.lines.values()):
            shift = dodge(group, index)
            points = [(x * shift, value(c), c) for x, c in line.points()]
            points = [(x, y, c) for x, y, c in points if y is not None]
            if not points:
                continue
            xs, ys, cells = zip(*points)
            style = self.style(group, line)
            if error is None:
                ax.plot(xs, ys, **style)
            else:
                yerr = list(zip(*(error(c) for c in cells)))
                ax.errorbar(xs, ys, yerr=yerr, capsize=2.5, elinewidth=0.8, **style)
            for x, y, cell in points:
                for ring in cell_rings(cell, marks, metric):
                    marked[ring].append((x, y))
        for (kind, label), xys in marked.items():
            ax.scatter(*zip(*xys), label=label, **RING_STYLES[kind])

    def style(self, group, line, markers=True):
        """Colour by strategy, peers grey and dashed, marker shape by report."""
        peer = line.peer
        style = {
            "label": self.line_label(group, line),
            "color": colour(line.strategy, peer),
            "linestyle": "--" if peer else variant_linestyle(group, line),
            "linewidth": 1.4,
        }
        if markers:
            style.update(marker=REPORT_MARKERS[line.report % len(REPORT_MARKERS)],
                         markersize=5, markerfacecolor="white" if peer else style["color"])
        return style

    def labelled_lines(self, group):
        """[(legend label, Line)] of the group, in its order."""
        return [(self.line_label(group, line), line) for line in group.lines.values()]

    def line_label(self, group, line):
        label = line.strategy + (f" {line.variant}" if line.variant else "")
        if len(self.reports) > 1:
            label += f" @ {self.labels[line.report]}"
        return label + (" (peer)" if line.peer else "")

    def finish(self, fig, axes, group, x_axis=True):
        """Shared x axis setup, one legend outside the plots (never over data)."""
        if x_axis:
            for ax in axes:
                setup_x_axis(ax, group)
                self.mark_allowed_cpus(ax, group)
        handles = {}
        for ax in axes:
            for handle, label in zip(*ax.get_legend_handles_labels()):
                handles.setdefault(label, handle)
        # The lines in group order, then the rings, then the allowed-CPUs lines.
        lines = [self.line_label(group, line) for line in group.lines.values()]
        cpus = [label for _, label in self.allowed_cpus(group)]
        labels = [label for label in lines if label in handles]
        labels += sorted(label for label in handles if label not in lines + cpus)
        labels += [label for label in cpus if label in handles]
        beside_plots = (fig.subplotpars.right + 0.15 / fig.get_figwidth(), fig.subplotpars.top)
        fig.legend([handles[label] for label in labels], labels, loc="upper left",
                   bbox_to_anchor=beside_plots, borderaxespad=0, fontsize=8, frameon=False)
        return fig

    def allowed_cpus(self, group):
        """[(context.cpus_allowed, legend label)], one per distinct value in the group."""
        if group.x_name != "threads" or len(group.xs()) < 2:
            return []
        hosts = defaultdict(list)
        for i in group.reports():
            allowed = self.reports[i].context.get("cpus_allowed")
            if isinstance(allowed, int) and allowed > 0:
                hosts[allowed].append(self.labels[i])
        return [(allowed, "allowed CPUs" + (f" ({', '.join(h)})" if len(hosts) > 1 else ""))
                for allowed, h in sorted(hosts.items())]

    def mark_allowed_cpus(self, ax, group):
        """Dotted line at context.cpus_allowed: beyond it threads are oversubscribed.

        Labelled through the legend, so that the label never sits on data.
        """
        for allowed, label in self.allowed_cpus(group):
            ax.axvline(allowed, color="0.35", linestyle=":", linewidth=1.2, label=label)


def build_groups(reports):
    """Groups of the ok cells of all reports, sorted by file name stem."""
    groups = {}
    for index, report in enumerate(reports):
        for cell in report.ok_cells():
            x_name = x_parameter(cell)
            params = cell["parameters"]
            pairs = [(k, v) for k, v in params.items()
                     if k not in RUN_SETTINGS | LINE_PARAMETERS and k != x_name]
            if report.emulator:  # never in the same figure as native numbers
                pairs.append(("emulator", report.emulator))
            key = tuple(sorted(pairs))
            group = groups.setdefault(key, Group(key, x_name))
            strategy, variant = params["strategy"], variant_of(params)
            line = group.lines.setdefault((index, strategy, variant),
                                          Line(index, strategy, variant, is_peer(cell)))
            line.cells[params.get(x_name, 1)] = cell
    for group in groups.values():
        group.lines = dict(sorted(group.lines.items(), key=lambda kv: line_order(kv[1])))
    return sorted(groups.values(), key=Group.slug)


def dodge(group, index):
    """Factor shifting line `index` sideways, so that points and error bars at one
    x do not hide each other: a fraction of an octave on the log2 axis, most
    where the group has a single x (pingpong) and every line sits on it.
    """
    if len(group.lines) < 2:
        return 1.0
    spread = 1.2 if len(group.xs()) == 1 else 0.25  # octaves, all lines together
    return 2 ** (spread * (index / (len(group.lines) - 1) - 0.5))


def variant_of(params):
    """What tells apart cells of one strategy within a group: fairness, spin budget."""
    parts = []
    if params.get("fairness", "default") != "default":
        parts.append(params["fairness"])
    if params.get("spin_budget") is not None:
        parts.append(f"spin:{params['spin_budget']}")
    return " ".join(parts)


def line_order(line):
    """csync strategies in catalog order first (unknown ones after the known),
    then peers, then by report."""
    rank = peer_rank(line.strategy) if line.peer else csync_rank(line.strategy)
    return (line.peer, rank, line.strategy, line.variant, line.report)


def colour(strategy, peer):
    """The same colour for a strategy in every figure; greys for peers."""
    if not peer:
        rank = csync_rank(strategy)
        if rank == len(CSYNC_STRATEGIES):  # unknown: a stable colour from its name
            rank = sum(strategy.encode())
        return CSYNC_COLOURS[rank % len(CSYNC_COLOURS)]
    rank = peer_rank(strategy)
    if rank == len(KNOWN_PEERS):  # an unknown peer: a stable shade from its name
        rank = sum(strategy.encode()) % len(PEER_GREYS)
    return PEER_GREYS[rank % len(PEER_GREYS)]


def variant_linestyle(group, line):
    variants = sorted({l.variant for l in group.lines.values() if l.strategy == line.strategy})
    return VARIANT_LINESTYLES[variants.index(line.variant) % len(VARIANT_LINESTYLES)]


def report_labels(reports):
    """How legends tell reports apart: the host; where hosts repeat, the host and
    the context entries that differ (e.g. loop_backend), else the file name.
    """
    labels = []
    for report in reports:
        same_host = [r for r in reports if r.host == report.host]
        if len(same_host) == 1:
            labels.append(report.host)
            continue
        differing = [k for k in CONTEXT_KEYS
                     if len({json.dumps(r.context.get(k), sort_keys=True) for r in same_host}) > 1]
        details = [f"{k} {report.context.get(k)}" for k in differing[:2]] or [report.path.stem]
        labels.append(", ".join([report.host] + details))
    return labels


def pick_ccdf_point(xs, wanted):
    """The x the CCDF is drawn at: `wanted` or the nearest present (log scale); else the largest."""
    if wanted is None:
        return xs[-1]
    return min(xs, key=lambda x: (abs(math.log2(x) - math.log2(wanted)), -x))


def loop_label(group):
    """`closed-loop`, `open-loop` or both, from the cells' measurement.latency_loop;
    None where no cell says."""
    loops = sorted({latency_loop(c) for c in group.cells()} - {None})
    if not loops:
        return None
    return " and ".join(f"{loop}-loop" for loop in loops)


def cell_rings(cell, marks, metric=None):
    """[(ring kind, legend label)] of the rings `marks` asks for that `cell` gets:
    ("starved", "starved in 2 of 5 repetitions (up to 1 of 4 workers)") where
    some worker did no operation in any repetition, ("flagged", "latency
    recording cost > 2 %") where the cell's latencies are flagged, ("floor",
    FLOOR_LABEL) where the latency aggregate `metric` is below the timer floor."""
    rings = []
    if "starved" in marks and starved_label(cell):
        rings.append(("starved", starved_label(cell)))
    if "flagged" in marks and latency_flagged(cell):
        rings.append(("flagged", flagged_label(cell)))
    if "floor" in marks and metric and below_timer_floor(cell, metric):
        rings.append(("floor", FLOOR_LABEL))
    return rings


def flagged_label(cell):
    return f"latency recording cost > {overhead_limit(cell) * 100:g} %"


def mark_labels(group, marks, metrics=()):
    """Every ring label a figure of `group` with `marks` on the aggregates
    `metrics` can have (for its legend width)."""
    return sorted({label for c in group.cells() for metric in (*metrics, None)
                   for _, label in cell_rings(c, marks, metric)})


def coverage_note(cells, names):
    """The footnote on error bars whose coverage is below 95 %, e.g.
    `error bars: order statistics of the median, coverage 93.8 % (n=5); below
    95 %`, from the aggregates `names` of `cells`; None where every interval
    reaches 95 % (or says no coverage: a schema 1 report's bootstrap)."""
    low = set()
    for cell in cells:
        for name in names:
            aggregate = cell["aggregates"].get(name)
            lower, upper, coverage = median_interval(aggregate)
            if None not in (lower, upper, coverage) and coverage < INTERVAL_LEVEL:
                low.add((coverage, aggregate.get("n")))
    if not low:
        return None
    found = ", ".join(f"{percent(coverage)}" + (f" (n={n})" if n is not None else "")
                      for coverage, n in sorted(low, reverse=True))
    return (f"error bars: order statistics of the median, coverage {found}; below "
            f"{percent(INTERVAL_LEVEL)}")


def ccdf_floors(group, kind, at):
    """The timer floors (measurement.timer_floor_ns) of the cells at x = `at`
    whose `kind` latency median is below it: drawn as lines in the CCDF."""
    return sorted({timer_floor_ns(line.cells[at]) for line in group.lines.values()
                   if line.cells.get(at) and below_timer_floor(line.cells[at], f"{kind}_p50")}
                  - {None})


def has_aggregate(group, name):
    return any(name in c["aggregates"] for l in group.lines.values() for c in l.cells.values())


def has_histogram(group, kind, at):
    return any(l.cells.get(at, {}).get(f"{kind}_latency_histogram_ns")
               for l in group.lines.values())


def ccdf(histogram):
    """(bucket lower bounds, P(latency ≥ bound)) of a [[lower_bound, count], ...] histogram."""
    buckets = sorted(histogram)
    total = sum(count for _, count in buckets)
    if total <= 0:
        return [], []
    xs, ys, remaining = [], [], total
    for bound, count in buckets:
        if count <= 0:
            continue
        xs.append(max(bound, 1))  # a 0 ns bucket cannot go on a log axis
        ys.append(remaining / total)
        remaining -= count
    return xs, ys


def median_of_sums(cell, fields):
    """Median over repetitions of the sum of some per-repetition fields."""
    # A repetition whose fields are all null (e.g. context switches on Windows,
    # which has no per-thread count) has no value, rather than 0.
    sums = sorted(sum(rep.get(f) or 0.0 for f in fields) for rep in cell["repetitions"]
                  if any(rep.get(f) is not None for f in fields))
    if not sums:
        return None
    middle = len(sums) // 2
    return sums[middle] if len(sums) % 2 else (sums[middle - 1] + sums[middle]) / 2


def setup_x_axis(ax, group):
    """Log2 axis with a tick at every measured x, labelled 1, 2, 4, 8..."""
    xs = group.xs()
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(xs))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([str(x) for x in xs])
    if len(xs) == 1:
        ax.set_xlim(xs[0] / 2, xs[0] * 2)
    ax.set_xlabel(group.x_name)
    ax.grid(True, which="major", alpha=0.3)


def scale_axis(ax, axis, unit=""):
    """Log scale where the positive data span more than a factor of 10, and
    plain-text tick labels (durations in ns as ns, µs, ms, s).

    A narrower range stays linear: a log axis over 150..200 ns would have no
    labelled tick. Log ticks are fixed at 1, 2, 5 x 10^k (decades only for
    wide ranges) without minor ticks: matplotlib's default log ticks are
    mathtext, whose parsing and the many minor ticks took most of the
    drawing time.
    """
    axis_object = getattr(ax, f"{axis}axis")
    values = [v for line in ax.get_lines() for v in getattr(line, f"get_{axis}data")()
              if 0 < v < math.inf]
    if values and max(values) > 10 * min(values):
        getattr(ax, f"set_{axis}scale")("log", nonpositive="mask")  # resets the ticks
        low, high = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
        subs = (1, 2, 5) if high - low <= 3 else (1,)
        step = max(1, math.ceil((high - low) / 8))
        axis_object.set_major_locator(FixedLocator(
            [s * 10.0**e for e in range(low, high + 1, step) for s in subs]))
        axis_object.set_minor_locator(NullLocator())
    label = duration_label if unit == "ns" else short_number
    axis_object.set_major_formatter(FuncFormatter(lambda v, _: label(v)))


def short_number(value):
    """Plain-text tick label: 500, 2k, 10M, 0.02, 1e-6."""
    if value == 0:
        return "0"
    if abs(value) < 0.01:
        return f"{value:.0e}".replace("e-0", "e-")
    for factor, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:g}{suffix}"
    return f"{value:g}"


def save(fig, stem, formats):
    """Write `stem.<format>` for each format; returns the paths."""
    paths = []
    for fmt in formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        fig.savefig(path, format=fmt)
        paths.append(path)
    return paths
