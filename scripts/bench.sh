#!/usr/bin/env bash
# Benchmarks (not timed tests): each Worker's size, raw and gzip, against the 500 KB gzip
# budget; then throughput and latency on loopback (tests/src/bin/lading-bench.rs).
# Extra arguments go to the load generator: --requests N --concurrency C.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

bash scripts/setup.sh >/dev/null
bash scripts/build.sh >/dev/null
cargo build --locked --release -p lading-e2e --bin lading-bench 2>&1 | grep -v "Compiling" || true
cargo build --locked -p lading-simulator 2>&1 | grep -v "Compiling" || true

echo
printf '%-12s %12s %12s %s\n' worker "wasm raw" "wasm gzip" "budget 500 KB gzip (aim 300 KB)"
for w in storefront admin sales operations webhooks fulfillment scheduler; do
  f="src/workers/$w/build/index_bg.wasm"
  raw=$(stat -c %s "$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  js=$(gzip -9 -c "src/workers/$w/build/index.js" | wc -c)
  verdict=$([ "$gz" -le 512000 ] && echo ok || echo OVER)
  printf '%-12s %9d KB %9d KB %s (+ %d KB gzip JS glue)\n' "$w" $((raw / 1024)) $((gz / 1024)) "$verdict" $((js / 1024))
done
target/release/lading-bench "$@"
