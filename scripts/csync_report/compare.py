"""Compare a candidate report with a baseline, cell by cell.

Cells are matched by `key` (which leaves out the run settings, so a rerun
with more repetitions still matches), else by `name`. For one metric, each
matched cell gets:

- the ratio of the two medians of the aggregate (candidate / baseline): how
  big the change is;
- an interval for that ratio at level 1 - alpha: the Hodges-Lehmann shift
  of the log per-repetition values with its distribution-free interval
  (`stats.shift_interval`: the k-th smallest and largest of the n1 n2
  pairwise log ratios, k from the exact Mann-Whitney U distribution; Bauer
  1972, Lehmann 1975), back as a ratio, with its coverage: exact where the
  values have no ties and neither side has more than 50 repetitions, and
  below the level where the repetitions are too few to reach it (then the
  widest interval, [min, max] of the pairwise ratios, is shown). Where a
  value is <= 0 (`starved`, switch counts) the logs do not exist: the
  interval is of the differences, as a ratio over the baseline median
  ("additive", which takes that median as exact);
- the two-sided Mann-Whitney U p-value over the repetitions (exact when
  there are no ties and both sides have at most 50 repetitions, or the
  smaller at most 8: `stats.mann_whitney`; else the normal approximation,
  and a row says when ties forced it), and that p-value adjusted by Holm's
  step-down method over the
  family of every cell compared for this metric in this comparison: with
  hundreds of cells, uncorrected p-values below 0.05 turn up by chance in
  about 5 % of unchanged cells; after Holm's correction the probability of
  any false "worse" or "better" among all of them is at most alpha.

A cell merged from several invocations (csync-bench --invocations) is
compared through its invocations' medians, one value per process: the
repetitions of one process are not independent (`samples`).

Each cell's verdict (`CellComparison.verdict`), the first that applies:

- `too few repetitions`: even completely separated samples of these sizes
  would not be significant after Holm's correction in this family;
- `no resolvable difference`: the interval contains 1. Its half-width
  (`resolution_percent`, shown as +-X%) is the size of change these
  repetitions can tell from noise: a difference smaller than that is below
  what the data can resolve, so a ratio of 0.99 here is not "1 % slower";
- `not significant after Holm`: the interval excludes 1 (about: p < alpha
  on its own) but the Holm-adjusted p is not below alpha;
- `worse` or `better`.

`regressions` (`compare.py --fail-above PCT`) are the resolvable slowdowns
beyond PCT: worse cells, Holm-adjusted p below alpha, whose whole interval
lies more than PCT percent on the worse side. (Before, a cell failed when
its ratio of medians was beyond PCT and its uncorrected p below 0.05, which
a noisy cell or a large family trips by chance.)

Per strategy, the geometric mean of its cells' ratios carries a Student t
interval over those cells (`geomean_by_strategy` says why).

A metric a cell does not have on one side (e.g. `starved` in a schema 1
report, which did not record it, or `acquire_p50` of pingpong, which times
only wake latencies) leaves that cell out with a note. A row notes a cell
that starved workers in any repetition and, for latency metrics, latencies
whose recording cost more than the limit (`harness_overhead.flagged`) and
medians below the timer floor (`below_timer_floor`: the clock dominates
them). For latency metrics the table says whether each side was measured
closed- or open-loop (`measurement.latency_loop`), and a warning names the
cells where the two sides differ: an open loop's latency runs from the
intended start, a closed loop's from the call.
"""

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from .report import (
    CONTEXT_KEYS, below_timer_floor, cell_id, latency_flagged, latency_loop, starved_workers)
from .stats import (
    ShiftInterval, geometric_mean, holm, log_mean_interval, mann_whitney, shift_interval,
    smallest_p)

SIGNIFICANCE = 0.05  # the default alpha: Holm-adjusted p below it is significant
# Below this many repetitions a side, the U test rarely separates a real
# change of a few percent from noise on a shared machine.
MIN_REPETITIONS = 9
# `warnings` names the cells whose interval is wider than +- this (percent)
# when no --fail-above threshold says which size of change matters.
RESOLUTION_PERCENT = 5.0

