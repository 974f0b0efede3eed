//! Tunnels opened to reach the inner flow: GRE (IP, transparent Ethernet
//! bridging, ERSPAN I/II/III, PPTP's enhanced GRE), VXLAN, Geneve, GTP-U and
//! Teredo. Decoded by hand: etherparse stops at the outer transport, and each
//! of these headers is a few fixed fields.
//!
//! Counting rule (that of the corpus truth, one conversation per frame, see
//! README): a GRE frame belongs to its inner packet; a UDP tunnel frame to
//! its inner packet when that is TCP, UDP or ICMP, else (ARP, another IP
//! protocol, a non-IP frame) to the outer UDP flow.

use super::link::{self, LinkType};
use super::{L4, LaxSlicedPacket, Packet, ParseError, from_sliced};
use etherparse::EtherType;
use std::fmt;

/// Tunnels nest at most this deep (an IP-in-IP header counts as one level);
/// deeper frames are counted as [`Encap::Nested`].
pub(super) const MAX_TUNNEL_DEPTH: u8 = 4;

/// An encapsulation a frame used that could not be opened (its frame is
/// counted on the outer flow where there is one, and named in a warning).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encap {
    /// GRE with an unknown protocol type, routing present, or a bad payload.
    Gre,
    /// ERSPAN (in GRE) with a bad header or payload.
    Erspan,
    /// VXLAN (udp/4789) whose payload is not an Ethernet frame we decode.
    Vxlan,
    /// Geneve (udp/6081) with an unknown protocol type or a bad payload.
    Geneve,
    /// GTP-U (udp/2152) user data that is not an IP packet we decode.
    GtpU,
    /// Teredo (udp/3544) whose IPv6 packet is unreadable.
    Teredo,
    /// PPP carrying a network protocol other than IP (VJ compression, CCP …).
    Ppp,
    /// Tunnels nested deeper than [`MAX_TUNNEL_DEPTH`].
    Nested,
}

impl fmt::Display for Encap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encap::Gre => "GRE",
            Encap::Erspan => "ERSPAN",
            Encap::Vxlan => "VXLAN",
            Encap::Geneve => "Geneve",
            Encap::GtpU => "GTP-U",
            Encap::Teredo => "Teredo",
            Encap::Ppp => "PPP",
            Encap::Nested => "tunnels nested too deep",
        })
    }
}

const VXLAN: u16 = 4789;
const GENEVE: u16 = 6081;
const GTP_U: u16 = 2152;
const TEREDO: u16 = 3544;

/// Whether a UDP datagram between these ports is opened as a tunnel (VXLAN,
/// Geneve, GTP-U, Teredo): its flow is then known only after parsing.
pub fn is_tunnel_port(sport: u16, dport: u16) -> bool {
    matches!(sport, VXLAN | GENEVE | GTP_U | TEREDO) || matches!(dport, VXLAN | GENEVE | GTP_U | TEREDO)
}

/// What follows a tunnel header.
enum Inner<'a> {
    /// An IP packet (version from its first nibble).
    Ip(&'a [u8]),
    /// An Ethernet frame.
    Ether(&'a [u8]),
    /// A PPP frame (PPTP).
    Ppp(&'a [u8]),
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    d.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]))
}

/// Parses the inner packet one level down.
fn open<'a>(inner: Inner<'a>, depth: u8, outer: &[u8]) -> Result<Packet<'a>, ParseError> {
    if depth >= MAX_TUNNEL_DEPTH {
        return Err(ParseError::Link(link::LinkError::Undecoded(Encap::Nested)));
    }
    match inner {
        Inner::Ip(d) => {
            let s = LaxSlicedPacket::from_ip(d).map_err(|_| ParseError::Malformed)?;
            from_sliced(&s, depth + 1, outer)
        }
        Inner::Ether(d) => super::framed(LinkType::Ethernet, d, depth + 1, Some(outer)),
        Inner::Ppp(d) => {
            let lp = link::ppp(d, 0, None).map_err(ParseError::Link)?;
            let rest = d.get(lp.offset..).ok_or(ParseError::Malformed)?;
            from_sliced(&LaxSlicedPacket::from_ether_type(EtherType(lp.ether_type), rest), depth + 1, outer)
        }
    }
}

