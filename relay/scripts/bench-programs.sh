#!/usr/bin/env bash
# The programs' benchmark: loadgen against our app-server and the bare
# comparison servers, alternating rounds so that background load hits all
# alike. Usage: relay/scripts/bench-programs.sh [SECONDS] [CLIENTS] [ROUNDS]
# Build first: cargo build --release -p relay --bins
set -euo pipefail
secs=${1:-5}; clients=${2:-16}; rounds=${3:-3}
bin=${CARGO_TARGET_DIR:-$(dirname "$0")/../../target}/release
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

# start NAME CMD...: runs a server on port 0, sets $port and $pid.
start() {
  local log; log=$(mktemp)
  "$@" >"$log" 2>&1 &
  pid=$!; pids+=("$pid")
  for _ in $(seq 100); do
    port=$(grep -m1 -o 'Listening on (.*, [0-9]*)' "$log" | grep -o '[0-9]*)$' | tr -d ')') && [ -n "$port" ] && break
    sleep 0.05
  done
}

start "$bin/bare-server" 127.0.0.1 0;                         bare=$port; bare_pid=$pid
start "$bin/app-server" 127.0.0.1 0 --quiet;                  app=$port; app_pid=$pid
start "$bin/bare-server" 127.0.0.1 0 --echo;                  becho=$port; becho_pid=$pid
start "$bin/app-server" 127.0.0.1 0 --quiet --keep-alive;     appka=$port; appka_pid=$pid
start "$bin/multiconn-server" 127.0.0.1 0 --quiet;            mecho=$port; mecho_pid=$pid
# The tutorial's log lines on, written to a file as a terminal would take them.
logged_out=$(mktemp)
"$bin/app-server" 127.0.0.1 0 >"$logged_out" 2>&1 & logged_pid=$!; pids+=("$logged_pid")
sleep 0.3; logged=$(grep -m1 -o '[0-9]*)$' "$logged_out" | tr -d ')')

load() { "$bin/loadgen" 127.0.0.1 "$@" --duration "${secs}s" --clients "$clients"; }
for r in $(seq "$rounds"); do
  echo "# round $r"
  load "$bare"   --pid "$bare_pid"   --label "one-shot  bare-server"
  load "$app"    --pid "$app_pid"    --label "one-shot  app-server --quiet"
  load "$logged" --pid "$logged_pid" --label "one-shot  app-server (info logs to a file)"
  : >"$logged_out"
  load "$becho"  --pid "$becho_pid"  --per-connection 0 --mode echo --label "keep-alive bare-server --echo"
  load "$appka"  --pid "$appka_pid"  --per-connection 0 --label "keep-alive app-server --keep-alive --quiet"
  load "$mecho"  --pid "$mecho_pid"  --per-connection 0 --mode echo --label "keep-alive multiconn-server --quiet"
done
