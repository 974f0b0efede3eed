#!/usr/bin/env bash
# Two network namespaces joined by a veth pair, for fixtures and live tests.
#
#   tests/lab/netns.sh up      create (tears down any leftover first)
#   tests/lab/netns.sh down    remove (idempotent, never fails)
#   tests/lab/netns.sh status  show addresses
#
# Layout (default LAB_PREFIX=rn):
#   ${LAB_PREFIX}-cli  : ${LAB_PREFIX}-veth-c  10.77.0.1/24  fd77::1/64
#   ${LAB_PREFIX}-srv  : ${LAB_PREFIX}-veth-s  10.77.0.2/24  fd77::2/64
# lo is up in both namespaces; IPv6 addresses use nodad so they work at once.
#
# Environment:
#   LAB_PREFIX  name prefix (default "rn"); give parallel tests distinct
#               prefixes.  Interface names are limited to 15 characters, so
#               keep the prefix at most 8 characters.
#   LAB_MTU     if set, MTU for both veth ends.  Below 1280 the kernel turns
#               IPv6 off on the link, so no IPv6 addresses are added.
#   LAB_OFFLOADS  "off" (default): disable checksum/TSO/GSO/GRO offloads with
#               ethtool so captures show wire-sized packets; "on": leave them.
#   LAB_V4_CLI LAB_V4_SRV LAB_V6_CLI LAB_V6_SRV   override the addresses
#               (without prefix length; /24 and /64 are used).
#   LAB_MIDDLE  "1": no direct veth pair; instead a third namespace
#               ${LAB_PREFIX}-mid holds ${LAB_PREFIX}-mid-c (peer of -veth-c)
#               and ${LAB_PREFIX}-mid-s (peer of -veth-s), up, promiscuous,
#               no addresses, IPv6 off, so that a userspace program there
#               (tests/lab/impair.py) can carry the frames between the two.
#
# Needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN).
set -euo pipefail

P="${LAB_PREFIX:-rn}"
NS_CLI="${P}-cli"
NS_SRV="${P}-srv"
NS_MID="${P}-mid"
IF_CLI="${P}-veth-c"
IF_SRV="${P}-veth-s"
V4_CLI="${LAB_V4_CLI:-10.77.0.1}"
V4_SRV="${LAB_V4_SRV:-10.77.0.2}"
V6_CLI="${LAB_V6_CLI:-fd77::1}"
V6_SRV="${LAB_V6_SRV:-fd77::2}"

if [ "${#IF_CLI}" -gt 15 ]; then
    echo "netns.sh: LAB_PREFIX '$P' too long (interface name '$IF_CLI' > 15 chars)" >&2
    exit 2
fi

down() {
    # Deleting a namespace removes the veth end inside it, and with it the peer.
    ip netns del "$NS_CLI" 2>/dev/null || true
    ip netns del "$NS_SRV" 2>/dev/null || true
    ip netns del "$NS_MID" 2>/dev/null || true
    # A veth end left in the root namespace by an interrupted `up`.
    ip link del "$IF_CLI" 2>/dev/null || true
    ip link del "$IF_SRV" 2>/dev/null || true
}

setup_end() {
    local ns=$1 ifc=$2 v4=$3 v6=$4
    ip -n "$ns" link set lo up
    # Keep IPv6 on (some hosts disable it by default in new namespaces); no
    # router solicitations (there is no router), which keeps captures quiet.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 2>/dev/null || true
    ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$ifc.disable_ipv6=0" 2>/dev/null || true
    ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$ifc.accept_ra=0" 2>/dev/null || true
    if [ -n "${LAB_MTU:-}" ]; then
        ip -n "$ns" link set "$ifc" mtu "$LAB_MTU"
    fi
    ip -n "$ns" addr add "$v4/24" dev "$ifc"
    # IPv6 needs MTU >= 1280; with a smaller LAB_MTU the veth is IPv4-only.
    if [ -z "${LAB_MTU:-}" ] || [ "$LAB_MTU" -ge 1280 ]; then
        ip -n "$ns" -6 addr add "$v6/64" dev "$ifc" nodad
    fi
    ip -n "$ns" link set "$ifc" up
    # veth does TSO/GSO and checksum offload by default: a capture on it would
    # then show 64 KB "segments" and unfilled checksums.  Turn that off so the
    # packets look like what a real wire carries (LAB_OFFLOADS=on keeps them).
    if [ "${LAB_OFFLOADS:-off}" = off ]; then
        if command -v ethtool >/dev/null; then
            ip netns exec "$ns" ethtool -K "$ifc" tx off rx off tso off gso off gro off >/dev/null 2>&1 ||
                echo "netns.sh: warning: ethtool -K $ifc failed" >&2
        else
            echo "netns.sh: warning: ethtool missing; offloads stay on (giant segments in captures)" >&2
        fi
    fi
}

up() {
    down
    ip netns add "$NS_CLI"
    ip netns add "$NS_SRV"
    if [ "${LAB_MIDDLE:-0}" = 1 ]; then
        ip netns add "$NS_MID"
        # No IPv6 on the middle links: no link-local address, so the middle
        # namespace sends nothing of its own (no MLD, no solicitations).
        ip netns exec "$NS_MID" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
        ip netns exec "$NS_MID" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
        ip link add "$IF_CLI" netns "$NS_CLI" type veth peer name "${P}-mid-c" netns "$NS_MID"
        ip link add "$IF_SRV" netns "$NS_SRV" type veth peer name "${P}-mid-s" netns "$NS_MID"
        local m
        for m in "${P}-mid-c" "${P}-mid-s"; do
            ip -n "$NS_MID" link set "$m" promisc on up
            ip netns exec "$NS_MID" ethtool -K "$m" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
        done
    else
        ip link add "$IF_CLI" type veth peer name "$IF_SRV"
        ip link set "$IF_CLI" netns "$NS_CLI"
        ip link set "$IF_SRV" netns "$NS_SRV"
    fi
    setup_end "$NS_CLI" "$IF_CLI" "$V4_CLI" "$V6_CLI"
    setup_end "$NS_SRV" "$IF_SRV" "$V4_SRV" "$V6_SRV"
    echo "lab up: $NS_CLI($IF_CLI $V4_CLI $V6_CLI) <-> $NS_SRV($IF_SRV $V4_SRV $V6_SRV)${LAB_MTU:+ mtu $LAB_MTU}"
}

status() {
    for ns in "$NS_CLI" "$NS_SRV" ${LAB_MIDDLE:+"$NS_MID"}; do
        echo "== $ns"
        ip -n "$ns" -br addr 2>/dev/null || echo "(absent)"
    done
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|down|status   (env: LAB_PREFIX LAB_MTU)" >&2; exit 2 ;;
esac
