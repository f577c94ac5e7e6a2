#!/usr/bin/env bash
# Builds every Worker (or the ones named) to src/workers/<name>/build/ with worker-build,
# using the tools scripts/setup.sh installed (no downloads at build time).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

workers=("$@")
[ ${#workers[@]} -gt 0 ] || workers=(storefront admin sales operations webhooks fulfillment scheduler)
for w in "${workers[@]}"; do
  echo "==> building the $w Worker"
  (cd "src/workers/$w" && worker-build --release 2>&1 | grep -vE '^\s*(Compiling|Checking)' || exit 1)
  test -f "src/workers/$w/build/index.js" || { echo "build of $w produced no build/index.js" >&2; exit 1; }
  # Function names (the wasm "name" section, about a tenth of each Worker) stay in a copy
  # beside the build instead of the deployed module. A production panic names functions
  # by index (wasm-function[N]): read them against build/index_bg.symbols.wasm.
  wasm="src/workers/$w/build/index_bg.wasm"
  cp "$wasm" "src/workers/$w/build/index_bg.symbols.wasm"
  wasm-opt "$wasm" --strip-debug --strip-producers --all-features -o "$wasm"
  # The budget: 500 KB gzip per Worker. Past it, split the Worker rather than the budget.
  gz=$(gzip -9 -c "$wasm" | wc -c)
  echo "    $w: $((gz / 1024)) KB gzip (budget 500 KB)"
  if [ "$gz" -gt 512000 ]; then
    echo "the $w Worker is $gz bytes gzip, over the 500 KB (512000 bytes) budget" >&2
    exit 1
  fi
done
