#!/usr/bin/env bash
# Sets up what the playground needs (`setup.sh play`: no browser, no test
# runner), builds the playground and starts the relay, which serves it and
# runs the tutorial's app and echo servers in-process.
set -euo pipefail
# shellcheck source=.ci/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
timing_init

"$ROOT/.ci/setup.sh" play

# --offline: setup has installed the exact wasm-bindgen and wasm-opt trunk
# asks for (checksum-verified, or compiled), so trunk never downloads its own
# (unverified, and impossible offline).
step "trunk build --release"
(wasm_env && trunk build --release --offline)
step_done "done"

step "cargo build --release -p relay"
cargo build --release -p relay --bin relay
step_done "done"

timing_report
trap - EXIT
say "starting the relay: open the address it prints (Ctrl-C to stop)"
exec cargo run --release -p relay --bin relay -- --dist "$ROOT/dist" "$@"
