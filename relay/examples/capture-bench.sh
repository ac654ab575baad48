#!/bin/sh
# Capture cost per session: the app workload (one search per session, 16
# clients, observe=1 as the page asks) against a relay that captures and one
# that does not (--no-capture). Run as root (or with CAP_NET_RAW), from the
# workspace root, after
#   cargo build --release -p relay --bin relay --example relay-bench
# Figures: docs/benchmarks.md, "Real captures (issue 21)".
set -e
for mode in capture no-capture; do
  flag=""; [ "$mode" = no-capture ] && flag="--no-capture"
  port=$((20000 + $$ % 10000))
  target/release/relay --listen 127.0.0.1:$port --dist /nonexistent \
    --max-sessions-per-ip 1024 --max-http-connections-per-ip 256 $flag >/tmp/capture-bench-relay.log 2>&1 &
  pid=$!
  sleep 1
  echo "== $mode"
  /usr/bin/time -f "bench: %U s user, %S s sys" target/release/examples/relay-bench --relay 127.0.0.1:$port --only app --observe --duration 10s ws
  grep -E "VmRSS|VmHWM" /proc/$pid/status
  ps -o utime=,stime= -p $pid 2>/dev/null || true
  cat /proc/$pid/stat | awk '{print "relay cpu: utime " $14/100 " s, stime " $15/100 " s"}'
  curl -s http://127.0.0.1:$port/healthz; echo
  kill $pid; wait $pid 2>/dev/null || true
done