VERDICT_TOO_FEW = "too few repetitions"
VERDICT_UNRESOLVED = "no resolvable difference"
VERDICT_NOT_SIGNIFICANT = "not significant after Holm"


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
    Metric("reacquire_p50", ("latency_run", "reacquire_latency_ns", "p50"), False),
    Metric("reacquire_p99", ("latency_run", "reacquire_latency_ns", "p99"), False),
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
    """One matched cell: medians, their ratio (candidate / baseline), its
    interval, the raw and Holm-adjusted p-values and the verdict they give."""

    name: str
    strategy: str
    baseline_median: float
    candidate_median: float
    ratio: float | None  # None where the baseline median is 0
    p_value: float  # raw, two-sided Mann-Whitney U
    baseline_n: int
    candidate_n: int
    higher_is_better: bool
    # e.g. "baseline starved in 2 of 5 (up to 1 of 4)", "candidate latency flagged"
    notes: tuple = ()
    p_method: str = "exact"  # stats.UTest.method
    # The Hodges-Lehmann shift candidate - baseline, of log values where
    # `log_scale`, else of the values; None only where a cell was made by hand.
    shift: ShiftInterval | None = None
    log_scale: bool = True
    ratio_low: float | None = None  # the interval as a ratio; None where it has none
    ratio_high: float | None = None
    alpha: float = SIGNIFICANCE
    p_adjusted: float | None = None  # Holm over the comparison; set by compare_reports
    can_reach_alpha: bool = True  # whether complete separation would be significant after Holm
    # measurement.latency_loop of each side ("closed", "open"; None where not
    # known), for latency metrics only.
    baseline_loop: str | None = None
    candidate_loop: str | None = None
    # Whether a side merges several invocations (its n counts invocations).
    baseline_merged: bool = False
    candidate_merged: bool = False

    @property
    def loop(self):
        """The latency loop of both sides, "closed -> open" where they differ;
        None for a metric that is not a latency."""
        if self.baseline_loop is None and self.candidate_loop is None:
            return None
        base, cand = self.baseline_loop or "?", self.candidate_loop or "?"
        return base if base == cand else f"{base} -> {cand}"

    @property
    def loops_differ(self):
        return self.loop is not None and "->" in self.loop

    @property
    def worse_percent(self):
        """How much worse the candidate is, in percent (negative: better)."""
        if self.ratio is None:
            return None
        return self._worse(self.ratio)

    def _worse(self, ratio):
        return (1 - ratio) * 100 if self.higher_is_better else (ratio - 1) * 100

    @property
    def least_worse_percent(self):
        """The interval's end nearest to "better", in percent worse: a cell is
        resolvably worse by more than X % when this is above X."""
        if self.ratio_low is None or self.ratio_high is None:
            return None
        return min(self._worse(self.ratio_low), self._worse(self.ratio_high))

    @property
    def confidence(self):
        return 1 - self.alpha

    @property
    def coverage(self):
        return self.shift.coverage if self.shift else None

    @property
    def resolved(self):
        """Whether the interval excludes "no change" (ratio 1, shift 0)."""
        return self.shift is not None and (self.shift.low > 0 or self.shift.high < 0)

    @property
    def resolution_percent(self):
        """Half the interval's width in percent of the baseline: changes much
        smaller than this are below what these repetitions can resolve."""
        if self.shift is None:
            return None
        width = self.shift.high - self.shift.low
        if self.log_scale:
            return (math.exp(width / 2) - 1) * 100
        if not self.baseline_median:
            return None
        return width / 2 / abs(self.baseline_median) * 100

    @property
    def significant(self):
        """Holm-adjusted p below alpha (raw p where no adjustment was made)."""
        p = self.p_value if self.p_adjusted is None else self.p_adjusted
        return p < self.alpha

    @property
    def direction(self):
        """"worse", "better" or None, from the side of 1 the interval lies on."""
        if not self.resolved:
            return None
        higher = self.shift.low > 0
        return "better" if higher == self.higher_is_better else "worse"

    @property
    def verdict(self):
        """See the module docstring."""
        if not self.can_reach_alpha and not self.significant:
            return VERDICT_TOO_FEW
        if not self.resolved:
            return VERDICT_UNRESOLVED
        if not self.significant:
            return VERDICT_NOT_SIGNIFICANT
        return self.direction

    @property
    def stat_notes(self):
        """What a row should say about its statistics."""
        notes = []
        if self.p_method == "normal (ties)":
            notes.append("ties: normal-approximation p")
        if self.shift is not None and not self.shift.reaches:
            notes.append(f"n too small for a {_level(self.confidence)} interval")
        if self.shift is not None and not self.log_scale:
            notes.append("additive interval")
        return tuple(notes)


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
    alpha: float = SIGNIFICANCE


