#!/usr/bin/env bash
# Regenerate tests/fixtures/netem_curl_iperf3.pcap (issue 12): curl downloads
# and an iperf3 run through a lossy, reordering, 20 ms link.
#
#   sudo tests/lab/make_netem_fixture.sh
#
# Layout: `LAB_MIDDLE=1 tests/lab/netns.sh up` (client and server namespaces
# as for the other fixtures, joined through a middle namespace) and
# tests/lab/impair.py in the middle doing what
#   tc qdisc add dev rnem-veth-s root netem delay 20ms loss 5% reorder 10%
# would do (this kernel has no sch_netem; see impair.py for the one difference:
# only data segments are lost or reordered).
#
# Why the server's side: tcpdump records rnem-veth-c in the client namespace.
# The client's SYN is recorded when it leaves, the server's SYN/ACK comes back
# DELAY_MS later, and the client ACKs it at once, so the handshake RTT at the
# capture point (SYN -> ACK of the SYN/ACK, tshark's initial_rtt) is the
# configured delay.  A netem on the client's own veth would delay packets
# before tcpdump sees them (egress capture happens after the qdisc), and the
# capture would show a ~0 ms handshake.  Loss on the server's egress hits the
# download direction, which is where curl's and iperf3 -R's data flows.
#
# Traffic: python3 -m http.server (256 KiB file) fetched 3 times with curl,
# then `iperf3 -R -n 1M` (server sends).  tcpdump -s 128 keeps the pcap small.
# Writes the pcap, tshark's truth (make_truth.py, as for every fixture) and
# VERSIONS-netem.txt, then checks the truth: every TCP handshake RTT within
# +-2 ms of DELAY_MS, and retransmissions and out-of-order segments present.
#
# Environment: LAB_PREFIX (default rnem), PYTHON, MAKE_TRUTH, FIXTURES_OUT as
# in make_fixtures.sh; DELAY_MS (20), LOSS (5), REORDER (10), SEED (12).
# Needs root, ip, ethtool, tcpdump, tshark, capinfos, curl, iperf3, python3.
set -euo pipefail

DELAY_MS="${DELAY_MS:-20}"; LOSS="${LOSS:-5}"; REORDER="${REORDER:-10}"; SEED="${SEED:-12}"
export LAB_PREFIX="${LAB_PREFIX:-rnem}" LAB_MIDDLE=1
unset LAB_MTU
source "$(dirname "$0")/lib.sh"
NS_M="$LAB_PREFIX-mid"
NAME=netem_curl_iperf3
lab_init make_netem_fixture.sh ip tcpdump tshark capinfos curl iperf3 ethtool chrt

wait_port() {
    for _ in $(seq 100); do
        ip netns exec "$NS_S" ss -Hlnt "sport = :$1" | grep -q . && return 0
        sleep 0.1
    done
    echo "server on tcp/$1 did not come up" >&2; return 1
}

mkdir -p "$T/www" "$OUT"
head -c 262144 /dev/zero | tr '\0' 'x' >"$T/www/file.bin"
"$HERE/netns.sh" up
ip netns exec "$NS_M" chrt -f 50 "$PY" -u "$HERE/impair.py" --cli-if "$LAB_PREFIX-mid-c" \
    --srv-if "$LAB_PREFIX-mid-s" --delay-ms "$DELAY_MS" --loss "$LOSS" --reorder "$REORDER" \
    --seed "$SEED" >"$T/impair.log" 2>&1 &
PIDS+=($!)
ip netns exec "$NS_S" "$PY" -m http.server --bind "$SRV4" --directory "$T/www" 8080 >"$T/http.log" 2>&1 &
PIDS+=($!)
ip netns exec "$NS_S" iperf3 -s -B "$SRV4" -p 5201 >"$T/iperf3.log" 2>&1 &
PIDS+=($!)
wait_port 8080; wait_port 5201
grep -q ready "$T/impair.log"
sleep 2   # let link-up chatter pass

ip netns exec "$NS_C" tcpdump -i "$IF_C" -s 128 -U --immediate-mode -n -Z root -w "$T/$NAME.pcap" \
    2>"$T/tcpdump.log" &
CAP_PID=$!
for _ in $(seq 100); do grep -q "listening on" "$T/tcpdump.log" && break; sleep 0.05; done
sleep 0.3

for i in 1 2 3; do
    in_cli curl -s -S -o /dev/null -A rustnet-fixture/1.0 -w "curl $i: %{http_code} %{size_download} bytes\n" \
        "http://$SRV4:8080/file.bin"
done
in_cli iperf3 -c "$SRV4" -p 5201 -R -n 1M | tail -4

sleep 1
kill -TERM "$CAP_PID"; wait "$CAP_PID" || true; CAP_PID=
cat "$T/tcpdump.log" | grep -E "captured|received by filter|dropped by kernel"
kill -TERM "${PIDS[0]}"; wait "${PIDS[0]}" || true; PIDS=("${PIDS[@]:1}")
cat "$T/impair.log"

cp "$T/$NAME.pcap" "$OUT/$NAME.pcap"
"$PY" "$TRUTH" -o "$OUT" "$OUT/$NAME.pcap"
{
    echo "# tools that made netem_curl_iperf3.pcap ($(date -u +%Y-%m-%d))"
    echo "link: tests/lab/impair.py delay ${DELAY_MS}ms loss ${LOSS}% reorder ${REORDER}% seed $SEED (server -> client)"
    tshark --version 2>/dev/null | head -1
    curl --version | head -1
    iperf3 --version | head -1
    echo "python $("$PY" -c 'import platform; print(platform.python_version())') (http.server, impair.py)"
    tcpdump --version 2>&1 | head -1
    echo "kernel $(uname -r)"
} | tee "$OUT/VERSIONS-netem.txt"

# The truth must show what the fixture is for, or it proves little.
"$PY" - "$OUT/$NAME.pcap.json" "$DELAY_MS" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1])); d = float(sys.argv[2]) / 1000
convs = t["tcp_conversations"]
rtts = [c.get("initial_rtt") for c in convs]
bad = [r for r in rtts if r is None or abs(r - d) > 0.002]
tot = {"retransmission": 0, "out_of_order": 0}
for c in convs:
    for side in ("a_to_b", "b_to_a"):
        for k in tot:
            tot[k] += (c.get(side) or {}).get(k, 0)
print(f"{len(convs)} TCP conversations, initial_rtt {rtts}, totals {tot}")
if len(convs) < 5 or bad or not all(tot.values()):
    sys.exit("make_netem_fixture.sh: capture does not show the impairment; run again")
EOF
ls -l "$OUT/$NAME.pcap"
