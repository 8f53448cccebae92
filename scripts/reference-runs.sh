#!/usr/bin/env bash
# Regenerates the reference results in results/ from one clean build: every
# shipped scenario with `csync-bench run --reference`, quick.json once more
# merged from 6 invocations (what one run can resolve: docs/measurements.md),
# and csync-micro with single repetitions kept. Each run waits until the
# 1-minute load average is at most 0.5 (nothing else may run meanwhile);
# csync-bench itself refuses a dirty tree and a busy machine.
#
#   scripts/reference-runs.sh MACHINE-DATE [RUN...]
#     MACHINE-DATE  the file-name suffix, e.g. dev-2vcpu-2026-12-04
#     RUN           only these: quick pingpong condvar mixed-io full
#                   semaphore-sweep quick-invocations micro (default: all)
#
# Builds build/default first (cmake --preset default). Takes about an hour
# on the 2-vCPU development VM.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if (($# < 1)); then
  echo "usage: scripts/reference-runs.sh MACHINE-DATE [RUN...]" >&2
  exit 2
fi
suffix=$1
shift
runs=("$@")
((${#runs[@]})) || runs=(micro quick-invocations quick pingpong condvar mixed-io full semaphore-sweep)

if [[ -n "$(git status --porcelain)" ]]; then
  echo "reference-runs: the tree differs from its commit; commit first" >&2
  exit 2
fi
cmake --preset default >/dev/null
cmake --build --preset default --target csync-bench csync-micro

wait_for_idle() {
  until awk '{exit !($1 <= 0.5)}' /proc/loadavg; do
    echo "reference-runs: load $(cut -d' ' -f1 /proc/loadavg) > 0.5; waiting" >&2
    sleep 15
  done
}

bench=build/default/harness/csync-bench
for run in "${runs[@]}"; do
  wait_for_idle
  echo "reference-runs: $run ($(date -u +%FT%TZ))" >&2
  case $run in
    micro)
      build/default/harness/csync-micro --benchmark_repetitions=6 --benchmark_min_time=0.2 \
        --benchmark_out="results/micro-$suffix.json" --benchmark_out_format=json >/dev/null
      ;;
    quick-invocations)
      "$bench" run scenarios/quick.json --reference --invocations 6 --repetitions 6 \
        -o "results/quick-invocations-$suffix.json"
      rm -f results/quick-invocations-"$suffix".invocation-*.json  # merged: every repetition is kept
      ;;
    *)
      "$bench" run "scenarios/$run.json" --reference -o "results/$run-$suffix.json"
      ;;
  esac
done
echo "reference-runs: done; point the docs' blocks at the new reports and run" \
     "/usr/bin/python3 scripts/docs_numbers.py --write" >&2
