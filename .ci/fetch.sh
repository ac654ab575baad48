# shellcheck shell=bash
# The download step of the setup: a prebuilt tool where one can be had.
# Sourced (after lib.sh), not run. Every function returns non-zero quickly on
# any failure, so the caller goes on to the next route (compiling, or npm).
#
#   fetch_tool TOOL VERSION DEST BIN...
#     TOOL is trunk, wasm-bindgen or binaryen; BIN... the programs to install
#     from it into DEST (e.g. `wasm-bindgen` alone, or with
#     `wasm-bindgen-test-runner`). Tries `cargo binstall` when it is on PATH
#     (crates only), then the project's own release archive (fetch_release).
#
# Knobs (environment):
#   WIRELAB_OFFLINE=1           no download is attempted at all
#   WIRELAB_BINSTALL=0          never use cargo-binstall
#   WIRELAB_RELEASES_BASE       where release archives are fetched from
#                               (default https://github.com; the tests point
#                               it at a local file server)
#   WIRELAB_FETCH_CONNECT_TIMEOUT, WIRELAB_FETCH_MAX_TIME  (seconds)
#
# Release archives (asset names as each project's release workflow makes them):
#   trunk     trunk-rs/trunk .github/workflows/release.yaml:
#             v$V/trunk-$ARCH-unknown-linux-musl.tar.gz (the `trunk` binary at
#             the top), beside it `<asset>.sha256` holding the bare hex digest.
#             musl, not gnu: the gnu build comes from ubuntu-24.04 and needs
#             glibc >= 2.39 (Debian 12 has 2.36); the musl one is static.
#   wasm-bindgen  wasm-bindgen/wasm-bindgen .github/workflows/main.yml (deploy):
#             $V/wasm-bindgen-$V-$ARCH-unknown-linux-musl.tar.gz, holding
#             wasm-bindgen-$V-$ARCH-unknown-linux-musl/{wasm-bindgen,
#             wasm-bindgen-test-runner,wasm2es6js}; beside it
#             `<asset>.sha256sum` (sha256sum output: "<hex>  gh-release/<asset>").
#   binaryen  WebAssembly/binaryen .github/workflows/create_release.yml:
#             version_$V/binaryen-version_$V-$ARCH-linux.tar.gz (static
#             Alpine build), holding binaryen-version_$V/bin/wasm-opt; beside it
#             `<asset>.sha256` ("<hex>  <asset>").
# The digest checked is the one pinned in lib.sh where we have one (see
# pinned_sha256), else the checksum file published beside the archive. The
# published file guards against a truncated or corrupted download, not against
# a compromised release host; a pinned digest guards against both.

WIRELAB_RELEASES_BASE="${WIRELAB_RELEASES_BASE:-https://github.com}"
WIRELAB_FETCH_CONNECT_TIMEOUT="${WIRELAB_FETCH_CONNECT_TIMEOUT:-5}"
WIRELAB_FETCH_MAX_TIME="${WIRELAB_FETCH_MAX_TIME:-300}"
# Set once a connection to the release host has failed: later tools in the
# same run do not try again (an offline machine pays for one attempt only).
FETCH_HOST_UNREACHABLE=

fetch_log() { printf '    fetch: %s\n' "$*" >&2; }

# This machine's architecture in each project's spelling; non-zero if none.
fetch_arch() {
  case "${WIRELAB_ARCH:-$(uname -m)}" in
    x86_64 | amd64) echo x86_64 ;;
    aarch64 | arm64) echo aarch64 ;;
    *) return 1 ;;
  esac
}

# release_path TOOL VERSION ARCH -> "<path under the base> <checksum suffix>"
release_path() {
  local tool=$1 v=$2 arch=$3
  case "$tool" in
    trunk) echo "trunk-rs/trunk/releases/download/v$v/trunk-$arch-unknown-linux-musl.tar.gz .sha256" ;;
    wasm-bindgen) echo "wasm-bindgen/wasm-bindgen/releases/download/$v/wasm-bindgen-$v-$arch-unknown-linux-musl.tar.gz .sha256sum" ;;
    binaryen) echo "WebAssembly/binaryen/releases/download/version_$v/binaryen-version_$v-$arch-linux.tar.gz .sha256" ;;
    *) return 1 ;;
  esac
}