def compare_reports(baseline, candidate, metric_name="throughput", alpha=SIGNIFICANCE):
    """Match the two reports' cells and compare `metric_name` on each pair.

    `alpha` is the family-wise significance level (Holm) and 1 - alpha the
    level of the intervals.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    metric = METRICS[metric_name]
    result = Comparison(metric, alpha=alpha)
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
        result.cells.append(_compare_cell(base, cand, metric, alpha))
    adjust_for_family(result.cells, alpha)
    return result


def adjust_for_family(cells, alpha):
    """Set each cell's Holm-adjusted p (the family: `cells`) and whether its
    sample sizes could reach significance at all: its adjusted p were its
    own samples completely separated (the smallest p they allow), the other
    cells' p-values as they are."""
    raw = [c.p_value for c in cells]
    for cell, adjusted in zip(cells, holm(raw)):
        cell.p_adjusted = adjusted
    for index, cell in enumerate(cells):
        if cell.p_adjusted < alpha:
            cell.can_reach_alpha = True
            continue
        best = list(raw)
        best[index] = min(raw[index], smallest_p(cell.baseline_n, cell.candidate_n))
        cell.can_reach_alpha = holm(best)[index] < alpha


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
        why, because = None, []
        if metric.name not in cell["aggregates"]:
            why = f"no {metric.name} in the {side}"
            if metric.is_latency and not samples(cell, metric):
                kind = metric.sample_path[1].removesuffix("_ns")  # e.g. acquire_latency
                because.append(f"its latency runs timed no {kind.replace('_', ' ')}")
        elif not samples(cell, metric):
            why = f"no per-repetition {'.'.join(metric.sample_path)} in the {side}"
        if why:
            if side in legacy:
                because.append(f"a schema {legacy[side]} report")
            return why + (f" ({'; '.join(because)})" if because else "")
    return None


def samples(cell, metric, pooled=False):
    """The metric's independent values: one per repetition that recorded it
    -- or, for a cell merged from several invocations (csync-bench
    --invocations), one per invocation, its median: repetitions of one
    process are not independent of one another, the processes are.
    `pooled`: every repetition even then (see _compare_cell)."""
    by_invocation = {}
    for rep in cell["repetitions"]:
        value = rep
        for step in metric.sample_path:
            value = value.get(step) if isinstance(value, dict) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            by_invocation.setdefault(rep.get("invocation", 0), []).append(value)
    if len(by_invocation) > 1 and not pooled:
        return [statistics.median(v) for _, v in sorted(by_invocation.items())]
    return [v for values in by_invocation.values() for v in values]


def merged(cell):
    """Whether the cell's repetitions come from more than one invocation."""
    return len({rep.get("invocation", 0) for rep in cell.get("repetitions", [])}) > 1


