//! Matching one term against one connection, without allocating.

use super::{Field, Needle, Term};
use crate::app::{AppInfo, FieldValue};
use crate::track::{Connection, Endpoint, Proto};
use std::fmt::{self, Write};
use std::net::IpAddr;

/// Every transport protocol in declaration order (bit `p as u8` of a
/// protocol mask), for finding the protocols a term's text names.
pub(super) const ALL_PROTOS: [Proto; 5] = [Proto::Tcp, Proto::Udp, Proto::Icmp, Proto::Icmpv6, Proto::Arp];

/// Application protocol names, indexed by `app_bit`.
/// (Issue 14: part B mDNS to BitTorrent, part A FTP to FTP-data.)
#[rustfmt::skip]
pub(super) const APP_NAMES: [&str; 17] = [
    "HTTP", "TLS", "DNS", "SSH", "QUIC",
    "mDNS", "LLMNR", "NetBIOS", "DHCP", "BitTorrent",
    "FTP", "MQTT", "STUN", "NTP", "SNMP", "SSDP", "FTP-data",
];

fn app_bit(a: &AppInfo) -> u8 {
    match a {
        AppInfo::Http(_) => 0,
        AppInfo::Tls(_) => 1,
        AppInfo::Dns(_) => 2,
        AppInfo::Ssh(_) => 3,
        AppInfo::Quic(_) => 4,
        AppInfo::Mdns(_) => 5,
        AppInfo::Llmnr(_) => 6,
        AppInfo::NetBios(_) => 7,
        AppInfo::Dhcp(_) => 8,
        AppInfo::BitTorrent(_) => 9,
        AppInfo::Ftp(_) => 10,
        AppInfo::Mqtt(_) => 11,
        AppInfo::Stun(_) => 12,
        AppInfo::Ntp(_) => 13,
        AppInfo::Snmp(_) => 14,
        AppInfo::Ssdp(_) => 15,
        AppInfo::FtpData(_) => 16,
    }
}

/// Fails to compile when a Proto variant is added, as a reminder to add it
/// to ALL_PROTOS (checked by the `lists_are_complete` test).
#[allow(dead_code)]
fn exhaustive(p: Proto) {
    match p {
        Proto::Tcp | Proto::Udp | Proto::Icmp | Proto::Icmpv6 | Proto::Arp => {}
    }
}

/// Relative cost of a term, to test cheap terms first (all must match, so
/// the order does not change the result).
pub(super) fn cost(t: &Term) -> u8 {
    match t.field {
        Field::State | Field::Proto | Field::Port | Field::Sport | Field::Dport | Field::Numeric => 0,
        Field::Service
        | Field::Process
        | Field::User
        | Field::Container
        | Field::Country
        | Field::Exporter
        | Field::Sni
        | Field::Ssh
        | Field::App => 1,
        Field::Host | Field::Src | Field::Dst => 2,
        Field::Any => 3,
    }
}

/// Whether term `t` matches connection `c` (on the state the engine stamped
/// in it); ignores `t.negate`, which the caller applies.
pub(super) fn term_matches(t: &Term, c: &Connection) -> bool {
    let n = &t.needle;
    let ports = c.proto.has_ports();
    match t.field {
        Field::Any => any_field(n, c),
        Field::Port => ports && (port(n, c.local.port) || port(n, c.remote.port)),
        Field::Sport => ports && port(n, c.local.port),
        Field::Dport => ports && port(n, c.remote.port),
        Field::Src => addr(n, c.local.addr),
        Field::Dst => addr(n, c.remote.addr) || opt(n, c.hostname.as_deref()),
        Field::Proto => proto(n, c.proto) || app(n, c.app.as_ref()),
        Field::Process => process(n, c),
        Field::User => user(n, c),
        Field::Container => container(n, c),
        Field::Country => country(n, c),
        Field::Exporter => opt(n, c.exporter.as_deref()),
        Field::Service => service(n, c),
        Field::State => n.states & (1 << c.state as u32) != 0,
        Field::Sni => opt(n, sni(c.app.as_ref())),
        Field::Host => host(n, c),
        Field::Ssh => match &c.app {
            Some(AppInfo::Ssh(s)) => {
                opt(n, s.client.as_deref()) || opt(n, s.server.as_deref()) || opt(n, s.software.as_deref())
            }
            _ => false,
        },
        Field::App => match &c.app {
            Some(AppInfo::Ssh(s)) => app(n, c.app.as_ref()) || opt(n, s.software.as_deref()),
            a => app(n, a.as_ref()),
        },
        Field::Numeric => t.num.is_some_and(|num| num.matches(c)),
    }
}

