# Shared by setup.sh, test.sh and play.sh: paths, versions, and the wasm
# build environment. Sourced, not run.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/.tools"                     # wasm-opt (npm binaryen), git-ignored
TRUNK_VERSION=0.22.1
TRUNK_FALLBACK_VERSION=0.21.14           # builds on older stable toolchains
BINARYEN_VERSION=132
# The wasm-bindgen CLI must match the library in Cargo.lock exactly.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' "$ROOT/Cargo.lock")
MARKERS="${XDG_CACHE_HOME:-$HOME/.cache}/wirelab"

export PATH="$HOME/.cargo/bin:$TOOLS/node_modules/.bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# How std for wasm32 is had: "rustup" (the target's prebuilt std) or
# "debian" (Debian's rustc-web compiles std itself with -Zbuild-std).
# WIRELAB_WASM_MODE=debian forces the second way (to test it where both work).
wasm_mode() {
  if [ -n "${WIRELAB_WASM_MODE:-}" ]; then
    echo "$WIRELAB_WASM_MODE"
  elif rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    echo rustup
  else
    echo debian
  fi
}

# Sets the wasm build environment in the calling (sub)shell. Call it only in
# a subshell around wasm builds: native builds must never see these.
wasm_env() {
  # Apart from native builds, and per mode: the two compilers' artifacts differ.
  export CARGO_TARGET_DIR="$ROOT/target/wasm32-$(wasm_mode)"
  if [ "$(wasm_mode)" = debian ]; then
    export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
    # panic_abort must be built too, or linking std fails.
    export CARGO_UNSTABLE_BUILD_STD=std,panic_abort
  fi
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
  export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
  export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-120}"
}
