#!/usr/bin/env bash
# Install the Debian packages csync needs to build and test, skipping those
# already installed. Idempotent; meant for root on Debian 12 (bookworm).
#
#   scripts/install-deps.sh            # the packages below
#   scripts/install-deps.sh pkg...     # the packages below plus pkg...
set -euo pipefail

# One package per line; extend here. Steps with heavy extras pass them as
# arguments instead: scripts/test-windows.sh adds the mingw-w64 toolchain and
# Wine (g++-mingw-w64-x86-64-posix mingw-w64 wine wine64).
PACKAGES=(
  build-essential
  cmake
  g++
  ninja-build      # CMakePresets.json uses the Ninja generator
  libgtest-dev
  googletest
  git
  python3
  liburing-dev     # io_uring loop backend (CSYNC_WITH_URING, default ON on Linux)
  pkg-config       # how CMake finds liburing (pkg_check_modules)
  libbenchmark-dev # csync-micro (harness/micro)
  nlohmann-json3-dev # csync-bench: scenario files and reports
  libcli11-dev     # csync-bench: command line
  libabsl-dev      # csync-bench: the absl::Mutex peer
  libboost-fiber-dev # csync-bench: the Boost.Fiber peer of the coroutine cells
  python3-matplotlib # scripts/plot.py (figures from csync-bench reports)
  python3-pytest   # scripts/tests (the report scripts' tests)
  chromium         # scripts/tests/test_page.py: plot.py --html pages in headless Chromium
  spin             # model checking of the wait/wake protocols (scripts/check-models.sh)
)
PACKAGES+=("$@")

is_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

if [[ $EUID -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root (or install them yourself)" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