# The digest pinned in lib.sh for TOOL VERSION ARCH, or nothing. Variables are
# named PINNED_SHA256_<tool>_<version>_<arch> with non-alphanumerics as _.
pinned_sha256() {
  local name="PINNED_SHA256_${1}_${2}_${3}"
  name=${name//[^A-Za-z0-9_]/_}
  printf '%s' "${!name:-}"
}

# The version a tool reports, to compare with the one asked for.
version_matches() {
  local bin=$1 tool=$2 v=$3 out
  out=$(timeout 10 "$bin" --version 2>/dev/null) || return 1
  case "$tool" in
    binaryen) [[ "$out" == *"version $v"* ]] ;;
    *) [[ " $out " == *" $v "* ]] ;;
  esac
}

# curl with the limits every download here has: give up on a host that does
# not answer within seconds, on a transfer that stalls, and after a ceiling.
fetch_curl() {
  curl --fail --silent --show-error --location \
    --connect-timeout "$WIRELAB_FETCH_CONNECT_TIMEOUT" \
    --max-time "$WIRELAB_FETCH_MAX_TIME" \
    --speed-limit 1024 --speed-time 20 \
    "$@"
}

# curl exit codes that mean "the host cannot be reached" rather than "the file
# is not there": could not resolve (6), could not connect (7), timed out (28).
fetch_unreachable_code() { case "$1" in 6 | 7 | 28) return 0 ;; *) return 1 ;; esac; }