/// The encapsulation to name when `e` kept an inner packet from being
/// opened: a PPP or nesting problem inside names itself; a frame that is
/// simply not IP (LLDP, spanning tree …) is no error.
fn failure(e: ParseError, encap: Encap) -> Option<Encap> {
    match e {
        ParseError::Link(link::LinkError::NotIp) => None,
        ParseError::Link(link::LinkError::Undecoded(inner)) => Some(inner),
        _ => Some(encap),
    }
}

/// A GRE packet (`gre`: the IP payload) sent inside `pkt`, whose `l4` is
/// `Other { proto: 47 }`: the inner packet, or `pkt` marked undecoded.
pub(super) fn gre<'a>(pkt: Packet<'a>, gre: &'a [u8], depth: u8, outer: &[u8]) -> Packet<'a> {
    let (encap, inner) = match gre_payload(gre) {
        Ok(Some(x)) => x,
        // PPTP acknowledgement without data: nothing inside.
        Ok(None) => return pkt,
        Err(encap) => return Packet { undecoded: Some(encap), ..pkt },
    };
    match open(inner, depth, outer) {
        Ok(p) => p,
        Err(e) => Packet { undecoded: failure(e, encap), ..pkt },
    }
}

/// The payload of a GRE header (RFC 2784/2890; version 1 is PPTP's, RFC 2637).
fn gre_payload(d: &[u8]) -> Result<Option<(Encap, Inner<'_>)>, Encap> {
    const CSUM: u16 = 0x8000;
    const ROUTING: u16 = 0x4000;
    const KEY: u16 = 0x2000;
    const SEQ: u16 = 0x1000;
    const ACK: u16 = 0x0080;
    let flags = be16(d, 0).ok_or(Encap::Gre)?;
    let proto = be16(d, 2).ok_or(Encap::Gre)?;
    let word = |bit: u16| if flags & bit != 0 { 4 } else { 0 };
    let payload = |at: usize| d.get(at..).ok_or(Encap::Gre);
    match flags & 7 {
        0 if flags & ROUTING == 0 => {
            let at = 4 + word(CSUM) + word(KEY) + word(SEQ);
            let body = payload(at)?;
            let found = match proto {
                0x0800 | 0x86dd => (Encap::Gre, Inner::Ip(body)),
                0x6558 => (Encap::Gre, Inner::Ether(body)),
                // ERSPAN type II has an 8-byte header (and a sequence
                // number); type I has none.
                0x88be if flags & SEQ != 0 => (Encap::Erspan, Inner::Ether(body.get(8..).ok_or(Encap::Erspan)?)),
                0x88be => (Encap::Erspan, Inner::Ether(body)),
                0x22eb => (Encap::Erspan, erspan3(body).ok_or(Encap::Erspan)?),
                _ => return Err(Encap::Gre),
            };
            Ok(Some(found))
        }
        1 if proto == 0x880b && flags & KEY != 0 => {
            let body = payload(8 + word(SEQ) + word(ACK))?;
            Ok((!body.is_empty()).then_some((Encap::Gre, Inner::Ppp(body))))
        }
        _ => Err(Encap::Gre),
    }
}

/// ERSPAN type III: a 12-byte header, 8 more with the O flag; the frame
/// type field says Ethernet (0) or IP (2).
fn erspan3(d: &[u8]) -> Option<Inner<'_>> {
    let (b10, b11) = (*d.get(10)?, *d.get(11)?);
    let at = if b11 & 1 == 1 { 20 } else { 12 };
    let body = d.get(at..)?;
    match (b10 >> 2) & 0x1f {
        0 => Some(Inner::Ether(body)),
        2 => Some(Inner::Ip(body)),
        _ => None,
    }
}

