//! Zero-copy packet views: link framing by hand (`link`), IP and transport
//! headers through etherparse. Nothing here allocates or panics on bad input.

mod link;
mod tunnel;

pub use link::{ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, LinkError, LinkPayload, LinkType};
use tunnel::MAX_TUNNEL_DEPTH;
pub use tunnel::{Encap, is_tunnel_port};

use etherparse::{EtherType, IpNumber, LaxNetSlice, LaxSlicedPacket, TransportSlice, ip_number};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// TCP flag bits as on the wire.
pub mod tcp_flags {
    /// FIN: the sender has no more data.
    pub const FIN: u8 = 0x01;
    /// SYN: synchronise sequence numbers (connection open).
    pub const SYN: u8 = 0x02;
    /// RST: reset (abort) the connection.
    pub const RST: u8 = 0x04;
    /// ACK: the acknowledgment number is valid.
    pub const ACK: u8 = 0x10;
}

/// Transport-level content of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L4<'a> {
    /// A TCP segment. A truncated or invalid header still yields its ports,
    /// with zero `seq`/`ack`/`flags`, no `window` and an empty payload; so
    /// does a first IP fragment, which keeps the header fields but not the
    /// payload (and has no `window`: its segment length is unknown).
    Tcp {
        /// Source port (of the packet's sender, `Packet::src`).
        sport: u16,
        /// Destination port (of `Packet::dst`).
        dport: u16,
        /// Sequence number as on the wire (not made relative).
        seq: u32,
        /// Acknowledgment number as on the wire; meaningful only with ACK set.
        ack: u32,
        /// The header's 13th byte: the classic flag bits, see [`tcp_flags`].
        flags: u8,
        /// The window field as on the wire (not scaled); None when the header
        /// did not parse or the segment is an IP fragment.
        window: Option<u16>,
        /// Payload length the IP header declares: `payload.len()` plus what
        /// the capture's snap length cut off.
        seg_len: u32,
        /// Segment payload after the TCP header (options skipped); empty for
        /// a first fragment or a header that did not parse.
        payload: &'a [u8],
    },
    /// A UDP datagram.
    Udp {
        /// Source port (of the packet's sender, `Packet::src`).
        sport: u16,
        /// Destination port (of `Packet::dst`).
        dport: u16,
        /// Datagram payload after the 8-byte header; empty for a first
        /// fragment or a header that did not parse.
        payload: &'a [u8],
    },
    /// ICMPv4 or ICMPv6; `echo_id` is set for echo request/reply.
    Icmp {
        /// True for ICMPv6, false for ICMPv4.
        v6: bool,
        /// The ICMP type (e.g. 8 echo request, 0 echo reply; ICMPv6 128/129).
        icmp_type: u8,
        /// The ICMP code (meaning depends on the type).
        code: u8,
        /// Echo identifier for echo request/reply (ICMP 8/0, ICMPv6
        /// 128/129); None for every other type or when too short.
        echo_id: Option<u16>,
        /// Echo sequence number, present when `echo_id` is.
        echo_seq: Option<u16>,
        /// The message body after the 8-byte ICMP header (an error's quoted
        /// IP header and the start of its payload); empty when absent.
        body: &'a [u8],
    },
    /// ARP; addresses are the sender/target protocol addresses.
    Arp {
        /// ARP operation code (1 request, 2 reply).
        op: u16,
        /// The sender hardware address, when it is a 6-byte (Ethernet) one.
        sender_hw: Option<[u8; 6]>,
    },
    /// A non-first IP fragment: no transport header of its own.
    Fragment {
        /// IP protocol number of the fragmented datagram (6 TCP, 17 UDP, …).
        proto: u8,
    },
    /// Another IP protocol (GRE, ESP, …).
    Other {
        /// IP protocol number (IPv4 protocol / IPv6 next header).
        proto: u8,
    },
}

/// IP fragmentation of the packet, if any. Kept to 8 bytes: every parsed
/// packet carries it (its bytes, for reassembly, come from
/// [`fragment_data`] on the rare fragment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Frag {
    /// Datagram identification: the IPv4 header's 16-bit field (widened), or
    /// the IPv6 fragment header's 32-bit field.
    pub id: u32,
    /// The IP protocol number of the datagram (part of its identity).
    pub proto: u8,
    /// The more-fragments flag: false on the datagram's last fragment.
    pub more: bool,
    /// The fragment offset field: where this fragment's bytes go in the
    /// datagram's payload, in units of 8 bytes (13 bits).
    pub offset8: u16,
}

