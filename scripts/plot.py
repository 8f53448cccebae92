#!/usr/bin/python3
# Debian's interpreter, where python3-matplotlib and python3-pytest install (a python3
# earlier on PATH, such as pyenv's, may lack them).
"""Plot csync-bench reports: throughput, latency, CCDF, fairness and CPU figures.

One set of figures per group of cells that differ only in the x axis
(threads, or tasks for coroutine waiters) and the strategy; see
csync_report/plot.py. `-o DIR` writes them as files; `--html OUT.html`
writes one report's page instead (or as well): one self-contained file with
every figure embedded, a summary table per group, the context and the
scenario text, and the flags (csync_report/page.py), to open offline or
share. Prints, per report, the cells skipped, the starved cells (in how many
repetitions, and the longest stall of a worker) and the cells whose
latencies are flagged (both are marked in the figures too), and the cells
whose latency overhead is unresolved (its interval straddles the limit; not
marked). Open loops are not judged. Exit status 2 when an input is not a
readable report (or the arguments are wrong), 1 when the page cannot be
written.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from csync_report import ReportError, load_report  # noqa: E402
from csync_report.report import flagged_line, starved_line, unresolved_line  # noqa: E402

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
        description="Draw figures from csync-bench reports: as files (-o), or embedded in "
                    "one self-contained HTML page of a report (--html). Reports whose cell "
                    "groups match "
                    "(e.g. the same scenario on two machines) share figures, told apart by "
                    "host; cells whose status is not ok are skipped and listed.")
    parser.add_argument("reports", nargs="+", type=Path, metavar="REPORT",
                        help="csync-bench report (JSON)")
    parser.add_argument("-o", "--outdir", type=Path,
                        help="directory for the figures (created if missing)")
    parser.add_argument("--html", type=Path, metavar="OUT.html",
                        help="write one self-contained HTML page of the (single) REPORT: "
                             "every figure embedded as PNG, a summary table per group of "
                             "cells, the context, the scenario text and the flags (harness "
                             "overhead, starved cells, closed/open loop, cells not measured); "
                             "opens offline, no script; written atomically (the directory is "
                             "created if missing)")
    parser.add_argument("--ccdf-at", type=positive_int, metavar="THREADS",
                        help="x value (threads, or tasks for coroutines) of the latency "
                             "CCDF; the nearest measured one where a group lacks it "
                             "(default: each group's largest)")
    parser.add_argument("--format", type=formats, default=("png", "svg"), dest="formats",
                        help="comma-separated file formats (default: png,svg)")
    args = parser.parse_args(argv)
    if args.outdir is None and args.html is None:
        parser.error("give -o/--outdir DIR (figure files), --html OUT.html (a page), or both")
    if args.html is not None and len(args.reports) != 1:
        parser.error(f"--html makes the page of one report; got {len(args.reports)} reports")
    return args


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
        for line in [*map(starved_line, report.ok_cells()),
                     *map(flagged_line, report.ok_cells()),
                     unresolved_line(report.ok_cells())]:
            if line:
                print(f"  {line}")


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
    if args.outdir is not None:
        written = Plotter(reports, args.formats, args.ccdf_at).write_all(args.outdir)
        for path in written:
            print(f"wrote {path}")
        print(f"{len(written)} files in {args.outdir}")
    if args.html is not None:
        return write_html(reports[0], args.html, args.ccdf_at)
    return 0


def write_html(report, out, ccdf_at):
    """Build the report's page and write it atomically; 1 where it cannot be written."""
    from csync_report.page import Progress, build_page, write_page

    page = build_page(report, ccdf_at, progress=Progress(sys.stderr))
    try:
        write_page(out, page.text)
    except OSError as err:
        print(f"plot.py: error: cannot write {out}: {err.strerror or err}", file=sys.stderr)
        return 1
    print(f"wrote {out} ({page.figures} figures embedded, {len(page.text) / 1e6:.2g} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
