//! DHCP (RFC 2131/2132, udp/67-68) and DHCPv6 (RFC 8415, udp/546-547):
//! message types, client host name, vendor class, requested and offered
//! address. By hand: the maintained crate (dhcproto) decodes every option
//! into owned values, far more than four options per packet need.

use super::AppInfo;
use super::inspect::{Datagram, Inspector, Match, Outcome, Verdict};
use super::side::Side;
use super::text::shown;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Messages read per conversation before DPI stops.
const MAX_MESSAGES: u32 = 16;
/// Distinct message types kept (there are 8 common ones per version).
const MAX_TYPES: usize = 8;
/// Length of the fixed BOOTP header, before the magic cookie.
const BOOTP_LEN: usize = 236;
const COOKIE: [u8; 4] = [0x63, 0x82, 0x53, 0x63];

/// What one message told.
#[derive(Debug, Default, PartialEq, Eq)]
struct Message {
    version: u8,
    kind: Option<&'static str>,
    hostname: Option<String>,
    vendor_class: Option<String>,
    requested: Option<String>,
    offered: Option<String>,
}

fn v4_type(t: u8) -> Option<&'static str> {
    Some(match t {
        1 => "DISCOVER",
        2 => "OFFER",
        3 => "REQUEST",
        4 => "DECLINE",
        5 => "ACK",
        6 => "NAK",
        7 => "RELEASE",
        8 => "INFORM",
        _ => return None,
    })
}

fn v6_type(t: u8) -> Option<&'static str> {
    Some(match t {
        1 => "SOLICIT",
        2 => "ADVERTISE",
        3 => "REQUEST",
        4 => "CONFIRM",
        5 => "RENEW",
        6 => "REBIND",
        7 => "REPLY",
        8 => "RELEASE",
        9 => "DECLINE",
        10 => "RECONFIGURE",
        11 => "INFORMATION-REQUEST",
        12 => "RELAY-FORW",
        13 => "RELAY-REPL",
        _ => return None,
    })
}

fn ipv4(d: &[u8]) -> Option<Ipv4Addr> {
    let a: [u8; 4] = d.get(..4)?.try_into().ok()?;
    Some(Ipv4Addr::from(a))
}

/// A DHCPv4 (or plain BOOTP) message.
fn parse_v4(d: &[u8]) -> Option<Message> {
    let h = d.get(..BOOTP_LEN)?;
    // op 1 or 2, hardware address at most 16 bytes.
    if !matches!(h[0], 1 | 2) || h[2] > 16 {
        return None;
    }
    let mut m = Message { version: 4, ..Message::default() };
    let yiaddr = ipv4(&h[16..20]).filter(|a| !a.is_unspecified());
    if d.get(BOOTP_LEN..BOOTP_LEN + 4) == Some(&COOKIE) {
        let mut opts = d.get(BOOTP_LEN + 4..).unwrap_or_default();
        // TLVs up to End (255); Pad (0) is a single byte.
        while let Some((&code, rest)) = opts.split_first() {
            if code == 0 {
                opts = rest;
                continue;
            }
            if code == 255 {
                break;
            }
            let Some((&len, rest)) = rest.split_first() else { break };
            let Some(val) = rest.get(..usize::from(len)) else { break };
            match code {
                53 => m.kind = val.first().and_then(|t| v4_type(*t)),
                12 => m.hostname = Some(shown(val)),
                60 => m.vendor_class = Some(shown(val)),
                50 => m.requested = ipv4(val).map(|a| a.to_string()),
                _ => {}
            }
            opts = &rest[usize::from(len)..];
        }
    }
    if matches!(m.kind, Some("OFFER" | "ACK")) {
        m.offered = yiaddr.map(|a| a.to_string());
    }
    Some(m)
}

/// DHCPv6 options of `d` as (code, value) pairs.
fn options6(mut d: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let code = u16::from_be_bytes([*d.first()?, *d.get(1)?]);
        let len = usize::from(u16::from_be_bytes([*d.get(2)?, *d.get(3)?]));
        let val = d.get(4..4 + len)?;
        d = &d[4 + len..];
        Some((code, val))
    })
}

/// A DNS-encoded name (client FQDN option) as dotted text.
fn fqdn(mut d: &[u8]) -> String {
    let mut labels = Vec::new();
    while let Some((&n, rest)) = d.split_first() {
        let Some(label) = rest.get(..usize::from(n)).filter(|_| n > 0) else { break };
        labels.push(shown(label));
        d = &rest[usize::from(n)..];
    }
    labels.join(".")
}

/// A DHCPv6 client or server message (relay messages give only their type).
fn parse_v6(d: &[u8]) -> Option<Message> {
    let (&t, rest) = d.split_first()?;
    let kind = v6_type(t)?;
    let mut m = Message { version: 6, kind: Some(kind), ..Message::default() };
    if t >= 12 {
        return (d.len() >= 34).then_some(m);
    }
    let server = matches!(t, 2 | 7 | 10);
    for (code, val) in options6(rest.get(3..)?) {
        match code {
            // IA_NA: IAID, T1, T2, then options; IA Address (5) starts with the address.
            3 => {
                let addr = options6(val.get(12..).unwrap_or_default())
                    .find(|(c, _)| *c == 5)
                    .and_then(|(_, a)| <[u8; 16]>::try_from(a.get(..16)?).ok())
                    .map(|a| Ipv6Addr::from(a).to_string());
                if server { m.offered = addr } else { m.requested = addr }
            }
            // Vendor class: enterprise number, then 2-byte-length entries.
            16 => {
                let first = val.get(4..6).map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])));
                m.vendor_class = first.and_then(|n| val.get(6..6 + n)).map(shown);
            }
            // Client FQDN: flags, then the name.
            39 => m.hostname = val.get(1..).map(fqdn).filter(|n| !n.is_empty()),
            _ => {}
        }
    }
    Some(m)
}