impl Frag {
    /// Offset zero: the fragment that carries the transport header.
    pub fn first(&self) -> bool {
        self.offset8 == 0
    }

    /// Where this fragment's bytes go in the datagram's payload, in bytes.
    pub fn offset(&self) -> u32 {
        u32::from(self.offset8) * 8
    }
}

/// A parsed packet: addresses, transport content, fragmentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Source address: the inner one for an IP-in-IP tunnel, the sender
    /// protocol address for ARP.
    pub src: IpAddr,
    /// Destination address: the inner one for an IP-in-IP tunnel, the target
    /// protocol address for ARP.
    pub dst: IpAddr,
    /// What the IP (or ARP) header carries.
    pub l4: L4<'a>,
    /// Fragmentation of the IP datagram; None when it is not fragmented.
    pub frag: Option<Frag>,
    /// Innermost 802.1Q VLAN id (12 bits); None when the frame had no tag.
    pub vlan: Option<u16>,
    /// A tunnel this packet carries that could not be opened: the packet is
    /// then the outer one.
    pub undecoded: Option<Encap>,
    /// Length of the IP datagram (of the flow's packet: the inner one of a
    /// tunnel) as its header declares: IPv4 total length, IPv6 40 +
    /// payload length; 0 for ARP. IPFIX's octetDeltaCount.
    pub ip_len: u32,
}

/// Why a frame gave no packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The link-layer header could not be decoded.
    Link(LinkError),
    /// IP or ARP header truncated or invalid.
    Malformed,
}

/// Parses one captured frame.
pub fn parse(link: LinkType, frame: &[u8]) -> Result<Packet<'_>, ParseError> {
    framed(link, frame, 0, None)
}

/// A frame of `link` at tunnel depth `depth`; `outer` is the outermost IP
/// packet (None: this frame's own).
fn framed<'a>(link: LinkType, frame: &'a [u8], depth: u8, outer: Option<&[u8]>) -> Result<Packet<'a>, ParseError> {
    let lp = link::decode(link, frame).map_err(ParseError::Link)?;
    let rest = frame.get(lp.offset..).ok_or(ParseError::Malformed)?;
    let sliced = LaxSlicedPacket::from_ether_type(EtherType(lp.ether_type), rest);
    // The snap length cuts every layer's end alike, so the outer IP header
    // tells how much of the (innermost) segment is missing.
    let mut p = from_sliced(&sliced, depth, outer.unwrap_or(rest))?;
    p.vlan = p.vlan.or(lp.vlan);
    Ok(p)
}

/// Parses an IP packet without link framing (e.g. the header an ICMP error
/// quotes, whose transport header is usually cut after 8 bytes).
pub fn parse_ip(data: &[u8]) -> Result<Packet<'_>, ParseError> {
    let sliced = LaxSlicedPacket::from_ip(data).map_err(|_| ParseError::Malformed)?;
    from_sliced(&sliced, 0, &[])
}

/// Bytes of the IP packet starting at `ip` that its header declares but the
/// capture does not hold (0 when complete, padded, or not IP).
fn snapped_bytes(ip: &[u8]) -> u32 {
    let be16 = |at: usize| ip.get(at..at + 2).map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
    let declared = match ip.first().map(|b| b >> 4) {
        Some(4) => be16(2),
        Some(6) => 40 + be16(4),
        _ => 0,
    };
    u32::try_from(declared.saturating_sub(ip.len())).unwrap_or(0)
}

