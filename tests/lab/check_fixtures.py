#!/usr/bin/env python3
"""Check tests/fixtures/expected.json against tshark's view (<file>.json).

  check_fixtures.py [--expected FILE] [FIXTURES_DIR [NAME ...]]

NAME (e.g. http_curl or http_curl.pcap) limits the check to those captures.

expected.json says what the clients were told to send; <file>.json (from
make_truth.py) says what tshark saw in the capture.  Every fact listed in
expected.json that tshark can see is compared; a mismatch means the capture
does not show the scenario (lost packets, wrong client flags, a changed
tool).  Exit status 1 on any mismatch.
"""
import collections
import json
import os
import sys

QTYPE = {"A": 1, "CNAME": 5, "PTR": 12, "TXT": 16, "AAAA": 28}
RCODE = {"NOERROR": "0", "SERVFAIL": "2", "NXDOMAIN": "3", "REFUSED": "5"}


def tls_version(ch):
    if "0x0304" in ch.get("supported_versions", []):
        return "TLSv1.3"
    return {"0x0303": "TLSv1.2", "0x0302": "TLSv1.1", "0x0301": "TLSv1.0"}.get(
        ch.get("handshake_version"), ch.get("handshake_version"))


def check(name, exp, t, err):
    def eq(what, want, got):
        if want != got:
            err.append("%s: %s: expected %r, tshark shows %r" % (name, what, want, got))

    if "tcp_connections" in exp:
        eq("tcp connections", exp["tcp_connections"], len(t["tcp_conversations"]))
    if "udp_conversations" in exp:
        eq("udp conversations", exp["udp_conversations"], len(t["udp_conversations"]))
    if "tcp_refused" in exp:
        refused = [c for c in t["tcp_conversations"]
                   if c["tcp_flags"]["syn"] and not c["tcp_flags"]["synack"] and c["tcp_flags"]["rst"]]
        eq("refused tcp connections", exp["tcp_refused"], len(refused))
    if "tcp_reset_by_client" in exp:
        reset = [c for c in t["tcp_conversations"]
                 if c["tcp_flags"]["synack"] and c["tcp_flags"]["rst"]]
        eq("established tcp connections ended by RST", exp["tcp_reset_by_client"], len(reset))

    if "http" in exp:
        want = sorted((h["host"], h["method"], h["path"], h["user_agent"]) for h in exp["http"])
        got = sorted((r["host"], r["method"], r["uri"], r["user_agent"]) for r in t["http_requests"])
        eq("http requests", want, got)

    if "tls" in exp:
        want = sorted((x["sni"], tuple(x["alpn"]), x["version"], x["port"]) for x in exp["tls"])
        got = sorted((c["sni"], tuple(c["alpn"]), tls_version(c), c["dport"])
                     for c in t["tls_client_hellos"])
        eq("tls client hellos (sni, alpn, version, port)", want, got)
        for x in exp["tls"]:
            if "min_client_hello_segments" in x:
                segs = [c["tcp_segments"] for c in t["tls_client_hellos"] if c["sni"] == x["sni"]]
                if not segs or min(segs) < x["min_client_hello_segments"]:
                    err.append("%s: ClientHello segments %r < %d" % (name, segs, x["min_client_hello_segments"]))

    if "dns" in exp:
        want = sorted((d["name"], QTYPE[d["type"]]) for d in exp["dns"])
        got = sorted((q["names"][0], q["qtypes"][0]) for q in t["dns_queries"])
        eq("dns queries", want, got)
        resp = {(r["names"][0], r["qtypes"][0]): r for r in t["dns_responses"]}
        for d in exp["dns"]:
            r = resp.get((d["name"], QTYPE[d["type"]]))
            if r is None:
                err.append("%s: no response to %s %s" % (name, d["name"], d["type"]))
                continue
            eq("rcode of %s %s" % (d["name"], d["type"]), RCODE[d["rcode"]], r["rcode"])
            got_types = [int(x) for x in r["answers"]["types"] if x != "41"]  # 41 = OPT
            eq("answer types of %s %s" % (d["name"], d["type"]),
               [QTYPE[a["type"]] for a in d["answers"]], got_types)
            for key, typ in (("a", "A"), ("aaaa", "AAAA"), ("cname", "CNAME")):
                eq("%s answers of %s %s" % (typ, d["name"], d["type"]),
                   [a["data"] for a in d["answers"] if a["type"] == typ], r["answers"][key])

    if "ssh" in exp:
        client = sorted({b["banner"] for b in t["ssh_banners"] if b["dport"] == 22})
        server = sorted({b["banner"] for b in t["ssh_banners"] if b["sport"] == 22})
        eq("ssh client banners", [exp["ssh"]["client"]], client)
        eq("ssh server banners", [exp["ssh"]["server"]], server)
        if "ssh_sessions" in exp:
            eq("ssh server banner count", len(exp["ssh_sessions"]),
               len([b for b in t["ssh_banners"] if b["sport"] == 22]))

    if "quic" in exp:
        want = sorted((q["sni"], tuple(q["alpn"]), q["version"], q["port"]) for q in exp["quic"])
        got = sorted((c["sni"], tuple(c["alpn"]), c["versions"][0], c["dport"])
                     for c in t["quic_client_hellos"])
        eq("quic client hellos (sni, alpn, version, port)", want, got)
        want_cc = [(q["close"]["code"], q["close"]["reason"]) for q in exp["quic"] if "close" in q]
        got_cc = sorted({(int(c["error_code"]), c["reason"]) for c in t["quic_connection_close"]})
        eq("visible quic CONNECTION_CLOSE (code, reason)", want_cc, got_cc)

    icmp = collections.Counter()
    for i in t["icmp"]:
        icmp[(i["proto"], i["type"])] += i["packets"]
    if "icmp_echo" in exp:
        eq("echo requests", exp["icmp_echo"], icmp[("icmp", "8")] + icmp[("icmpv6", "128")])
    if "icmp_echo_by_proto" in exp:
        eq("echo requests by proto", exp["icmp_echo_by_proto"],
           {"icmp": icmp[("icmp", "8")], "icmpv6": icmp[("icmpv6", "128")]})
    if "icmp_echo_replies" in exp:
        eq("echo replies", exp["icmp_echo_replies"], icmp[("icmp", "0")] + icmp[("icmpv6", "129")])
    if "arp" in exp:
        req = sum(a["packets"] for a in t["arp"] if a["opcode"] == "1" and a["target_ip"] == exp["arp"]["who_has"])
        rep = sum(a["packets"] for a in t["arp"] if a["opcode"] == "2" and a["sender_ip"] == exp["arp"]["who_has"])
        eq("arp requests", exp["arp"]["requests"], req)
        eq("arp replies", exp["arp"]["replies"], rep)

    if t.get("errors"):
        err.append("%s: make_truth errors %r" % (name, t["errors"]))
    if t.get("malformed", {}).get("malformed_count"):
        err.append("%s: tshark reports malformed packets %r" % (name, t["malformed"]["malformed"]))


def main():
    import argparse
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--expected", default=os.path.join(here, "..", "fixtures", "expected.json"))
    ap.add_argument("dir", nargs="?", default=os.path.join(here, "..", "fixtures"))
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    d = a.dir
    expected = json.load(open(a.expected))
    only = {n if n.endswith(".pcap") else n + ".pcap" for n in a.names}
    err = []
    checked = 0
    for name, exp in sorted(expected.items()):
        if only and name not in only:
            continue
        tp = os.path.join(d, name + ".json")
        if not os.path.exists(tp) or not os.path.exists(os.path.join(d, name)):
            err.append("%s: capture or its truth json missing" % name)
            continue
        check(name, exp, json.load(open(tp)), err)
        checked += 1
    for e in err:
        print("MISMATCH", e)
    print("checked %d fixtures, %d mismatches" % (checked, len(err)))
    sys.exit(1 if err else 0)


if __name__ == "__main__":
    main()
