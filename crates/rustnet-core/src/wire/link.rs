//! Link-layer framing, decoded by hand: etherparse knows Ethernet and SLL v1 but
//! not SLL2, NFLOG, BSD null/loop or PPP, and caps VLAN depth; these headers are
//! a few fixed offsets each.

/// Link-layer header types, named after their LINKTYPE_ numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// BSD loopback, address family in host byte order (0).
    Null,
    /// Ethernet II / 802.3 (1).
    Ethernet,
    /// PPP, optionally with HDLC address/control bytes (9, 50).
    Ppp,
    /// Raw IPv4 or IPv6, version from the first nibble (101, 12, 14).
    Raw,
    /// OpenBSD loopback, address family in network byte order (108).
    Loop,
    /// Linux cooked capture v1 (113).
    LinuxSll,
    /// Raw IPv4 (228).
    Ipv4,
    /// Raw IPv6 (229).
    Ipv6,
    /// Linux netfilter log (239).
    Nflog,
    /// Linux cooked capture v2 (276).
    LinuxSll2,
    /// Anything else: counted and skipped.
    Other(u32),
}

impl LinkType {
    /// From a LINKTYPE_/DLT_ number as found in pcap and pcapng headers.
    pub fn from_number(n: u32) -> LinkType {
        match n {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            9 | 50 => LinkType::Ppp,
            12 | 14 | 101 => LinkType::Raw,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            239 => LinkType::Nflog,
            276 => LinkType::LinuxSll2,
            other => LinkType::Other(other),
        }
    }

    /// The LINKTYPE_ number (for pcap export).
    pub fn number(self) -> u32 {
        match self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::Ppp => 9,
            LinkType::Raw => 101,
            LinkType::Loop => 108,
            LinkType::LinuxSll => 113,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
            LinkType::Nflog => 239,
            LinkType::LinuxSll2 => 276,
            LinkType::Other(n) => n,
        }
    }
}

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: [u16; 4] = [0x8100, 0x88a8, 0x9100, 0x9200];
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
const ETHERTYPE_MPLS: [u16; 2] = [0x8847, 0x8848];

/// What the link layer carries and where it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkPayload {
    /// An EtherType; raw-IP link types report IPv4/IPv6 from the version nibble.
    pub ether_type: u16,
    /// Offset of the network header in the frame.
    pub offset: usize,
    /// Innermost VLAN id, if any tag was present.
    pub vlan: Option<u16>,
}

/// Why a frame's link layer could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkError {
    /// Shorter than its link header.
    Truncated,
    /// A link type we do not decode.
    UnknownLinkType(u32),
    /// A valid frame that carries neither IP nor ARP (LLC, LLDP, NFLOG without payload …).
    NotIp,
    /// An encapsulation that carries a network-layer packet we cannot open
    /// (PPP with a compressed or encrypted datagram, …).
    Undecoded(super::Encap),
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    d.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]))
}

fn ip_version(d: &[u8], at: usize) -> Result<u16, LinkError> {
    match d.get(at).map(|b| b >> 4) {
        Some(4) => Ok(ETHERTYPE_IPV4),
        Some(6) => Ok(ETHERTYPE_IPV6),
        Some(_) => Err(LinkError::NotIp),
        None => Err(LinkError::Truncated),
    }
}

/// Address family values of BSD loopback headers (AF_INET6 differs per OS).
fn family_to_ethertype(af: u32) -> Result<u16, LinkError> {
    match af {
        2 => Ok(ETHERTYPE_IPV4),
        10 | 24 | 28 | 30 => Ok(ETHERTYPE_IPV6),
        _ => Err(LinkError::NotIp),
    }
}

/// Finds the network-layer payload of a frame.
pub(super) fn decode(link: LinkType, d: &[u8]) -> Result<LinkPayload, LinkError> {
    let plain = |ether_type, offset| Ok(LinkPayload { ether_type, offset, vlan: None });
    match link {
        LinkType::Ethernet => ethernet(d),
        LinkType::LinuxSll => {
            let et = be16(d, 14).ok_or(LinkError::Truncated)?;
            after_ethertype(d, et, 16, None)
        }
        LinkType::LinuxSll2 => {
            let et = be16(d, 0).ok_or(LinkError::Truncated)?;
            if d.len() < 20 {
                return Err(LinkError::Truncated);
            }
            after_ethertype(d, et, 20, None)
        }
        LinkType::Raw => plain(ip_version(d, 0)?, 0),
        LinkType::Ipv4 => plain(ETHERTYPE_IPV4, 0),
        LinkType::Ipv6 => plain(ETHERTYPE_IPV6, 0),
        LinkType::Null | LinkType::Loop => {
            let b = d.get(0..4).ok_or(LinkError::Truncated)?;
            let raw = [b[0], b[1], b[2], b[3]];
            // Null is in the capturing host's byte order: a small value is
            // the right reading, whichever order gives it.
            let af = if link == LinkType::Loop {
                u32::from_be_bytes(raw)
            } else {
                let le = u32::from_le_bytes(raw);
                if le < 0x100 { le } else { u32::from_be_bytes(raw) }
            };
            plain(family_to_ethertype(af)?, 4)
        }
        LinkType::Ppp => ppp(d, 0, None),
        LinkType::Nflog => nflog(d),
        LinkType::Other(n) => Err(LinkError::UnknownLinkType(n)),
    }
}

