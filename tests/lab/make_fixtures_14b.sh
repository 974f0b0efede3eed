#!/usr/bin/env bash
# Issue 14b fixtures: a DHCP exchange with dnsmasq, an mDNS and an LLMNR
# query, each from tests/lab/issue14b_clients.py in the client namespace,
# recorded on the client's veth; tshark's view written beside each capture.
#
#   sudo tests/lab/make_fixtures_14b.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT="${FIXTURES_OUT:-$ROOT/tests/fixtures}"
TRUTH="${MAKE_TRUTH:-/work/shared/pcaps/make_truth.py}"
export LAB_PREFIX="${LAB_PREFIX:-rn14b}"
NS_C="$LAB_PREFIX-cli"; NS_S="$LAB_PREFIX-srv"; IF_C="$LAB_PREFIX-veth-c"; IF_S="$LAB_PREFIX-veth-s"
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
T=$(mktemp -d /tmp/rn14b.XXXXXX)
PIDS=()
cleanup() {
    set +e
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    "$HERE/netns.sh" down
    rm -rf "$T"
}
trap cleanup EXIT
"$HERE/netns.sh" up >/dev/null
ip netns exec "$NS_S" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --port=0 \
    --user=root --group=root --pid-file="$T/dnsmasq.pid" --interface="$IF_S" --bind-interfaces \
    --dhcp-range=10.77.0.100,10.77.0.200,255.255.255.0,1h --dhcp-leasefile="$T/leases" \
    --log-facility="$T/dnsmasq.log" &
PIDS+=($!)
sleep 1
record() { # name, then the client's arguments
    local name=$1; shift
    ip netns exec "$NS_C" tcpdump -i "$IF_C" -U -s 0 -w "$T/$name.pcap" 2>/dev/null &
    local cap=$!
    sleep 1
    ip netns exec "$NS_C" python3 "$HERE/issue14b_clients.py" "$@"
    sleep 1
    kill -INT "$cap"; wait "$cap" || true
    cp "$T/$name.pcap" "$OUT/$name.pcap"
    python3 "$TRUTH" -o "$OUT" "$OUT/$name.pcap" >/dev/null
}
record dhcp_dnsmasq dhcp "$IF_C"
record mdns_query mdns
record llmnr_query llmnr
for f in dhcp_dnsmasq mdns_query llmnr_query; do tshark -r "$OUT/$f.pcap" 2>/dev/null; done
