#!/usr/bin/env bash
# Tests the setup's download step (.ci/fetch.sh) against a local file server
# laid out like the projects' release downloads, with fake archives this test
# makes itself (a shell script named like each tool that prints its version).
# It installs only into temporary directories, never into ~/.cargo/bin.
# Ends with "N passed, 0 failed" on a line of its own; non-zero if any failed.
set -euo pipefail
# shellcheck source=.ci/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=.ci/fetch.sh
. "$ROOT/.ci/fetch.sh"

command -v python3 >/dev/null 2>&1 || die "python3 is needed for the local file server"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wirelab-fetch-test.XXXXXX")
SERVER_PID='' SILENT_PID=''
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$SILENT_PID" ]; then kill "$SILENT_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

passed=0 failed=0
ok() { passed=$((passed + 1)); printf '  ok    %s\n' "$*"; }
not_ok() { failed=$((failed + 1)); printf '  FAIL  %s\n' "$*"; }
check() { # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# Only the archive route is under test: no cargo-binstall, and nothing from
# the caller's environment deciding for us.
export WIRELAB_BINSTALL=0 WIRELAB_OFFLINE=0 WIRELAB_ARCH=x86_64
WIRELAB_FETCH_MAX_TIME=30
# fetch.sh's work directories go here, so the test can see none is left.
export TMPDIR="$WORK/tmp"
mkdir -p "$TMPDIR"
DOCROOT="$WORK/www"
mkdir -p "$DOCROOT"

# ---- Fake release archives -------------------------------------------------
# fake_program DIR NAME VERSION-LINE: a program that prints VERSION-LINE.
fake_program() {
  mkdir -p "$1"
  printf '#!/bin/sh\necho "%s"\n' "$3" >"$1/$2"
  chmod 755 "$1/$2"
}
# publish TOOL VERSION SUM_STYLE STAGE: tars STAGE's contents as TOOL's
# release asset and writes the checksum file the project publishes beside it
# (SUM_STYLE: bare = digest only, sha256sum = "digest  path", none = no file).
publish() {
  local tool=$1 v=$2 style=$3 stage=$4 spec rel suffix sum
  spec=$(release_path "$tool" "$v" x86_64)
  rel=${spec% *} suffix=${spec#* }
  mkdir -p "$DOCROOT/$(dirname "$rel")"
  tar -czf "$DOCROOT/$rel" -C "$stage" .
  sum=$(sha256sum "$DOCROOT/$rel" | awk '{print $1}')
  case "$style" in
    bare) echo "$sum" >"$DOCROOT/$rel$suffix" ;;
    sha256sum) echo "$sum  gh-release/$(basename "$rel")" >"$DOCROOT/$rel$suffix" ;;
    none) ;;
  esac
  printf '%s' "$sum"
}

# trunk 9.9.1: good (its .sha256 holds the bare digest, as trunk publishes).
fake_program "$WORK/stage/trunk-good" trunk "trunk 9.9.1"
publish trunk 9.9.1 bare "$WORK/stage/trunk-good" >/dev/null

# trunk 9.9.2: the published digest is not the archive's.
fake_program "$WORK/stage/trunk-bad" trunk "trunk 9.9.2"
publish trunk 9.9.2 bare "$WORK/stage/trunk-bad" >/dev/null
echo "0000000000000000000000000000000000000000000000000000000000000000" \
  >"$DOCROOT/$(release_path trunk 9.9.2 x86_64 | sed 's/ //')"

# trunk 9.9.3: an archive without a checksum beside it.
fake_program "$WORK/stage/trunk-nosum" trunk "trunk 9.9.3"
publish trunk 9.9.3 none "$WORK/stage/trunk-nosum" >/dev/null

# trunk 9.9.4: the archive's program says another version.
fake_program "$WORK/stage/trunk-wrongver" trunk "trunk 1.0.0"
publish trunk 9.9.4 bare "$WORK/stage/trunk-wrongver" >/dev/null

# trunk 9.9.5: its checksum is published, but the archive is gone.
fake_program "$WORK/stage/trunk-gone" trunk "trunk 9.9.5"
publish trunk 9.9.5 bare "$WORK/stage/trunk-gone" >/dev/null
rm "$DOCROOT/$(release_path trunk 9.9.5 x86_64 | cut -d' ' -f1)"

