"""Compare a candidate report with a baseline, cell by cell.

Cells are matched by `key` (which leaves out the run settings, so a rerun
with more repetitions still matches), else by `name`. Each matched cell gets
the ratio of the two medians of one aggregate and a Mann-Whitney U p-value
over the per-repetition samples: the ratio says how big a change is, the
p-value whether the repetitions can tell it from noise.

A metric a cell does not have on one side (e.g. `starved` in a schema 1
report, which did not record it) leaves that cell out with a note; a row
notes a starved cell and, for latency metrics, latencies whose recording
cost more than the limit (`harness_overhead.flagged`).
"""

from collections import defaultdict
from dataclasses import dataclass, field

from .report import CONTEXT_KEYS, cell_id, latency_flagged, starved_workers
from .stats import geometric_mean, mann_whitney_u

SIGNIFICANCE = 0.05
# Below this many repetitions a side, the U test rarely separates a real
# change of a few percent from noise on a shared machine.
MIN_REPETITIONS = 9


@dataclass(frozen=True)
class Metric:
    """An aggregate and where each repetition records the same quantity."""

    name: str
    sample_path: tuple
    higher_is_better: bool

    @property
    def is_latency(self):
        """A latency measured in the latency runs (which `harness_overhead` judges)."""
        return self.sample_path[0] == "latency_run" and self.sample_path[-1] != "overhead_fraction"


# The aggregates of docs/report-format.md (schema 2). The wake statistics
# (wakes / spurious / futile per op) come from one diagnostic run per cell,
# without repetitions to test, and are not compared.
METRICS = {m.name: m for m in (
    Metric("throughput", ("throughput_ops_per_s",), True),
    Metric("acquire_p50", ("latency_run", "acquire_latency_ns", "p50"), False),
    Metric("acquire_p99", ("latency_run", "acquire_latency_ns", "p99"), False),
    Metric("acquire_p999", ("latency_run", "acquire_latency_ns", "p999"), False),
    Metric("wake_p50", ("latency_run", "wake_latency_ns", "p50"), False),
    Metric("wake_p99", ("latency_run", "wake_latency_ns", "p99"), False),
    Metric("herd_p50", ("latency_run", "herd_latency_ns", "p50"), False),
    Metric("herd_p99", ("latency_run", "herd_latency_ns", "p99"), False),
    Metric("jain", ("fairness", "jain"), True),
    Metric("relative_stddev", ("fairness", "relative_stddev"), False),
    Metric("starved", ("starved",), False),
    Metric("cpu_per_op", ("cpu_ns_per_op",), False),
    Metric("wasted_cpu_per_op", ("wasted_cpu_ns_per_op",), False),
    Metric("voluntary_switches_per_op", ("voluntary_switches_per_op",), False),
    Metric("involuntary_switches_per_op", ("involuntary_switches_per_op",), False),
    Metric("overhead_fraction", ("latency_run", "overhead_fraction"), False),
)}


@dataclass
class CellComparison:
    """One matched cell: medians, their ratio (candidate / baseline) and the p-value."""

    name: str
    strategy: str
    baseline_median: float
    candidate_median: float
    ratio: float | None  # None where the baseline median is 0
    p_value: float
    baseline_n: int
    candidate_n: int
    higher_is_better: bool
    notes: tuple = ()  # e.g. "baseline starved 1 of 4", "candidate latency flagged"

    @property
    def worse_percent(self):
        """How much worse the candidate is, in percent (negative: better)."""
        if self.ratio is None:
            return None
        return (1 - self.ratio) * 100 if self.higher_is_better else (self.ratio - 1) * 100

    @property
    def significant(self):
        return self.p_value < SIGNIFICANCE


@dataclass
class Comparison:
    metric: Metric
    unit: str = ""
    cells: list = field(default_factory=list)            # CellComparison
    only_baseline: list = field(default_factory=list)    # cell names
    only_candidate: list = field(default_factory=list)
    not_compared: list = field(default_factory=list)     # (name, reason)
    duplicates: list = field(default_factory=list)       # (report path, cell id)
    legacy: dict = field(default_factory=dict)           # side -> schema version it had


