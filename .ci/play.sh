#!/usr/bin/env bash
# Sets up, builds the playground and starts the relay, which serves it and
# runs the tutorial's app and echo servers in-process.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

"$ROOT/.ci/setup.sh"
say "trunk build --release"
(wasm_env && trunk build --release --offline)
say "starting the relay: open the address it prints (Ctrl-C to stop)"
exec cargo run --release -p relay --bin relay -- --dist "$ROOT/dist" "$@"
