#!/usr/bin/env bash
# Sets up, then runs every check and test: formatting, lints, the native
# tests (protocol, programs, relay, browser end-to-end), and the protocol and
# playground tests compiled to wasm32 in headless Chromium.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

"$ROOT/.ci/setup.sh"

say "cargo fmt --check"
cargo fmt --all -- --check

say "cargo clippy (native crates)"
cargo clippy --workspace --exclude web --all-targets --all-features -- -D warnings

if [ "$(wasm_mode)" = rustup ]; then
  # rustup's clippy lints wasm32 with the prebuilt std; Debian's build-std
  # toolchain has no clippy, so there the playground is checked by building it.
  say "cargo clippy (playground, wasm32)"
  (wasm_env && cargo clippy -p web --target wasm32-unknown-unknown --all-targets -- -D warnings)
fi

say "trunk build --release (the playground the end-to-end tests drive)"
(wasm_env && trunk build --release --offline >/dev/null)

say "native tests"
cargo test --workspace --exclude web --all-features

say "protocol tests in headless Chromium (wasm32)"
(wasm_env && cd protocol && cargo test --target wasm32-unknown-unknown)

if [ -d web/tests ] || grep -rq wasm_bindgen_test web/src 2>/dev/null; then
  say "playground component tests in headless Chromium (wasm32)"
  (wasm_env && cd web && cargo test --target wasm32-unknown-unknown)
fi

say "all tests passed"