fn ethernet(d: &[u8]) -> Result<LinkPayload, LinkError> {
    let et = be16(d, 12).ok_or(LinkError::Truncated)?;
    after_ethertype(d, et, 14, None)
}

/// Walks any depth of VLAN tags after an EtherType field.
fn after_ethertype(d: &[u8], mut et: u16, mut offset: usize, mut vlan: Option<u16>) -> Result<LinkPayload, LinkError> {
    while ETHERTYPE_VLAN.contains(&et) {
        let tci = be16(d, offset).ok_or(LinkError::Truncated)?;
        vlan = Some(tci & 0x0fff);
        et = be16(d, offset + 2).ok_or(LinkError::Truncated)?;
        offset += 4;
    }
    match et {
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 | ETHERTYPE_ARP => Ok(LinkPayload { ether_type: et, offset, vlan }),
        // PPPoE session: 6-byte header, then the PPP protocol field.
        ETHERTYPE_PPPOE_SESSION => ppp_protocol(d, offset + 6, vlan),
        // MPLS: labels until the bottom-of-stack bit, then IP by version nibble.
        et if ETHERTYPE_MPLS.contains(&et) => {
            loop {
                let label = d.get(offset..offset + 4).ok_or(LinkError::Truncated)?;
                offset += 4;
                if label[2] & 1 == 1 {
                    break;
                }
            }
            Ok(LinkPayload { ether_type: ip_version(d, offset)?, offset, vlan })
        }
        _ => Err(LinkError::NotIp),
    }
}

/// A PPP frame from `at`: optional HDLC address/control bytes (ff 03, left
/// out under address-and-control-field compression), then the protocol field.
pub(super) fn ppp(d: &[u8], at: usize, vlan: Option<u16>) -> Result<LinkPayload, LinkError> {
    let start = if d.get(at..at + 2) == Some(&[0xff, 0x03]) { at + 2 } else { at };
    ppp_protocol(d, start, vlan)
}

/// The PPP protocol field at `at`: two bytes, or one under protocol-field
/// compression (RFC 1661 §6.5: a protocol's first byte is even, its last odd,
/// so an odd first byte is the whole field). Network-layer protocols other
/// than IP (0x0001-0x7fff: VJ-compressed TCP/IP, CCP-compressed datagrams …)
/// are counted as undecoded; control protocols (0x8000 and up) are not IP.
fn ppp_protocol(d: &[u8], at: usize, vlan: Option<u16>) -> Result<LinkPayload, LinkError> {
    let first = *d.get(at).ok_or(LinkError::Truncated)?;
    let (proto, len) =
        if first & 1 == 1 { (u16::from(first), 1) } else { (be16(d, at).ok_or(LinkError::Truncated)?, 2) };
    let ip = |ether_type| Ok(LinkPayload { ether_type, offset: at + len, vlan });
    match proto {
        0x0021 => ip(ETHERTYPE_IPV4),
        0x0057 => ip(ETHERTYPE_IPV6),
        0x8000.. => Err(LinkError::NotIp),
        _ => Err(LinkError::Undecoded(super::Encap::Ppp)),
    }
}

