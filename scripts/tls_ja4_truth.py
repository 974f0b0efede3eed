#!/usr/bin/env python3
"""JA4 of every TLS ClientHello over TCP in the corpus, computed here (an
independent implementation of FoxIO's JA4 spec, in Python) from the fields
tshark 4.0 dissects (it has no JA4 of its own): the truth for
tests/corpus_tls_server.rs.

    scripts/tls_ja4_truth.py [CORPUS_DIR] > tests/corpus_tls_ja4.json
"""
import hashlib, json, sys

import tshark_corpus

grease = lambda v: v & 0x0F0F == 0x0A0A
VERSIONS = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3", 0x0200: "s2", 0x0100: "s1"}


def h12(s):
    return hashlib.sha256(s.encode()).hexdigest()[:12] if s else "000000000000"


def ja4(hs):
    """JA4 of one ClientHello: `hs` is tshark's tls.handshake element."""
    kids = lambda e, n: [f for f in e.iter("field") if f.get("name") == n]
    version = int(kids(hs, "tls.handshake.version")[0].get("show"), 16)
    ciphers = [int(f.get("show"), 16) for f in kids(hs, "tls.handshake.ciphersuite")]
    ciphers = [c for c in ciphers if not grease(c)]
    exts, sni, alpn, sigs = [], False, b"", []
    for e in hs.iter("field"):
        t = [c for c in e if c.get("name") == "tls.handshake.extension.type"]
        if not t:
            continue
        typ = int(t[0].get("show"))
        if grease(typ):
            continue
        exts.append(typ)
        if typ == 0:
            sni = True
        elif typ == 16:
            a = kids(e, "tls.handshake.extensions_alpn_str")
            alpn = bytes.fromhex(a[0].get("value")) if a else b""
        elif typ == 13:
            sigs = [int(f.get("value"), 16) for f in kids(e, "tls.handshake.sig_hash_alg")]
            sigs = [s for s in sigs if not grease(s)]
        elif typ == 43:
            vs = [int(f.get("show"), 16) for f in kids(e, "tls.handshake.extensions.supported_version")]
            vs = [v for v in vs if not grease(v)]
            if vs:
                version = max(vs)
    if not alpn:
        a = "00"
    elif chr(alpn[0]).isalnum() and chr(alpn[-1]).isalnum() and alpn[0] < 128 and alpn[-1] < 128:
        a = chr(alpn[0]) + chr(alpn[-1])
    else:
        x = alpn.hex()
        a = x[0] + x[-1]
    head = "t%s%s%02d%02d%s" % (VERSIONS.get(version, "00"), "d" if sni else "i", min(len(ciphers), 99),
                                min(len(exts), 99), a)
    c = ",".join("%04x" % v for v in sorted(ciphers))
    e = ",".join("%04x" % v for v in sorted(x for x in exts if x not in (0, 16)))
    if sigs:
        e += "_" + ",".join("%04x" % v for v in sigs)
    return "%s_%s_%s" % (head, h12(c), h12(e) if exts else "000000000000")


out = []
for capture, pkt in tshark_corpus.packets("tcp && tls.handshake.type == 1"):
    f = {}
    for field in pkt.iter("field"):
        if field.get("name") in ("ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport"):
            f[field.get("name")] = field.get("show")
    six = "ipv6.src" in f
    for hs in pkt.iter("field"):
        if hs.get("name") != "tls.handshake":
            continue
        t = [c for c in hs if c.get("name") == "tls.handshake.type"]
        if not t or t[0].get("show") != "1":
            continue
        out.append({
            "file": capture,
            "frame": int(pkt.find("proto[@name='frame']/field[@name='frame.number']").get("show")),
            "client": [f["ipv6.src" if six else "ip.src"], int(f["tcp.srcport"])],
            "server": [f["ipv6.dst" if six else "ip.dst"], int(f["tcp.dstport"])],
            "ja4": ja4(hs),
        })
json.dump(out, sys.stdout, indent=1)
print()
