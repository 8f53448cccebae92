#!/usr/bin/env bash
# Install dependencies, build the `default` (Release) preset, list the
# strategies this machine can run, run scenarios/quick.json (under a minute
# on 2 cores) and plot it. The report goes to build/quick.report.json, the
# figures to build/quick-plots/; extra arguments go to `csync-bench run`
# (e.g. --strategies futex,spin). Root on Debian 12.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh

cmake --preset default
cmake --build --preset default -j "$(nproc)" --target csync-bench
bench=build/default/harness/csync-bench
"$bench" list
"$bench" run scenarios/quick.json -o build/quick.report.json "$@"
scripts/plot.py build/quick.report.json -o build/quick-plots
echo "quickstart: report build/quick.report.json (format: docs/report-format.md), figures build/quick-plots/"