/// NFLOG: 4-byte header, then TLVs (length and type in host byte order,
/// little-endian on every capture we know of) padded to 4 bytes; type 9 is the packet.
fn nflog(d: &[u8]) -> Result<LinkPayload, LinkError> {
    const NFULA_PAYLOAD: u16 = 9;
    let family = *d.first().ok_or(LinkError::Truncated)?;
    let mut at = 4;
    while at + 4 <= d.len() {
        let len = u16::from_le_bytes([d[at], d[at + 1]]) as usize;
        let typ = u16::from_le_bytes([d[at + 2], d[at + 3]]) & 0x7fff;
        if len < 4 || at + len > d.len() {
            return Err(LinkError::Truncated);
        }
        if typ == NFULA_PAYLOAD {
            let et = match family {
                2 => ETHERTYPE_IPV4,
                10 => ETHERTYPE_IPV6,
                _ => ip_version(d, at + 4)?,
            };
            return Ok(LinkPayload { ether_type: et, offset: at + 4, vlan: None });
        }
        at += (len + 3) & !3;
    }
    Err(LinkError::NotIp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vlan_stack_of_any_depth() {
        let mut f = vec![0u8; 12];
        for _ in 0..5 {
            f.extend_from_slice(&[0x81, 0x00, 0x00, 0x07]);
        }
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[0x45; 20]);
        // 12 MAC bytes, then 5 tags: the type fields chain through them.
        let p = decode(LinkType::Ethernet, &f).unwrap();
        assert_eq!(p.ether_type, ETHERTYPE_IPV4);
        assert_eq!(p.offset, 14 + 5 * 4);
        assert_eq!(p.vlan, Some(7));
    }

    #[test]
    fn pppoe_and_mpls() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x88, 0x64, 0x11, 0x00, 0x55, 0x6a, 0x00, 0x3f, 0x00, 0x21, 0x45]);
        assert_eq!(
            decode(LinkType::Ethernet, &f),
            Ok(LinkPayload { ether_type: ETHERTYPE_IPV4, offset: 22, vlan: None })
        );
        let mut g = vec![0u8; 12];
        g.extend_from_slice(&[0x88, 0x47, 0, 0, 0, 64, 0, 0, 1, 64, 0x60]);
        assert_eq!(
            decode(LinkType::Ethernet, &g),
            Ok(LinkPayload { ether_type: ETHERTYPE_IPV6, offset: 22, vlan: None })
        );
        assert_eq!(decode(LinkType::Ethernet, &g[..17]), Err(LinkError::Truncated));
    }

    #[test]
    fn ppp_protocol_field_compression() {
        // Two-byte field, with and without address/control; one byte (PFC).
        for (f, off) in
            [(&[0xff, 0x03, 0x00, 0x21, 0x45][..], 4), (&[0x00, 0x57, 0x60], 2), (&[0xff, 0x03, 0x21, 0x45], 3)]
        {
            assert_eq!(decode(LinkType::Ppp, f).map(|p| p.offset), Ok(off), "{f:x?}");
        }
        assert_eq!(decode(LinkType::Ppp, &[0x57, 0x60]).map(|p| p.ether_type), Ok(ETHERTYPE_IPV6));
        // LCP is not IP; VJ-compressed TCP/IP is a datagram we cannot open.
        assert_eq!(decode(LinkType::Ppp, &[0xff, 0x03, 0xc0, 0x21, 1]), Err(LinkError::NotIp));
        assert_eq!(decode(LinkType::Ppp, &[0x2d, 0x45]), Err(LinkError::Undecoded(super::super::Encap::Ppp)));
        assert_eq!(decode(LinkType::Ppp, &[0xff, 0x03]), Err(LinkError::Truncated));
        // PPPoE session with a one-byte protocol.
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x88, 0x64, 0x11, 0x00, 0x55, 0x6a, 0x00, 0x3f, 0x21, 0x45]);
        assert_eq!(
            decode(LinkType::Ethernet, &f),
            Ok(LinkPayload { ether_type: ETHERTYPE_IPV4, offset: 21, vlan: None })
        );
    }

    #[test]
    fn truncated_frames_are_errors() {
        assert_eq!(decode(LinkType::Ethernet, &[0; 5]), Err(LinkError::Truncated));
        assert_eq!(decode(LinkType::LinuxSll2, &[0x08, 0]), Err(LinkError::Truncated));
        assert_eq!(decode(LinkType::Null, &[2]), Err(LinkError::Truncated));
        assert_eq!(decode(LinkType::Nflog, &[]), Err(LinkError::Truncated));
        assert_eq!(decode(LinkType::Other(147), &[1, 2]), Err(LinkError::UnknownLinkType(147)));
    }

    #[test]
    fn null_link_either_byte_order() {
        assert_eq!(decode(LinkType::Null, &[2, 0, 0, 0, 0x45]).unwrap().ether_type, ETHERTYPE_IPV4);
        assert_eq!(decode(LinkType::Null, &[0, 0, 0, 30, 0x60]).unwrap().ether_type, ETHERTYPE_IPV6);
    }
}
