#!/usr/bin/env bash
# Configure, build and test csync under each CMake preset, then print a timing
# summary. Root on Debian 12 (installs missing packages first).
#
#   scripts/test.sh                 # presets default asan tsan, then fuzz, then windows
#   scripts/test.sh default         # just one (any preset in CMakePresets.json)
#   scripts/test.sh fuzz            # only the scenario-loader fuzz run
#                                   # (scripts/fuzz-scenario.sh, CSYNC_FUZZ_SECONDS, default 30)
#   scripts/test.sh windows         # only the Windows step: scripts/test-windows.sh
#                                   # (mingw-w64 cross build of the `windows` preset, its
#                                   # tests and csync-bench quick.json under Wine)
#   CTEST_ARGS="-L unit" scripts/test.sh   # extra ctest arguments
#
# Every preset runs even if an earlier one fails; the exit status is non-zero
# if any step of any preset failed.
#
# ThreadSanitizer and ASLR: gcc-12's TSan can abort at startup with
# "FATAL: ThreadSanitizer: unexpected memory mapping" on kernels with high
# mmap ASLR entropy (vm.mmap_rnd_bits >= 30). It is random per exec, so a
# probe cannot rule it out; the tsan ctest therefore runs under
# `setarch "$(uname -m)" -R` (ASLR off for ctest and every test it starts)
# whenever setarch works. Set CSYNC_TSAN_SETARCH=0 to run without it.
# (Checked on the dev VM, kernel 6.18 with mmap_rnd_bits=28: TSan starts fine
# either way; setarch -R works there too.) gtest cases are discovered at ctest
# time, so no TSan binary runs during the build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh

presets=("$@")
((${#presets[@]})) || presets=(default asan tsan fuzz windows)
jobs="$(nproc)"
read -r -a ctest_args <<<"${CTEST_ARGS:-}"

tsan_wrapper=()
if [[ "${CSYNC_TSAN_SETARCH:-1}" != 0 ]] && setarch "$(uname -m)" -R true 2>/dev/null; then
  tsan_wrapper=(setarch "$(uname -m)" -R)
fi

declare -A status seconds
failed=0

# step <preset> <name> <command...>: run, time, record the first failure.
step() {
  local preset=$1 name=$2
  shift 2
  local start=$SECONDS rc=0
  echo "=== [$preset] $name: $*"
  "$@" || rc=$?
  seconds[$preset]=$((${seconds[$preset]:-0} + SECONDS - start))
  if ((rc != 0)); then
    status[$preset]="FAILED ($name, exit $rc)"
    failed=1
    return 1
  fi
}

for preset in "${presets[@]}"; do
  status[$preset]=ok
  if [[ "$preset" == fuzz ]]; then
    step fuzz run scripts/fuzz-scenario.sh "${CSYNC_FUZZ_SECONDS:-30}" || true
    continue
  fi
  if [[ "$preset" == windows ]]; then
    # Its own configure/build/test (and Wine prefix); CTEST_ARGS apply there too.
    step windows run scripts/test-windows.sh || true
    continue
  fi
  wrapper=()
  [[ "$preset" == tsan ]] && wrapper=("${tsan_wrapper[@]}")
  step "$preset" configure cmake --preset "$preset" &&
    step "$preset" build cmake --build --preset "$preset" -j "$jobs" &&
    step "$preset" test "${wrapper[@]}" ctest --preset "$preset" -j "$jobs" "${ctest_args[@]}" ||
    true
done

echo
echo "=== summary"
for preset in "${presets[@]}"; do
  printf '  %-10s %6ss  %s\n' "$preset" "${seconds[$preset]:-0}" "${status[$preset]}"
done
exit "$failed"
