#!/usr/bin/env bash
# Installs what building and testing wirelab needs, skipping what is there:
# the wasm32 std, Chromium + chromedriver, trunk, wasm-bindgen-cli, wasm-opt.
# First run on a new machine: ~17-19 minutes (mostly compiling trunk).
# Later runs: a few seconds.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

need_cmd() { command -v "$1" >/dev/null 2>&1 || die "$1 is required: $2"; }
need_cmd cargo "install Rust from https://rustup.rs"
need_cmd rustup "wirelab expects a rustup-managed toolchain"

apt_updated=
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  need_cmd apt-get "install these packages by hand: ${missing[*]}"
  local sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  if [ -z "$apt_updated" ]; then
    say "apt-get update"
    $sudo apt-get update -qq
    apt_updated=1
  fi
  say "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# 1. std for wasm32: rustup's prebuilt target first; Debian's source build if
#    rustup cannot fetch it (offline mirrors hang rather than fail, hence the timeout).
mkdir -p "$MARKERS"
if [ "${WIRELAB_WASM_MODE:-}" = debian ]; then
  say "wasm32 std: Debian's rustc-web with build-std (WIRELAB_WASM_MODE=debian)"
  apt_install rustc-web rust-web-src rust-web-llvm lld-22
elif [ "$(wasm_mode)" = rustup ]; then
  say "wasm32 std: rustup target present"
elif [ ! -e "$MARKERS/rustup-wasm-unavailable" ] \
  && timeout 90 rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then
  say "wasm32 std: installed with rustup"
else
  touch "$MARKERS/rustup-wasm-unavailable"
  say "wasm32 std: rustup cannot fetch it here; using Debian's rustc-web with build-std"
  apt_install rustc-web rust-web-src rust-web-llvm lld-22
fi

# 2. A real browser for the tests.
apt_install chromium chromium-driver fonts-noto-color-emoji

# 3. trunk (before the wasm env is set: it is a native tool).
have_version() { "$1" --version 2>/dev/null | grep -q " $2\$"; }
if have_version trunk "$TRUNK_VERSION" || have_version trunk "$TRUNK_FALLBACK_VERSION"; then
  say "trunk: present"
else
  # trunk 0.22.1 needs rustc >= 1.96.1; use nightly when stable is older.
  stable=$(rustc --version | awk '{print $2}')
  if printf '1.96.1\n%s\n' "$stable" | sort -V -C; then
    say "trunk $TRUNK_VERSION: compiling with stable $stable (~10 minutes)"
    cargo install --locked trunk --version "$TRUNK_VERSION"
  elif rustup run nightly rustc --version >/dev/null 2>&1; then
    say "trunk $TRUNK_VERSION: compiling with nightly (~10 minutes)"
    cargo +nightly install --locked trunk --version "$TRUNK_VERSION"
  else
    say "trunk $TRUNK_FALLBACK_VERSION: compiling with stable $stable (~10 minutes)"
    cargo install --locked trunk --version "$TRUNK_FALLBACK_VERSION"
  fi
fi

# 4. wasm-bindgen-cli at the exact library version (its own lockfile pins
#    crates some registries lack, so no --locked).
[ -n "$WASM_BINDGEN_VERSION" ] || die "no wasm-bindgen in Cargo.lock"
if have_version wasm-bindgen "$WASM_BINDGEN_VERSION" \
  && have_version wasm-bindgen-test-runner "$WASM_BINDGEN_VERSION"; then
  say "wasm-bindgen-cli $WASM_BINDGEN_VERSION: present"
else
  say "wasm-bindgen-cli $WASM_BINDGEN_VERSION: compiling (~4 minutes)"
  cargo install --force wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# 5. wasm-opt from npm's binaryen (Debian's is too old for trunk's pin).
if "$TOOLS/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q "version $BINARYEN_VERSION"; then
  say "wasm-opt $BINARYEN_VERSION: present"
else
  need_cmd npm "install Node.js and npm"
  say "wasm-opt $BINARYEN_VERSION: npm install binaryen@$BINARYEN_VERSION"
  mkdir -p "$TOOLS"
  npm install --silent --no-save --no-audit --no-fund --prefix "$TOOLS" "binaryen@$BINARYEN_VERSION" >/dev/null
fi
# trunk looks for wasm-opt on PATH (and downloads one when it finds none):
# link it where cargo's tools are, so a plain `trunk build --release` works.
mkdir -p "$HOME/.cargo/bin"
ln -sf "$TOOLS/node_modules/.bin/wasm-opt" "$HOME/.cargo/bin/wasm-opt"

# 6. Crates for both targets, so later builds can run --offline. With
#    build-std, std's own dependencies are fetched under the wasm env.
say "cargo fetch"
cargo fetch --locked >/dev/null 2>&1 || cargo fetch >/dev/null
(wasm_env && cargo fetch --target wasm32-unknown-unknown >/dev/null)

say "setup done"
