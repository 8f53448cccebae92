#!/usr/bin/python3
# Debian's interpreter, where python3-matplotlib and python3-pytest install (a python3
# earlier on PATH, such as pyenv's, may lack them).
"""Compare two csync-bench reports cell by cell (see csync_report/compare.py).

Exit status: 0, or 1 when --fail-above found a significant regression, or 2
when an input is not a readable csync-bench report.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from csync_report import ReportError, load_report  # noqa: E402
from csync_report.compare import (  # noqa: E402
    METRICS, SIGNIFICANCE, compare_reports, format_comparison, regressions, warnings)


def percent(text):
    value = float(text)
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a percentage >= 0, got {text}")
    return value


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Compare a candidate csync-bench report with a baseline: per matched "
                    "cell, the ratio of medians (candidate / baseline) and a Mann-Whitney U "
                    "p-value over the repetitions; per strategy, the geometric mean of the "
                    "ratios. Exit 1 on a regression beyond --fail-above, 2 on bad input.")
    parser.add_argument("baseline", type=Path, help="baseline report (JSON)")
    parser.add_argument("candidate", type=Path, help="candidate report (JSON)")
    parser.add_argument("--metric", default="throughput", choices=sorted(METRICS),
                        help="aggregate to compare (default: throughput)")
    parser.add_argument("--fail-above", type=percent, metavar="PCT",
                        help=f"exit 1 when a cell is worse by more than PCT percent with "
                             f"p < {SIGNIFICANCE} (throughput-like metrics: lower; latency "
                             f"and cost: higher)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        baseline, candidate = load_report(args.baseline), load_report(args.candidate)
    except ReportError as err:
        print(f"compare.py: error: {err}", file=sys.stderr)
        return 2
    comparison = compare_reports(baseline, candidate, args.metric)
    print(format_comparison(comparison, baseline, candidate))
    for warning in warnings(comparison):
        print(f"compare.py: warning: {warning}", file=sys.stderr)
    if args.fail_above is None:
        return 0
    failed = regressions(comparison, args.fail_above)
    print()
    if not failed:
        print(f"no cell worse by more than {args.fail_above:g}% with p < {SIGNIFICANCE}")
        return 0
    cells = "1 cell" if len(failed) == 1 else f"{len(failed)} cells"
    print(f"{cells} worse by more than {args.fail_above:g}% with p < {SIGNIFICANCE}:")
    for cell in failed:
        print(f"  REGRESSION {cell.name}: {args.metric} {cell.worse_percent:.1f}% worse "
              f"(ratio {cell.ratio:.3f}, p = {cell.p_value:.3g})")
    return 1


if __name__ == "__main__":
    sys.exit(main())
