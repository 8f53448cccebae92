#!/usr/bin/python3
"""Print a Markdown table of csync-bench reports: what each one is and where
it came from.

    scripts/results_index.py results/*-2026-12-03.json

Columns: the report, its scenario, its cells (ok of all), the commit and
whether the build's tree was dirty, when it ran (UTC), the 1-minute load
average at its start and whether it was a `--reference` run that finished.

results/README.md's indexes of the reports are the same rows, kept there as
generated blocks (`results-index`) by scripts/docs_numbers.py, which shares
the row code (csync_report.docs.index_row): regenerate them with
`/usr/bin/python3 scripts/docs_numbers.py --write` rather than pasting this
script's output. This script reads the raw JSON, so it also lists reports
the loader would refuse.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from csync_report.docs import INDEX_HEADER, index_row  # noqa: E402


def row(path):
    with open(path, encoding="utf-8") as f:
        return index_row(str(path).rsplit("/", 1)[-1], json.load(f))


def main(paths):
    if not paths:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for line in INDEX_HEADER:
        print(line)
    for path in paths:
        print(row(path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