# wasm-bindgen 0.2.999: both programs in a versioned directory, sha256sum style.
wbdir="$WORK/stage/wb/wasm-bindgen-0.2.999-x86_64-unknown-linux-musl"
fake_program "$wbdir" wasm-bindgen "wasm-bindgen 0.2.999"
fake_program "$wbdir" wasm-bindgen-test-runner "wasm-bindgen-test-runner 0.2.999"
fake_program "$wbdir" wasm2es6js "wasm2es6js 0.2.999"
publish wasm-bindgen 0.2.999 sha256sum "$WORK/stage/wb" >/dev/null

# binaryen 999: bin/wasm-opt inside binaryen-version_999/; checked against a
# digest pinned the way lib.sh pins one, and (998) against a wrong pin.
fake_program "$WORK/stage/bn/binaryen-version_999/bin" wasm-opt "wasm-opt version 999 (version_999)"
# shellcheck disable=SC2034  # read by fetch.sh's pinned_sha256
PINNED_SHA256_binaryen_999_x86_64=$(publish binaryen 999 none "$WORK/stage/bn")
fake_program "$WORK/stage/bn998/binaryen-version_998/bin" wasm-opt "wasm-opt version 998 (version_998)"
publish binaryen 998 sha256sum "$WORK/stage/bn998" >/dev/null
# shellcheck disable=SC2034
PINNED_SHA256_binaryen_998_x86_64=1111111111111111111111111111111111111111111111111111111111111111

# ---- The local file server -------------------------------------------------
# Port 0: the kernel picks a free port, and the server says which once it is
# listening; wait for that line (a deadline, no fixed sleep).
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$DOCROOT" \
  >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
port=
deadline=$((SECONDS + 20))
while [ -z "$port" ]; do
  port=$(sed -n 's/^Serving HTTP on [^ ]* port \([0-9][0-9]*\).*/\1/p' "$WORK/server.out" 2>/dev/null || true)
  if [ -z "$port" ]; then
    kill -0 "$SERVER_PID" 2>/dev/null || die "the file server exited: $(cat "$WORK/server.err")"
    [ "$SECONDS" -lt "$deadline" ] || die "the file server did not start within 20 s"
    sleep 0.05
  fi
done
BASE="http://127.0.0.1:$port"
curl -fsS -o /dev/null "$BASE/" || die "the file server does not answer at $BASE"

# A host that accepts connections and never answers (a stalled transfer):
# the download must give up at its time limit, not hang.
python3 -u -c '
import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1])
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' >"$WORK/silent.out" 2>/dev/null &
SILENT_PID=$!
silent_port=
deadline=$((SECONDS + 20))
while [ -z "$silent_port" ]; do
  silent_port=$(head -n1 "$WORK/silent.out" 2>/dev/null || true)
  if [ -z "$silent_port" ]; then
    [ "$SECONDS" -lt "$deadline" ] || die "the silent server did not start within 20 s"
    sleep 0.05
  fi
done

# A port nothing listens on: bind one, note it, close it.
closed_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

# ---- Tests -----------------------------------------------------------------
# Each runs fetch_tool in a subshell (its unreachable-host memo stays there)
# with its own install directory; prints how long it took in $WORK/secs.
run_fetch() { # run_fetch BASE DEST TOOL VERSION BIN...
  local base=$1 dest=$2 t0 rc=0
  shift 2
  t0=$(now)
  (WIRELAB_RELEASES_BASE=$base; fetch_tool "$1" "$2" "$dest" "${@:3}") 2>"$WORK/log" || rc=$?
  since "$t0" >"$WORK/secs"
  sed 's/^/        /' "$WORK/log"
  return "$rc"
}
empty_dir() { [ ! -d "$1" ] || [ -z "$(ls -A "$1")" ]; }
under() { awk -v s="$(cat "$WORK/secs")" -v max="$1" 'BEGIN { exit !(s < max) }'; }
answers() { [ -x "$1" ] && [ "$("$1" --version)" = "$2" ]; }
no_leftovers() { [ -z "$(find "$TMPDIR" -maxdepth 1 -name 'wirelab-fetch.*')" ]; }

echo "fetch.sh against $BASE"

d="$WORK/inst/good"
check "a good archive installs (exit 0)" run_fetch "$BASE" "$d" trunk 9.9.1 trunk
check "  and its program answers --version" answers "$d/trunk" "trunk 9.9.1"
check "  and nothing else is left in the install dir" test "$(ls -A "$d")" = trunk
check "  and the download's work directory is gone" no_leftovers

