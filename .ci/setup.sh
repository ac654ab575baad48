#!/usr/bin/env bash
# Installs what wirelab needs, skipping what is there.
#
#   setup.sh play   what `make play` needs: the wasm32 std, trunk,
#                   wasm-bindgen, wasm-opt, and the crates.
#   setup.sh test   (the default) all of that, and what only the tests need:
#                   Chromium, chromedriver and fonts (apt), and
#                   wasm-bindgen-test-runner.
#
# Each tool takes the fastest route that works here, falling back in order:
#   1. already installed at the right version (later runs: a few seconds);
#   2. a prebuilt binary: `cargo binstall` if it is on PATH, else the
#      project's own release archive for this platform, its SHA-256 verified
#      (.ci/fetch.sh); offline, this fails within seconds;
#   3. compiling it (trunk, wasm-bindgen-cli; side by side, see lib.sh), or
#      npm's binaryen for wasm-opt.
# Every step says how long it took; the summary at the end gives each share.
set -euo pipefail
# shellcheck source=.ci/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=.ci/fetch.sh
. "$ROOT/.ci/fetch.sh"
cd "$ROOT"
timing_init

mode=${1:-test}
case "$mode" in
  play | test) ;;
  *) die "usage: $0 [play|test]" ;;
esac

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

have_version() { "$1" --version 2>/dev/null | grep -q " $2\$"; }

# 1. std for wasm32: rustup's prebuilt target first; Debian's source build if
#    rustup cannot fetch it (offline mirrors hang rather than fail, hence the timeout).
step "wasm32 std"
mkdir -p "$MARKERS"
if [ "${WIRELAB_WASM_MODE:-}" = debian ]; then
  apt_install rustc-web rust-web-src rust-web-llvm lld-22
  step_done "Debian's rustc-web with build-std (WIRELAB_WASM_MODE=debian)"
elif [ "$(wasm_mode)" = rustup ]; then
  step_done "rustup target present"
elif [ ! -e "$MARKERS/rustup-wasm-unavailable" ] \
  && timeout 90 rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then
  step_done "installed with rustup"
else
  touch "$MARKERS/rustup-wasm-unavailable"
  say "wasm32 std: rustup cannot fetch it here; using Debian's rustc-web with build-std"
  apt_install rustc-web rust-web-src rust-web-llvm lld-22
  step_done "Debian's rustc-web with build-std"
fi

# 2. A real browser, for the tests only.
if [ "$mode" = test ]; then
  step "browser for the tests (${TEST_APT_PACKAGES[*]})"
  apt_install "${TEST_APT_PACKAGES[@]}"
  step_done "present"
fi

# curl is how prebuilt tools are downloaded; without it they are compiled.
if ! command -v curl >/dev/null 2>&1 && [ "${WIRELAB_OFFLINE:-0}" != 1 ]; then
  step "curl (to download prebuilt tools)"
  if command -v apt-get >/dev/null 2>&1 && apt_install curl; then step_done "installed"; else step_done "not available; tools will be compiled"; fi
fi

# 3. trunk and wasm-bindgen: prebuilt if one can be had; what cannot is
#    compiled in step 4, both at once. play needs wasm-bindgen itself (trunk
#    runs it); test needs wasm-bindgen-test-runner too (from the same release).
to_compile=()

step "trunk"
if have_version trunk "$TRUNK_VERSION" || have_version trunk "$TRUNK_FALLBACK_VERSION"; then
  step_done "present"
elif fetch_tool trunk "$TRUNK_VERSION" "$CARGO_BIN" trunk; then
  step_done "$TRUNK_VERSION prebuilt, downloaded"
else
  to_compile+=(trunk)
  step_done "no prebuilt one here; to compile"
fi

[ -n "$WASM_BINDGEN_VERSION" ] || die "no wasm-bindgen in Cargo.lock"
wb_bins=(wasm-bindgen)
if [ "$mode" = test ]; then wb_bins+=(wasm-bindgen-test-runner); fi
step "${wb_bins[*]}"
wb_present=1
for bin in "${wb_bins[@]}"; do
  have_version "$bin" "$WASM_BINDGEN_VERSION" || wb_present=
done
if [ -n "$wb_present" ]; then
  step_done "$WASM_BINDGEN_VERSION present"
elif fetch_tool wasm-bindgen "$WASM_BINDGEN_VERSION" "$CARGO_BIN" "${wb_bins[@]}"; then
  step_done "$WASM_BINDGEN_VERSION prebuilt, downloaded"
else
  to_compile+=(wasm-bindgen-cli)
  step_done "no prebuilt one here; to compile"
fi

# 4. Compiling, the route where no prebuilt binary can be had (offline, CI).
if [ ${#to_compile[@]} -gt 0 ]; then
  step "compile ${to_compile[*]}"
  if [[ " ${to_compile[*]} " == *" trunk "* ]]; then
    trunk_compile_plan
    say "trunk $TRUNK_BUILD_VERSION will be compiled with $TRUNK_PLAN"
  fi
  say "compiling (profile: $WIRELAB_TOOLS_PROFILE, side by side: $WIRELAB_TOOLS_PARALLEL); this takes several minutes"
  compile_tools "${to_compile[@]}"
  step_done "done"
fi

# 5. wasm-opt at binaryen's version (Debian's is too old for trunk's pin):
#    binaryen's native release archive, else npm's binaryen (a JS build, slower
#    to run, but on a registry that offline mirrors carry).
wasm_opt_ok() { "$1" --version 2>/dev/null | grep -q "version $BINARYEN_VERSION"; }
step "wasm-opt $BINARYEN_VERSION"
if wasm_opt_ok "$TOOLS/bin/wasm-opt"; then
  wasm_opt="$TOOLS/bin/wasm-opt"
  step_done "present (release archive)"
elif wasm_opt_ok "$TOOLS/node_modules/.bin/wasm-opt"; then
  wasm_opt="$TOOLS/node_modules/.bin/wasm-opt"
  step_done "present (npm)"
elif fetch_tool binaryen "$BINARYEN_VERSION" "$TOOLS/bin" wasm-opt; then
  wasm_opt="$TOOLS/bin/wasm-opt"
  step_done "prebuilt, downloaded"
else
  need_cmd npm "install Node.js and npm"
  say "wasm-opt $BINARYEN_VERSION: npm install binaryen@$BINARYEN_VERSION"
  mkdir -p "$TOOLS"
  npm install --silent --no-save --no-audit --no-fund --prefix "$TOOLS" "binaryen@$BINARYEN_VERSION" >/dev/null
  wasm_opt="$TOOLS/node_modules/.bin/wasm-opt"
  wasm_opt_ok "$wasm_opt" || die "npm's binaryen@$BINARYEN_VERSION gave no working wasm-opt"
  step_done "installed from npm"
fi
# trunk looks for wasm-opt on PATH (and downloads one when it finds none):
# link it where cargo's tools are, so a plain `trunk build --release` works.
mkdir -p "$CARGO_BIN"
ln -sf "$wasm_opt" "$CARGO_BIN/wasm-opt"

# 6. Crates for both targets, so later builds can run --offline. With
#    build-std, std's own dependencies are fetched under the wasm env.
step "cargo fetch"
cargo fetch --locked >/dev/null 2>&1 || cargo fetch >/dev/null
(wasm_env && cargo fetch --target wasm32-unknown-unknown >/dev/null)
step_done "done"

say "setup ($mode) done"
