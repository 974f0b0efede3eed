#!/usr/bin/env python3
"""Damages a little-endian pcapng in the ways issue 19 (item 4) names, for
src/capture/file/tests.rs (the files are in tests/fixtures/pcapng_damage/).

  damage_pcapng.py IN.pcapng OUTDIR

IN is a real capture with packet comments, made from a fixture with tshark's
tools:
  editcap -F pcapng tests/fixtures/dns_udp.pcap base.pcapng
  editcap -a 3:"third packet comment" -a 5:"fifth" base.pcapng IN.pcapng
Writes, each with the same packets as IN:
  shb_no_endofopt.pcapng    the section header's option list ends without the
                            end-of-options option (opt_endofopt)
  epb_no_endofopt.pcapng    so do the options of the packets that have a comment
  comment_not_utf8.pcapng   the packet comments are bytes that are not UTF-8
  all_three.pcapng          all of the above
then prints `tshark -r F | wc -l` for each (the counts the tests expect).
"""
import os
import struct
import subprocess
import sys

SHB, EPB = 0x0A0D0D0A, 6


def blocks(d):
    i = 0
    while i < len(d):
        t, n = struct.unpack_from("<II", d, i)
        yield t, d[i + 8:i + n - 4]
        i += n


def pack(t, body):
    n = 12 + len(body)
    return struct.pack("<II", t, n) + body + struct.pack("<I", n)


def options(b):
    out, i = [], 0
    while i + 4 <= len(b):
        code, n = struct.unpack_from("<HH", b, i)
        if code == 0:
            break
        out.append((code, b[i + 4:i + 4 + n]))
        i += 4 + ((n + 3) & ~3)
    return out


def write_options(opts, end):
    out = b""
    for code, v in opts:
        out += struct.pack("<HH", code, len(v)) + v + b"\0" * (-len(v) % 4)
    return out + (struct.pack("<HH", 0, 0) if end else b"")


def damage(d, shb_end=True, epb_end=True, utf8=True):
    out = b""
    for t, body in blocks(d):
        if t == SHB:
            fixed, opts = body[:16], options(body[16:])
            body = fixed + write_options(opts, shb_end)
        elif t == EPB:
            caplen = struct.unpack_from("<I", body, 12)[0]
            at = 20 + ((caplen + 3) & ~3)
            fixed, opts = body[:at], options(body[at:])
            if opts:
                if not utf8:
                    opts = [(c, bytes([0xff, 0xfe, 0xc3]) + b"\x80" * (len(v) - 3)) if c == 1 else (c, v)
                            for c, v in opts]
                body = fixed + write_options(opts, epb_end)
        out += pack(t, body)
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    d = open(sys.argv[1], "rb").read()
    os.makedirs(sys.argv[2], exist_ok=True)
    files = {
        "shb_no_endofopt.pcapng": damage(d, shb_end=False),
        "epb_no_endofopt.pcapng": damage(d, epb_end=False),
        "comment_not_utf8.pcapng": damage(d, utf8=False),
        "all_three.pcapng": damage(d, shb_end=False, epb_end=False, utf8=False),
    }
    for name, data in files.items():
        path = os.path.join(sys.argv[2], name)
        open(path, "wb").write(data)
        r = subprocess.run(["tshark", "-r", path], capture_output=True, text=True)
        print(name, len(r.stdout.splitlines()), r.stderr.strip().replace("\n", " ")[:200])


if __name__ == "__main__":
    main()
