#!/usr/bin/env bash
# Install dependencies, build the `default` (Release) preset, list the
# strategies this machine can run and run scenarios/quick.json (under a minute
# on 2 cores). The report goes to build/quick.report.json; extra arguments go
# to `csync-bench run` (e.g. --strategies futex,spin). Root on Debian 12.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh

cmake --preset default
cmake --build --preset default -j "$(nproc)" --target csync-bench
bench=build/default/harness/csync-bench
"$bench" list
"$bench" run scenarios/quick.json -o build/quick.report.json "$@"
echo "quickstart: report written to build/quick.report.json (format: docs/report-format.md)"