/// A bare word: every field a user can see for the connection.
fn any_field(n: &Needle, c: &Connection) -> bool {
    // Cheapest first: bit tests, then text fields, then formatted endpoints.
    proto(n, c.proto)
        || n.states & (1 << c.state as u32) != 0
        || service(n, c)
        || process(n, c)
        || user(n, c)
        || container(n, c)
        || country(n, c)
        || opt(n, c.exporter.as_deref())
        || opt(n, c.hostname.as_deref())
        || c.app.as_ref().is_some_and(|a| app_any(n, a))
        || endpoint(n, c, &c.local)
        || endpoint(n, c, &c.remote)
}

/// Every text field DPI found.
fn app_any(n: &Needle, app: &AppInfo) -> bool {
    let list = |v: &[String]| v.iter().any(|s| found(n, s));
    self::app(n, Some(app))
        || match app {
            AppInfo::Http(h) => {
                opt(n, h.host.as_deref())
                    || opt(n, h.method.as_deref())
                    || opt(n, h.path.as_deref())
                    || opt(n, h.user_agent.as_deref())
            }
            AppInfo::Tls(t) => {
                opt(n, t.sni.as_deref())
                    || list(&t.alpn)
                    || opt(n, t.version.as_deref())
                    || opt(n, t.ja4.as_deref())
                    || opt(n, t.negotiated_version.as_deref())
                    || opt(n, t.cipher.as_deref())
            }
            AppInfo::Dns(d) | AppInfo::Mdns(d) | AppInfo::Llmnr(d) => dns_any(n, d),
            AppInfo::NetBios(b) => found(n, &b.service) || list(&b.names) || opt(n, b.opcode.as_deref()),
            AppInfo::Dhcp(d) => {
                list(&d.message_types)
                    || opt(n, d.hostname.as_deref())
                    || opt(n, d.vendor_class.as_deref())
                    || opt(n, d.requested_address.as_deref())
                    || opt(n, d.offered_address.as_deref())
            }
            AppInfo::BitTorrent(b) => {
                found(n, &b.transport)
                    || opt(n, b.info_hash.as_deref())
                    || opt(n, b.client.as_deref())
                    || list(&b.dht_queries)
            }
            AppInfo::Ssh(s) => {
                opt(n, s.client.as_deref()) || opt(n, s.server.as_deref()) || opt(n, s.software.as_deref())
            }
            AppInfo::Quic(q) => {
                opt(n, q.version.as_deref())
                    || opt(n, q.sni.as_deref())
                    || list(&q.alpn)
                    || q.close.as_ref().is_some_and(|c| found(n, &c.reason))
            }
            // Issue 14 part A (proto14a): the fields AppInfo lists.
            AppInfo::Ftp(_)
            | AppInfo::FtpData(_)
            | AppInfo::Mqtt(_)
            | AppInfo::Stun(_)
            | AppInfo::Ntp(_)
            | AppInfo::Snmp(_)
            | AppInfo::Ssdp(_) => app.any_field(&mut |_, v| match v {
                FieldValue::Text(s) => found(n, s),
                FieldValue::Number(x) => found(n, itoa::Buffer::new().format(x)),
            }),
        }
}

