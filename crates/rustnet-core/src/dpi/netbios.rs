//! NetBIOS over TCP/IP (RFC 1002): the name service (NBNS, udp/137), the
//! datagram service (NBDGM, udp/138) and the session service (NBSS,
//! tcp/139). Names are read from their first-level encoding (RFC 1001
//! §14.1) and shown as tshark shows them: "WORKGROUP<1d>". By hand: no
//! maintained crate parses NetBIOS.

use super::AppInfo;
use super::inspect::{Datagram, Inspector, Match, Outcome, Sniffed, Stream, Verdict};
use super::reassembly::Reassembler;
use super::side::Side;
use std::fmt::Write;

/// NetBIOS names kept per connection.
pub const MAX_NAMES: usize = 8;
/// Messages read per connection before DPI stops (names rarely change after).
const MAX_MESSAGES: u32 = 16;

const PORT_NS: u16 = 137;
const PORT_DGM: u16 = 138;
const PORT_SSN: u16 = 139;

/// Which NetBIOS service a flow carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Service {
    Name,
    Datagram,
    Session,
}

impl Service {
    fn label(self) -> &'static str {
        match self {
            Service::Name => "name",
            Service::Datagram => "datagram",
            Service::Session => "session",
        }
    }
}

/// A first-level encoded name at `d[at..]` (length byte 0x20, 32 letters
/// 'A'..'P', then scope labels up to a zero byte), decoded and shown; with
/// the offset after it. A compression pointer (0xc0) in an answer is not followed.
fn name_at(d: &[u8], at: usize) -> Option<(String, usize)> {
    if *d.get(at)? != 0x20 {
        return None;
    }
    let enc = d.get(at + 1..at + 33)?;
    let mut raw = [0u8; 16];
    for (i, pair) in enc.chunks_exact(2).enumerate() {
        let (hi, lo) = (pair[0].wrapping_sub(b'A'), pair[1].wrapping_sub(b'A'));
        if hi > 15 || lo > 15 {
            return None;
        }
        raw[i] = (hi << 4) | lo;
    }
    // Skip the scope labels (bounded by the packet).
    let mut end = at + 33;
    loop {
        let n = usize::from(*d.get(end)?);
        end += 1;
        if n == 0 {
            break;
        }
        if n > 63 {
            return None;
        }
        end += n;
    }
    Some((show(&raw), end))
}

/// tshark's form: the 15 name bytes without trailing spaces, bytes outside
/// printable ASCII as `<xx>`, then the suffix byte as `<xx>`.
fn show(raw: &[u8; 16]) -> String {
    let name = &raw[..15];
    let len = name.iter().rposition(|b| *b != b' ').map_or(0, |i| i + 1);
    let mut s = String::with_capacity(24);
    for &b in &name[..len] {
        if (0x21..0x7f).contains(&b) && b != b'<' && b != b'>' || b == b' ' {
            s.push(char::from(b));
        } else {
            let _ = write!(s, "<{b:02x}>");
        }
    }
    let _ = write!(s, "<{:02x}>", raw[15]);
    s
}

/// One name-service packet: its opcode name and the names it carries.
fn parse_ns(d: &[u8]) -> Option<(&'static str, Vec<String>)> {
    let h = d.get(..12)?;
    let opcode = match (h[2] >> 3) & 0x0f {
        0 => "query",
        5 => "registration",
        6 => "release",
        7 => "wack",
        8 | 9 => "refresh",
        15 => "multihomed_registration",
        _ => return None,
    };
    let count = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
    let (qd, an) = (count(4), count(6));
    if qd > 1 || an > 1 || qd + an == 0 {
        return None;
    }
    // The question or the answer's owner: the first name, right after the header.
    let (name, _) = name_at(d, 12)?;
    Some((opcode, vec![name]))
}