def compare_reports(baseline, candidate, metric_name="throughput"):
    """Match the two reports' cells and compare `metric_name` on each pair."""
    metric = METRICS[metric_name]
    result = Comparison(metric)
    result.legacy = {side: report.legacy_schema
                     for side, report in (("baseline", baseline), ("candidate", candidate))
                     if report.legacy_schema is not None}
    base_cells = _index(baseline, result.duplicates)
    cand_cells = _index(candidate, result.duplicates)
    result.only_baseline = sorted(c["name"] for i, c in base_cells.items() if i not in cand_cells)
    result.only_candidate = sorted(c["name"] for i, c in cand_cells.items() if i not in base_cells)
    for ident in sorted(base_cells.keys() & cand_cells.keys(),
                        key=lambda i: base_cells[i]["name"]):
        base, cand = base_cells[ident], cand_cells[ident]
        reason = _why_not_comparable(base, cand, metric, result.legacy)
        if reason:
            result.not_compared.append((base["name"], reason))
            continue
        result.unit = result.unit or base["aggregates"][metric.name].get("unit", "")
        result.cells.append(_compare_cell(base, cand, metric))
    return result


def _index(report, duplicates):
    cells = {}
    for cell in report.cells:
        ident = cell_id(cell)
        if ident in cells:
            duplicates.append((str(report.path), cell["name"]))
        else:
            cells[ident] = cell
    return cells


def _why_not_comparable(base, cand, metric, legacy):
    for side, cell in (("baseline", base), ("candidate", cand)):
        if cell["status"] != "ok":
            return f"{side} status {cell['status']}: {cell.get('reason', 'no reason given')}"
        why = None
        if metric.name not in cell["aggregates"]:
            why = f"no {metric.name} in the {side}"
        elif not samples(cell, metric):
            why = f"no per-repetition {'.'.join(metric.sample_path)} in the {side}"
        if why:
            return why + (f" (a schema {legacy[side]} report)" if side in legacy else "")
    return None


def samples(cell, metric):
    """The metric's value in each repetition that recorded it."""
    values = []
    for rep in cell["repetitions"]:
        value = rep
        for step in metric.sample_path:
            value = value.get(step) if isinstance(value, dict) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            values.append(value)
    return values


def _compare_cell(base, cand, metric):
    base_median = base["aggregates"][metric.name]["median"]
    cand_median = cand["aggregates"][metric.name]["median"]
    if base_median == 0:
        ratio = 1.0 if cand_median == 0 else None
    else:
        ratio = cand_median / base_median
    base_samples, cand_samples = samples(base, metric), samples(cand, metric)
    _, p_value = mann_whitney_u(base_samples, cand_samples)
    return CellComparison(base["name"], base["parameters"]["strategy"], base_median,
                          cand_median, ratio, p_value, len(base_samples),
                          len(cand_samples), metric.higher_is_better,
                          cell_notes(base, cand, metric))


def cell_notes(base, cand, metric):
    """What a row should say about its cells: starved workers (every metric: a
    starved cell's throughput is the other workers' alone) and, for latency
    metrics, latencies whose recording cost more than the limit."""
    notes = []
    for side, cell in (("baseline", base), ("candidate", cand)):
        starved = starved_workers(cell)
        if starved:
            count, workers = starved
            notes.append(f"{side} starved {count:g}" + (f" of {workers}" if workers else ""))
        if metric.is_latency and latency_flagged(cell):
            notes.append(f"{side} latency flagged")
    return tuple(notes)


def geomean_by_strategy(comparison):
    """{strategy: (geometric mean of its cells' ratios, cell count)}, sorted by name.

    Cells without a positive ratio (a median of 0) cannot enter a geometric
    mean and are left out.
    """
    ratios = defaultdict(list)
    for cell in comparison.cells:
        if cell.ratio is not None and cell.ratio > 0:
            ratios[cell.strategy].append(cell.ratio)
    return {s: (geometric_mean(r), len(r)) for s, r in sorted(ratios.items())}


def regressions(comparison, fail_above_percent):
    """Cells worse by more than the threshold with p below SIGNIFICANCE."""
    return [c for c in comparison.cells
            if c.significant and c.worse_percent is not None
            and c.worse_percent > fail_above_percent]


