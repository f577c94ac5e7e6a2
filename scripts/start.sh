#!/usr/bin/env bash
# Runs the whole local stack: builds the Workers, applies migrations to a fresh local D1,
# starts the provider simulator and the six Workers under one wrangler dev, seeds a demo
# store and prints the URLs and keys. Ctrl-C stops everything.
# Ports: LADING_PORT (default 8787) and LADING_SIMULATOR_PORT (default 8790).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

bash scripts/setup.sh
bash scripts/build.sh
cargo build --locked -p lading-simulator -p lading-e2e --bin lading-dev
exec target/debug/lading-dev