fn dns_any(n: &Needle, d: &crate::app::DnsInfo) -> bool {
    d.queries.iter().any(|q| found(n, &q.name) || found(n, &q.qtype))
        || d.answers.iter().any(|a| found(n, &a.name) || found(n, &a.rtype) || found(n, &a.data))
        || opt(n, d.rcode.as_deref())
}

fn sni(app: Option<&AppInfo>) -> Option<&str> {
    match app? {
        AppInfo::Tls(t) => t.sni.as_deref(),
        AppInfo::Quic(q) => q.sni.as_deref(),
        _ => None,
    }
}

fn host(n: &Needle, c: &Connection) -> bool {
    let http = match &c.app {
        Some(AppInfo::Http(h)) => h.host.as_deref(),
        _ => None,
    };
    opt(n, http) || opt(n, sni(c.app.as_ref())) || opt(n, c.hostname.as_deref())
}

fn process(n: &Needle, c: &Connection) -> bool {
    c.process.as_ref().is_some_and(|p| found(n, &p.name) || (n.ports.is_some() && number(n, p.pid)))
}

fn user(n: &Needle, c: &Connection) -> bool {
    // A uid is matched whole: `user:0` is root, not every uid with a 0 in it.
    c.process.as_ref().is_some_and(|p| opt(n, p.user.as_deref()) || (n.uid.is_some() && p.uid == n.uid))
}

fn container(n: &Needle, c: &Connection) -> bool {
    c.process.as_ref().and_then(|p| p.container.as_ref()).is_some_and(|k| {
        found(n, &k.runtime)
            || found(n, &k.id)
            || opt(n, k.name.as_deref())
            || opt(n, k.pod.as_deref())
            || opt(n, k.namespace.as_deref())
    })
}

/// The country code matches whole (`country:de` is not every code with a
/// "d"); city and organisation as substrings.
fn country(n: &Needle, c: &Connection) -> bool {
    c.geo.as_ref().is_some_and(|g| {
        g.country.as_deref().is_some_and(|cc| cc.eq_ignore_ascii_case(&n.text))
            || opt(n, g.city.as_deref())
            || opt(n, g.org.as_deref())
            || (n.text.is_empty() && !g.is_empty())
    })
}

fn port(n: &Needle, p: u16) -> bool {
    n.ports.as_ref().is_some_and(|s| s.contains(p))
}

fn proto(n: &Needle, p: Proto) -> bool {
    n.protos & (1 << p as u8) != 0
}

fn app(n: &Needle, a: Option<&AppInfo>) -> bool {
    a.is_some_and(|a| n.apps & (1 << app_bit(a)) != 0)
}

fn service(n: &Needle, c: &Connection) -> bool {
    n.service && opt(n, c.service())
}

fn number(n: &Needle, v: u32) -> bool {
    found(n, itoa::Buffer::new().format(v))
}

fn addr(n: &Needle, a: IpAddr) -> bool {
    if !n.addr || (n.dotted && !shows_dots(a)) {
        return false;
    }
    if let IpAddr::V4(v4) = a {
        let mut b = [0u8; 24];
        let len = v4_endpoint_text(&mut b, v4.octets(), None);
        return contains_bytes(n.text.as_bytes(), &b[..len]);
    }
    let mut buf = StackText::new();
    write!(buf, "{a}").is_ok() && found(n, buf.as_str())
}

