#!/usr/bin/env bash
# Runs every test: the native tests (core on real SQLite, simulator, repository checks),
# then the end-to-end suite against the six Workers under wrangler dev with the provider
# simulator. Installs and builds what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

bash scripts/setup.sh
echo "==> native tests (lading-core and lading-api on SQLite, simulator, repository checks)"
cargo test --locked -p lading-core -p lading-api -p lading-simulator
cargo test --locked -p lading-e2e --test repo
echo "==> building the Workers"
bash scripts/build.sh
cargo build --locked -p lading-simulator
echo "==> end-to-end tests (wrangler dev + local D1/R2/Queues + simulator)"
cargo test --locked -p lading-e2e --test e2e
