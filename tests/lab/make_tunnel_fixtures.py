#!/usr/bin/env python3
"""Write the tunnel and PPP fixtures (issue 19) by wrapping real traffic.

  tests/lab/make_tunnel_fixtures.py [FIXTURES_DIR]   (default tests/fixtures)

The kernel of the lab machine has no GRE, VXLAN, Geneve or PPP modules
(`ip link add ... type gre` fails with "Unknown device type"), and Linux
cannot make GTP-U, Teredo relays or ERSPAN without extra daemons or
switches; so the inner traffic is taken from the fixtures recorded from real
programs (curl, dig, nginx, dnsmasq: see README.md) and each frame is wrapped
here in the outer headers a tunnel endpoint would add, byte for byte as the
RFCs give them, keeping every timestamp; the first 8 frames of each also
become a seed of the packet fuzz target (fuzz/corpus/packet/). Then run
make_truth.py on the outputs for tshark's view:

  python3 /work/shared/pcaps/make_truth.py -o tests/fixtures tests/fixtures/<name>.pcap

Outer addresses: 192.0.2.1 (client side) and 192.0.2.2, or 2001:db8::1/::2
(documentation ranges). The client's packets are those from 10.77.0.1 or
fd77::1, as recorded.
"""
import hashlib
import os
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from pcaplib import csum, pcap_header, pcap_record  # noqa: E402

CLIENT_V4 = bytes([10, 77, 0, 1])
CLIENT_V6 = bytes.fromhex("fd770000000000000000000000000001")
OUT_V4 = (bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]))
OUT_V6 = (bytes.fromhex("20010db8000000000000000000000001"), bytes.fromhex("20010db8000000000000000000000002"))
MAC = (bytes.fromhex("020000000001"), bytes.fromhex("020000000002"))


def read_pcap(path):
    """(ts_sec, ts_usec, frame) of a little-endian µs pcap with Ethernet frames."""
    d = open(path, "rb").read()
    magic, _, _, _, _, snap, link = struct.unpack("<IHHiIII", d[:24])
    assert magic == 0xA1B2C3D4 and link == 1, path
    at, out = 24, []
    while at + 16 <= len(d):
        sec, usec, incl, orig = struct.unpack("<IIII", d[at:at + 16])
        assert incl == orig, "%s: snapped frame" % path
        out.append((sec, usec, d[at + 16:at + 16 + incl]))
        at += 16 + incl
    return out


def write_pcap(path, link, frames):
    with open(path, "wb") as f:
        f.write(pcap_header(link, 262144))
        for sec, usec, frame in frames:
            f.write(pcap_record(sec, usec, frame))


def from_client(eth):
    """Whether the recorded frame was sent by the client namespace."""
    et = eth[12:14]
    if et == b"\x08\x00":
        return eth[26:30] == CLIENT_V4
    if et == b"\x86\xdd":
        return eth[22:38] == CLIENT_V6
    if et == b"\x08\x06":
        return eth[28:32] == CLIENT_V4
    return eth[6:12] < eth[0:6]


def ipv4(src, dst, proto, payload, ident):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000, 64, proto, 0, src, dst)
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


def ipv6(src, dst, proto, payload):
    return struct.pack("!IHBB", 0x60000000, len(payload), proto, 64) + src + dst + payload


def udp(sport, dport, payload):
    # Checksum 0 (none), allowed over IPv4.
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def ether(up, ethertype, payload):
    dst, src = (MAC[1], MAC[0]) if up else (MAC[0], MAC[1])
    return dst + src + struct.pack("!H", ethertype) + payload


def over_v4(up, proto, payload, n):
    src, dst = OUT_V4 if up else OUT_V4[::-1]
    return ether(up, 0x0800, ipv4(src, dst, proto, payload, n))


def over_v6(up, proto, payload):
    src, dst = OUT_V6 if up else OUT_V6[::-1]
    return ether(up, 0x86DD, ipv6(src, dst, proto, payload))


def ip_only(frames):
    """The IP packets of Ethernet frames (GRE-IP, GTP-U, PPP carry no ARP)."""
    return [(s, u, e) for s, u, e in frames if e[12:14] in (b"\x08\x00", b"\x86\xdd")]


