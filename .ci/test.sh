#!/usr/bin/env bash
# Sets up (`setup.sh test`), then runs every check and test: the setup's own
# download step, formatting, lints, the native tests (protocol, programs,
# relay, browser end-to-end), and the protocol and playground tests compiled
# to wasm32 in headless Chromium. Each step's time is summed up at the end.
set -euo pipefail
# shellcheck source=.ci/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
timing_init

"$ROOT/.ci/setup.sh" test

step "setup's download step against a local file server"
"$ROOT/.ci/tests/fetch_test.sh"
step_done "passed"

step "cargo fmt --check"
cargo fmt --all -- --check
step_done "clean"

step "cargo clippy (native crates)"
cargo clippy --workspace --exclude web --all-targets --all-features -- -D warnings
step_done "clean"

if [ "$(wasm_mode)" = rustup ]; then
  # rustup's clippy lints wasm32 with the prebuilt std; Debian's build-std
  # toolchain has no clippy, so there the playground is checked by building it.
  step "cargo clippy (playground, wasm32)"
  (wasm_env && cargo clippy -p web --target wasm32-unknown-unknown --all-targets -- -D warnings)
  step_done "clean"
fi

step "trunk build --release (the playground the end-to-end tests drive)"
(wasm_env && trunk build --release --offline >/dev/null)
step_done "done"

step "native tests"
cargo test --workspace --exclude web --all-features
step_done "passed"

step "protocol tests in headless Chromium (wasm32)"
(wasm_env && cd protocol && cargo test --target wasm32-unknown-unknown)
step_done "passed"

if [ -d web/tests ] || grep -rq wasm_bindgen_test web/src 2>/dev/null; then
  step "playground component tests in headless Chromium (wasm32)"
  (wasm_env && cd web && cargo test --target wasm32-unknown-unknown)
  step_done "passed"
fi

say "all tests passed"
