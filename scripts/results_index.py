#!/usr/bin/python3
"""Print a Markdown table of csync-bench reports: what each one is and where
it came from (results/README.md's index of the reference runs is this
script's output; regenerate it rather than editing it by hand).

    scripts/results_index.py results/*-2026-12-03.json

Columns: the report, its scenario, its cells (ok of all), the commit and
whether the build's tree was dirty, when it ran (UTC), the 1-minute load
average at its start and whether it was a `--reference` run that finished.
"""
import json
import sys


def row(path):
    with open(path, encoding="utf-8") as f:
        report = json.load(f)
    ctx, run = report.get("context", {}), report.get("run", {})
    results = report.get("results", [])
    ok = sum(1 for cell in results if cell.get("status") == "ok")
    load = ctx.get("load_average")
    sha = str(ctx.get("csync_git_sha", "?"))[:12]
    dirty = {True: "dirty", False: "clean", None: "unknown"}.get(ctx.get("csync_git_dirty"), "?")
    finished = "yes" if run.get("complete") else "no"
    reference = "yes" if run.get("reference") else "no"
    return (f"| `{path.rsplit('/', 1)[-1]}` | `{report.get('scenario', {}).get('name', '?')}` "
            f"| {ok} of {len(results)} | {sha} ({dirty}) | {ctx.get('date', '?')} to "
            f"{ctx.get('date_end', '?')} | {f'{load[0]:.2f}' if load else 'n/a'} | {reference} | {finished} |")


def main(paths):
    if not paths:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    print("| report | scenario | cells ok | commit (tree) | ran (UTC) | load at start "
          "| --reference | complete |")
    print("|---|---|---|---|---|---|---|---|")
    for path in paths:
        print(row(path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