def _compare_cell(base, cand, metric, alpha=SIGNIFICANCE):
    base_median = base["aggregates"][metric.name]["median"]
    cand_median = cand["aggregates"][metric.name]["median"]
    if base_median == 0:
        ratio = 1.0 if cand_median == 0 else None
    else:
        ratio = cand_median / base_median
    # One side merged from several processes, the other one process: their
    # invocation medians and repetitions are different units, so both sides
    # are compared as repetitions -- which ignores the variation between
    # processes, and the row says so.
    mixed_units = merged(base) != merged(cand)
    base_samples = samples(base, metric, pooled=mixed_units)
    cand_samples = samples(cand, metric, pooled=mixed_units)
    test = mann_whitney(base_samples, cand_samples)
    log_scale = all(v > 0 for v in base_samples + cand_samples)
    if log_scale:
        shift = shift_interval([math.log(v) for v in base_samples],
                               [math.log(v) for v in cand_samples], 1 - alpha)
        ratio_low, ratio_high = math.exp(shift.low), math.exp(shift.high)
    else:
        shift = shift_interval(base_samples, cand_samples, 1 - alpha)
        ratio_low = ratio_high = None
        if base_median > 0:
            ratio_low = (base_median + shift.low) / base_median
            ratio_high = (base_median + shift.high) / base_median
    loops = ((latency_loop(base), latency_loop(cand)) if metric.is_latency
             else (None, None))
    return CellComparison(base["name"], base["parameters"]["strategy"], base_median,
                          cand_median, ratio, test.p_value, len(base_samples),
                          len(cand_samples), metric.higher_is_better,
                          cell_notes(base, cand, metric) + (
                              ("one side merges several invocations, the other is one process: "
                               "compared as repetitions, which ignores the variation between "
                               "processes",) if mixed_units else ()),
                          p_method=test.method,
                          shift=shift, log_scale=log_scale, ratio_low=ratio_low,
                          ratio_high=ratio_high, alpha=alpha, baseline_loop=loops[0],
                          candidate_loop=loops[1], baseline_merged=merged(base),
                          candidate_merged=merged(cand))


def cell_notes(base, cand, metric):
    """What a row should say about its cells: workers starved in any
    repetition (every metric: a starved cell's throughput is the other
    workers' alone, and their never-ended waits are in no latency histogram)
    and, for latency metrics, latencies whose recording cost more than the
    limit and medians below the timer floor."""
    notes = []
    for side, cell in (("baseline", base), ("candidate", cand)):
        starved = starved_workers(cell)
        if starved:
            of = f" of {starved.workers}" if starved.workers is not None else ""
            notes.append(f"{side} starved in {starved.repetitions} of {starved.of} "
                         f"(up to {starved.most:g}{of})")
        if metric.is_latency and latency_flagged(cell):
            notes.append(f"{side} latency flagged")
        if metric.is_latency and below_timer_floor(cell, metric.name):
            notes.append(f"{side} below timer floor")
    return tuple(notes)


class StrategyMean(NamedTuple):
    """A strategy's geometric mean of cell ratios and its interval."""

    ratio: float
    cells: int
    low: float | None
    high: float | None
    method: str | None  # "t" (over the cells), "cell" (one cell: its own interval), None


def geomean_by_strategy(comparison):
    """{strategy: StrategyMean}, sorted by name.

    The interval is a Student t interval at level 1 - alpha for the mean of
    the cells' log ratios (`stats.log_mean_interval`), back as a ratio. The
    cells of a strategy are different configurations (threads, workloads),
    and what makes their geometric mean uncertain as a summary is mostly how
    much the ratio differs from cell to cell; each cell's own noise is part
    of that spread, so an interval over the cells' observed ratios covers
    both. t rather than a bootstrap over cells: a strategy often has only a
    handful of cells, where a bootstrap has few distinct resamples and its
    percentile interval is too narrow (it ignores the uncertainty in the
    spread that t's quantile accounts for), and t needs no seed. It assumes
    the log ratios are roughly normal across cells; a strategy with one cell
    gets that cell's own Hodges-Lehmann interval.

    Cells without a positive ratio (a median of 0) cannot enter a geometric
    mean and are left out.
    """
    cells = defaultdict(list)
    for cell in comparison.cells:
        if cell.ratio is not None and cell.ratio > 0:
            cells[cell.strategy].append(cell)
    means = {}
    for strategy, group in sorted(cells.items()):
        ratios = [c.ratio for c in group]
        if len(group) == 1:
            only = group[0]
            known = only.ratio_low is not None
            means[strategy] = StrategyMean(only.ratio, 1, only.ratio_low, only.ratio_high,
                                           "cell" if known else None)
        else:
            _, low, high = log_mean_interval(ratios, 1 - comparison.alpha)
            means[strategy] = StrategyMean(geometric_mean(ratios), len(group), low, high, "t")
    return means


