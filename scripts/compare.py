#!/usr/bin/python3
# Debian's interpreter, where python3-matplotlib and python3-pytest install (a python3
# earlier on PATH, such as pyenv's, may lack them).
"""Compare two csync-bench reports cell by cell (see csync_report/compare.py).

Per matched cell: the ratio of medians (candidate / baseline) with its
Hodges-Lehmann interval, the Mann-Whitney U p-value and that p adjusted by
Holm's method over every cell compared, and a verdict (worse, better, no
resolvable difference, not significant after Holm, too few repetitions); per
strategy, the geometric mean of the ratios with a t interval over its cells.

Exit status: 0, or 1 when --fail-above found a resolvable regression (Holm-
adjusted p < alpha and the whole interval more than PCT percent worse), or
2 when an input is not a readable csync-bench report.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from csync_report import ReportError, load_report  # noqa: E402
from csync_report.compare import (  # noqa: E402
    METRICS, RESOLUTION_PERCENT, SIGNIFICANCE, compare_reports, format_comparison,
    regressions, warnings)


def percent(text):
    value = float(text)
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a percentage >= 0, got {text}")
    return value


def probability(text):
    value = float(text)
    if not 0 < value < 1:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a level between 0 and 1, got {text}")
    return value


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Compare a candidate csync-bench report with a baseline. Per matched "
                    "cell: the ratio of medians (candidate / baseline) with its 1 - alpha "
                    "Hodges-Lehmann interval (exact Mann-Whitney ranks over the "
                    "repetitions' pairwise log ratios) and that interval's coverage; the "
                    "two-sided Mann-Whitney U p (exact when there are no ties and both "
                    "sides have at most 50 repetitions, or the smaller at most 8; else the "
                    "normal approximation); and p "
                    "adjusted by Holm's step-down method over every cell compared for the "
                    "metric in this run, so that among hundreds of cells the chance of any "
                    "false 'worse' or 'better' is at most alpha. A cell whose interval "
                    "contains 1 shows 'no resolvable difference' with the half-width of its "
                    "interval, the smallest change its repetitions can resolve; 'too few "
                    "repetitions' where even completely separated samples could not pass "
                    "Holm's correction. Per strategy: the geometric mean of the ratios with "
                    "a t interval over its cells. Latency rows say whether each side was "
                    "measured closed- or open-loop, and note medians below the timer floor "
                    "(the clock dominates them). Exit 1 on a resolvable regression beyond "
                    "--fail-above, 2 on bad input.")
    parser.add_argument("baseline", type=Path, help="baseline report (JSON)")
    parser.add_argument("candidate", type=Path, help="candidate report (JSON)")
    parser.add_argument("--metric", default="throughput", choices=sorted(METRICS),
                        help="aggregate to compare (default: throughput)")
    parser.add_argument("--alpha", type=probability, default=SIGNIFICANCE, metavar="A",
                        help=f"family-wise significance level: a cell is worse or better "
                             f"when its Holm-adjusted p is below A; the intervals are at "
                             f"level 1 - A (default: {SIGNIFICANCE:g})")
    parser.add_argument("--fail-above", type=percent, metavar="PCT",
                        help="exit 1 when a cell is resolvably worse by more than PCT "
                             "percent: Holm-adjusted p < alpha and its whole interval "
                             "beyond PCT (throughput-like metrics: lower; latency and cost: "
                             "higher). A cell whose interval reaches into PCT does not "
                             "fail, and a warning names the cells that cannot resolve a "
                             "change of PCT")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        baseline, candidate = load_report(args.baseline), load_report(args.candidate)
    except ReportError as err:
        print(f"compare.py: error: {err}", file=sys.stderr)
        return 2
    comparison = compare_reports(baseline, candidate, args.metric, args.alpha)
    print(format_comparison(comparison, baseline, candidate))
    resolution = args.fail_above if args.fail_above else RESOLUTION_PERCENT
    for warning in warnings(comparison, resolution):
        print(f"compare.py: warning: {warning}", file=sys.stderr)
    if args.fail_above is None:
        return 0
    failed = regressions(comparison, args.fail_above)
    criterion = (f"(Holm-adjusted p < {args.alpha:g}, whole "
                 f"{round((1 - args.alpha) * 100, 6):g}% interval beyond it)")
    print()
    if not failed:
        print(f"no cell resolvably worse by more than {args.fail_above:g}% {criterion}")
        return 0
    cells = "1 cell" if len(failed) == 1 else f"{len(failed)} cells"
    print(f"{cells} resolvably worse by more than {args.fail_above:g}% {criterion}:")
    for cell in failed:
        print(f"  REGRESSION {cell.name}: {args.metric} {cell.worse_percent:.1f}% worse, "
              f"at least {cell.least_worse_percent:.1f}% (ratio {cell.ratio:.3f}, interval "
              f"[{cell.ratio_low:.3f}, {cell.ratio_high:.3f}], p = {cell.p_value:.3g}, "
              f"Holm p = {cell.p_adjusted:.3g})")
    return 1


if __name__ == "__main__":
    sys.exit(main())
