#!/usr/bin/env bash
# What `relay --run` costs the program it traces (docs/benchmarks.md,
# "Your own programs under --run"): the tests' selectors app server
# (relay/tests/programs/app_server.py) loaded by loadgen directly, run
#   plain   python3 app_server.py
#   untraced  under relay --run --run-no-trace
#   traced  under relay --run (every socket call stops once at its entry;
#           loadgen's connections are no session's, so none stops twice)
# and the cost of one system call the filter lets through (getppid) and one
# it stops (read from a pipe), from relay/tests/programs/syscall_cost.py.
# Usage: tools/bench-run.sh [SECONDS] [micro]  (micro: the system calls only)   (needs a release build:
#   cargo build --release -p relay --bin relay -p tutorial --bin loadgen)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
relay=target/release/relay
loadgen=target/release/loadgen
programs=relay/tests/programs
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_listen() { for _ in $(seq 200); do python3 - "$1" <<'PY' && return 0
import sys
port = int(sys.argv[1])
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    for line in open(table).read().splitlines()[1:]:
        f = line.split()
        if f[3] == "0A" and int(f[1].split(":")[1], 16) == port:
            sys.exit(0)
sys.exit(1)
PY
sleep 0.05; done; echo "nothing listens at $1" >&2; return 1; }

# $1 label, $2 program file, rest: extra relay flags or "plain"
start() {
  local file=$1; shift
  port=$(free_port)
  log=$(mktemp)
  if [ "${1:-}" = plain ]; then
    python3 "$programs/$file" 127.0.0.1 "$port" >"$log" 2>&1 &
    runner=$!; pid=$runner
  else
    RUST_LOG=info "$relay" --listen 127.0.0.1:0 --no-embedded --dist /nonexistent \
      --run "mine=127.0.0.1:$port" "$@" -- python3 "$programs/$file" 127.0.0.1 "$port" >"$log" 2>&1 &
    runner=$!
  fi
  wait_listen "$port"
  if [ "${1:-}" != plain ]; then
    pid=$(pgrep -P "$runner" -f "$file")
  fi
}
stop() { kill "$runner" 2>/dev/null || true; wait "$runner" 2>/dev/null || true; rm -f "$log"; }

for round in 1 2; do
  [ "${2:-}" = micro ] && break
  for mode in plain untraced traced; do
    case $mode in
      plain) start app_server.py plain ;;
      untraced) start app_server.py --run-no-trace ;;
      traced) start app_server.py ;;
    esac
    "$loadgen" 127.0.0.1 "$port" --duration "${secs}s" --clients 16 --pid "$pid" --label "$mode (round $round)"
    stop
  done
done

for round in 1 2 3; do
  for mode in plain untraced traced; do
    case $mode in
      plain) start syscall_cost.py plain ;;
      untraced) start syscall_cost.py --run-no-trace ;;
      traced) start syscall_cost.py ;;
    esac
    for _ in $(seq 600); do grep -q "ns/call" "$log" && break; sleep 0.05; done
    echo "$mode (round $round): $(grep -o 'getppid.*' "$log")"
    stop
  done
done