d="$WORK/inst/mismatch"
if run_fetch "$BASE" "$d" trunk 9.9.2 trunk; then not_ok "a checksum mismatch is refused"; else ok "a checksum mismatch is refused"; fi
check "  and says so" grep -q "SHA-256 mismatch" "$WORK/log"
check "  and nothing is installed" empty_dir "$d"
check "  and the archive is deleted" no_leftovers

d="$WORK/inst/nosum"
if run_fetch "$BASE" "$d" trunk 9.9.3 trunk; then not_ok "an archive without a checksum is refused"; else ok "an archive without a checksum is refused"; fi
check "  and nothing is installed" empty_dir "$d"

d="$WORK/inst/wrongver"
if run_fetch "$BASE" "$d" trunk 9.9.4 trunk; then not_ok "a program of another version is refused"; else ok "a program of another version is refused"; fi
check "  and nothing is installed" empty_dir "$d"

d="$WORK/inst/missing"
if run_fetch "$BASE" "$d" trunk 9.9.9 trunk; then not_ok "a release that is not there at all (404) fails"; else ok "a release that is not there at all (404) fails"; fi
check "  within 5 s (took $(cat "$WORK/secs") s), so the caller falls back" under 5
check "  and nothing is installed" empty_dir "$d"

d="$WORK/inst/gone"
if run_fetch "$BASE" "$d" trunk 9.9.5 trunk; then not_ok "a missing archive whose checksum is published fails"; else ok "a missing archive whose checksum is published fails"; fi
check "  within 5 s (took $(cat "$WORK/secs") s)" under 5
check "  and nothing is installed" empty_dir "$d"
check "  and the work directory is gone" no_leftovers

d="$WORK/inst/wb-play"
check "wasm-bindgen for play: only wasm-bindgen is installed" run_fetch "$BASE" "$d" wasm-bindgen 0.2.999 wasm-bindgen
check "  it answers --version" answers "$d/wasm-bindgen" "wasm-bindgen 0.2.999"
check "  and the test runner is not there" test ! -e "$d/wasm-bindgen-test-runner"
d="$WORK/inst/wb-test"
check "wasm-bindgen for test: both programs (sha256sum-style checksum file)" \
  run_fetch "$BASE" "$d" wasm-bindgen 0.2.999 wasm-bindgen wasm-bindgen-test-runner
check "  the test runner answers --version" answers "$d/wasm-bindgen-test-runner" "wasm-bindgen-test-runner 0.2.999"
check "  and wasm2es6js was not asked for, so not installed" test ! -e "$d/wasm2es6js"

d="$WORK/inst/binaryen"
check "binaryen against a pinned digest installs wasm-opt" run_fetch "$BASE" "$d" binaryen 999 wasm-opt
check "  which answers --version" answers "$d/wasm-opt" "wasm-opt version 999 (version_999)"
not_requested() { ! grep -q "$1" "$WORK/server.err"; }
check "  and the published checksum file was not asked for" \
  not_requested "binaryen-version_999.*sha256"
d="$WORK/inst/binaryen-pin"
if run_fetch "$BASE" "$d" binaryen 998 wasm-opt; then not_ok "a pinned digest wins over a matching published one"; else ok "a pinned digest wins over a matching published one"; fi
check "  and nothing is installed" empty_dir "$d"

d="$WORK/inst/unreachable"
if run_fetch "http://127.0.0.1:$closed_port" "$d" trunk 9.9.1 trunk; then not_ok "an unreachable host fails"; else ok "an unreachable host fails"; fi
check "  within 5 s (took $(cat "$WORK/secs") s)" under 5
check "  and nothing is installed" empty_dir "$d"
memo() {
  WIRELAB_RELEASES_BASE="http://127.0.0.1:$closed_port"
  ! fetch_tool trunk 9.9.1 "$WORK/inst/memo" trunk 2>/dev/null || return 1
  # Once unreachable, the next tool does not try again, even on a good host.
  WIRELAB_RELEASES_BASE=$BASE
  ! fetch_tool wasm-bindgen 0.2.999 "$WORK/inst/memo" wasm-bindgen 2>"$WORK/log" \
    && grep -q "unreachable earlier" "$WORK/log"
}
if (memo); then ok "an unreachable host is remembered for the rest of the run"; else not_ok "an unreachable host is remembered for the rest of the run"; fi

d="$WORK/inst/silent"
if (WIRELAB_FETCH_MAX_TIME=2 run_fetch "http://127.0.0.1:$silent_port" "$d" trunk 9.9.1 trunk); then
  not_ok "a host that never answers fails"
