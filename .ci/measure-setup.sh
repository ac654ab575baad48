#!/usr/bin/env bash
# Times the ways setup can compile trunk and wasm-bindgen-cli (the route when
# no prebuilt binary can be had), each from scratch, on this machine:
#
#   seq-default   one after the other, each crate's own release profile
#                 (what setup did before: trunk's fat LTO, codegen-units = 1)
#   par-default   side by side, own profiles
#   par-light     side by side, LTO off and 16 codegen units
#   (also available: seq-light, par-light-o1 = par-light with opt-level 1)
#
# Usage: .ci/measure-setup.sh [RESULTS_FILE]      (default target/measure-setup.md)
#   MEASURE_OPTIONS="seq-default par-default par-light"   which, in that order
#   MEASURE_REPEAT=1                                      runs of each
#   MEASURE_DRY_RUN=1     a fake cargo that compiles nothing (checks the script)
#
# Each run installs into a fresh `--root` and compiles in fresh target
# directories (one per tool, CARGO_TARGET_DIR), so nothing is reused but the
# crate sources, which are downloaded once before any timing. Run it on a
# quiet machine: it records the load average before each run. About 40-50
# minutes on 2 cores with the default options.
set -euo pipefail
# shellcheck source=.ci/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

results=${1:-$ROOT/target/measure-setup.md}
options=${MEASURE_OPTIONS:-seq-default par-default par-light}
repeat=${MEASURE_REPEAT:-1}
mkdir -p "$(dirname "$results")"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/wirelab-measure.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
unset RUSTC_WRAPPER CARGO_BUILD_RUSTC_WRAPPER CARGO_TARGET_DIR

if [ "${MEASURE_DRY_RUN:-0}" = 1 ]; then
  # A cargo that says what it would do and installs fake programs.
  mkdir -p "$scratch/fake"
  cat >"$scratch/fake/cargo" <<'FAKE'