def warnings(comparison):
    """Caveats about the p-values, for stderr."""
    found = []
    weak = [c for c in comparison.cells if min(c.baseline_n, c.candidate_n) < MIN_REPETITIONS]
    if weak:
        fewest = min(min(c.baseline_n, c.candidate_n) for c in weak)
        found.append(f"{len(weak)} of {len(comparison.cells)} cells have fewer than "
                     f"{MIN_REPETITIONS} repetitions on a side (fewest: {fewest}): "
                     f"p-values from fewer than {MIN_REPETITIONS} repetitions are weak")
    for n1, n2 in sorted({(c.baseline_n, c.candidate_n) for c in comparison.cells}):
        best_p = mann_whitney_u(range(n1), range(n1, n1 + n2))[1]
        if best_p >= SIGNIFICANCE:
            found.append(f"with {n1} and {n2} repetitions no p-value can fall below "
                         f"{SIGNIFICANCE} (smallest possible: {best_p:.3g}), so those cells "
                         f"never count as significant")
    if len(comparison.legacy) == 1:
        (side, version), = comparison.legacy.items()
        found.append(f"the {side} is a schema {version} report and the other one is not: "
                     f"the instrument changed between them, so the ratios include its effect")
    for path, name in comparison.duplicates:
        found.append(f"{path}: cell {name} appears more than once; the first is used")
    if not comparison.cells:
        found.append("no cells were compared")
    return found


def context_differences(baseline, candidate):
    """`key: baseline -> candidate` for context entries that differ."""
    lines = []
    for key in CONTEXT_KEYS:
        before, after = baseline.context.get(key), candidate.context.get(key)
        if before != after:
            lines.append(f"{key}: {before} -> {after}")
    return lines


def format_comparison(comparison, baseline, candidate):
    """The printed report: header, one row per matched cell, per-strategy summary."""
    metric = comparison.metric
    better = "higher" if metric.higher_is_better else "lower"
    lines = [f"baseline:  {baseline.describe()}",
             f"candidate: {candidate.describe()}"]
    lines += [f"context differs: {d}" for d in context_differences(baseline, candidate)]
    lines += [f"warning: {r.path} was measured under {r.emulator}: its numbers describe the "
              f"emulator, not {r.context.get('platform', 'the platform')}"
              for r in (baseline, candidate) if r.emulator]
    lines += [f"note: {r.path}: {r.legacy_note}" for r in (baseline, candidate)
              if r.legacy_note]
    lines += [f"metric: {metric.name} ({comparison.unit or 'no unit'}, {better} is better); "
              f"ratio = candidate median / baseline median; p = two-sided Mann-Whitney U "
              f"over the repetitions", ""]
    lines += _table(comparison)
    if any(c.notes for c in comparison.cells):
        lines += ["", "notes: starved N of M = N of M workers did no operation (median over "
                      "the repetitions): the throughput is the others' alone; latency "
                      "flagged = latency recording cost > 2 % (harness_overhead.flagged)"]
    lines += ["", "geometric mean of ratios per strategy:"]
    lines += [f"  {s:<24} {g:8.3f}  ({n} cell{'' if n == 1 else 's'})"
              for s, (g, n) in geomean_by_strategy(comparison).items()] or ["  (none)"]
    lines += _name_list("only in baseline", comparison.only_baseline)
    lines += _name_list("only in candidate", comparison.only_candidate)
    lines += _name_list("matched but not compared",
                        [f"{n}: {why}" for n, why in comparison.not_compared])
    return "\n".join(lines)


def _table(comparison):
    header = ("cell", "baseline", "candidate", "ratio", "p", "", "")
    rows = [(c.name, f"{c.baseline_median:.4g}", f"{c.candidate_median:.4g}",
             "n/a" if c.ratio is None else f"{c.ratio:.3f}", f"{c.p_value:.3g}",
             _verdict(c), f"[{'; '.join(c.notes)}]" if c.notes else "")
            for c in comparison.cells]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def fmt(row):
        name, *numbers, verdict, notes = row
        cols = [name.ljust(widths[0])]
        cols += [v.rjust(w) for v, w in zip(numbers, widths[1:-2])]
        return "  ".join(cols + [verdict.ljust(widths[-2]), notes]).rstrip()

    return [fmt(header)] + [fmt(r) for r in rows]


def _verdict(cell):
    if not cell.significant or cell.worse_percent is None or cell.worse_percent == 0:
        return ""
    return "worse" if cell.worse_percent > 0 else "better"


def _name_list(title, names):
    if not names:
        return []
    return ["", f"{title} ({len(names)}):"] + [f"  {n}" for n in names]