/// `outer`: the outermost IP packet as captured, for the bytes its header
/// declares that the capture cut off (only TCP needs them).
fn from_sliced<'a>(s: &LaxSlicedPacket<'a>, depth: u8, outer: &[u8]) -> Result<Packet<'a>, ParseError> {
    let net = s.net.as_ref().ok_or(ParseError::Malformed)?;
    let (src, dst, payload, frag, ip_len) = match net {
        LaxNetSlice::Arp(arp) => {
            let (spa, tpa) = (arp.sender_protocol_addr(), arp.target_protocol_addr());
            let v4 = |b: &[u8]| -> Option<IpAddr> {
                let a: [u8; 4] = b.try_into().ok()?;
                Some(IpAddr::V4(Ipv4Addr::from(a)))
            };
            let (Some(src), Some(dst)) = (v4(spa), v4(tpa)) else {
                return Err(ParseError::Malformed);
            };
            let l4 = L4::Arp { op: arp.operation().0, sender_hw: arp.sender_hw_addr().try_into().ok() };
            return Ok(Packet { src, dst, l4, frag: None, vlan: None, undecoded: None, ip_len: 0 });
        }
        LaxNetSlice::Ipv4(ip) => {
            let h = ip.header();
            let frag = ip
                .is_payload_fragmented()
                .then(|| (u32::from(h.identification()), h.fragments_offset().value(), h.more_fragments()));
            let len = u32::from(h.total_len());
            (IpAddr::V4(h.source_addr()), IpAddr::V4(h.destination_addr()), ip.payload(), frag, len)
        }
        LaxNetSlice::Ipv6(ip) => {
            let h = ip.header();
            let frag = if ip.is_payload_fragmented() {
                ip.extensions().clone().into_iter().find_map(|e| match e {
                    etherparse::Ipv6ExtensionSlice::Fragment(f) => {
                        Some((f.identification(), f.fragment_offset().value(), f.more_fragments()))
                    }
                    _ => None,
                })
            } else {
                None
            };
            let len = 40 + u32::from(h.payload_length());
            (
                IpAddr::V6(Ipv6Addr::from(h.source())),
                IpAddr::V6(Ipv6Addr::from(h.destination())),
                ip.payload(),
                frag,
                len,
            )
        }
    };
    let proto = payload.ip_number;
    if let Some((id, offset8, more)) = frag {
        let f = Frag { id, proto: proto.0, more, offset8 };
        let l4 = if f.first() { first_fragment_l4(proto, payload.payload) } else { L4::Fragment { proto: proto.0 } };
        return Ok(Packet { src, dst, l4, frag: Some(f), vlan: None, undecoded: None, ip_len });
    }
    // IP-in-IP (6in4, 4in4): the flow is the inner one.
    if proto == ip_number::IPV6 || proto == ip_number::IPV4 {
        if depth >= MAX_TUNNEL_DEPTH {
            let l4 = L4::Other { proto: proto.0 };
            return Ok(Packet { src, dst, l4, frag: None, vlan: None, undecoded: Some(Encap::Nested), ip_len });
        }
        if let Ok(inner) = LaxSlicedPacket::from_ip(payload.payload)
            && let Ok(p) = from_sliced(&inner, depth + 1, outer)
        {
            return Ok(p);
        }
    }
    let l4 = match &s.transport {
        Some(TransportSlice::Tcp(t)) => L4::Tcp {
            sport: t.source_port(),
            dport: t.destination_port(),
            seq: t.sequence_number(),
            ack: t.acknowledgment_number(),
            flags: tcp_flag_byte(t.slice()),
            window: Some(t.window_size()),
            seg_len: u32::try_from(t.payload().len()).unwrap_or(u32::MAX).saturating_add(if payload.incomplete {
                snapped_bytes(outer)
            } else {
                0
            }),
            payload: t.payload(),
        },
        Some(TransportSlice::Udp(u)) => {
            let (sport, dport) = (u.source_port(), u.destination_port());
            let pkt = Packet {
                src,
                dst,
                l4: L4::Udp { sport, dport, payload: u.payload() },
                frag: None,
                vlan: None,
                undecoded: None,
                ip_len,
            };
            return Ok(if is_tunnel_port(sport, dport) { tunnel::udp(pkt, depth, outer) } else { pkt });
        }
        Some(TransportSlice::Icmpv4(i)) => icmp_l4(false, i.slice()),
        Some(TransportSlice::Icmpv6(i)) => icmp_l4(true, i.slice()),
        None if proto == ip_number::GRE => {
            let l4 = L4::Other { proto: proto.0 };
            let pkt = Packet { src, dst, l4, frag: None, vlan: None, undecoded: None, ip_len };
            return Ok(tunnel::gre(pkt, payload.payload, depth, outer));
        }
        _ => transport_fallback(proto, payload.payload, outer)?,
    };
    Ok(Packet { src, dst, l4, frag: None, vlan: None, undecoded: None, ip_len })
}

/// The bytes of the IP fragment in `frame` (after its IP header and, for
/// IPv6, its extension headers up to the fragment header), found as
/// [`parse`] finds the fragment (through IP-in-IP); None when the frame is
/// not a fragment or the capture cut the fragment short. Apart from
/// `parse` so that every packet does not carry them (`Frag`).
pub fn fragment_data(link: LinkType, frame: &[u8]) -> Option<&[u8]> {
    let lp = link::decode(link, frame).ok()?;
    let sliced = LaxSlicedPacket::from_ether_type(EtherType(lp.ether_type), frame.get(lp.offset..)?);
    fragment_payload(&sliced, 0)
}

