#!/usr/bin/env bash
# Cross-build csync for 64-bit Windows with mingw-w64 and run it under Wine:
# the CTest suite of the `windows` preset (conformance for every strategy that
# exists on Windows, iocp included; runtime, strategy, harness and iocp tests;
# the examples; csync-bench smoke runs), then csync-bench.exe on
# scenarios/quick.json, whose report must say platform "windows" and name Wine
# as the emulator. Root on Debian 12 (installs what is missing). Called by
# scripts/test.sh as its `windows` step; runnable on its own.
#
#   scripts/test-windows.sh
#   CTEST_ARGS="-R iocp" scripts/test-windows.sh      # extra ctest arguments
#   CSYNC_WINDOWS_BENCH=0 scripts/test-windows.sh     # skip the csync-bench run
#
# Wine: a fresh prefix (~700 MB, ~10 s) in a mktemp directory, removed on exit
# together with the wineserver it started -- also when a step fails or the
# script is interrupted. WINEDEBUG=-all silences Wine's debug channels,
# WINEDLLOVERRIDES="mscoree,mshtml=" skips the Mono and Gecko installers, and
# no X display is used. One persistent wineserver serves every test process
# (a Wine process then starts in ~0.05 s instead of ~0.5 s; see init_prefix).
#
# Numbers measured under Wine say nothing about Windows: every system call is
# a wineserver round trip. The report's context says so (`emulator`), and
# scripts/plot.py never draws such a report in a native report's figures.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Debian 12: the posix-threads mingw-w64 C++ compiler (the default win32-threads
# one cannot compile std::thread), the mingw-w64 toolchain and Wine (the
# `wine` launcher, the 64-bit loader `wine64`).
scripts/install-deps.sh g++-mingw-w64-x86-64-posix mingw-w64 wine wine64

jobs="$(nproc)"
read -r -a ctest_args <<<"${CTEST_ARGS:-}"
build_dir=build/windows

declare -a phase_names=()
declare -A phase_seconds=()
current_phase=""
phase() {  # phase <name> <command...>: run and time one phase; a failure ends the script
  local name=$1 start=$SECONDS
  shift
  current_phase=$name
  echo "=== [windows] $name: $*"
  "$@"
  phase_names+=("$name")
  phase_seconds[$name]=$((SECONDS - start))
  current_phase=""
}

summary() {
  echo
  echo "=== [windows] phases"
  local name
  for name in "${phase_names[@]}"; do
    printf '  %-10s %5ss\n' "$name" "${phase_seconds[$name]}"
  done
  printf '  %-10s %5ss\n' total "$SECONDS"
}

WINEPREFIX="$(mktemp -d "${TMPDIR:-/tmp}/csync-wine.XXXXXX")"
bench_dir="$(mktemp -d "${TMPDIR:-/tmp}/csync-windows-bench.XXXXXX")"
export WINEPREFIX WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY
cleanup() {
  local rc=$?
  wineserver -k 2>/dev/null || true   # only this prefix's server
  wineserver -w 2>/dev/null || true
  rm -rf "$WINEPREFIX" "$bench_dir"
  summary
  [[ -z "$current_phase" ]] || echo "=== [windows] FAILED in phase $current_phase (exit $rc)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "=== [windows] WINEPREFIX=$WINEPREFIX ($(wine --version))"
# The first Wine process of a session starts the session's services
# (services.exe, winedevice.exe, plugplay.exe, ...), which inherit its stdout
# and stderr and live as long as the wineserver. Were that first process a
# test, CTest would wait for its output pipe to close -- i.e. until the
# server exits (observed: a discovery "timeout" after the list was printed,
# a 5 ms test that took 267 s). So the server is made persistent first and
# wineboot, with its output in a file, starts the services for the whole run.
init_prefix() {
  wineserver -p
  wine wineboot.exe --init </dev/null >"$WINEPREFIX/wineboot.log" 2>&1
  wine cmd.exe /c exit </dev/null >>"$WINEPREFIX/wineboot.log" 2>&1
}
phase prefix init_prefix
phase configure cmake --preset windows
phase build cmake --build --preset windows -j "$jobs"
phase test ctest --preset windows -j "$jobs" "${ctest_args[@]}"

bench_quick() {
  local report="$bench_dir/quick.report.json"
  wine "$build_dir/harness/csync-bench.exe" list
  wine "$build_dir/harness/csync-bench.exe" run scenarios/quick.json --seed 1 -o "$report"
  /usr/bin/python3 - "$report" <<'EOF'
import sys
sys.path.insert(0, "scripts")
from csync_report import load_report

report = load_report(sys.argv[1])
ctx = report.context
statuses = {}
for cell in report.cells:
    statuses[cell["status"]] = statuses.get(cell["status"], 0) + 1
print(f"csync-bench.exe quick: platform={ctx['platform']} emulator={ctx['emulator']} "
      f"loop_backend={ctx['loop_backend']} kernel={ctx['kernel']} cells={statuses}")
problems = []
if ctx.get("platform") != "windows":
    problems.append(f"context.platform is {ctx.get('platform')!r}, expected 'windows'")
if not str(ctx.get("emulator") or "").startswith("wine "):
    problems.append(f"context.emulator is {ctx.get('emulator')!r}, expected 'wine <version>'")
if ctx.get("loop_backend") != "iocp":
    problems.append(f"context.loop_backend is {ctx.get('loop_backend')!r}, expected 'iocp'")
if not report.data["run"]["complete"]:
    problems.append("the run did not complete")
iocp_ok = [c for c in report.ok_cells() if c["parameters"]["strategy"] == "iocp"]
if not iocp_ok:
    problems.append("no ok iocp cell")
csync_failed = [c["name"] for c in report.cells
                if c["status"] == "failed" and c["parameters"]["strategy"] != "std_counting_semaphore"]
if csync_failed:
    problems.append(f"failed cells: {csync_failed}")
for p in problems:
    print(f"test-windows.sh: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
}
if [[ "${CSYNC_WINDOWS_BENCH:-1}" != 0 ]]; then
  phase bench bench_quick
fi