def regressions(comparison, fail_above_percent):
    """The resolvable slowdowns beyond the threshold: cells whose Holm-adjusted
    p is below alpha and whose whole interval is more than
    `fail_above_percent` percent worse."""
    return [c for c in comparison.cells
            if c.significant and c.direction == "worse"
            and c.least_worse_percent is not None
            and c.least_worse_percent > fail_above_percent]


def repetitions_needed(cells, alpha):
    """The fewest repetitions a side at which completely separated samples
    reach p < alpha / cells (Holm's first step), or None beyond 1000."""
    for n in range(2, 1001):
        if smallest_p(n, n) < alpha / cells:
            return n
    return None


def warnings(comparison, resolution_percent=RESOLUTION_PERCENT):
    """Caveats about the p-values and intervals, for stderr.

    `resolution_percent`: name the cells whose interval is wider than +- this
    (compare.py passes --fail-above where given).
    """
    found = []
    alpha, cells = comparison.alpha, comparison.cells
    weak = [c for c in cells if min(c.baseline_n, c.candidate_n) < MIN_REPETITIONS]
    if weak:
        fewest = min(min(c.baseline_n, c.candidate_n) for c in weak)
        found.append(f"{len(weak)} of {len(cells)} cells have fewer than "
                     f"{MIN_REPETITIONS} repetitions on a side (fewest: {fewest}): "
                     f"p-values from fewer than {MIN_REPETITIONS} repetitions are weak")
    hopeless = set()
    for n1, n2 in sorted({(c.baseline_n, c.candidate_n) for c in cells}):
        best_p = smallest_p(n1, n2)
        if best_p >= alpha:
            hopeless.add((n1, n2))
            found.append(f"with {n1} and {n2} repetitions no p-value can fall below "
                         f"{alpha:g} (smallest possible: {best_p:.3g}), so those cells "
                         f"never count as significant")
    too_few = [c for c in cells if c.verdict == VERDICT_TOO_FEW
               and (c.baseline_n, c.candidate_n) not in hopeless]
    if too_few:
        sizes = sorted({(c.baseline_n, c.candidate_n) for c in too_few})
        best = ", ".join(f"{n1} and {n2} repetitions: {smallest_p(n1, n2):.3g}"
                         for n1, n2 in sizes)
        needed = repetitions_needed(len(cells), alpha)
        found.append(f"over {len(cells)} cells Holm's correction asks the smallest p to be "
                     f"below {alpha:g}/{len(cells)} = {alpha / len(cells):.3g}; "
                     f"{len(too_few)} cells could not reach adjusted p < {alpha:g} even with "
                     f"completely separated samples (smallest possible p with {best})"
                     + (f"; {needed} repetitions a side would let any cell reach it"
                        if needed else ""))
    wide = [c for c in cells if c.resolution_percent is not None
            and c.resolution_percent > resolution_percent]
    if wide:
        widest = max(wide, key=lambda c: c.resolution_percent)
        found.append(f"{len(wide)} of {len(cells)} cells cannot resolve a change smaller than "
                     f"{resolution_percent:g}% (their {_level(1 - alpha)} intervals are wider "
                     f"than +-{resolution_percent:g}%; widest: +-"
                     f"{widest.resolution_percent:.3g}%, {widest.name})")
    mixed = [c for c in cells if c.loops_differ]
    if mixed:
        found.append(f"{len(mixed)} of {len(cells)} cells were measured closed-loop on one "
                     f"side and open-loop on the other (measurement.latency_loop; e.g. "
                     f"{mixed[0].name}: {mixed[0].loop}): an open loop's latency runs from "
                     f"the intended start, a closed loop's from the call, so those ratios "
                     f"compare different quantities")
    if len(comparison.legacy) == 1:
        (side, version), = comparison.legacy.items()
        found.append(f"the {side} is a schema {version} report and the other one is not: "
                     f"the instrument changed between them, so the ratios include its effect")
    for side in ("baseline", "candidate"):
        count = sum(1 for c in cells if getattr(c, f"{side}_merged"))
        if count:
            found.append(f"{count} of {len(cells)} cells of the {side} merge several "
                         f"invocations: their samples are the invocations' medians (the "
                         f"independent units), so n counts invocations, not repetitions")
    for path, name in comparison.duplicates:
        found.append(f"{path}: cell {name} appears more than once; the first is used")
    if not cells:
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
    level = _level(1 - comparison.alpha)
    count = len(comparison.cells)
    lines = [f"baseline:  {baseline.describe()}",
             f"candidate: {candidate.describe()}"]
    lines += [f"context differs: {d}" for d in context_differences(baseline, candidate)]
    lines += [f"warning: {r.path} was measured under {r.emulator}: its numbers describe the "
              f"emulator, not {r.context.get('platform', 'the platform')}"
              for r in (baseline, candidate) if r.emulator]
    lines += [f"note: {r.path}: {r.legacy_note}" for r in (baseline, candidate)
              if r.legacy_note]
    lines += [f"metric: {metric.name} ({comparison.unit or 'no unit'}, {better} is better); "
              f"ratio = candidate median / baseline median; interval = its {level} "
              f"Hodges-Lehmann interval over the repetitions' pairwise ratios (exact "
              f"Mann-Whitney ranks), cover = the probability it covers the true ratio "
              f"(~: approximate); p = two-sided Mann-Whitney U over the repetitions, "
              f"p Holm = adjusted over the {count} cell{'' if count == 1 else 's'} compared; "
              f"alpha = {comparison.alpha:g}"]
    if metric.is_latency:
        lines.append(f"latency loop (measurement.latency_loop): baseline "
                     f"{_loop_counts(comparison.cells, 'baseline_loop')}; candidate "
                     f"{_loop_counts(comparison.cells, 'candidate_loop')}; the loop column "
                     f"shows baseline -> candidate where they differ")
    lines.append("")
    lines += _table(comparison)
    lines += _legend(comparison)
    lines += ["", f"geometric mean of ratios per strategy ({level} t interval over the "
                  f"strategy's cells; one cell: its own interval):"]
    lines += [f"  {s:<24} {m.ratio:8.3f}  {_interval(m.low, m.high):>16}  "
              f"({m.cells} cell{'' if m.cells == 1 else 's'})"
              + ("" if m.low is None or m.low > 1 or m.high < 1
                 else "  no resolvable difference")
              for s, m in geomean_by_strategy(comparison).items()] or ["  (none)"]
    lines += _name_list("only in baseline", comparison.only_baseline)
    lines += _name_list("only in candidate", comparison.only_candidate)
    lines += _name_list("matched but not compared",
                        [f"{n}: {why}" for n, why in comparison.not_compared])
    return "\n".join(lines)


