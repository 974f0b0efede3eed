#!/usr/bin/env bash
# Issue 19 item 2: captures of IP-fragmented application data, made by real
# programs between three network namespaces, with tshark's truth beside them.
#
#   sudo tests/lab/make_frag_fixtures.sh [OUTDIR]   (default tests/fixtures)
#
#   rf-cli  rf-c0 10.78.1.1/24 fd78:1::1/64  MTU 1500, IPv4 path MTU discovery off
#     |                                       (net.ipv4.ip_no_pmtu_disc=1: DF clear)
#   rf-rtr  rf-r0 10.78.1.2/24 fd78:1::2/64  MTU 1500; forwards IPv4
#           rf-r1 10.78.2.1/24               MTU 576
#     |
#   rf-srv  rf-s0 10.78.2.2/24               MTU 576, but its route back advertises
#                                             MSS 1460, so the client sends
#                                             1500-byte segments the router must
#                                             fragment
#
# frag_v4.pcap (captured on rf-s0, the server's side):
#   - curl HTTP requests to python's http.server (HEAD, so every answer fits
#     576 bytes) with a 700-byte X-Pad header before Host: the router splits
#     each request into two fragments and Host is in the second;
#   - dig TXT to dnsmasq whose answer is about 2 KB: the server fragments it.
# frag_v6.pcap (captured on rf-c0, the client's side):
#   - dig -6 TXT to a dnsmasq in rf-rtr: a 2 KB answer in IPv6 fragments;
#   - tests/lab/frag_clients.py mdns: one mDNS query of 40 questions (about
#     2.3 KB) to [fd78:1::2]:5353, in IPv6 fragments from the client.
# Needs root, ip, ethtool, tcpdump, tshark, dnsmasq, curl, dig, python3.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="${1:-$HERE/../fixtures}"
TRUTH="${MAKE_TRUTH:-/work/shared/pcaps/make_truth.py}"
T="$(mktemp -d)"
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for ns in rf-cli rf-rtr rf-srv; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT

quiet_link() { # ns ifc: offloads off (wire-sized packets), no router solicitations
    ip netns exec "$1" ethtool -K "$2" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
    ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.accept_ra=0" 2>/dev/null || true
}

for ns in rf-cli rf-rtr rf-srv; do
    ip netns del "$ns" 2>/dev/null || true
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 2>/dev/null || true
done
ip link add rf-c0 type veth peer name rf-r0
ip link add rf-r1 type veth peer name rf-s0
ip link set rf-c0 netns rf-cli
ip link set rf-r0 netns rf-rtr
ip link set rf-r1 netns rf-rtr
ip link set rf-s0 netns rf-srv
ip -n rf-rtr link set rf-r1 mtu 576
ip -n rf-srv link set rf-s0 mtu 576
ip -n rf-cli addr add 10.78.1.1/24 dev rf-c0
ip -n rf-cli -6 addr add fd78:1::1/64 dev rf-c0 nodad
ip -n rf-rtr addr add 10.78.1.2/24 dev rf-r0
ip -n rf-rtr -6 addr add fd78:1::2/64 dev rf-r0 nodad
ip -n rf-rtr addr add 10.78.2.1/24 dev rf-r1
ip -n rf-srv addr add 10.78.2.2/24 dev rf-s0
for x in "rf-cli rf-c0" "rf-rtr rf-r0" "rf-rtr rf-r1" "rf-srv rf-s0"; do
    set -- $x
    quiet_link "$1" "$2"
    ip -n "$1" link set "$2" up
done
ip netns exec rf-rtr sysctl -qw net.ipv4.ip_forward=1
ip netns exec rf-cli sysctl -qw net.ipv4.ip_no_pmtu_disc=1
ip -n rf-cli route add default via 10.78.1.2
ip -n rf-srv route add 10.78.1.0/24 via 10.78.2.1 advmss 1460

# Servers. A TXT record of 8 strings of 250 bytes: an answer of about 2 KB.
S=$(printf 'x%.0s' $(seq 250))
TXT="big.example.test"
for i in 1 2 3 4 5 6 7 8; do TXT="$TXT,\"$i$S\""; done
dns() { # ns address pidfile
    ip netns exec "$1" dnsmasq --no-resolv --no-hosts --no-daemon --port 53 \
        --bind-interfaces --listen-address="$2" --except-interface=lo \
        --local=/example.test/ --edns-packet-max=4096 --txt-record="$TXT" --pid-file="$3" >/dev/null 2>&1 &
    PIDS+=($!)
}
dns rf-srv 10.78.2.2 "$T/d4.pid"
dns rf-rtr fd78:1::2 "$T/d6.pid"
mkdir -p "$T/www"
echo ok >"$T/www/index.html"
(cd "$T/www" && exec ip netns exec rf-srv python3 -m http.server 80 --bind 10.78.2.2 >/dev/null 2>&1) &
PIDS+=($!)
sleep 1.5

capture() { # ns ifc name, then the clients as a function
    local ns=$1 ifc=$2 name=$3
    shift 3
    ip netns exec "$ns" tcpdump -i "$ifc" -U -s 0 -w "$T/$name.pcap" 2>"$T/$name.log" &
    local tp=$!
    sleep 1
    "$@"
    sleep 1
    kill -TERM "$tp"
    wait "$tp" || true
    grep -E "captured|received by filter" "$T/$name.log" || true
    cp "$T/$name.pcap" "$OUT/$name.pcap"
    python3 "$TRUTH" -o "$OUT" "$OUT/$name.pcap"
}

PAD=$(printf 'p%.0s' $(seq 700))
clients_v4() {
    for path in / /two; do
        ip netns exec rf-cli curl -sS -I -o /dev/null -A "rustnet-fixture/1.0" \
            -H "X-Pad: $PAD" -H "Host: frag.example.test" "http://10.78.2.2$path"
    done
    ip netns exec rf-cli dig +bufsize=4096 +ignore +tries=1 +time=2 @10.78.2.2 big.example.test TXT >/dev/null
}
clients_v6() {
    ip netns exec rf-cli dig -6 +bufsize=4096 +ignore +tries=1 +time=2 @fd78:1::2 big.example.test TXT >/dev/null
    ip netns exec rf-cli python3 "$HERE/frag_clients.py" mdns fd78:1::2
}
capture rf-srv rf-s0 frag_v4 clients_v4
capture rf-cli rf-c0 frag_v6 clients_v6