/// The endpoint as the UI and JSON show it (`10.0.0.5:443`, `[::1]:443`, `10.0.0.5`).
fn endpoint(n: &Needle, c: &Connection, ep: &Endpoint) -> bool {
    if !n.addr || (n.dotted && !shows_dots(ep.addr)) {
        return false;
    }
    if let (IpAddr::V4(v4), Some(pieces)) = (ep.addr, &n.v4) {
        // A dotted needle cannot reach into the port (no ':' in it).
        return v4_pieces_match(pieces, v4.octets());
    }
    if let IpAddr::V4(v4) = ep.addr {
        let mut b = [0u8; 24];
        let len = v4_endpoint_text(&mut b, v4.octets(), c.proto.has_ports().then_some(ep.port));
        return contains_bytes(n.text.as_bytes(), &b[..len]);
    }
    // IPv6 (IPv4 returned above): std's RFC 5952 text.
    let mut buf = StackText::new();
    let text = if c.proto.has_ports() { write!(buf, "[{}]:", ep.addr) } else { write!(buf, "{}", ep.addr) };
    text.is_ok()
        && (!c.proto.has_ports() || buf.write_str(itoa::Buffer::new().format(ep.port)).is_ok())
        && found(n, buf.as_str())
}

/// Whether the dotted needle split into `pieces` (k+1 pieces for k dots) is a
/// substring of the address text: at some octet `s`, the first piece ends
/// octet s, the middle ones are octets s+1.. exactly, the last starts octet s+k.
fn v4_pieces_match(pieces: &[Box<[u8]>], octets: [u8; 4]) -> bool {
    let k = pieces.len() - 1;
    let text = |o: u8| {
        let t = &OCTET_TEXT[usize::from(o)];
        &t[..usize::from(t[3])]
    };
    (0..4usize.saturating_sub(k)).any(|s| {
        pieces.iter().enumerate().all(|(j, p)| {
            let t = text(octets[s + j]);
            if j == 0 {
                t.ends_with(p)
            } else if j == k {
                t.starts_with(p)
            } else {
                *t == **p
            }
        })
    })
}

/// Decimal text of every octet, padded to 3 bytes, with its length last.
static OCTET_TEXT: [[u8; 4]; 256] = {
    let mut t = [[0u8; 4]; 256];
    let mut i = 0;
    while i < 256 {
        let (h, d, u) = ((i / 100) as u8, (i / 10 % 10) as u8, (i % 10) as u8);
        t[i] = match i {
            0..10 => [b'0' + u, 0, 0, 1],
            10..100 => [b'0' + d, b'0' + u, 0, 2],
            _ => [b'0' + h, b'0' + d, b'0' + u, 3],
        };
        i += 1;
    }
    t
};

/// `a.b.c.d` or `a.b.c.d:port` into `b` (at most 21 bytes); returns the length.
/// By table and fixed-width copies: this runs for every connection on address-like filters.
fn v4_endpoint_text(b: &mut [u8; 24], octets: [u8; 4], port: Option<u16>) -> usize {
    let mut n = 0;
    for o in octets {
        let t = OCTET_TEXT[usize::from(o)];
        b[n..n + 3].copy_from_slice(&t[..3]);
        n += usize::from(t[3]);
        b[n] = b'.';
        n += 1;
    }
    n -= 1;
    if let Some(p) = port {
        b[n] = b':';
        let p = u32::from(p);
        let digits = [p / 10000, p / 1000 % 10, p / 100 % 10, p / 10 % 10, p % 10].map(|d| b'0' + d as u8);
        let len = match p {
            0..10 => 1,
            10..100 => 2,
            100..1000 => 3,
            1000..10000 => 4,
            _ => 5,
        };
        b[n + 1..n + 1 + len].copy_from_slice(&digits[5 - len..]);
        n += 1 + len;
    }
    n
}

/// Whether the address's text has dots: IPv4, and IPv4-mapped IPv6
/// (`::ffff:1.2.3.4`), the only IPv6 form std prints with dots.
fn shows_dots(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(_) => true,
        IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some(),
    }
}

fn opt(n: &Needle, hay: Option<&str>) -> bool {
    hay.is_some_and(|h| found(n, h))
}

fn found(n: &Needle, hay: &str) -> bool {
    contains(&n.text, hay)
}