def _loop_counts(cells, side):
    """`closed-loop (3 cells), open-loop (1 cell)` over one side of the compared cells."""
    counts = defaultdict(int)
    for cell in cells:
        counts[getattr(cell, side) or "unknown"] += 1
    if not counts:
        return "no cells"
    return ", ".join(f"{loop}{'' if loop == 'unknown' else '-loop'} "
                     f"({n} cell{'' if n == 1 else 's'})" for loop, n in sorted(counts.items()))


def _legend(comparison):
    cells = comparison.cells
    alpha = comparison.alpha
    lines = []
    notes = [n.split(" ", 1)[1] for c in cells for n in c.notes]  # without the side
    if any(n.startswith("starved") for n in notes):
        lines.append("starved in K of R (up to N of M) = in K of the R repetitions some "
                     "workers did no operation in the throughput run, at most N of the M "
                     "workers in one: the throughput is the others' alone, and the waits "
                     "that never ended are in no latency histogram")
    if "latency flagged" in notes:
        lines.append("latency flagged = latency recording cost > 2 % "
                     "(harness_overhead.flagged)")
    if "below timer floor" in notes:
        lines.append("below timer floor = the median lies below 2x the cost of a clock "
                     "read (measurement.timer_floor_ns): the clock dominates it")
    stat = {n for c in cells for n in c.stat_notes}
    if any(n.startswith("ties") for n in stat):
        lines.append("ties: a value repeats, so p is the normal approximation with the tie "
                     "correction, not the exact U distribution")
    if any(n.startswith("n too small") for n in stat):
        lines.append("n too small: even the widest interval (the smallest to the largest "
                     "pairwise ratio) covers less than asked; its coverage is shown")
    if any(n == "additive interval" for n in stat):
        lines.append("additive interval: some value is <= 0, so the interval is of the "
                     "differences (candidate - baseline) over the baseline median, or, where "
                     "that median is 0, of the differences themselves (diff)")
    verdicts = {c.verdict for c in cells}
    if verdicts & {"worse", "better"}:
        lines.append(f"worse / better: Holm-adjusted p < {alpha:g} and the interval excludes 1")
    if VERDICT_UNRESOLVED in verdicts:
        lines.append(f"{VERDICT_UNRESOLVED} (+-X%): the interval contains 1; X is its "
                     f"half-width, the size of change these repetitions can resolve")
    if VERDICT_NOT_SIGNIFICANT in verdicts:
        lines.append(f"{VERDICT_NOT_SIGNIFICANT}: the interval excludes 1, but with "
                     f"{len(cells)} cells compared a p this small turns up by chance")
    if VERDICT_TOO_FEW in verdicts:
        lines.append(f"{VERDICT_TOO_FEW}: even completely separated samples of these sizes "
                     f"would not reach Holm-adjusted p < {alpha:g} here")
    return [""] + lines if lines else []