fn is_v4_port(p: u16) -> bool {
    matches!(p, 67 | 68)
}

fn is_v6_port(p: u16) -> bool {
    matches!(p, 546 | 547)
}

/// A datagram on the DHCP or DHCPv6 ports that parses as such.
pub(crate) fn classify(d: &Datagram<'_>, app: &mut Option<AppInfo>) -> Option<(Match, Outcome)> {
    let v6 = if d.has_port(is_v4_port) {
        false
    } else if d.has_port(is_v6_port) {
        true
    } else {
        return None;
    };
    let m = if v6 { parse_v6(d.payload) } else { parse_v4(d.payload) }?;
    let mut r = Reader { v6, messages: 0 };
    let out = r.add(m, app);
    Some((Match::new(r, None), out))
}

/// Reads the DHCP messages of one conversation.
#[derive(Debug)]
struct Reader {
    v6: bool,
    messages: u32,
}

impl Reader {
    fn add(&mut self, m: Message, app: &mut Option<AppInfo>) -> Outcome {
        let Some(info) = super::dhcp_info(app) else {
            return Outcome::need_more();
        };
        info.version = m.version;
        if let Some(k) = m.kind
            && info.message_types.len() < MAX_TYPES
            && !info.message_types.iter().any(|t| t == k)
        {
            info.message_types.push(k.to_string());
        }
        // The latest value wins: a client may change its mind, a server its offer.
        for (slot, v) in [
            (&mut info.hostname, m.hostname),
            (&mut info.vendor_class, m.vendor_class),
            (&mut info.requested_address, m.requested),
            (&mut info.offered_address, m.offered),
        ] {
            if v.is_some() {
                *slot = v;
            }
        }
        self.messages += 1;
        Outcome::new(if self.messages >= MAX_MESSAGES { Verdict::Done } else { Verdict::NeedMore }, None)
    }
}

impl Inspector for Reader {
    fn on_datagram(&mut self, _side: Side, payload: &[u8], app: &mut Option<AppInfo>) -> Outcome {
        match if self.v6 { parse_v6(payload) } else { parse_v4(payload) } {
            Some(m) => self.add(m, app),
            None => Outcome::need_more(),
        }
    }

    fn max_packets(&self) -> u32 {
        MAX_MESSAGES * 2
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A DHCPv4 message of type `t` with `opts` (code, value) after the cookie.
    pub(crate) fn v4(op: u8, yiaddr: [u8; 4], opts: &[(u8, &[u8])]) -> Vec<u8> {
        let mut d = vec![0u8; BOOTP_LEN];
        d[0] = op;
        d[1] = 1;
        d[2] = 6;
        d[16..20].copy_from_slice(&yiaddr);
        d.extend_from_slice(&COOKIE);
        for (c, v) in opts {
            d.push(*c);
            d.push(v.len() as u8);
            d.extend_from_slice(v);
        }
        d.push(255);
        d
    }

    #[test]
    fn discover_and_offer() {
        let disc = v4(1, [0; 4], &[(53, &[1]), (12, b"android-1"), (60, b"dhcpcd-5.5.6"), (50, &[192, 168, 2, 16])]);
        let m = parse_v4(&disc).expect("discover");
        assert_eq!(m.kind, Some("DISCOVER"));
        assert_eq!(m.hostname.as_deref(), Some("android-1"));
        assert_eq!(m.vendor_class.as_deref(), Some("dhcpcd-5.5.6"));
        assert_eq!(m.requested.as_deref(), Some("192.168.2.16"));
        assert_eq!(m.offered, None);
        let offer = parse_v4(&v4(2, [192, 168, 2, 16], &[(53, &[2])])).expect("offer");
        assert_eq!(offer.offered.as_deref(), Some("192.168.2.16"));
    }

    #[test]
    fn dhcpv6_solicit() {
        // Solicit, xid, client FQDN "host.example", vendor class (enterprise 311, "MSFT 5.0").
        let mut d = vec![1, 0xaa, 0xbb, 0xcc];
        let name = b"\x00\x04host\x07example\x00";
        d.extend_from_slice(&[0, 39, 0, name.len() as u8]);
        d.extend_from_slice(name);
        d.extend_from_slice(&[0, 16, 0, 14, 0, 0, 1, 0x37, 0, 8]);
        d.extend_from_slice(b"MSFT 5.0");
        let m = parse_v6(&d).expect("solicit");
        assert_eq!(m.kind, Some("SOLICIT"));
        assert_eq!(m.hostname.as_deref(), Some("host.example"));
        assert_eq!(m.vendor_class.as_deref(), Some("MSFT 5.0"));
    }

    #[test]
    fn truncated_or_odd_input_is_safe() {
        let d = v4(1, [0; 4], &[(53, &[3]), (12, b"abc")]);
        for cut in 0..d.len() {
            let _ = parse_v4(&d[..cut]);
            let _ = parse_v6(&d[..cut]);
        }
        assert!(parse_v4(&[0xff; 300]).is_none());
        assert!(parse_v6(&[0xff; 30]).is_none());
    }
}