fn fragment_payload<'a>(s: &LaxSlicedPacket<'a>, depth: u8) -> Option<&'a [u8]> {
    let (fragmented, payload) = match s.net.as_ref()? {
        LaxNetSlice::Ipv4(ip) => (ip.is_payload_fragmented(), ip.payload()),
        LaxNetSlice::Ipv6(ip) => (ip.is_payload_fragmented(), ip.payload()),
        LaxNetSlice::Arp(_) => return None,
    };
    if fragmented {
        return (!payload.incomplete).then_some(payload.payload);
    }
    let tunnel = payload.ip_number == ip_number::IPV6 || payload.ip_number == ip_number::IPV4;
    if tunnel && depth < MAX_TUNNEL_DEPTH {
        return fragment_payload(&LaxSlicedPacket::from_ip(payload.payload).ok()?, depth + 1);
    }
    None
}

/// The 13th byte of a TCP header holds the classic flags.
fn tcp_flag_byte(tcp_header: &[u8]) -> u8 {
    tcp_header.get(13).copied().unwrap_or(0)
}

/// Echo request or reply (ICMP 8/0, ICMPv6 128/129).
fn is_echo(v6: bool, t: u8) -> bool {
    if v6 { t == 128 || t == 129 } else { t == 0 || t == 8 }
}

/// An ICMP message from its bytes (type, code, then the rest of the header).
fn icmp_l4(v6: bool, icmp: &[u8]) -> L4<'_> {
    let icmp_type = icmp.first().copied().unwrap_or(0);
    let be16 = |at: usize| icmp.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let echo = is_echo(v6, icmp_type);
    L4::Icmp {
        v6,
        icmp_type,
        code: icmp.get(1).copied().unwrap_or(0),
        echo_id: be16(4).filter(|_| echo),
        echo_seq: be16(6).filter(|_| echo),
        body: icmp.get(8..).unwrap_or_default(),
    }
}

/// A transport header etherparse rejected (truncated, bad length field): the
/// ports are still in its first four bytes, so the packet counts on its flow
/// (as tshark counts it) with no payload to interpret; a TCP header cut in
/// its options still gives its fixed 20 bytes.
fn transport_fallback<'a>(proto: IpNumber, payload: &'a [u8], outer: &[u8]) -> Result<L4<'a>, ParseError> {
    match proto {
        ip_number::TCP | ip_number::UDP | ip_number::ICMP | ip_number::IPV6_ICMP => {
            match first_fragment_l4(proto, payload) {
                L4::Tcp { sport, dport, seq, ack, flags, .. } if payload.len() >= 20 => {
                    let header_len = payload.get(12).map_or(20, |b| usize::from(b >> 4) * 4);
                    let declared =
                        u32::try_from(payload.len()).unwrap_or(u32::MAX).saturating_add(snapped_bytes(outer));
                    let seg_len = declared.saturating_sub(u32::try_from(header_len).unwrap_or(u32::MAX));
                    let window = payload.get(14..16).map(|b| u16::from_be_bytes([b[0], b[1]]));
                    Ok(L4::Tcp { sport, dport, seq, ack, flags, window, seg_len, payload: &[] })
                }
                L4::Tcp { sport, dport, .. } if payload.len() >= 4 => {
                    Ok(L4::Tcp { sport, dport, seq: 0, ack: 0, flags: 0, window: None, seg_len: 0, payload: &[] })
                }
                l4 @ L4::Udp { .. } => Ok(l4),
                l4 @ L4::Icmp { .. } if !payload.is_empty() => Ok(l4),
                _ => Err(ParseError::Malformed),
            }
        }
        other => Ok(L4::Other { proto: other.0 }),
    }
}

