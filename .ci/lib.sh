# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables here are used by the scripts that source it
# Shared by setup.sh, test.sh, play.sh and measure-setup.sh: paths, versions,
# step timing, the tool compile routes, and the wasm build environment.
# Sourced, not run.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/.tools"                     # wasm-opt (release archive or npm), git-ignored
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
TRUNK_VERSION=0.22.1
TRUNK_FALLBACK_VERSION=0.21.14           # builds on older stable toolchains
BINARYEN_VERSION=132
# The wasm-bindgen CLI must match the library in Cargo.lock exactly.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' "$ROOT/Cargo.lock")
MARKERS="${XDG_CACHE_HOME:-$HOME/.cache}/wirelab"

# SHA-256 digests of release archives, pinned (see .ci/fetch.sh). Archives
# without a pin here are checked against the checksum file their project
# publishes beside them. binaryen version_132 x86_64-linux: the digest GitHub
# lists for the asset, as recorded identically by several independent public
# projects that pin this archive (it could not be fetched from GitHub here).
PINNED_SHA256_binaryen_132_x86_64=195ddc94f9bc89f45abdabb0b9eea86023d727ba90eac8b35b80f2544fc30572

# What only `make test` needs from apt: a real browser for the wasm and
# end-to-end tests, and python3 + curl for the download step's test (its
# local file server), nginx and openssl for the relay-behind-a-proxy test
# (openssl makes its certificate), brotli for the release build's
# precompressed files, tshark for the capture tests. `make play` needs none
# of it.
TEST_APT_PACKAGES=(chromium chromium-driver fonts-noto-color-emoji python3 curl nginx brotli openssl tshark)

export PATH="$CARGO_BIN:$TOOLS/bin:$TOOLS/node_modules/.bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ---- Step timing -----------------------------------------------------------
# Every step records "kind<TAB>seconds<TAB>name" in $WIRELAB_TIMINGS, a file
# shared by the script `make` ran and the setup.sh it runs; that outermost
# script prints the summary (each step's share of the whole) when it exits.
now() { printf '%s' "${EPOCHREALTIME:-$(date +%s.%N)}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

timing_init() {
  if [ -z "${WIRELAB_TIMINGS:-}" ]; then
    WIRELAB_TIMINGS=$(mktemp "${TMPDIR:-/tmp}/wirelab-timings.XXXXXX")
    export WIRELAB_TIMINGS
    TIMING_T0=$(now)
    trap timing_report EXIT
  fi
}

# step NAME: starts timing a step. step_done [WHAT HAPPENED]: ends it and says
# how long it took. A step that runs long says so itself when it starts.
step() { STEP_NAME=$*; STEP_T0=$(now); }
step_done() {
  local dt
  dt=$(since "$STEP_T0")
  printf 'step\t%s\t%s\n' "$dt" "$STEP_NAME" >>"$WIRELAB_TIMINGS"
  say "$STEP_NAME${1:+: $1} (${dt} s)"
}
# A part of the current step that ran beside another (listed, not summed).
timing_part() { printf 'part\t%s\t%s\n' "$1" "$2" >>"$WIRELAB_TIMINGS"; }

timing_report() {
  local rc=$? total
  [ -n "${TIMING_T0:-}" ] && [ -s "$WIRELAB_TIMINGS" ] || return "$rc"
  total=$(since "$TIMING_T0")
  {
    printf '\n\033[1mStep times\033[0m (%s s in all%s):\n' "$total" \
      "$([ "$rc" -eq 0 ] || echo ", stopped by a failure")"
    # A step's parts are recorded before it ends; list them under it.
    awk -F'\t' -v total="$total" '
      $1 == "part" { parts = parts sprintf("  %8.1f s          | %s\n", $2, $3) }
      $1 == "step" { printf "  %8.1f s  %5.1f%%  %s\n%s", $2, (total > 0 ? 100 * $2 / total : 0), $3, parts; parts = "" }
      END { printf "%s", parts }' "$WIRELAB_TIMINGS"
  } >&2
  rm -f "$WIRELAB_TIMINGS"
  TIMING_T0=
  return "$rc"
}

# ---- Compiling the tools (the route when no prebuilt one can be had) -------
# WIRELAB_TOOLS_PARALLEL=1 compiles trunk and wasm-bindgen-cli side by side
#   (trunk's long single-threaded LTO step otherwise leaves a core idle); 0
#   compiles them one after the other.
# WIRELAB_TOOLS_PROFILE=light compiles them without LTO and with 16 codegen
#   units (trunk's own profile is lto = "fat", codegen-units = 1); "default"
#   keeps each crate's own release profile. WIRELAB_TOOLS_OPT_LEVEL, when set,
#   overrides opt-level too. These reach only those `cargo install`s, through
#   cargo's CARGO_PROFILE_RELEASE_* variables (config overrides the manifest).
# The defaults (side by side, light) were chosen before measuring: keep or
# change them by what .ci/measure-setup.sh finds (figures in docs/benchmarks.md).
WIRELAB_TOOLS_PARALLEL="${WIRELAB_TOOLS_PARALLEL:-1}"
WIRELAB_TOOLS_PROFILE="${WIRELAB_TOOLS_PROFILE:-light}"

tool_profile_env() {
  case "$WIRELAB_TOOLS_PROFILE" in
    light) printf '%s\n' CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 ;;
    default) ;;
    *) die "WIRELAB_TOOLS_PROFILE is light or default, not $WIRELAB_TOOLS_PROFILE" ;;
  esac
  if [ -n "${WIRELAB_TOOLS_OPT_LEVEL:-}" ]; then
    printf '%s\n' "CARGO_PROFILE_RELEASE_OPT_LEVEL=$WIRELAB_TOOLS_OPT_LEVEL"
  fi
}