def _table(comparison):
    """The rows: name (and, for latency metrics, the loop) left-aligned, the
    numbers right-aligned, then the verdict and the notes."""
    level = _level(1 - comparison.alpha)
    with_loop = comparison.metric.is_latency
    header = ("cell", *(("loop",) if with_loop else ()), "baseline", "candidate", "ratio",
              f"{level} interval", "cover", "p", "p Holm", "verdict", "")
    rows = [(c.name, *((c.loop or "?",) if with_loop else ()),
             f"{c.baseline_median:.4g}", f"{c.candidate_median:.4g}",
             "n/a" if c.ratio is None else f"{c.ratio:.3f}",
             _interval_text(c), _coverage(c), f"{c.p_value:.3g}",
             f"{c.p_adjusted:.3g}" if c.p_adjusted is not None else "", _verdict(c),
             f"[{'; '.join(c.notes + c.stat_notes)}]" if c.notes or c.stat_notes else "")
            for c in comparison.cells]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    left = 2 if with_loop else 1  # the left-aligned columns before the numbers

    def fmt(row):
        cols = [v.ljust(w) for v, w in zip(row[:left], widths)]
        cols += [v.rjust(w) for v, w in zip(row[left:-2], widths[left:-2])]
        return "  ".join(cols + [row[-2].ljust(widths[-2]), row[-1]]).rstrip()

    return [fmt(header)] + [fmt(r) for r in rows]


def _verdict(cell):
    verdict = cell.verdict
    if verdict == VERDICT_UNRESOLVED and cell.resolution_percent is not None:
        return f"{verdict} (+-{cell.resolution_percent:.2g}%)"
    return verdict


def _interval(low, high):
    if low is None or high is None:
        return "n/a"
    return f"[{low:.3f}, {high:.3f}]"


def _interval_text(cell):
    """The ratio interval; where there is none (a baseline median of 0) but
    an additive one, the interval of the differences."""
    if cell.ratio_low is None and cell.shift is not None and not cell.log_scale:
        return f"diff [{cell.shift.low:.4g}, {cell.shift.high:.4g}]"
    return _interval(cell.ratio_low, cell.ratio_high)


def _coverage(cell):
    if cell.coverage is None:
        return ""
    return ("" if cell.shift.exact else "~") + f"{cell.coverage * 100:.1f}%"


def _level(confidence):
    """0.95 -> '95%'."""
    return f"{round(confidence * 100, 6):g}%"


def _name_list(title, names):
    if not names:
        return []
    return ["", f"{title} ({len(names)}):"] + [f"  {n}" for n in names]