else
  ok "a host that never answers fails"
fi
check "  at the time limit (2 s here; took $(cat "$WORK/secs") s)" under 4
check "  and nothing is installed" empty_dir "$d"

d="$WORK/inst/offline"
if (WIRELAB_OFFLINE=1 run_fetch "$BASE" "$d" trunk 9.9.1 trunk); then not_ok "WIRELAB_OFFLINE=1 downloads nothing"; else ok "WIRELAB_OFFLINE=1 downloads nothing"; fi
check "  and nothing is installed" empty_dir "$d"

# cargo binstall, faked: a `cargo` on PATH whose `binstall` writes the asked
# crate's programs into --install-path (or fails, when FAKE_BINSTALL=fail).
fakebin="$WORK/fakebin"
mkdir -p "$fakebin"
cat >"$fakebin/cargo" <<'FAKE'
#!/usr/bin/env bash
[ "$1" = binstall ] || exit 99
shift
dest= spec=
while [ $# -gt 0 ]; do
  case "$1" in
    --install-path) dest=$2; shift ;;
    --disable-strategies) [ "$2" = compile ] || exit 98; shift ;;
    -*) ;;
    *) spec=$1 ;;
  esac
  shift
done
[ "${FAKE_BINSTALL:-ok}" = ok ] || { echo "no prebuilt binary" >&2; exit 1; }
v=${spec#*@}
case "${spec%@*}" in
  trunk) bins=(trunk) ;;
  wasm-bindgen-cli) bins=(wasm-bindgen wasm-bindgen-test-runner wasm2es6js) ;;
  *) exit 97 ;;
esac
for b in "${bins[@]}"; do printf '#!/bin/sh\necho "%s %s"\n' "$b" "$v" >"$dest/$b"; chmod 755 "$dest/$b"; done
echo "$*" >"$dest/.binstall-args"
FAKE
printf '#!/bin/sh\nexit 0\n' >"$fakebin/cargo-binstall"
chmod 755 "$fakebin/cargo" "$fakebin/cargo-binstall"

# with_binstall ok|fail run_fetch-args...: the fake binstall on PATH.
with_binstall() (
  export PATH="$fakebin:$PATH" WIRELAB_BINSTALL=1 FAKE_BINSTALL=$1
  shift
  run_fetch "$@"
)
d="$WORK/inst/binstall"
# The release host is unreachable here: only binstall can have installed it.
check "with cargo-binstall on PATH, it is used (compiling disabled)" \
  with_binstall ok "http://127.0.0.1:$closed_port" "$d" trunk 7.7.7 trunk
check "  and its trunk answers --version" answers "$d/trunk" "trunk 7.7.7"
d="$WORK/inst/binstall-fails"
check "when cargo binstall fails, the release archive is used" \
  with_binstall fail "$BASE" "$d" trunk 9.9.1 trunk
check "  and its trunk answers --version" answers "$d/trunk" "trunk 9.9.1"

if (cd "$WORK" && run_fetch "$BASE" relative trunk 9.9.1 trunk); then not_ok "a relative install directory is refused"; else ok "a relative install directory is refused"; fi
check "  and nothing is installed there" test ! -e "$WORK/relative"

names_ok() {
  [ "$(release_path trunk 0.22.1 x86_64)" = "trunk-rs/trunk/releases/download/v0.22.1/trunk-x86_64-unknown-linux-musl.tar.gz .sha256" ] \
    && [ "$(release_path trunk 0.22.1 aarch64)" = "trunk-rs/trunk/releases/download/v0.22.1/trunk-aarch64-unknown-linux-musl.tar.gz .sha256" ] \
    && [ "$(release_path wasm-bindgen 0.2.130 x86_64)" = "wasm-bindgen/wasm-bindgen/releases/download/0.2.130/wasm-bindgen-0.2.130-x86_64-unknown-linux-musl.tar.gz .sha256sum" ] \
    && [ "$(release_path binaryen 132 aarch64)" = "WebAssembly/binaryen/releases/download/version_132/binaryen-version_132-aarch64-linux.tar.gz .sha256" ] \
    && [ "$(WIRELAB_ARCH=arm64 fetch_arch)" = aarch64 ] \
    && ! WIRELAB_ARCH=riscv64 fetch_arch >/dev/null
}
check "release asset names for x86_64 and aarch64" names_ok

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