# Which trunk can be compiled here, and with what: sets TRUNK_BUILD_VERSION
# and TRUNK_TOOLCHAIN ("" or "+nightly"). trunk 0.22.1 needs rustc >= 1.96.1;
# use nightly when stable is older, else the last trunk stable can build.
# (A prebuilt trunk has no such requirement.)
trunk_compile_plan() {
  local stable
  stable=$(rustc --version | awk '{print $2}')
  TRUNK_BUILD_VERSION=$TRUNK_VERSION TRUNK_TOOLCHAIN=
  if printf '1.96.1\n%s\n' "$stable" | sort -V -C; then
    TRUNK_PLAN="stable $stable"
  elif rustup run nightly rustc --version >/dev/null 2>&1; then
    TRUNK_TOOLCHAIN=+nightly TRUNK_PLAN="nightly (stable $stable is older than 1.96.1)"
  else
    TRUNK_BUILD_VERSION=$TRUNK_FALLBACK_VERSION TRUNK_PLAN="stable $stable"
  fi
}

# compile_tool NAME [cargo install args...]: NAME is trunk or wasm-bindgen-cli.
# TOOLS_TARGET_BASE, when set, gives each tool its own CARGO_TARGET_DIR under it.
compile_tool() {
  local name=$1
  shift
  local -a penv=() tc=()
  case "$WIRELAB_TOOLS_PROFILE" in light | default) ;; *)
    die "WIRELAB_TOOLS_PROFILE is light or default, not $WIRELAB_TOOLS_PROFILE" ;;
  esac
  mapfile -t penv < <(tool_profile_env)
  if [ -n "${TOOLS_TARGET_BASE:-}" ]; then
    penv+=("CARGO_TARGET_DIR=$TOOLS_TARGET_BASE/$name")
  fi
  case "$name" in
    trunk)
      trunk_compile_plan
      if [ -n "$TRUNK_TOOLCHAIN" ]; then tc=("$TRUNK_TOOLCHAIN"); fi
      env "${penv[@]}" cargo "${tc[@]}" install --locked trunk --version "$TRUNK_BUILD_VERSION" "$@"
      ;;
    wasm-bindgen-cli)
      # Its own lockfile pins crates some registries lack, so no --locked.
      # It installs wasm-bindgen and wasm-bindgen-test-runner both: one
      # compile, so `make test` after `make play` need not compile again.
      env "${penv[@]}" cargo install --force wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" "$@"
      ;;
    *) die "compile_tool: unknown tool $name" ;;
  esac
}

# compile_tools NAME... -- [cargo install args...]: compiles each, side by
# side when WIRELAB_TOOLS_PARALLEL=1 (each job's output to a log file, shown
# if it fails), else one after the other. Records each tool's own time as a
# part of the current step; fails if any compile failed.
compile_tools() {
  local -a names=() args=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do names+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  args=("$@")
  local name t0 failed=
  if [ "$WIRELAB_TOOLS_PARALLEL" = 1 ] && [ ${#names[@]} -gt 1 ]; then
    local logs i
    local -a pids=()
    logs=$(mktemp -d "${TMPDIR:-/tmp}/wirelab-compile.XXXXXX")
    say "compiling ${names[*]} side by side (logs in $logs)"
    for name in "${names[@]}"; do
      (
        t0=$(now)
        compile_tool "$name" "${args[@]}" >"$logs/$name.log" 2>&1 || exit 1
        since "$t0" >"$logs/$name.time"
      ) &
      pids+=($!)
    done
    for i in "${!names[@]}"; do
      name=${names[$i]}
      if wait "${pids[$i]}"; then
        timing_part "$(cat "$logs/$name.time")" "$name (compiled beside the others)"
        say "$name: compiled in $(cat "$logs/$name.time") s"
      else
        failed+=" $name"
        printf '\n---- last 60 lines of %s ----\n' "$logs/$name.log" >&2
        tail -n 60 "$logs/$name.log" >&2
      fi
    done
    [ -n "$failed" ] || rm -rf "$logs"
  else
    for name in "${names[@]}"; do
      say "compiling $name"
      t0=$(now)
      if compile_tool "$name" "${args[@]}"; then
        timing_part "$(since "$t0")" "$name (compiled)"
      else
        failed+=" $name"
      fi
    done
  fi
  [ -z "$failed" ] || { printf 'error: compiling%s failed\n' "$failed" >&2; return 1; }
}

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
  CARGO_TARGET_DIR="$ROOT/target/wasm32-$(wasm_mode)"
  export CARGO_TARGET_DIR
  if [ "$(wasm_mode)" = debian ]; then
    export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
    # panic_abort must be built too, or linking std fails.
    export CARGO_UNSTABLE_BUILD_STD=std,panic_abort
  fi
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
  export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
  export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-120}"
}
