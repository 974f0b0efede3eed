"""What the capture-writing scripts share: the Internet checksum (RFC 1071)
and classic pcap files (microsecond stamps, little-endian)."""

import struct

MAGIC = 0xA1B2C3D4


def csum(b):
    """RFC 1071 one's-complement checksum of `b`, as the value to store."""
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def pcap_header(link=1, snaplen=65535):
    """A pcap file header: version 2.4, link type `link` (1 = Ethernet)."""
    return struct.pack("<IHHiIII", MAGIC, 2, 4, 0, 0, snaplen, link)


def pcap_record(sec, usec, frame):
    """One whole frame's record (captured length = original length)."""
    return struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame
