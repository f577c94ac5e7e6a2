#!/usr/bin/env bash
# Installs what building and testing Lading needs, skipping what is already there at the
# right version: the wasm32 target, worker-build, wasm-bindgen-cli (the version in
# Cargo.lock), the npm dev-dependencies (wrangler 4, Node 22, binaryen, esbuild,
# playwright-core) and Debian's chromium for the admin UI's browser test.
# Safe to run again; the README's commands run it first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

WORKER_BUILD_VERSION=0.8.7
step() { printf '==> %s\n' "$*"; }

if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "wasm32-unknown-unknown target: present"
else
  step "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if worker-build --version 2>/dev/null | grep -q "$WORKER_BUILD_VERSION"; then
  step "worker-build $WORKER_BUILD_VERSION: present"
else
  step "installing worker-build $WORKER_BUILD_VERSION (about 5 minutes on 2 cores)"
  cargo install worker-build --version "=$WORKER_BUILD_VERSION" --locked
fi

# The CLI must equal the wasm-bindgen library in Cargo.lock exactly.
BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$BINDGEN_VERSION" ] || { echo "cannot find wasm-bindgen in Cargo.lock" >&2; exit 1; }
if wasm-bindgen --version 2>/dev/null | grep -q "$BINDGEN_VERSION"; then
  step "wasm-bindgen-cli $BINDGEN_VERSION: present"
else
  step "installing wasm-bindgen-cli $BINDGEN_VERSION (about 5 minutes on 2 cores)"
  # Not --locked: its lock pins a crate the registry no longer serves.
  cargo install wasm-bindgen-cli --version "=$BINDGEN_VERSION"
fi

# npm install when node_modules is missing or was installed from another lock file.
stamp=node_modules/.lading-lock-stamp
if [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; then
  step "npm dev-dependencies: present"
else
  step "installing npm dev-dependencies (wrangler, node 22, binaryen, esbuild, stripe)"
  npm install --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi

# The admin UI's browser test drives Debian's Chromium (playwright-core is an npm dev-dependency).
if [ -x /usr/bin/chromium ]; then
  step "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
else
  step "installing Debian's chromium for the browser test (about 2 minutes)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 \
    || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium; }
fi

# The billing tests read invoice PDFs back as text with poppler's pdftotext.
if command -v pdftotext >/dev/null; then
  step "pdftotext: $(pdftotext -v 2>&1 | head -1)"
else
  step "installing poppler-utils (pdftotext) for the invoice PDF test"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq --no-install-recommends poppler-utils >/dev/null 2>&1 \
    || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends poppler-utils; }
fi

node_version=$(node --version)
case "$node_version" in
  v22.*|v23.*|v24.*) step "node for wrangler: $node_version" ;;
  *) echo "node_modules/.bin/node is $node_version; wrangler 4 needs >= 22.12 (npm package 'node')" >&2; exit 1 ;;
esac
