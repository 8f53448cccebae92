#!/usr/bin/env bash
# Soak run (not in CI): every stress cell -- strategy x primitive x waiter
# kind, tests/stress_test.cpp -- for at least CSYNC_SOAK_OPS operations
# (default 10^7, summed over the fairness policies the strategy supports),
# one cell at a time, each under a timeout. Prints a Markdown table (cell,
# operations, seconds, result) and writes it to OUT (default
# build/soak-<date>.md), with the machine, commit and load it ran on.
#
#   scripts/soak.sh                       # Release build in build/default
#   scripts/soak.sh -b build/tsan         # another (already configured) build
#   scripts/soak.sh -f '*intrusive_list*' # a gtest filter: some cells only
#   CSYNC_SOAK_OPS=1000000 scripts/soak.sh -o /tmp/soak.md
#
# Exit status: 0 when every cell passed, 1 when one failed or timed out.
# Environment: CSYNC_SOAK_OPS, CSYNC_SOAK_TIMEOUT (seconds per cell, 3600).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=build/default
filter='*'
out=""
while getopts "b:f:o:h" opt; do
  case $opt in
    b) build=$OPTARG ;;
    f) filter=$OPTARG ;;
    o) out=$OPTARG ;;
    h) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "soak: unknown option; see scripts/soak.sh -h" >&2; exit 2 ;;
  esac
done
ops=${CSYNC_SOAK_OPS:-10000000}
per_cell_timeout=${CSYNC_SOAK_TIMEOUT:-3600}
out=${out:-build/soak-$(date +%Y-%m-%d).md}

if [[ ! -f "$build/build.ninja" && "$build" == build/default ]]; then
  cmake --preset default >/dev/null
fi
cmake --build "$build" --target stress_test >/dev/null
binary="$build/tests/stress_test"

mapfile -t cells < <("$binary" --gtest_list_tests --gtest_filter="$filter" |
  awk '/^[^ ]/ { suite = $1 } /^  / { print suite $1 }')
if ((${#cells[@]} == 0)); then
  echo "soak: no stress test matches '$filter'" >&2
  exit 2
fi

mkdir -p "$(dirname "$out")"
{
  echo "# Soak run: $ops operations per cell"
  echo
  echo "- commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!results' 2>/dev/null || echo ' (dirty tree)')"
  echo "- machine: $(nproc) CPUs, $(uname -sr), load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- build: $build ($(grep -m1 CMAKE_BUILD_TYPE "$build/CMakeCache.txt" | cut -d= -f2))"
  echo "- started: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "| cell | operations | seconds | result |"
  echo "|---|---:|---:|---|"
} >"$out"
cat "$out"

failed=0
for i in "${!cells[@]}"; do
  cell=${cells[$i]}
  echo "soak: [$((i + 1))/${#cells[@]}] $cell" >&2
  start=$(date +%s.%N)
  rc=0
  log=$(CSYNC_SOAK_OPS=$ops CSYNC_TEST_WATCHDOG_SECONDS=$((per_cell_timeout - 10)) \
    timeout "$per_cell_timeout" "$binary" --gtest_filter="$cell" 2>&1) || rc=$?
  seconds=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
  done_ops=$(grep -o 'soak \] ops=[0-9]*' <<<"$log" | tail -1 | cut -d= -f2 || true)
  if grep -q '^\[  SKIPPED \]' <<<"$log" && ((rc == 0)); then
    result="skipped: $(grep -m1 -A1 'Skipped' <<<"$log" | tail -1 || true)"
  elif ((rc == 0)); then
    result=passed
  elif ((rc == 124)); then
    result="TIMED OUT after ${per_cell_timeout}s"
    failed=1
  else
    result="FAILED (exit $rc)"
    failed=1
    printf '%s\n' "$log" | tail -40 >&2
  fi
  line="| $cell | ${done_ops:-?} | $seconds | $result |"
  echo "$line" | tee -a "$out"
done
echo >>"$out"
echo "- finished: $(date -u +%Y-%m-%dT%H:%M:%SZ), load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out"
echo "soak: table written to $out" >&2
exit "$failed"