/// One datagram-service packet: its source and destination names.
fn parse_dgm(d: &[u8]) -> Option<Vec<String>> {
    let typ = *d.first()?;
    match typ {
        // Direct unique, direct group, broadcast: header, length, offset, two names.
        0x10..=0x12 => {
            let (src, next) = name_at(d, 14)?;
            let mut names = vec![src];
            if let Some((dst, _)) = name_at(d, next) {
                names.push(dst);
            }
            Some(names)
        }
        // Error: no names.
        0x13 if d.len() >= 11 => Some(Vec::new()),
        // Query request, positive and negative query response: the destination name.
        0x14..=0x16 => Some(vec![name_at(d, 10)?.0]),
        _ => None,
    }
}

/// One session-service packet (a whole one at the front of `d`): Some(names)
/// when it is valid (the names of a session request), None otherwise.
fn parse_ssn(d: &[u8]) -> Option<(Vec<String>, usize)> {
    let h = d.get(..4)?;
    if h[1] & 0xfe != 0 {
        return None;
    }
    let len = (usize::from(h[1] & 1) << 16) | usize::from(u16::from_be_bytes([h[2], h[3]]));
    let ok = match h[0] {
        0x00 => true,
        0x81 => len >= 68,
        0x82 | 0x85 => len == 0,
        0x83 => len == 1,
        0x84 => len == 6,
        _ => false,
    };
    if !ok {
        return None;
    }
    let mut names = Vec::new();
    if h[0] == 0x81
        && let Some(body) = d.get(4..4 + len)
        && let Some((called, next)) = name_at(body, 0)
    {
        names.push(called);
        if let Some((calling, _)) = name_at(body, next) {
            names.push(calling);
        }
    }
    Some((names, 4 + len))
}

/// A name or datagram service packet: (opcode, names).
fn parse_datagram(service: Service, payload: &[u8]) -> Option<(Option<&'static str>, Vec<String>)> {
    match service {
        Service::Name => parse_ns(payload).map(|(op, names)| (Some(op), names)),
        _ => parse_dgm(payload).map(|names| (None, names)),
    }
}

/// udp/137 or udp/138: NetBIOS's own, never another protocol's (its name
/// service speaks DNS's wire format, but tshark calls it NBNS by the port).
pub(crate) fn is_datagram_port(p: u16) -> bool {
    p == PORT_NS || p == PORT_DGM
}

/// A datagram on udp/137 or udp/138 that parses as that service.
pub(crate) fn classify_datagram(d: &Datagram<'_>, app: &mut Option<AppInfo>) -> Option<(Match, Outcome)> {
    let service = if d.has_port(|p| p == PORT_NS) {
        Service::Name
    } else if d.has_port(|p| p == PORT_DGM) {
        Service::Datagram
    } else {
        return None;
    };
    let (op, names) = parse_datagram(service, d.payload)?;
    let mut r = Reader { service, messages: 0 };
    let out = r.add(op, names, app);
    Some((Match::new(r, None), out))
}

/// A stream on tcp/139 that starts with a valid session-service header.
pub(crate) fn classify_stream(s: &Stream<'_>) -> Sniffed {
    if !s.has_port(|p| p == PORT_SSN) {
        return Sniffed::No;
    }
    if s.data.len() < 4 {
        return Sniffed::NeedMore;
    }
    match parse_ssn(s.data) {
        Some(_) => Sniffed::Yes(Match::new(Reader { service: Service::Session, messages: 0 }, None)),
        None => Sniffed::No,
    }
}

/// Reads NetBIOS messages of one service.
#[derive(Debug)]
struct Reader {
    service: Service,
    messages: u32,
}

impl Reader {
    /// Adds what one message showed; Done once enough was read.
    fn add(&mut self, opcode: Option<&'static str>, names: Vec<String>, app: &mut Option<AppInfo>) -> Outcome {
        let Some(info) = super::netbios_info(app) else {
            return Outcome::need_more();
        };
        if info.service.is_empty() {
            info.service = self.service.label().into();
        }
        if info.opcode.is_none() {
            info.opcode = opcode.map(String::from);
        }
        for n in names {
            if info.names.len() < MAX_NAMES && !info.names.contains(&n) {
                info.names.push(n);
            }
        }
        self.messages += 1;
        let done = self.messages >= MAX_MESSAGES || info.names.len() >= MAX_NAMES;
        Outcome::new(if done { Verdict::Done } else { Verdict::NeedMore }, None)
    }
}

