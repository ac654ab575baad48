#!/usr/bin/env bash
# The programs' benchmark: loadgen against our app-server and the bare
# comparison servers, alternating rounds so that background load hits all
# alike. Usage: tutorial/scripts/bench-programs.sh [SECONDS] [CLIENTS] [ROUNDS]
# Build first: cargo build --release -p tutorial --bins --example bare-server
set -euo pipefail
secs=${1:-5}; clients=${2:-16}; rounds=${3:-3}
bin=${CARGO_TARGET_DIR:-$(dirname "$0")/../../target}/release
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

# start CMD...: runs a server on port 0 with stdout in a file, and waits for
# its "Listening on (HOST, PORT)" line, printed once the socket is bound:
# sets $port, $pid and $log (the server's output).
start() {
  log=$(mktemp)
  "$@" >"$log" 2>&1 &
  pid=$!; pids+=("$pid")
  port=
  for _ in $(seq 200); do
    port=$(grep -m1 -o 'Listening on (.*, [0-9]*)' "$log" | grep -o '[0-9]*)$' | tr -d ')' || true)
    [ -n "$port" ] && return
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "error: $* did not report a listening port:" >&2; cat "$log" >&2; exit 1
}

start "$bin/examples/bare-server" 127.0.0.1 0;                bare=$port; bare_pid=$pid
start "$bin/app-server" 127.0.0.1 0 --quiet;                  app=$port; app_pid=$pid
start "$bin/examples/bare-server" 127.0.0.1 0 --echo;         becho=$port; becho_pid=$pid
start "$bin/app-server" 127.0.0.1 0 --quiet --keep-alive;     appka=$port; appka_pid=$pid
start "$bin/multiconn-server" 127.0.0.1 0 --quiet;            mecho=$port; mecho_pid=$pid
# The tutorial's log lines on, written to a file as a terminal would take them.
start "$bin/app-server" 127.0.0.1 0;                          logged=$port; logged_pid=$pid; logged_out=$log

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
