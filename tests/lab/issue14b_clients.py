#!/usr/bin/env python3
"""Clients for the issue 14b fixtures (run inside the client namespace).

    issue14b_clients.py dhcp IFACE   DHCP DISCOVER then REQUEST (to dnsmasq)
    issue14b_clients.py mdns         one mDNS query
    issue14b_clients.py llmnr        one LLMNR query

What they send is fixed here and recorded in tests/fixtures/expected.json.
"""
import socket, struct, sys, time

HOSTNAME = b"rn-fixture-host"
VENDOR = b"rustnet-fixture/1.0"
WANT = "10.77.0.150"
MAC = bytes.fromhex("02aabbccdd01")


def dhcp(kind, xid, server=None):
    msg = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000, bytes(4), bytes(4), bytes(4),
                      bytes(4), MAC + bytes(10), bytes(64), bytes(128))
    opts = bytes([53, 1, kind]) + bytes([12, len(HOSTNAME)]) + HOSTNAME + bytes([60, len(VENDOR)]) + VENDOR
    opts += bytes([50, 4]) + socket.inet_aton(WANT)
    if server:
        opts += bytes([54, 4]) + socket.inet_aton(server)
    return msg + b"\x63\x82\x53\x63" + opts + b"\xff"


def run_dhcp(iface):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
    s.bind(("0.0.0.0", 68))
    s.settimeout(5)
    s.sendto(dhcp(1, 0x14b14b14), ("255.255.255.255", 67))
    offer, _ = s.recvfrom(2048)
    server = socket.inet_ntoa(offer[20:24]) if offer[20:24] != bytes(4) else "10.77.0.2"
    s.sendto(dhcp(3, 0x14b14b14, server), ("255.255.255.255", 67))
    s.recvfrom(2048)


def query(name, qtype):
    q = struct.pack("!HHHHHH", 0, 0, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack("!HH", qtype, 1)


def send(group, port, payload, sport):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    # The lab namespace has no multicast route: name the interface by its address.
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("10.77.0.1"))
    s.bind(("0.0.0.0", sport))
    s.sendto(payload, (group, port))
    time.sleep(0.2)


if __name__ == "__main__":
    if sys.argv[1] == "dhcp":
        run_dhcp(sys.argv[2])
    elif sys.argv[1] == "mdns":
        send("224.0.0.251", 5353, query("rn-fixture-printer._ipp._tcp.local", 16), 5353)
    elif sys.argv[1] == "llmnr":
        send("224.0.0.252", 5355, query("rn-fixture-llmnr", 1), 41414)