/// ASCII-case-insensitive substring search; `needle` is already lowercase.
pub(super) fn contains(needle: &str, hay: &str) -> bool {
    contains_bytes(needle.as_bytes(), hay.as_bytes())
}

/// By hand: std and memchr only search case-sensitively. Most fields are a
/// few dozen bytes, where a call into a vector search costs more than the
/// search, so this tests a needle's first and last byte at 16 positions per
/// step with a loop the compiler turns into vector compares, then confirms.
fn contains_bytes(p: &[u8], h: &[u8]) -> bool {
    let Some((&first, &last)) = p.first().zip(p.last()) else {
        return true;
    };
    if p.len() > h.len() {
        return false;
    }
    // `b | fold == x` accepts both cases of a lowercase letter `x`, only `x` otherwise.
    let fold = |x: u8| if x.is_ascii_lowercase() { 0x20 } else { 0 };
    let (ff, lf) = (fold(first), fold(last));
    let m = p.len();
    let starts = h.len() - m + 1;
    let confirm = |i: usize| h[i..i + m].iter().zip(p).all(|(a, b)| a.to_ascii_lowercase() == *b);
    let mut i = 0;
    while i + 16 <= starts {
        let (a, b) = (block(h, i), block(h, i + m - 1));
        let mut bits = 0u32;
        for j in 0..16 {
            bits |= u32::from(((a[j] | ff) == first) & ((b[j] | lf) == last)) << j;
        }
        while bits != 0 {
            if confirm(i + bits.trailing_zeros() as usize) {
                return true;
            }
            bits &= bits - 1;
        }
        i += 16;
    }
    (i..starts).any(|i| (h[i] | ff) == first && (h[i + m - 1] | lf) == last && confirm(i))
}

/// The 16 bytes at `at` (the caller keeps `at + 16 <= h.len()`).
fn block(h: &[u8], at: usize) -> [u8; 16] {
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[at..at + 16]);
    b
}

/// Fixed-size text buffer on the stack: an endpoint's text is at most
/// 47 bytes (`[` + 39-byte IPv6 + `]:` + 5 digits).
struct StackText {
    buf: [u8; 64],
    len: usize,
}

impl StackText {
    fn new() -> Self {
        StackText { buf: [0; 64], len: 0 }
    }