# ------------------------------------------------------------------ tunnels
def gre_ip(frames):
    """GRE (RFC 2784/2890) with key and sequence number, protocol IPv4/IPv6."""
    out = []
    for n, (s, u, e) in enumerate(ip_only(frames)):
        up = from_client(e)
        gre = struct.pack("!HHII", 0x3000, struct.unpack("!H", e[12:14])[0], 0x1234, n) + e[14:]
        out.append((s, u, over_v4(up, 47, gre, n)))
    return out


def gretap_v6(frames):
    """GRE transparent Ethernet bridging (0x6558) over IPv6, with checksum."""
    out = []
    for s, u, e in frames:
        body = e
        c = csum(struct.pack("!HHHH", 0x8000, 0x6558, 0, 0) + body)
        gre = struct.pack("!HHHH", 0x8000, 0x6558, c, 0) + body
        out.append((s, u, over_v6(from_client(e), 47, gre)))
    return out


def erspan2(frames):
    """ERSPAN type II: GRE with S bit, 0x88be, 8-byte header (ver 1, session 42)."""
    out = []
    for n, (s, u, e) in enumerate(frames):
        hdr = struct.pack("!HHI", 0x1000 | 7, 42, 3)  # ver 1, vlan 7; session 42; index 3
        gre = struct.pack("!HHI", 0x1000, 0x88BE, n) + hdr + e
        out.append((s, u, over_v4(from_client(e), 47, gre, n)))
    return out


def erspan3(frames):
    """ERSPAN type III: 0x22eb, 12-byte header, the 8-byte platform
    subheader (O flag) on every other frame; frame type 0 (Ethernet)."""
    out = []
    for n, (s, u, e) in enumerate(frames):
        sub = n % 2 == 1
        word3 = (0 << 16) | (0 << 15) | (0 << 10) | (5 << 4) | (0 << 3) | (3 << 1) | int(sub)
        hdr = struct.pack("!HHII", 0x2000, 17, (s * 1000000 + u) & 0xFFFFFFFF, word3)
        if sub:
            hdr += struct.pack("!II", 3 << 26, 0)
        gre = struct.pack("!HHI", 0x1000, 0x22EB, n) + hdr + e
        out.append((s, u, over_v4(from_client(e), 47, gre, n)))
    return out


def flow_port(e):
    """A source port from a hash of the inner flow (the same both ways), as
    VXLAN/Geneve endpoints pick it."""
    return 49152 + (sum(e[26:38]) * 131) % 16000


def vxlan(frames):
    """VXLAN (RFC 7348), VNI 100, to udp/4789."""
    out = []
    for n, (s, u, e) in enumerate(frames):
        body = struct.pack("!II", 0x08000000, 100 << 8) + e
        out.append((s, u, over_v4(from_client(e), 17, udp(flow_port(e), 4789, body), n)))
    return out


