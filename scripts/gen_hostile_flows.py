#!/usr/bin/env python3
"""Writes a pcap that tries to blind DPI (issue 20, item 1), Python standard library only.

    scripts/gen_hostile_flows.py OUT.pcap [--flows N] [--per-second R] [--legit K]

N hostile TCP flows to port 443 (default 100 000), R new flows per second of
capture time (default 1000). Each hostile flow does a full handshake (SYN,
SYN-ACK, ACK) and then sends ONE payload byte one byte past the start of its
stream, so the byte is out of order and a reassembler has to hold it while it
waits for the hole. Then flow i ends by i % 3: 0 RST, 1 FIN, 2 left open.

K legitimate TLS connections (default 5) are interleaved with the second half
of the hostile flows (the last one after all of them). Each is the real TLS 1.3
conversation of tests/fixtures/tls13_curl.pcap (curl -k --tlsv1.3 against
nginx: 19 packets, ClientHello in one segment) replayed on its own addresses
and ports, its SNI `secure.example.test` replaced by `legit-K.example.com`
(same length, so no other byte of the conversation moves). The names are
printed one per line on stdout.
"""

import argparse
import struct
import sys
from pathlib import Path

from pcaplib import pcap_header, pcap_record

FIXTURE = Path(__file__).resolve().parent.parent / "tests/fixtures/tls13_curl.pcap"
FIXTURE_SNI = b"secure.example.test"
START = 1_700_000_000  # capture time of the first packet, seconds
SERVER = bytes([10, 99, 0, 1])
LEGIT_SERVER = bytes([10, 98, 0, 1])
SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10
MAC = bytes([2, 0, 0, 0, 0, 1]) + bytes([2, 0, 0, 0, 0, 2])


def legit_sni(k):
    name = f"legit-{k}.example.com".encode()
    assert len(name) == len(FIXTURE_SNI), "same length keeps every length field of the ClientHello"
    return name


def checksum(data):
    """RFC 1071 checksum as the 2 bytes to store. Summed in native byte order,
    which gives the same bytes (RFC 1071, section 2(B)) and is faster."""
    if len(data) % 2:
        data += b"\0"
    s = sum(memoryview(data).cast("H"))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return struct.pack("=H", ~s & 0xFFFF)


def frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    """Ethernet + IPv4 + TCP with correct checksums."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 64240, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
    tcp = tcp[:16] + checksum(pseudo + tcp + payload) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + checksum(ip) + ip[12:]
    return MAC + b"\x08\x00" + ip + tcp + payload


def read_fixture():
    """The fixture's TCP segments as (from_client, flags, seq - isn, ack - peer isn, payload, µs from start)."""
    data = FIXTURE.read_bytes()
    if struct.unpack("<I", data[:4])[0] != 0xA1B2C3D4:
        sys.exit(f"{FIXTURE}: not a little-endian microsecond pcap")
    off, segs, first = 24, [], None
    while off + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack("<IIII", data[off : off + 16])
        f = data[off + 16 : off + 16 + incl]
        off += 16 + incl
        t = sec * 1_000_000 + usec
        first = t if first is None else first
        ihl = (f[14] & 15) * 4
        tcp = f[14 + ihl :]
        sport, _, seq, ack, doff, flags = struct.unpack("!HHIIBB", tcp[:14])
        segs.append([sport != 443, flags, seq, ack, tcp[(doff >> 4) * 4 :], t - first])
    isn = {True: segs[0][2], False: segs[1][2]}
    for s in segs:
        s[2] = (s[2] - isn[s[0]]) & 0xFFFFFFFF
        s[3] = (s[3] - isn[not s[0]]) & 0xFFFFFFFF if s[1] & ACK else 0
    if sum(s[4].count(FIXTURE_SNI) for s in segs) != 1:
        sys.exit(f"{FIXTURE}: expected the SNI {FIXTURE_SNI!r} once")
    return segs


class Writer:
    def __init__(self, path):
        self.out = open(path, "wb")
        self.out.write(pcap_header())

    def packet(self, us, f):
        self.out.write(pcap_record(us // 1_000_000, us % 1_000_000, f))


def hostile(w, i, us):
    """Flow i: handshake, one byte out of order, then RST, FIN or nothing."""
    src = bytes([10, 1 + (i >> 16), (i >> 8) & 255, i & 255])
    sport = 20_000 + i % 40_000
    cisn, sisn = (i * 2_654_435_761) & 0xFFFFFFFF, (i * 40_503 + 7) & 0xFFFFFFFF
    w.packet(us, frame(src, SERVER, sport, 443, cisn, 0, SYN))
    w.packet(us + 10, frame(SERVER, src, 443, sport, sisn, cisn + 1, SYN | ACK))
    w.packet(us + 20, frame(src, SERVER, sport, 443, cisn + 1, sisn + 1, ACK))
    # Byte 2 of the stream; byte 1 never comes.
    w.packet(us + 30, frame(src, SERVER, sport, 443, cisn + 2, sisn + 1, PSH | ACK, b"\x16"))
    end = i % 3
    if end == 0:
        w.packet(us + 40, frame(src, SERVER, sport, 443, cisn + 3, sisn + 1, RST | ACK))
    elif end == 1:
        w.packet(us + 40, frame(src, SERVER, sport, 443, cisn + 3, sisn + 1, FIN | ACK))


def legit(w, k, us, segs):
    """The fixture's conversation as client 10.2.0.k:50000+k, SNI legit-k.example.com."""
    client, sport = bytes([10, 2, 0, k]), 50_000 + k
    cisn, sisn = 1_000_000 * k, 2_000_000 * k
    for from_client, flags, seq, ack, payload, dt in segs:
        payload = payload.replace(FIXTURE_SNI, legit_sni(k))
        if from_client:
            f = frame(client, LEGIT_SERVER, sport, 443, cisn + seq, sisn + ack, flags, payload)
        else:
            f = frame(LEGIT_SERVER, client, 443, sport, sisn + seq, cisn + ack, flags, payload)
        w.packet(us + dt, f)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--flows", type=int, default=100_000)
    p.add_argument("--per-second", type=int, default=1000)
    p.add_argument("--legit", type=int, default=5)
    a = p.parse_args()
    if not (0 < a.flows <= 1 << 22 and 0 < a.per_second <= 20_000 and 0 <= a.legit <= 200):
        sys.exit("flows 1..4194304, per-second 1..20000, legit 0..200")
    segs = read_fixture()
    w = Writer(a.out)
    gap = 1_000_000 // a.per_second  # µs between hostile flows
    # Legitimate connection k starts after hostile flow at[k]: spread over the second half, the last at the end.
    at = {a.flows // 2 + (a.flows - a.flows // 2) * k // a.legit - 1: k for k in range(1, a.legit + 1)}
    us = START * 1_000_000
    for i in range(a.flows):
        # Hostile packets of one flow span 40 µs: keep flows apart so the file stays in time order.
        hostile(w, i, us)
        us += max(gap, 50)
        if i in at:
            legit(w, at[i], us, segs)
            us += segs[-1][5] + 500
    w.out.close()
    for k in range(1, a.legit + 1):
        print(legit_sni(k).decode())


if __name__ == "__main__":
    main()
