#!/usr/bin/env python3
"""Clients for tests/lab/make_frag_fixtures.sh (issue 19 item 2).

  frag_clients.py mdns ADDR   one mDNS query (udp/5353) with 40 PTR questions,
                              about 2.3 KB: more than one IPv6 packet on a
                              1500-byte link, so the kernel sends fragments.
The names are fixed: svc00-...-padding.example.local .. svc39-....
"""
import socket
import struct
import sys

LABEL = "fragmented-mdns-question-padding-label"


def names():
    return ["svc%02d-%s.example.local" % (i, LABEL) for i in range(40)]


def mdns_query():
    out = struct.pack("!HHHHHH", 0, 0, len(names()), 0, 0, 0)
    for n in names():
        for label in n.split("."):
            out += bytes([len(label)]) + label.encode()
        out += b"\x00" + struct.pack("!HH", 12, 1)  # PTR, IN
    return out


def main():
    if len(sys.argv) != 3 or sys.argv[1] != "mdns":
        sys.exit(__doc__)
    addr = sys.argv[2]
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::", 5353))
    s.sendto(mdns_query(), (addr, 5353))
    s.close()


if __name__ == "__main__":
    main()