impl Inspector for Reader {
    fn on_datagram(&mut self, _side: Side, payload: &[u8], app: &mut Option<AppInfo>) -> Outcome {
        match parse_datagram(self.service, payload) {
            Some((op, names)) => self.add(op, names, app),
            None => Outcome::need_more(),
        }
    }

    /// Session service: the header of the first message tells; only a
    /// session request carries names. The rest (SMB) is not read.
    fn on_stream(&mut self, _side: Side, r: &mut Reassembler, app: &mut Option<AppInfo>) -> Outcome {
        let names = match parse_ssn(r.data()) {
            Some((names, _)) => names,
            None if r.data().len() < 4 && !r.overflowed() => return Outcome::need_more(),
            None => Vec::new(),
        };
        r.clear();
        let out = self.add(None, names, app);
        Outcome::new(if out.verdict == Verdict::Done { Verdict::Done } else { Verdict::SideDone }, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// First-level encoding of `name` padded to 15 with `pad`, then `suffix`.
    fn encode(name: &[u8], pad: u8, suffix: u8) -> Vec<u8> {
        let mut raw = name.to_vec();
        raw.resize(15, pad);
        raw.push(suffix);
        let mut out = vec![0x20];
        for b in raw {
            out.push(b'A' + (b >> 4));
            out.push(b'A' + (b & 15));
        }
        out.push(0);
        out
    }

    #[test]
    fn name_query_as_tshark_shows_it() {
        // Broadcast name query, as in the corpus (ndpi_netbios.pcap: "XSTREAM_HY<00>").
        let mut p = vec![0x80, 0x01, 0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 0];
        p.extend_from_slice(&encode(b"XSTREAM_HY", b' ', 0));
        p.extend_from_slice(&[0, 0x20, 0, 1]);
        assert_eq!(parse_ns(&p), Some(("query", vec!["XSTREAM_HY<00>".to_string()])));
        // The wildcard name: '*' then NULs, each NUL shown.
        let mut w = p[..12].to_vec();
        w.extend_from_slice(&encode(b"*", 0, 0));
        assert_eq!(parse_ns(&w).map(|x| x.1[0].clone()), Some(format!("*{}", "<00>".repeat(15))));
    }

    #[test]
    fn datagram_names_and_session_request() {
        let mut d = vec![0x11, 0x02, 0x80, 0x01, 10, 0, 5, 9, 0, 138, 0, 100, 0, 0];
        d.extend_from_slice(&encode(b"NVR9", b' ', 0x20));
        d.extend_from_slice(&encode(b"VIGILANT_GROUP", b' ', 0x1d));
        assert_eq!(parse_dgm(&d), Some(vec!["NVR9<20>".into(), "VIGILANT_GROUP<1d>".into()]));
        let mut body = encode(b"IBIFHQ11WS023", b' ', 0x20);
        body.extend_from_slice(&encode(b"ROSFHQ07WS004", b' ', 0));
        let mut s = vec![0x81, 0, 0, body.len() as u8];
        s.extend_from_slice(&body);
        let (names, len) = parse_ssn(&s).expect("session request");
        assert_eq!(names, vec!["IBIFHQ11WS023<20>", "ROSFHQ07WS004<00>"]);
        assert_eq!(len, s.len());
    }

    #[test]
    fn garbage_is_not_netbios() {
        assert!(parse_ns(&[0xff; 60]).is_none());
        assert!(parse_dgm(&[0x10; 20]).is_none());
        assert!(parse_ssn(&[0x81, 0, 0, 2]).is_none());
        assert!(parse_ssn(b"GET / HTTP/1.1\r\n").is_none());
        // A name whose scope labels run off the end.
        let mut n = encode(b"A", b' ', 0);
        n.pop();
        n.push(40);
        assert!(name_at(&n, 0).is_none());
    }
}