def geneve(frames):
    """Geneve (RFC 8926), VNI 200, one 8-byte option, protocol 0x6558."""
    out = []
    for n, (s, u, e) in enumerate(frames):
        opt = struct.pack("!HBBI", 0x0102, 0x80, 1, 0xC0FFEE)
        body = struct.pack("!BBHI", len(opt) // 4, 0, 0x6558, 200 << 8) + opt + e
        out.append((s, u, over_v4(from_client(e), 17, udp(flow_port(e), 6081, body), n)))
    return out


def gtp_u(frames):
    """GTP-U v1 G-PDUs (TEID per direction); every other one carries a PDU
    session container extension header (5G, type 0x85); first an echo
    request/response pair (signalling, no inner packet)."""
    out = []
    ip = ip_only(frames)
    s0, u0, _ = ip[0]
    for up, typ in ((True, 1), (False, 2)):
        body = struct.pack("!BBHIHBB", 0x32, typ, 4, 0, 1, 0, 0)
        out.append((s0, u0, over_v4(up, 17, udp(2152, 2152, body), len(out))))
    for n, (s, u, e) in enumerate(ip):
        up = from_client(e)
        pdu = e[14:]
        teid = 0x100 if up else 0x200
        if n % 2:
            ext = struct.pack("!BBBB", 1, 0x10 if up else 0x00, 9, 0)  # len 1 word, QFI 9, next 0
            body = struct.pack("!BBHIHBB", 0x34, 0xFF, 4 + len(ext) + len(pdu), teid, 0, 0, 0x85) + ext + pdu
        else:
            body = struct.pack("!BBHI", 0x30, 0xFF, len(pdu), teid) + pdu
        out.append((s, u, over_v4(up, 17, udp(2152, 2152, body), len(out))))
    return out


def teredo(frames):
    """Teredo (RFC 4380): IPv6 in UDP between a client (198.51.100.7:40001)
    and a relay on udp/3544; the relay's packets start with an origin
    indication."""
    client, relay = bytes([198, 51, 100, 7]), bytes([192, 0, 2, 9])
    out = []
    for n, (s, u, e) in enumerate(frames):
        if e[12:14] != b"\x86\xdd":
            continue
        up = from_client(e)
        if up:
            dgram = udp(40001, 3544, e[14:])
            ip4 = ipv4(client, relay, 17, dgram, n)
        else:
            origin = struct.pack("!HH4s", 0, 40001 ^ 0xFFFF, bytes(b ^ 0xFF for b in relay))
            dgram = udp(3544, 40001, origin + e[14:])
            ip4 = ipv4(relay, client, 17, dgram, n)
        out.append((s, u, ether(up, 0x0800, ip4)))
    return out


def nested(frames):
    """Two levels: VXLAN frames (as vxlan() writes them) inside GRE
    transparent Ethernet bridging over IPv6."""
    return gretap_v6(vxlan(frames))


# ------------------------------------------------------------------ PPP
def ppp_pfc(frames):
    """LINKTYPE_PPP with protocol-field compression (one-byte 0x21/0x57):
    the client's frames keep the ff 03 address/control bytes, the server's
    leave them out (ACFC); first an LCP Configure-Request (not IP)."""
    out = []
    s0, u0, _ = frames[0]
    # Code 1, id 1, length 8, option MRU (1) = 1492.
    out.append((s0, u0, b"\xff\x03\xc0\x21" + bytes([1, 1, 0, 8, 1, 4, 0x05, 0xD4])))
    for s, u, e in ip_only(frames):
        proto = b"\x21" if e[12:14] == b"\x08\x00" else b"\x57"
        out.append((s, u, (b"\xff\x03" if from_client(e) else b"") + proto + e[14:]))
    return out


def pppoe_pfc(frames):
    """PPPoE session frames (0x8864, session 0x1234) with a one-byte PPP protocol."""
    out = []
    for s, u, e in ip_only(frames):
        proto = b"\x21" if e[12:14] == b"\x08\x00" else b"\x57"
        ppp = proto + e[14:]
        pppoe = struct.pack("!BBHH", 0x11, 0, 0x1234, len(ppp)) + ppp
        out.append((s, u, ether(from_client(e), 0x8864, pppoe)))
    return out


# name: (source fixture, wrapper, link type)
FIXTURES = {
    "gre_http": ("http_curl", gre_ip, 1),
    "gretap_v6_dns": ("dns_udp", gretap_v6, 1),
    "erspan2_tls13": ("tls13_curl", erspan2, 1),
    "erspan3_dns_tcp": ("dns_tcp", erspan3, 1),
    "vxlan_http": ("http_curl", vxlan, 1),
    "geneve_tls12": ("tls12_curl", geneve, 1),
    "gtpu_dns": ("dns_udp", gtp_u, 1),
    "teredo_ipv6": ("mixed_ipv6", teredo, 1),
    "nested_gre_vxlan_dns": ("dns_udp", nested, 1),
    "ppp_pfc_http": ("http_curl", ppp_pfc, 9),
    "pppoe_pfc_ipv6": ("mixed_ipv6", pppoe_pfc, 1),
}


def fuzz_seed(link, frames):
    """A seed of the packet fuzz target: the link type's index in
    fuzzing::LINK_NUMBERS, then each frame after its 2-byte length."""
    out = bytes([{1: 1, 9: 2}[link]])
    for _, _, f in frames:
        out += struct.pack("!H", len(f)) + f
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "fixtures")
    seeds = os.path.join(here, "..", "..", "fuzz", "corpus", "packet")
    for name, (src, wrap, link) in FIXTURES.items():
        frames = read_pcap(os.path.join(d, src + ".pcap"))
        out = wrap(frames)
        write_pcap(os.path.join(d, name + ".pcap"), link, out)
        print("%s.pcap: %d frames from %s.pcap (%s)" % (name, len(out), src, wrap.__name__))
        # The first 8 frames of each also seed the packet fuzz target.
        seed = fuzz_seed(link, out[:8])
        with open(os.path.join(seeds, hashlib.sha1(seed).hexdigest()[:16]), "wb") as f:
            f.write(seed)


if __name__ == "__main__":
    main()
