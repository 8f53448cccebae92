#!/usr/bin/python3
# Debian's interpreter, where python3-matplotlib and python3-pytest install (a python3
# earlier on PATH, such as pyenv's, may lack them).
"""Plot csync-bench reports: throughput, latency, CCDF, fairness and CPU figures.

One set of figures per group of cells that differ only in the x axis
(threads, or tasks for coroutine waiters) and the strategy; see
csync_report/plot.py. Prints, per report, the cells skipped, the starved
cells (in how many repetitions, and the longest stall of a worker) and the
cells whose latencies are flagged (both are marked in the figures too), and
the cells whose latency overhead is unresolved (its interval straddles the
limit; not marked). Open loops are not judged. Exit status 2 when an input
is not a readable report.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from csync_report import ReportError, load_report  # noqa: E402
from csync_report.report import (  # noqa: E402
    VERDICT_UNRESOLVED, duration_label, latency_flagged, longest_stall_ns, median_interval,
    overhead_limit, overhead_verdict, percent, starved_label)

FORMATS = ("png", "svg", "pdf")


def formats(text):
    chosen = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    unknown = [f for f in chosen if f not in FORMATS]
    if not chosen or unknown:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(FORMATS)}; got {text!r}")
    return chosen


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Draw figures from csync-bench reports. Reports whose cell groups match "
                    "(e.g. the same scenario on two machines) share figures, told apart by "
                    "host; cells whose status is not ok are skipped and listed.")
    parser.add_argument("reports", nargs="+", type=Path, metavar="REPORT",
                        help="csync-bench report (JSON)")
    parser.add_argument("-o", "--outdir", type=Path, required=True,
                        help="directory for the figures (created if missing)")
    parser.add_argument("--ccdf-at", type=positive_int, metavar="THREADS",
                        help="x value (threads, or tasks for coroutines) of the latency "
                             "CCDF; the nearest measured one where a group lacks it "
                             "(default: each group's largest)")
    parser.add_argument("--format", type=formats, default=("png", "svg"), dest="formats",
                        help="comma-separated file formats (default: png,svg)")
    return parser.parse_args(argv)


def print_summary(reports):
    """Per report: skipped cells, then the cells the figures mark."""
    for report in reports:
        skipped = report.not_ok_cells()
        print(f"{report.path}: {len(report.cells)} cells, {len(skipped)} skipped (status not ok)")
        if report.legacy_note:
            print(f"  note: {report.legacy_note}")
        for cell in skipped:
            print(f"  skipped {cell['name']}: {cell['status']}: "
                  f"{cell.get('reason', 'no reason given')}")
        for cell in report.ok_cells():
            label = starved_label(cell)
            if label:
                stall = longest_stall_ns(cell)
                longest = (f"; longest stall of a worker {duration_label(stall)}"
                           if stall is not None else "")
                print(f"  {cell['name']}: {label}{longest}")
        for cell in report.ok_cells():
            if latency_flagged(cell):
                print(f"  {cell['name']}: latency recording cost > "
                      f"{overhead_limit(cell) * 100:g} %{overhead_cost(cell)}: its latencies "
                      f"are flagged")
        unresolved = [c["name"] for c in report.ok_cells()
                      if overhead_verdict(c) == VERDICT_UNRESOLVED]
        if unresolved:
            cells = "1 cell" if len(unresolved) == 1 else f"{len(unresolved)} cells"
            print(f"  latency recording cost unresolved in {cells} (the interval of the paired "
                  f"runs' overhead straddles the limit: between-run noise is larger than "
                  f"the effect; not marked in the figures): {', '.join(unresolved)}")


def overhead_cost(cell):
    """` (median 4.9 %, interval 4.8 % to 5.1 %, coverage 93.8 %)` of a cell's
    harness_overhead.fraction; what it has of that."""
    fraction = cell["harness_overhead"].get("fraction") or {}
    median = fraction.get("median")
    if median is None:
        return ""
    parts = [f"median {percent(median)}"]
    low, high, coverage = median_interval(fraction)
    if low is not None and high is not None:
        parts.append(f"interval {percent(low)} to {percent(high)}")
        if coverage is not None:
            parts.append(f"coverage {percent(coverage)}")
    return f" ({', '.join(parts)})"


def main(argv=None):
    args = parse_args(argv)
    try:
        reports = [load_report(path) for path in args.reports]
    except ReportError as err:
        print(f"plot.py: error: {err}", file=sys.stderr)
        return 2
    try:
        from csync_report.plot import Plotter
    except ImportError as err:
        print(f"plot.py: error: {err}; install python3-matplotlib (Debian's python3, "
              f"/usr/bin/python3, sees it)", file=sys.stderr)
        return 2
    print_summary(reports)
    written = Plotter(reports, args.formats, args.ccdf_at).write_all(args.outdir)
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} files in {args.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
