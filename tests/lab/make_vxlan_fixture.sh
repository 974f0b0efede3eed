#!/usr/bin/env bash
# Regenerate tests/fixtures/vxlan_kernel_http.pcap (issue 19): curl and ping
# through a real Linux VXLAN tunnel, captured on the underlay.
#
#   sudo tests/lab/make_vxlan_fixture.sh
#
# This kernel has VXLAN but no GRE, gretap or Geneve (`ip link add … type gre`
# says "Unknown device type"); those fixtures are written by
# make_tunnel_fixtures.py. Layout: `tests/lab/netns.sh up` with the underlay
# on 10.78.0.1/.2, a vxlan device (VNI 42, udp/4789) in each namespace, and
# the overlay on the lab's usual 10.77.0.1/.2, so the fixture tests' "client
# is 10.77.0.1" rule holds for the inner flows. tcpdump records the client's
# underlay veth; python3 -m http.server answers on the overlay.
#
# Traffic: 3 curl GETs (Host www.example.test, user agent
# rustnet-fixture/1.0; the last one /path/two?x=1, a 404) and 2 pings.
# Writes the pcap and tshark's truth (make_truth.py, as for every fixture).
# Environment: LAB_PREFIX (default rnvx), PYTHON, MAKE_TRUTH, FIXTURES_OUT.
# Needs root, ip, ethtool, tcpdump, tshark, curl, ping, python3.
set -euo pipefail

export LAB_PREFIX="${LAB_PREFIX:-rnvx}" LAB_V4_CLI=10.78.0.1 LAB_V4_SRV=10.78.0.2 LAB_V6_CLI=fd78::1 LAB_V6_SRV=fd78::2
unset LAB_MTU LAB_MIDDLE
source "$(dirname "$0")/lib.sh"
NAME=vxlan_kernel_http
lab_init make_vxlan_fixture.sh ip tcpdump tshark curl ping ethtool

"$HERE/netns.sh" up
for side in "$NS_C $IF_C 10.78.0.1 10.78.0.2 10.77.0.1" "$NS_S $IF_S 10.78.0.2 10.78.0.1 10.77.0.2"; do
    set -- $side
    ip -n "$1" link add vx0 type vxlan id 42 dstport 4789 local "$3" remote "$4" dev "$2"
    ip -n "$1" link set vx0 up
    ip -n "$1" addr add "$5/24" dev vx0
    # Wire-sized inner segments with their own checksums.
    ip netns exec "$1" ethtool -K vx0 tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
done

mkdir -p "$T/www/path"
printf '<html><body>vxlan fixture</body></html>\n' > "$T/www/index.html"
ip netns exec "$NS_S" "$PY" -m http.server 80 --bind 10.77.0.2 --directory "$T/www" >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do
    ip netns exec "$NS_C" curl -s -o /dev/null --max-time 1 http://10.77.0.2/ && break
    sleep 0.1
done

ip netns exec "$NS_C" tcpdump -i "$IF_C" -U -w "$T/$NAME.pcap" -s 0 2>/dev/null &
CAP_PID=$!
sleep 1
URL=http://www.example.test
for p in /index.html /index.html /path/two?x=1; do
    ip netns exec "$NS_C" curl -s -o /dev/null -A rustnet-fixture/1.0 --resolve www.example.test:80:10.77.0.2 "$URL$p"
done
ip netns exec "$NS_C" ping -c 2 -i 0.2 10.77.0.2 >/dev/null
sleep 1
kill -TERM "$CAP_PID"; wait "$CAP_PID" 2>/dev/null || true
CAP_PID=

cp "$T/$NAME.pcap" "$OUT/$NAME.pcap"
"$PY" "$TRUTH" -o "$OUT" "$OUT/$NAME.pcap"
{
    echo "$NAME.pcap ($(date -u +%F)):"
    uname -sr
    curl --version | head -1
    tcpdump --version 2>&1 | head -1
    tshark --version | head -1
    "$PY" --version
} > "$OUT/VERSIONS-vxlan.txt"
echo "wrote $OUT/$NAME.pcap"
