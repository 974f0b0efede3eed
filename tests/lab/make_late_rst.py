#!/usr/bin/env python3
"""Writes tests/fixtures/late_rst.pcap (issue 19 item 6): TCP connections
whose late packets come after the connection closed, by script (a late RST
cannot be timed with real programs). Ethernet, pcap, µs timestamps.

  10.79.0.1:40000 -> 10.79.0.2:80  handshake, 1 request, FIN/FIN/ACK; 20 s
      later the server sends a RST (late); 40 s after that the client opens
      a new connection from the same port (SYN, SYN/ACK, ACK, RST).
  10.79.0.1:40001 -> 10.79.0.2:80  handshake, client RST; 12 s later a
      retransmitted RST; 237 s later the server's late ACK (within the 5
      minutes a closed connection is held back when reading a file).
  10.79.0.1:40002 -> 10.79.0.2:80  handshake, FIN/FIN/ACK; 3 s later a RST
      (still in the table: CLOSED lasts 5 s).
Then: python3 /work/shared/pcaps/make_truth.py -o tests/fixtures tests/fixtures/late_rst.pcap
"""
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from pcaplib import csum, pcap_header, pcap_record  # noqa: E402

CLI, SRV = bytes([10, 79, 0, 1]), bytes([10, 79, 0, 2])
MAC_C, MAC_S = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16


def frame(src, dst, sport, dport, seq, ack, flags, data=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0) + data
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    macs = (MAC_S + MAC_C) if src == CLI else (MAC_C + MAC_S)
    return macs + b"\x08\x00" + ip + tcp


class Conn:
    def __init__(self, out, sport):
        self.out, self.sport, self.c, self.s = out, sport, 1000, 5000

    def send(self, t, from_cli, flags, data=b""):
        if from_cli:
            f = frame(CLI, SRV, self.sport, 80, self.c, self.s if flags & ACK else 0, flags, data)
            self.c += len(data) + (1 if flags & (SYN | FIN) else 0)
        else:
            f = frame(SRV, CLI, 80, self.sport, self.s, self.c if flags & ACK else 0, flags, data)
            self.s += len(data) + (1 if flags & (SYN | FIN) else 0)
        self.out.append((t, f))

    def handshake(self, t):
        self.send(t, True, SYN)
        self.send(t + 0.001, False, SYN | ACK)
        self.send(t + 0.002, True, ACK)


def main():
    out = []
    a = Conn(out, 40000)
    a.handshake(0.0)
    a.send(0.01, True, PSH | ACK, b"GET / HTTP/1.1\r\nHost: late.example.test\r\n\r\n")
    a.send(0.02, False, ACK)
    a.send(0.03, True, FIN | ACK)
    a.send(0.04, False, FIN | ACK)
    a.send(0.05, True, ACK)
    a.send(20.05, False, RST)
    b = Conn(out, 40000)
    b.c, b.s = 90000, 70000
    b.handshake(60.0)
    b.send(60.01, True, RST | ACK)
    c = Conn(out, 40001)
    c.handshake(1.0)
    c.send(1.01, True, RST | ACK)
    c.c -= 0
    c.send(13.01, True, RST | ACK)
    c.send(250.0, False, ACK)
    d = Conn(out, 40002)
    d.handshake(2.0)
    d.send(2.01, True, FIN | ACK)
    d.send(2.02, False, FIN | ACK)
    d.send(2.03, True, ACK)
    d.send(5.03, False, RST)
    out.sort(key=lambda x: x[0])
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/late_rst.pcap"
    with open(path, "wb") as w:
        w.write(pcap_header())
        base = 1_767_225_600  # 2026-01-01T00:00:00Z
        for t, f in out:
            us = round(t * 1e6)
            w.write(pcap_record(base + us // 1_000_000, us % 1_000_000, f))


if __name__ == "__main__":
    main()
