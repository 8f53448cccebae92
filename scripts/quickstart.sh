#!/usr/bin/env bash
# Install dependencies, build the `default` (Release) preset and run the
# every-strategy example. Root on Debian 12.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh

if [[ ! -f examples/every_strategy.cpp ]]; then
  echo "quickstart: examples/every_strategy.cpp does not exist yet; nothing to run" >&2
  exit 1
fi

cmake --preset default
cmake --build --preset default -j "$(nproc)" --target csync-example-every-strategy
exec build/default/examples/csync-example-every-strategy "$@"