/// A UDP datagram on a tunnel port (see [`is_tunnel_port`]), whose `l4` is
/// `Udp`: the inner packet when it is TCP, UDP or ICMP, else `pkt` (marked
/// undecoded when the tunnel's payload could not be read).
pub(super) fn udp<'a>(pkt: Packet<'a>, depth: u8, outer: &[u8]) -> Packet<'a> {
    let L4::Udp { sport, dport, payload } = pkt.l4 else { return pkt };
    // Like tshark, the lower port is tried first.
    let (lo, hi) = if sport <= dport { (sport, dport) } else { (dport, sport) };
    let found = udp_payload(lo, payload).or_else(|| udp_payload(hi, payload));
    let Some((encap, inner)) = found else { return pkt };
    match inner.and_then(|i| open(i, depth, outer).map_err(|e| failure(e, encap))) {
        Ok(p) if matches!(p.l4, L4::Tcp { .. } | L4::Udp { .. } | L4::Icmp { .. } | L4::Fragment { .. }) => p,
        Ok(_) => pkt,
        Err(e) => Packet { undecoded: e, ..pkt },
    }
}

/// The tunnel on `port`, if the payload is one: its name and what it
/// carries (Err(Some(name)) when the header is that tunnel's but its
/// payload is unreadable). Teredo is recognised only when it carries IPv6.
fn udp_payload(port: u16, d: &[u8]) -> Option<(Encap, Result<Inner<'_>, Option<Encap>>)> {
    match port {
        VXLAN => Some((Encap::Vxlan, d.get(8..).map(Inner::Ether).ok_or(Some(Encap::Vxlan)))),
        GENEVE => Some((Encap::Geneve, geneve(d).ok_or(Some(Encap::Geneve)))),
        GTP_U => gtp_u(d).map(|r| (Encap::GtpU, r.ok_or(Some(Encap::GtpU)))),
        TEREDO => teredo(d).map(|i| (Encap::Teredo, Ok(i))),
        _ => None,
    }
}

/// Geneve: version 0, options of `(byte 0 & 0x3f) * 4` bytes, then the
/// protocol type (0x6558 Ethernet, or IP).
fn geneve(d: &[u8]) -> Option<Inner<'_>> {
    let b0 = *d.first()?;
    if b0 >> 6 != 0 {
        return None;
    }
    let body = d.get(8 + usize::from(b0 & 0x3f) * 4..)?;
    match be16(d, 2)? {
        0x6558 => Some(Inner::Ether(body)),
        0x0800 | 0x86dd => Some(Inner::Ip(body)),
        _ => None,
    }
}

/// GTP-U version 1: a G-PDU (type 255) carries user data after the 8-byte
/// header, 4 optional bytes (when E, S or PN is set) and any chain of
/// extension headers. Other messages (echo, error indication, end marker)
/// are signalling: None.
fn gtp_u(d: &[u8]) -> Option<Option<Inner<'_>>> {
    let flags = *d.first()?;
    if flags >> 5 != 1 || flags & 0x10 == 0 || d.get(1) != Some(&0xff) {
        return None;
    }
    Some(gtp_u_body(d, flags).map(Inner::Ip))
}

fn gtp_u_body(d: &[u8], flags: u8) -> Option<&[u8]> {
    let mut at = 8;
    if flags & 0x07 != 0 {
        let mut next = *d.get(11)?;
        at = 12;
        // Each extension header is a nonzero number of 4-byte words, its
        // last byte the next type: the loop advances through a finite slice.
        while flags & 0x04 != 0 && next != 0 {
            let len = usize::from(*d.get(at)?) * 4;
            if len == 0 {
                return None;
            }
            next = *d.get(at + len - 1)?;
            at += len;
        }
    }
    d.get(at..).filter(|b| b.first().is_some_and(|v| matches!(v >> 4, 4 | 6)))
}

/// Teredo (RFC 4380): IPv6, optionally after an authentication indicator
/// (00 01, then identifier and authenticator lengths, those bytes, an
/// 8-byte nonce and a confirmation byte) and an origin indication (00 00,
/// then 6 bytes).
fn teredo(d: &[u8]) -> Option<Inner<'_>> {
    let mut at = 0;
    if be16(d, 0) == Some(1) {
        at = 4 + usize::from(*d.get(2)?) + usize::from(*d.get(3)?) + 9;
    }
    if be16(d, at) == Some(0) {
        at += 8;
    }
    let ip = d.get(at..)?;
    (ip.len() >= 40 && ip.first().is_some_and(|v| v >> 4 == 6)).then_some(Inner::Ip(ip))
}

#[cfg(test)]
#[path = "tunnel_tests.rs"]
mod tests;