/// The first fragment carries the ports (same offsets in TCP and UDP); the
/// payload is incomplete, so DPI does not see it.
fn first_fragment_l4(proto: IpNumber, d: &[u8]) -> L4<'_> {
    let ports = d.get(0..4).map(|b| (u16::from_be_bytes([b[0], b[1]]), u16::from_be_bytes([b[2], b[3]])));
    match (proto, ports) {
        (ip_number::UDP, Some((sport, dport))) => L4::Udp { sport, dport, payload: &[] },
        (ip_number::TCP, Some((sport, dport))) => {
            let be32 = |at: usize| d.get(at..at + 4).map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            L4::Tcp {
                sport,
                dport,
                seq: be32(4),
                ack: be32(8),
                flags: tcp_flag_byte(d),
                window: None,
                seg_len: 0,
                payload: &[],
            }
        }
        (ip_number::ICMP, _) | (ip_number::IPV6_ICMP, _) => icmp_l4(proto == ip_number::IPV6_ICMP, d),
        _ => L4::Other { proto: proto.0 },
    }
}

/// A cheap hash of the unordered address pair: the same for every packet
/// between two hosts, IP fragments included. Frames that do not parse hash
/// to 0.
pub fn flow_hash(link: LinkType, frame: &[u8]) -> u64 {
    let Ok(lp) = link::decode(link, frame) else { return 0 };
    let Some(ip) = frame.get(lp.offset..) else { return 0 };
    let word = |at: usize| ip.get(at..at + 16).map_or(0, |b| u128::from_be_bytes(b.try_into().unwrap_or([0; 16])));
    let quad = |at: usize| ip.get(at..at + 4).map_or(0, |b| u128::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])));
    let (a, b) = match lp.ether_type {
        ETHERTYPE_IPV4 if ip.len() >= 20 => (quad(12), quad(16)),
        ETHERTYPE_IPV6 if ip.len() >= 40 => (word(8), word(24)),
        ETHERTYPE_ARP if ip.len() >= 28 => (quad(14), quad(24)),
        _ => return 0,
    };
    // Order-independent, then mixed (a multiply-xorshift finaliser) so that
    // neighbouring addresses spread over workers.
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let x = (lo as u64) ^ ((lo >> 64) as u64).rotate_left(17) ^ (hi as u64).rotate_left(31) ^ ((hi >> 64) as u64);
    let x = (x ^ (x >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^ (x >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn udp_frame(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(5353, 53);
        let mut v = Vec::new();
        // Writing into a Vec cannot fail.
        b.write(&mut v, payload).expect("vec write");
        v
    }

    #[test]
    fn udp_over_ethernet() {
        let f = udp_frame(b"hello");
        let p = parse(LinkType::Ethernet, &f).unwrap();
        assert_eq!(p.src, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(p.l4, L4::Udp { sport: 5353, dport: 53, payload: b"hello" });
        // The reverse direction (10.0.0.2 → 10.0.0.1: the addresses' last
        // octets swapped) hashes alike: both directions go to one worker.
        let mut g = f.clone();
        g.swap(29, 33);
        assert_ne!(g, f);
        assert_eq!(flow_hash(LinkType::Ethernet, &f), flow_hash(LinkType::Ethernet, &g));
    }

    #[test]
    fn fragments_and_their_bytes() {
        // An IPv4 fragment at offset 16 (2 units), MF set, 8 bytes of UDP data.
        let mut f = vec![2; 6];
        f.extend([1; 6]);
        f.extend([0x08, 0x00, 0x45, 0, 0, 28, 0x12, 0x34, 0x20, 0x02, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend(b"abcdefgh");
        let p = parse(LinkType::Ethernet, &f).unwrap();
        assert_eq!(p.frag, Some(Frag { id: 0x1234, proto: 17, more: true, offset8: 2 }));
        assert_eq!((p.frag.unwrap().offset(), p.frag.unwrap().first()), (16, false));
        assert_eq!(p.l4, L4::Fragment { proto: 17 });
        assert_eq!(fragment_data(LinkType::Ethernet, &f), Some(&b"abcdefgh"[..]));
        // Cut short by the capture: no bytes to reassemble.
        assert_eq!(fragment_data(LinkType::Ethernet, &f[..f.len() - 1]), None);
        // Not a fragment.
        assert_eq!(fragment_data(LinkType::Ethernet, &udp_frame(b"x")), None);
    }

    #[test]
    fn every_truncation_is_an_error_or_a_packet() {
        let f = udp_frame(b"some payload bytes");
        for n in 0..f.len() {
            let _ = parse(LinkType::Ethernet, &f[..n]);
            let _ = flow_hash(LinkType::Ethernet, &f[..n]);
            let _ = fragment_data(LinkType::Ethernet, &f[..n]);
        }
        assert!(parse(LinkType::Ethernet, &f[..30]).is_err());
    }
}
