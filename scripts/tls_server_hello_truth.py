#!/usr/bin/env python3
"""tshark's view of every TLS ServerHello over TCP in the corpus: the truth
for tests/corpus_tls_server.rs (negotiated version and cipher suite).

    scripts/tls_server_hello_truth.py [CORPUS_DIR] > tests/corpus_tls_server_hello.json

Needs tshark (4.0 made the committed file). One entry per ServerHello:
file, server and client endpoints, the negotiated version (supported_versions
when present, else the legacy field) and the cipher suite as tshark names it.
"""
import json, re, sys

import tshark_corpus

out = []
for capture, pkt in tshark_corpus.packets("tcp && tls.handshake.type == 2"):
    f = {}
    for field in pkt.iter("field"):
        name = field.get("name")
        if name in ("ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport",
                    "tls.handshake.version", "tls.handshake.extensions.supported_version",
                    "tls.handshake.ciphersuite") and name not in f:
            f[name] = field
        # Addresses: IPv6 when present (6in4 carries IPv6 inside IPv4).
        if name in ("ip.src", "ip.dst", "ipv6.src", "ipv6.dst"):
            f[name] = field
    # (An Element without children is falsy: test for None.)
    pick = lambda a, b: f[a] if a in f else f[b]
    inner = lambda a, b: f[b] if b in f else f[a]
    src = inner("ip.src", "ipv6.src").get("show")
    dst = inner("ip.dst", "ipv6.dst").get("show")
    if "tls.handshake.ciphersuite" not in f:
        continue
    version = pick("tls.handshake.extensions.supported_version", "tls.handshake.version")
    cipher = re.sub(r"^Cipher Suite: ", "", f["tls.handshake.ciphersuite"].get("showname"))
    out.append({
        "file": capture,
        "frame": int(pkt.find("proto[@name='frame']/field[@name='frame.number']").get("show")),
        "server": [src, int(f["tcp.srcport"].get("show"))],
        "client": [dst, int(f["tcp.dstport"].get("show"))],
        "version": int(version.get("show"), 16) if version.get("show").startswith("0x") else int(version.get("show")),
        "version_name": re.sub(r"^.*: ", "", version.get("showname")),
        "cipher": cipher,
    })
json.dump(out, sys.stdout, indent=1)
print()