#!/usr/bin/env bash
echo "dry run: cargo $* [CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-} LTO=${CARGO_PROFILE_RELEASE_LTO:-own} CGU=${CARGO_PROFILE_RELEASE_CODEGEN_UNITS:-own} OPT=${CARGO_PROFILE_RELEASE_OPT_LEVEL:-own}]"
root=
while [ $# -gt 0 ]; do [ "$1" = --root ] && root=$2; shift; done
[ -n "$root" ] || exit 0
mkdir -p "$root/bin"
for b in trunk wasm-bindgen wasm-bindgen-test-runner; do printf '#!/bin/sh\necho "%s 0.0.0"\n' "$b" >"$root/bin/$b"; chmod 755 "$root/bin/$b"; done
sleep 0.2
FAKE
  chmod 755 "$scratch/fake/cargo"
  export PATH="$scratch/fake:$PATH"
fi

trunk_compile_plan
tc=()
if [ -n "$TRUNK_TOOLCHAIN" ]; then tc=("$TRUNK_TOOLCHAIN"); fi

# ---- Download the crate sources once, so no timed run downloads ------------
# Each tool's dependencies are fetched exactly as its `cargo install`
# resolves them: trunk from its own Cargo.lock (--locked), wasm-bindgen-cli
# freshly resolved (setup installs it without --locked).
say "downloading the crate sources (not timed)"
if [ "${MEASURE_DRY_RUN:-0}" != 1 ]; then
  for spec in "trunk $TRUNK_BUILD_VERSION locked" "wasm-bindgen-cli $WASM_BINDGEN_VERSION fresh"; do
    read -r name version how <<<"$spec"
    # A throwaway package per tool (their exact pins need not agree) brings
    # the tool's own .crate into cargo's cache.
    pre="$scratch/prefetch-$name"
    mkdir -p "$pre/src"
    printf '[package]\nname = "prefetch"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n[dependencies]\n%s = "=%s"\n' \
      "$name" "$version" >"$pre/Cargo.toml"
    : >"$pre/src/lib.rs"
    if [ "$name" = trunk ]; then
      cargo "${tc[@]}" fetch --manifest-path "$pre/Cargo.toml" >/dev/null
    else
      cargo fetch --manifest-path "$pre/Cargo.toml" >/dev/null
    fi
    file=$(find "${CARGO_HOME:-$HOME/.cargo}/registry/cache" -name "$name-$version.crate" | head -n1 || true)
    [ -n "$file" ] || die "no $name-$version.crate in cargo's cache after fetching"
    tar -xzf "$file" -C "$scratch"
    manifest="$scratch/$name-$version/Cargo.toml"
    if [ "$how" = locked ]; then
      cargo "${tc[@]}" fetch --locked --manifest-path "$manifest" >/dev/null
    else
      rm -f "$scratch/$name-$version/Cargo.lock"
      cargo fetch --manifest-path "$manifest" >/dev/null
    fi
  done
fi

# ---- The runs --------------------------------------------------------------
machine="$(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(rustc --version), trunk $TRUNK_BUILD_VERSION with ${TRUNK_PLAN}, wasm-bindgen-cli $WASM_BINDGEN_VERSION"
{
  printf '\n## Compiling the tools, %s%s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" \
    "$([ "${MEASURE_DRY_RUN:-0}" = 1 ] && echo ' (DRY RUN: nothing compiled)')"
  # shellcheck disable=SC2016  # the backquotes are Markdown
  printf '%s. `.ci/measure-setup.sh`, each run from scratch (fresh --root and target dirs; crate sources downloaded beforehand).\n\n' "$machine"
  printf '| option | wall | trunk | wasm-bindgen-cli | trunk binary | load before (1 min) |\n|---|---|---|---|---|---|\n'
} >>"$results"

run_option() {
  local option=$1 root t0 wall parts load
  case "$option" in
    seq-default) WIRELAB_TOOLS_PARALLEL=0 WIRELAB_TOOLS_PROFILE=default WIRELAB_TOOLS_OPT_LEVEL= ;;
    seq-light) WIRELAB_TOOLS_PARALLEL=0 WIRELAB_TOOLS_PROFILE=light WIRELAB_TOOLS_OPT_LEVEL= ;;
    par-default) WIRELAB_TOOLS_PARALLEL=1 WIRELAB_TOOLS_PROFILE=default WIRELAB_TOOLS_OPT_LEVEL= ;;
    par-light) WIRELAB_TOOLS_PARALLEL=1 WIRELAB_TOOLS_PROFILE=light WIRELAB_TOOLS_OPT_LEVEL= ;;
    par-light-o1) WIRELAB_TOOLS_PARALLEL=1 WIRELAB_TOOLS_PROFILE=light WIRELAB_TOOLS_OPT_LEVEL=1 ;;
    *) die "unknown option $option" ;;
  esac
  root=$(mktemp -d "$scratch/root.XXXXXX")
  TOOLS_TARGET_BASE=$(mktemp -d "$scratch/target.XXXXXX")
  WIRELAB_TIMINGS="$scratch/timings"
  : >"$WIRELAB_TIMINGS"
  export TOOLS_TARGET_BASE WIRELAB_TIMINGS
  load=$(cut -d' ' -f1 /proc/loadavg)
  say "$option: compiling (load $load)"
  t0=$(now)
  compile_tools trunk wasm-bindgen-cli -- --root "$root"
  wall=$(since "$t0")
  if ! { "$root/bin/trunk" --version && "$root/bin/wasm-bindgen" --version; } >/dev/null; then
    die "$option: the compiled tools do not run"
  fi
  parts=$(awk -F'\t' '$1 == "part" { split($3, n, " "); t[n[1]] = $2 } END { printf "%s s | %s s", t["trunk"], t["wasm-bindgen-cli"] }' "$WIRELAB_TIMINGS")
  printf '| %s | **%s s** | %s | %s KiB | %s |\n' "$option" "$wall" "$parts" \
    "$(($(stat -c %s "$root/bin/trunk") / 1024))" "$load" >>"$results"
  say "$option: $wall s"
  rm -rf "$root" "$TOOLS_TARGET_BASE"
}

for ((i = 1; i <= repeat; i++)); do
  for option in $options; do
    run_option "$option"
  done
done

{
  printf '\nThe trunk and wasm-bindgen-cli columns are each compile on its own clock; side by side they overlap, so the wall time is what a setup waits.\n'
} >>"$results"
say "results appended to $results"
cat "$results"