# fetch_release TOOL VERSION DEST BIN...: download the release archive,
# verify its SHA-256, check each BIN answers --version with VERSION, then
# install them into DEST. Nothing is installed unless all of that succeeded.
fetch_release() {
  local tool=$1 v=$2 dest=$3
  shift 3
  case "$dest" in
    /*) ;;
    *) fetch_log "$tool: the install directory must be an absolute path, not $dest"; return 1 ;;
  esac
  if [ "${WIRELAB_OFFLINE:-0}" = 1 ]; then
    fetch_log "$tool: WIRELAB_OFFLINE=1, not downloading"
    return 1
  fi
  if [ -n "$FETCH_HOST_UNREACHABLE" ]; then
    fetch_log "$tool: $WIRELAB_RELEASES_BASE was unreachable earlier in this run"
    return 1
  fi
  command -v curl >/dev/null 2>&1 || { fetch_log "no curl"; return 1; }
  local arch spec rel suffix
  arch=$(fetch_arch) || { fetch_log "$tool: no release archive for $(uname -m)"; return 1; }
  spec=$(release_path "$tool" "$v" "$arch") || { fetch_log "unknown tool $tool"; return 1; }
  rel=${spec% *} suffix=${spec#* }
  local url="${WIRELAB_RELEASES_BASE%/}/$rel"
  local work rc=0
  work=$(mktemp -d "${TMPDIR:-/tmp}/wirelab-fetch.XXXXXX") || return 1
  _fetch_release_in "$work" "$tool" "$v" "$arch" "$url" "$suffix" "$dest" "$@" || rc=$?
  rm -rf "$work"
  if [ "$rc" -eq 3 ]; then
    FETCH_HOST_UNREACHABLE=1
  fi
  [ "$rc" -eq 0 ]
}

# The body of fetch_release, in a work directory the caller removes.
# Returns 3 when the host could not be reached, 1 on any other failure.
_fetch_release_in() {
  local work=$1 tool=$2 v=$3 arch=$4 url=$5 suffix=$6 dest=$7
  shift 7
  local archive="$work/${url##*/}" want got code
  want=$(pinned_sha256 "$tool" "$v" "$arch")
  if [ -n "$want" ]; then
    fetch_log "$tool: expecting the SHA-256 pinned in lib.sh"
  else
    # The checksum file first: it is small, and without it nothing is installed.
    code=0
    fetch_curl -o "$work/sum" "$url$suffix" 2>"$work/err" || code=$?
    if [ "$code" -ne 0 ]; then
      fetch_log "$tool: no checksum at $url$suffix ($(tr -d '\n' <"$work/err"))"
      fetch_unreachable_code "$code" && return 3
      return 1
    fi
    want=$(grep -oE '[0-9a-fA-F]{64}' "$work/sum" | head -n1 | tr 'A-F' 'a-f' || true)
    if [ -z "$want" ]; then
      fetch_log "$tool: $url$suffix holds no SHA-256"
      return 1
    fi
  fi
  code=0
  fetch_curl -o "$archive" "$url" 2>"$work/err" || code=$?
  if [ "$code" -ne 0 ]; then
    fetch_log "$tool: download of $url failed ($(tr -d '\n' <"$work/err"))"
    fetch_unreachable_code "$code" && return 3
    return 1
  fi
  got=$(sha256sum "$archive" | awk '{print $1}')
  if [ "$got" != "$want" ]; then
    rm -f "$archive"
    fetch_log "$tool: SHA-256 mismatch for $url: expected $want, got $got; refused and deleted"
    return 1
  fi
  mkdir -p "$work/x"
  tar -xzf "$archive" -C "$work/x" 2>"$work/err" || {
    fetch_log "$tool: cannot unpack $url ($(tr -d '\n' <"$work/err"))"
    return 1
  }
  # Find each program, and check it runs and is the version asked for, before
  # anything is put in place.
  local bin found
  local -a srcs=()
  for bin in "$@"; do
    found=$(find "$work/x" -type f -name "$bin" -perm -u+x | head -n1 || true)
    if [ -z "$found" ]; then
      fetch_log "$tool: $bin is not in $url"
      return 1
    fi
    if ! version_matches "$found" "$tool" "$v"; then
      fetch_log "$tool: $bin from $url does not run here or is not version $v"
      return 1
    fi
    srcs+=("$found")
  done
  mkdir -p "$dest" || return 1
  local i
  for i in "${!srcs[@]}"; do
    bin=$(basename "${srcs[$i]}")
    # Copy beside the target, then rename: a running or half-copied program
    # is never what DEST holds.
    if ! { cp "${srcs[$i]}" "$dest/.$bin.new" && chmod 755 "$dest/.$bin.new" \
      && mv -f "$dest/.$bin.new" "$dest/$bin"; }; then
      rm -f "$dest/.$bin.new"
      fetch_log "$tool: cannot install $bin into $dest"
      return 1
    fi
    if ! version_matches "$dest/$bin" "$tool" "$v"; then
      rm -f "$dest/$bin"
      fetch_log "$tool: $dest/$bin does not run once installed; removed"
      return 1
    fi
  done
  fetch_log "$tool $v: installed $* into $dest from $url (SHA-256 verified)"
}

# fetch_binstall CRATE VERSION DEST: `cargo binstall` with compiling disabled
# (compiling is the caller's own last route) and a time limit.
fetch_binstall() {
  local crate=$1 v=$2 dest=$3
  [ "${WIRELAB_OFFLINE:-0}" = 1 ] && return 1
  [ "${WIRELAB_BINSTALL:-1}" = 0 ] && return 1
  command -v cargo-binstall >/dev/null 2>&1 || return 1
  fetch_log "$crate $v: trying cargo binstall"
  mkdir -p "$dest" || return 1
  timeout "${WIRELAB_BINSTALL_TIMEOUT:-180}" cargo binstall --no-confirm --force \
    --disable-strategies compile --install-path "$dest" "$crate@$v" >&2
}

fetch_tool() {
  local tool=$1 v=$2 dest=$3
  shift 3
  local crate='' bin
  case "$tool" in
    trunk) crate=trunk ;;
    wasm-bindgen) crate=wasm-bindgen-cli ;;
  esac
  if [ -n "$crate" ] && fetch_binstall "$crate" "$v" "$dest"; then
    local ok=1
    for bin in "$@"; do
      version_matches "$dest/$bin" "$tool" "$v" || ok=
    done
    if [ -n "$ok" ]; then
      fetch_log "$crate $v: installed with cargo binstall"
      return 0
    fi
    fetch_log "$crate $v: cargo binstall left no working $*"
  fi
  fetch_release "$tool" "$v" "$dest" "$@"
}
