#!/usr/bin/env python3
"""Hostile traffic for scripts/soak.sh, written as raw Ethernet frames on a
lab interface (AF_PACKET; standard library only). Two kinds, chosen by the
first argument:

  syn IFACE DST_MAC DST_IP RATE SECONDS
      a SYN flood: every SYN from its own source port (and source address
      10.77.1.x, which no host has, so nothing answers and every flow stays
      half open in rustnet's table).
  hostile IFACE DST_MAC DST_IP RATE SECONDS
      tiny TCP flows to port 443, each a SYN and one payload byte sent one
      byte ahead of where the stream starts (out of order), never completed:
      the traffic that used to exhaust the DPI reassembly budget.

Rates are frames per second (best effort). Prints how many frames it sent.
"""
import socket
import struct
import sys
import time

from pcaplib import csum


def frame(dst_mac, src_mac, src, dst, sport, dport, seq, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 64240, 0, 0) + payload
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + tcp


def main():
    kind, iface, dst_mac, dst, rate, seconds = sys.argv[1:7]
    rate, seconds = float(rate), float(seconds)
    dst_mac = bytes.fromhex(dst_mac.replace(":", ""))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    src_mac = s.getsockname()[4][:6]
    sent, n, start = 0, 0, time.monotonic()
    while time.monotonic() - start < seconds:
        n += 1
        src = "10.77.%d.%d" % (1 + (n >> 16) % 200, 1 + (n >> 8) % 250)
        sport = 1024 + n % 60000
        isn = (n * 2654435761) & 0xFFFFFFFF
        if kind == "syn":
            frames = [frame(dst_mac, src_mac, src, dst, sport, 80, isn, 0x02)]
        else:
            frames = [frame(dst_mac, src_mac, src, dst, sport, 443, isn, 0x02),
                      frame(dst_mac, src_mac, src, dst, sport, 443, (isn + 2) & 0xFFFFFFFF, 0x18, b"\x16")]
        for f in frames:
            s.send(f)
            sent += 1
        ahead = sent / rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
    print("%s: %d frames in %.0f s" % (kind, sent, time.monotonic() - start))


if __name__ == "__main__":
    main()