    fn as_str(&self) -> &str {
        // Only whole `&str`s are ever copied in, so the prefix is UTF-8.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::State;

    fn needle(s: &str) -> Needle {
        let t = super::super::parse::parse(s).unwrap();
        t[0].needle.clone()
    }

    #[test]
    fn substring_ascii_case_insensitive() {
        assert!(found(&needle("open"), "SSH-2.0-OpenSSH_9.2"));
        assert!(found(&needle("OPENSSH_9"), "SSH-2.0-OpenSSH_9.2"));
        assert!(found(&needle("2"), "SSH-2.0-OpenSSH_9.2"));
        assert!(!found(&needle("opensshx"), "OpenSSH"));
        assert!(!found(&needle("long-needle"), "short"));
        assert!(found(&needle("é"), "café"));
        // Non-ASCII letters are not case-folded (documented).
        assert!(!found(&needle("é"), "CAFÉ"));
    }

    #[test]
    fn lists_are_complete() {
        // States are a 64-bit mask in the parsed filter (State::ALL's order is
        // checked beside the enum).
        assert!(State::ALL.len() < 64);
        for (i, p) in ALL_PROTOS.iter().enumerate() {
            assert_eq!(*p as usize, i, "{p:?}");
        }
        let apps = [
            AppInfo::Http(Default::default()),
            AppInfo::Tls(Default::default()),
            AppInfo::Dns(Default::default()),
            AppInfo::Ssh(Default::default()),
            AppInfo::Quic(Default::default()),
            AppInfo::Mdns(Default::default()),
            AppInfo::Llmnr(Default::default()),
            AppInfo::NetBios(Default::default()),
            AppInfo::Dhcp(Default::default()),
            AppInfo::BitTorrent(Default::default()),
            AppInfo::Ftp(Default::default()),
            AppInfo::Mqtt(Default::default()),
            AppInfo::Stun(Default::default()),
            AppInfo::Ntp(Default::default()),
            AppInfo::Snmp(Default::default()),
            AppInfo::Ssdp(Default::default()),
            AppInfo::FtpData(Default::default()),
        ];
        for a in &apps {
            assert_eq!(APP_NAMES[usize::from(app_bit(a))], a.protocol());
        }
    }

    /// The hand-written endpoint text equals the JSON/UI form.
    #[test]
    fn endpoint_text_is_the_display_form() {
        let cases = [
            ("192.168.1.13", 443, Proto::Tcp),
            ("0.0.0.0", 0, Proto::Udp),
            ("255.255.255.255", 65535, Proto::Udp),
            ("10.0.0.1", 7, Proto::Icmp),
            ("fe80::1", 22, Proto::Tcp),
            ("2001:db8::ff00:42:8329", 9, Proto::Icmpv6),
            ("::ffff:1.2.3.4", 80, Proto::Tcp),
        ];
        for (a, port, proto) in cases {
            let ep = Endpoint::new(a.parse().unwrap(), port);
            let shown = ep.display(proto).to_string();
            let c = crate::track::Connection::new(1, proto, ep, ep, crate::time::Timestamp::ZERO, State::Established);
            assert!(endpoint(&needle(&format!("\"{shown}\"")), &c, &ep), "{shown}");
            // One more character at either end must not match.
            assert!(!endpoint(&needle(&format!("\"{shown}0\"")), &c, &ep), "{shown}");
            assert!(!endpoint(&needle(&format!("\"0{shown}\"")), &c, &ep), "{shown}");
        }
    }

    #[test]
    fn stack_text_holds_the_longest_endpoint() {
        let ep = Endpoint::new("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap(), 65535);
        let mut b = StackText::new();
        write!(b, "{}", ep.display(crate::track::Proto::Tcp)).unwrap();
        assert_eq!(b.as_str(), "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
        let mut b = StackText::new();
        assert!(write!(b, "{}", "x".repeat(65)).is_err());
    }

    proptest::proptest! {
        /// Equals lowercasing the haystack and searching with std, across the
        /// 16-byte block path and the tail (ASCII-heavy alphabet to get hits).
        #[test]
        fn search_equals_lowercase_then_std(
            hay in "[aAbB.:0-9é]{0,70}",
            needle in "[ab.:0-9é]{1,6}",
        ) {
            let want = hay.to_ascii_lowercase().contains(&needle);
            proptest::prop_assert_eq!(contains(&needle, &hay), want);
        }

        #[test]
        fn v4_text_is_std_text(o in proptest::prelude::any::<[u8; 4]>(), port in proptest::prelude::any::<Option<u16>>()) {
            let mut b = [0u8; 24];
            let n = v4_endpoint_text(&mut b, o, port);
            let ip = std::net::Ipv4Addr::from(o);
            let want = match port { Some(p) => format!("{ip}:{p}"), None => ip.to_string() };
            proptest::prop_assert_eq!(std::str::from_utf8(&b[..n]).unwrap(), want);
        }
    }

    proptest::proptest! {
        #[test]
        fn v4_pieces_agree_with_text_search(o in proptest::prelude::any::<[u8; 4]>(), needle in "[0-9]{0,3}(\\.[0-9]{0,3}){1,3}") {
            let text = std::net::Ipv4Addr::from(o).to_string();
            let pieces: Vec<Box<[u8]>> = needle.split('.').map(|p| p.as_bytes().into()).collect();
            proptest::prop_assert_eq!(v4_pieces_match(&pieces, o), text.contains(needle.as_str()), "{} in {}", needle, text);
        }
    }
}
