#!/usr/bin/env bash
# The relay's benchmark against other WebSocket-to-TCP bridges: the same
# client (relay-bench), the same two bare servers, rounds alternating between
# bridges so that background load hits all alike.
#
# Usage: relay/scripts/bench-bridges.sh [SECONDS] [ROUNDS] [WORKLOADS...]
#   WORKLOADS: echo64 bulk app (default: all three)
#   websocat and websockify join when found on PATH or given as $WEBSOCAT,
#   $WEBSOCKIFY (set one empty to leave that bridge out). RELAY_B=PATH adds
#   another relay build (say, one from before a change) as one more bridge.
#   OBSERVE=1 adds the relay with observation on (`observe=1`, events read
#   by the client) as a bridge of its own: the same process, its own rows.
# Build first: cargo build --release -p relay --bin relay --example relay-bench
#              cargo build --release -p tutorial --example bare-server
#
# Besides ops/s and latency it prints what does not depend on the machine's
# load: CPU time of the bridge and of the servers per operation (utime+stime
# from /proc/PID/stat) and TCP segments sent per operation (nstat, all of
# loopback: client, bridge and servers).
set -euo pipefail
secs=${1:-5}; rounds=${2:-3}; shift $(( $# < 2 ? $# : 2 ))
workloads=("${@:-echo64 bulk app}"); read -r -a workloads <<<"${workloads[*]}"
bin=${CARGO_TARGET_DIR:-$(dirname "$0")/../../target}/release
websocat=${WEBSOCAT-$(command -v websocat || true)}
websockify=${WEBSOCKIFY-$(command -v websockify || true)}
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

bg() { "$@" >/dev/null 2>&1 & pids+=("$!"); }

# started CMD...: runs a program that binds port 0 and prints the address it
# got, and waits for that line: sets $pid and $log (its output so far).
started() {
  log=$(mktemp)
  "$@" >"$log" 2>&1 &
  pid=$!; pids+=("$pid")
}
# wait_line REGEX: waits until $log has a line matching REGEX and prints
# the port at the end of its first match (the programs print it once bound).
wait_line() {
  local found
  for _ in $(seq 200); do
    found=$(grep -m1 -oE "$1" "$log" || true)
    [ -n "$found" ] && { grep -oE '[0-9]+$' <<<"$found"; return; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "error: no line matching '$1':" >&2; cat "$log" >&2; exit 1
}
# websocat and websockify cannot report what port 0 gave them, so they get a
# free port picked here (it can be taken in between: then the wait fails)
# and are ready once it accepts connections.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return
    sleep 0.05
  done
  echo "error: nothing accepts on 127.0.0.1:$1" >&2; exit 1
}

started "$bin/examples/bare-server" --echo 127.0.0.1 0; echo_pid=$pid
echo_port=$(wait_line 'Listening on \(.*, [0-9]+')
started "$bin/examples/bare-server" 127.0.0.1 0; app_pid=$pid
app_port=$(wait_line 'Listening on \(.*, [0-9]+')

# Each bridge: a label, its process ids, and relay-bench's arguments.
names=(); procs=(); args=()
# start_relay BINARY LABEL [FLAGS...]: a relay in front of the bare servers.
# Warnings only, except its startup lines (which say what port 0 picked);
# the per-session lines stay off as they would in production.
start_relay() {
  RUST_LOG=warn,relay=info,relay::server=warn started "$1" --listen 127.0.0.1:0 \
    --no-embedded --dist /nonexistent --target "echo=127.0.0.1:$echo_port" --target "app=127.0.0.1:$app_port" "${@:3}"
  local port
  port=$(wait_line 'relay listening on http://127\.0\.0\.1:[0-9]+')
  names+=("$2"); procs+=("$pid"); args+=("--relay 127.0.0.1:$port")
  if [ "${OBSERVE:-0}" = 1 ]; then
    names+=("$2 observe=1"); procs+=("$pid"); args+=("--relay 127.0.0.1:$port --observe")
  fi
}
# Every bench client is one address: the per-address limits (issue 13) off.
start_relay "$bin/relay" relay --max-sessions-per-ip 1024 --max-http-connections-per-ip 256
# Another build of the relay, to compare two versions (e.g. before a change).
[ -z "${RELAY_B:-}" ] || start_relay "$RELAY_B" "relay B ($RELAY_B)"
if [ -n "$websocat" ]; then
  p1=$(free_port); bg "$websocat" -b -E "ws-l:127.0.0.1:$p1" "tcp:127.0.0.1:$echo_port"; a=$!
  p2=$(free_port); bg "$websocat" -b -E "ws-l:127.0.0.1:$p2" "tcp:127.0.0.1:$app_port"
  wait_port "$p1"; wait_port "$p2"
  names+=("websocat $("$websocat" --version | awk '{print $2}')"); procs+=("$a $!")
  args+=("--echo-url ws://127.0.0.1:$p1/ --app-url ws://127.0.0.1:$p2/")
fi
if [ -n "$websockify" ]; then
  p1=$(free_port); bg "$websockify" "127.0.0.1:$p1" "127.0.0.1:$echo_port"; a=$!
  p2=$(free_port); bg "$websockify" "127.0.0.1:$p2" "127.0.0.1:$app_port"
  wait_port "$p1"; wait_port "$p2"
  names+=(websockify); procs+=("$a $!")
  args+=("--echo-url ws://127.0.0.1:$p1/ --app-url ws://127.0.0.1:$p2/")
fi

# CPU ticks (utime + stime) of a process and, for websockify, its children.
ticks() {
  local total=0 p
  for p in "$@" $(for q in "$@"; do pgrep -P "$q" || true; done); do
    total=$((total + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
segments() { nstat -az TcpOutSegs 2>/dev/null | awk '/TcpOutSegs/ {print $2}' || echo 0; }

hz=$(getconf CLK_TCK)
printf '| round | workload | bridge | ops/s | p50 ms | p99 ms | bridge CPU µs/op | servers CPU µs/op | TCP segments/op |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
for r in $(seq "$rounds"); do
  for w in "${workloads[@]}"; do
    for i in "${!names[@]}"; do
      # shellcheck disable=SC2086 # word splitting of the pid and argument lists is intended
      {
        b0=$(ticks ${procs[$i]}); s0=$(ticks "$echo_pid" "$app_pid"); g0=$(segments)
        line=$("$bin/examples/relay-bench" ${args[$i]} --duration "${secs}s" --only "$w" ws | tail -1)
        b1=$(ticks ${procs[$i]}); s1=$(ticks "$echo_pid" "$app_pid"); g1=$(segments)
      }
      echo "$line" | awk -F'|' -v r="$r" -v n="${names[$i]}" -v s="$secs" -v hz="$hz" \
        -v b=$((b1 - b0)) -v sv=$((s1 - s0)) -v g=$((g1 - g0)) '{
          ops = $4 * s; us = 1e6 / hz
          printf "| %s |%s| %s |%s|%s|%s| %.1f | %.1f | %.2f |\n", r, $2, n, $4, $6, $7,
            b * us / ops, sv * us / ops, g / ops }'
    done
  done
done
