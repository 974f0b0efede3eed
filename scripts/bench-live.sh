#!/usr/bin/env bash
# Live capture cost (issue 21): two network namespaces joined by a veth
# pair, iperf3 between them, and the monitor on the client's interface.
#   sudo scripts/bench-live.sh [SECONDS]   (default 5 per run)
# For each of: no monitor, `tcpdump -w /dev/null`, `rustnet --json`,
#   - small UDP (64-byte datagrams at 300 Mbit/s asked): datagrams sent,
#     iperf3's loss, and the monitor's CPU (user+sys, all threads, from
#     /proc) per datagram captured;
#   - TCP bulk: the sender's rate.
# Needs root, iproute2, iperf3, tcpdump. Builds target/release/rustnet.
set -euo pipefail
cd "$(dirname "$0")/.."
T="${1:-5}"
cargo build --release --quiet --bin rustnet
BIN="$PWD/target/release/rustnet"
A=rnbench-a B=rnbench-b
cleanup() {
  ip netns pids "$A" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns pids "$B" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns del "$A" 2>/dev/null || true
  ip netns del "$B" 2>/dev/null || true
}
WORK=$(mktemp -d)
trap 'cleanup; rm -rf "$WORK"' EXIT
cleanup
ip netns add "$A"
ip netns add "$B"
ip link add rnb0 netns "$A" type veth peer name rnb1 netns "$B"
ip -n "$A" addr add 10.231.0.1/24 dev rnb0
ip -n "$B" addr add 10.231.0.2/24 dev rnb1
ip -n "$A" link set rnb0 up
ip -n "$B" link set rnb1 up
ip -n "$A" link set lo up
ip -n "$B" link set lo up
ip netns exec "$B" iperf3 -s -D -1 >/dev/null 2>&1 || true

# CPU seconds (user+sys) of process $1 so far.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{print ($14+$15)/hz}' "/proc/$1/stat"; }
# "thread-name seconds" for each thread of process $1 so far (names without spaces).
threads() {
  local t
  for t in /proc/"$1"/task/*; do
    awk -v hz="$(getconf CLK_TCK)" '{sub(/^[^)]*\) /, ""); print ($12+$13)/hz}' "$t/stat" 2>/dev/null |
      sed "s/^/$(tr ' ' _ <"$t/comm" 2>/dev/null) /"
  done
}

# run_case NAME MONITOR-COMMAND... : one UDP and one TCP run under it.
run_case() {
  local name=$1; shift
  local pid="" c0=0
  if [ $# -gt 0 ]; then
    ip netns exec "$A" "$@" >/dev/null 2>&1 &
    pid=$!
    sleep 1.5   # the monitor's start-up is not counted
    c0=$(cpu "$pid")
    threads "$pid" >"$WORK/t0"
  fi
  ip netns exec "$B" iperf3 -s -D -1 >/dev/null 2>&1 || true
  sleep 0.3
  local u
  u=$(ip netns exec "$A" iperf3 -c 10.231.0.2 -u -b 300M -l 64 -t "$T" -J)
  local c1=0
  if [ -n "$pid" ]; then
    c1=$(cpu "$pid")
    threads "$pid" >"$WORK/t1"
  fi
  ip netns exec "$B" iperf3 -s -D -1 >/dev/null 2>&1 || true
  sleep 0.3
  local tcp
  tcp=$(ip netns exec "$A" iperf3 -c 10.231.0.2 -t "$T" -J)
  if [ -n "$pid" ]; then
    kill -INT "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  python3 - "$name" "$c0" "$c1" <<EOF
import json, sys
name, c0, c1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
u = json.loads('''$u''')["end"]["sum"]
t = json.loads('''$tcp''')["end"]["sum_sent"]
pkts = u["packets"]
per = (c1 - c0) / pkts * 1e6 if pkts and c1 else 0.0
print(f"{name:10s} UDP {pkts:8d} datagrams, loss {u['lost_percent']:5.2f} %, "
      f"monitor CPU {c1 - c0:5.2f} s = {per:4.2f} us/datagram | TCP sender {t['bits_per_second'] / 1e9:5.2f} Gbit/s")
EOF
  if [ -n "$pid" ]; then
    # The UDP run's CPU by thread (threads of the same name summed).
    awk 'NR==FNR {a[$1]+=$2; next} {b[$1]+=$2} END {for (k in b) if (b[k]-a[k] > 0.005) printf "  %s %.2f s", k, b[k]-a[k]; print ""}' \
      "$WORK/t0" "$WORK/t1"
  fi
}

run_case "none"
run_case "tcpdump" tcpdump -i rnb0 -w /dev/null
run_case "rustnet" "$BIN" -i rnb0 --json
