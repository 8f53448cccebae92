#!/usr/bin/env bash
# Fuzz the scenario loader (harness/fuzz/scenario_fuzz.cpp) with libFuzzer
# under AddressSanitizer and UndefinedBehaviorSanitizer for SECONDS (default
# 30). Exits non-zero on a finding: a crash, a sanitizer report, an exception
# other than scenario_error, a hang (-timeout) or runaway memory; the input
# that caused it is saved as build/fuzz/crash-* (or timeout-*, oom-*, leak-*).
#
#   scripts/fuzz-scenario.sh            # 30 s
#   scripts/fuzz-scenario.sh 600        # longer
#   build/fuzz/scenario_fuzz build/fuzz/crash-...   # replay a finding
#
# Built directly with clang++ (GCC has no libFuzzer), outside CMake. The
# corpus in build/fuzz/corpus persists between runs, so each run starts from
# the coverage the last one reached; it is seeded from scenarios/*.json and a
# few inline files.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${1:-30}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds == 0)); then
  echo "usage: $0 [SECONDS]  (a positive whole number; default 30)" >&2
  exit 2
fi

command -v clang++ >/dev/null || scripts/install-deps.sh clang libclang-rt-dev

out=build/fuzz
corpus=$out/corpus
mkdir -p "$corpus"

# Rebuilt only when a source is newer: the sanitized build takes half a minute.
binary=$out/scenario_fuzz
sources=(harness/src/scenario.hpp harness/src/scenario.cpp harness/fuzz/scenario_fuzz.cpp
  scripts/fuzz-scenario.sh)
stale=0
[[ -x "$binary" ]] || stale=1
for source in "${sources[@]}"; do
  if [[ "$source" -nt "$binary" ]]; then stale=1; fi
done
if ((stale)); then
  echo "fuzz-scenario: building $binary"
  clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -Iharness/src -Iruntime/include -Istrategies/include -Iprimitives/include \
    harness/src/scenario.cpp harness/fuzz/scenario_fuzz.cpp -o "$binary"
fi

# Seeds: the shipped scenarios, plus small files reaching the corners the
# shipped ones do not (peers off, nulls, every enum, cross-field errors).
for file in scenarios/*.json; do
  [[ -e "$file" ]] && cp "$file" "$corpus/seed-$(basename "$file")"
done
cat >"$corpus/seed-inline-1.json" <<'JSON'
{"name": "a", "peers": false, "defaults": {"strategy": "futex", "spin_budget": null,
 "workload": "condvar", "waiters": "coroutines", "tasks": 8, "loops": 2, "hold": "timer",
 "fairness": "fifo", "pinning": "spread", "queue_capacity": 4, "duration_ms": 0,
 "operations": 100}, "matrix": {"spin_budget": [null, 0, 16], "loops": [1, 2, 9]}}
JSON
cat >"$corpus/seed-inline-2.json" <<'JSON'
{"name": "b", "description": "peers", "defaults": {"permits": 4, "weight": 2,
 "critical_section_ns": 10, "think_ns": 20, "warmup_ms": 0, "repetitions": 1},
 "matrix": {"workload": ["semaphore", "broadcast", "pingpong", "mixed_io"],
 "waiters": ["threads", "coroutines"], "threads": [1, 2],
 "strategy": ["mutex_queue", "spin", "std_counting_semaphore"],
 "fairness": ["default", "barging"], "hold": ["none", "yield"], "pinning": ["none", "compact"]}}
JSON

# Words the mutator splices in: the keys and enum values of the format.
dict=$out/scenario.dict
: >"$dict"
for word in name description peers defaults matrix workload strategy waiters threads tasks \
  loops permits weight critical_section_ns think_ns fairness spin_budget hold duration_ms \
  operations warmup_ms repetitions pinning queue_capacity semaphore condvar broadcast \
  pingpong mixed_io coroutines default fifo barging none yield timer compact spread \
  mutex_queue spin intrusive_list futex std_counting_semaphore std_mutex_condvar; do
  echo "\"\\\"$word\\\"\"" >>"$dict"
done

# Run in the background so that an interrupt of this script stops the fuzzer.
fuzz_pid=
stop_fuzzer() {
  if [[ -n "$fuzz_pid" ]]; then kill "$fuzz_pid" 2>/dev/null || true; fi
}
trap stop_fuzzer EXIT
trap 'stop_fuzzer; exit 130' INT TERM

echo "fuzz-scenario: fuzzing for ${seconds}s"
"$binary" "$corpus" -dict="$dict" -max_total_time="$seconds" -max_len=8192 \
  -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$out/" -print_final_stats=1 &
fuzz_pid=$!
rc=0
wait "$fuzz_pid" || rc=$?
fuzz_pid=

if ((rc != 0)); then
  echo "fuzz-scenario: FINDING (exit $rc); input saved under $out/ (see the report above)" >&2
  exit "$rc"
fi
echo "fuzz-scenario: no finding in ${seconds}s ($(find "$corpus" -type f | wc -l) corpus files)"
