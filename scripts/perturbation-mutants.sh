#!/usr/bin/env bash
# Does schedule perturbation find what it is for? For each mutant in
# tests/mutants/*.patch (a known race put back into a scratch copy of the
# tree), build that strategy's conformance suite twice -- plain and with
# CSYNC_SCHEDULE_PERTURBATION=1 -- run each RUNS times, and count the runs
# that caught the mutant (a failed test or a watchdog-reported hang).
#
#   scripts/perturbation-mutants.sh [RUNS] [tests/mutants/NAME.patch ...]
#
# RUNS defaults to 5. Each patch file starts with prose and two fields:
#   Strategy: <tests/conformance/<name>.cpp to build>
#   Filter:   <--gtest_filter for the runs>
# Exit status: 0 when the perturbed suite caught every mutant at least once,
# 1 otherwise, 2 on bad input or a patch that no longer applies.
# Not part of CI: each mutant costs two Release builds of a conformance TU
# (about 3 minutes on 2 cores); run it when a protocol or the seam changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

runs=5
if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then
  runs=$1
  shift
fi
patches=("$@")
((${#patches[@]})) || patches=(tests/mutants/*.patch)

work=$(mktemp -d /tmp/csync-mutants.XXXXXX)
trap 'rm -rf "$work"' EXIT

field() { sed -n "s/^$2: *//p" "$1" | head -1; }

declare -a summary
status=0
for patch in "${patches[@]}"; do
  [[ -f "$patch" ]] || { echo "perturbation-mutants: no such patch: $patch" >&2; exit 2; }
  name=$(basename "$patch" .patch)
  strategy=$(field "$patch" Strategy)
  filter=$(field "$patch" Filter)
  if [[ -z "$strategy" || -z "$filter" ]]; then
    echo "perturbation-mutants: $patch lacks a 'Strategy:' or 'Filter:' line" >&2
    exit 2
  fi
  tree="$work/$name"
  mkdir -p "$tree"
  # The working tree as git sees it: tracked and untracked, not ignored, files.
  git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$tree"
  if ! (cd "$tree" && git apply -C1 "$root/$patch" 2>/dev/null); then
    echo "perturbation-mutants: $patch no longer applies to this tree; regenerate it" >&2
    exit 2
  fi
  echo "=== $name: building tests/conformance/$strategy.cpp plain and perturbed"
  cmake -S "$tree" -B "$tree/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCSYNC_BUILD_BENCH=OFF -DCSYNC_BUILD_EXAMPLES=OFF -DCSYNC_INSTALL=OFF \
    -DCSYNC_TEST_ONLY_STRATEGIES="$strategy" >"$work/$name.configure.log" 2>&1 ||
    { cat "$work/$name.configure.log"; exit 2; }
  cmake --build "$tree/build" -j "$(nproc)" --target conformance_test conformance_test_perturbed \
    >"$work/$name.build.log" 2>&1 || { tail -40 "$work/$name.build.log"; exit 2; }

  declare -A caught=() reproduced=()
  for variant in conformance_test conformance_test_perturbed; do
    caught[$variant]=0
    reproduced[$variant]=0
    for ((i = 1; i <= runs; i++)); do
      log="$work/$name.$variant.$i.log"
      rc=0
      # In a subshell, so the shell's "Aborted" notice goes to the log too.
      (CSYNC_TEST_WATCHDOG_SECONDS=10 timeout 300 "$tree/build/tests/$variant" \
        --gtest_filter="$filter") >"$log" 2>&1 || rc=$?
      if ((rc != 0)); then
        caught[$variant]=$((caught[$variant] + 1))
        first=$(grep -m1 -E "^\[  FAILED  \]|hang|watchdog" "$log" || echo "exit $rc")
        seed=$(grep -m1 -o "CSYNC_PERTURB_SEED=[0-9]*" "$log" || true)
        echo "  $variant run $i: caught ($first${seed:+; $seed})"
        if [[ -n "$seed" ]]; then
          # Does the printed seed reproduce it? (Likely, not certain: the OS
          # scheduler is not seeded; see schedule_perturbation.hpp.)
          again=0
          (env "$seed" CSYNC_TEST_WATCHDOG_SECONDS=10 timeout 300 "$tree/build/tests/$variant" \
            --gtest_filter="$filter") >"$log.again" 2>&1 || again=$?
          if ((again != 0)); then
            reproduced[$variant]=$((reproduced[$variant] + 1))
            echo "    rerun with $seed: caught again"
          else
            echo "    rerun with $seed: passed"
          fi
        fi
      else
        echo "  $variant run $i: passed"
      fi
    done
  done
  summary+=("$(printf '%-42s plain %d/%d   perturbed %d/%d (seed rerun caught it again: %d/%d)' \
    "$name" "${caught[conformance_test]}" "$runs" "${caught[conformance_test_perturbed]}" "$runs" \
    "${reproduced[conformance_test_perturbed]}" "${caught[conformance_test_perturbed]}")")
  ((caught[conformance_test_perturbed] > 0)) || status=1
  rm -rf "$tree"
done

echo
echo "=== runs that caught each mutant"
printf '  %s\n' "${summary[@]}"
exit "$status"
