# Sourced by the scripts: tool paths. Node 22 from node_modules (wrangler 4 needs it),
# wasm-bindgen from cargo, wasm-opt and esbuild from npm.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export WASM_BINDGEN_BIN="$HOME/.cargo/bin/wasm-bindgen"
export WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild"
export CARGO_TARGET_DIR="$ROOT/target"
export WRANGLER_SEND_METRICS=false
export CARGO_TERM_COLOR=never
