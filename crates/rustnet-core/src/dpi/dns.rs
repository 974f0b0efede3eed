//! DNS over UDP and over TCP (2-byte length prefix), read with
//! hickory-proto's decoder one section entry at a time, so a broken record
//! keeps everything that came before it. mDNS and LLMNR (`mdns.rs`,
//! `llmnr.rs`) reuse this reader with their own [`Flavour`].

use super::inspect::{Datagram, Inspector, MAX_CLASSIFIED, Match, Outcome, Sniffed, Stream, Verdict};
use super::reassembly::Reassembler;
use super::side::Side;
use super::{AppInfo, DnsAnswer, DnsInfo, DnsQuestion};
use crate::track::State;
use hickory_proto::op::Query;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use std::fmt::Write;
use std::net::Ipv4Addr;

/// Questions and answers kept per connection.
pub const MAX_ITEMS: usize = 16;
/// Messages read per connection before DPI stops.
pub const MAX_MESSAGES: usize = 32;
/// Longest rdata summary kept.
const MAX_DATA: usize = 200;

/// Ports where DNS is expected (DNS, mDNS, LLMNR).
pub(crate) fn is_dns_port(p: u16) -> bool {
    matches!(p, 53 | 5353 | 5355)
}

/// One parsed message, as far as it parsed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Message {
    pub response: bool,
    pub rcode: u8,
    pub questions: Vec<DnsQuestion>,
    pub answers: Vec<DnsAnswer>,
    /// Questions or answers beyond `MAX_ITEMS` were left out.
    pub truncated: bool,
}

/// Parses a DNS message. `strict` (for ports that are not DNS ports) asks
/// for a sane header, at least one question and a clean parse of the
/// question section, so random UDP is not taken for DNS.
pub(crate) fn parse(d: &[u8], strict: bool) -> Option<Message> {
    if d.len() < 12 {
        return None;
    }
    let flags = d[2];
    let opcode = (flags >> 3) & 0x0f;
    let count = |i: usize| u16::from_be_bytes([d[i], d[i + 1]]);
    let (qd, an, ns, ar) = (count(4), count(6), count(8), count(10));
    // Header sanity: standard opcodes; counts a real message could hold.
    if opcode > 5 || qd > 64 || an > 512 || ns > 512 || ar > 512 {
        return None;
    }
    // Every question needs at least 5 bytes, every record 11.
    let min = 12 + 5 * usize::from(qd) + 11 * usize::from(an + ns + ar);
    if strict && (qd == 0 || qd > 4 || opcode != 0 || d[3] & 0x40 != 0 || min > d.len()) {
        return None;
    }
    let mut m = Message { response: flags & 0x80 != 0, rcode: d[3] & 0x0f, ..Message::default() };
    let mut dec = BinDecoder::new(d);
    dec.read_slice(12).ok()?;
    for _ in 0..qd {
        match Query::read(&mut dec) {
            Ok(q) => {
                if m.questions.len() < MAX_ITEMS {
                    m.questions.push(DnsQuestion { name: name_str(q.name()), qtype: type_str(q.query_type()) });
                } else {
                    m.truncated = true;
                }
            }
            Err(_) if strict || m.questions.is_empty() && qd > 0 => return None,
            Err(_) => return Some(m),
        }
    }
    if m.response {
        for _ in 0..an {
            let Ok(r) = Record::<RData>::read(&mut dec) else {
                break; // keep the questions and answers read so far
            };
            if m.answers.len() < MAX_ITEMS {
                m.answers.push(answer(&r));
            } else {
                m.truncated = true;
            }
        }
    }
    Some(m)
}

fn answer(r: &Record<RData>) -> DnsAnswer {
    let data = match &r.data {
        RData::A(a) => ipv4_str(a.0),
        RData::AAAA(a) => a.to_string(),
        RData::CNAME(n) => name_str(&n.0),
        RData::PTR(n) => name_str(&n.0),
        RData::NS(n) => name_str(&n.0),
        other => {
            // hickory's Display can fail on odd rdata (to_string would panic): write! instead.
            let mut s = String::new();
            if write!(s, "{other}").is_err() {
                s = String::from("<unprintable>");
            }
            if s.len() > MAX_DATA {
                let mut cut = MAX_DATA;
                while !s.is_char_boundary(cut) {
                    cut -= 1;
                }
                s.truncate(cut);
            }
            s
        }
    };
    DnsAnswer { name: name_str(&r.name), rtype: type_str(r.record_type()), data }
}

/// Presentation form without the trailing dot. Labels that are UTF-8 (LLMNR
/// and mDNS names often are) show as text, as tshark shows them; control and
/// invisible format characters, other bytes outside printable ASCII, and '.'
/// or '\' inside a label stay \DDD as in RFC 1035, so a name can neither
/// drive the terminal nor pass for another.
pub(crate) fn name_str(n: &Name) -> String {
    // Built as bytes and checked as UTF-8 once (a check per label was a
    // quarter of this function's cost): only whole characters and ASCII
    // escapes are pushed, so the check cannot fail.
    let mut s = Vec::with_capacity(n.len());
    for (i, label) in n.iter().enumerate() {
        if i > 0 {
            s.push(b'.');
        }
        // Fast path for the usual label, printable ASCII only: pushed whole
        // (DNS was 7 % of DPI's instructions, mostly this per-char loop).
        if label.iter().all(|&b| b.is_ascii_graphic() && b != b'.' && b != b'\\') {
            s.extend_from_slice(label);
            continue;
        }
        for chunk in label.utf8_chunks() {
            for c in chunk.valid().chars() {
                let shown = if c.is_ascii() {
                    c.is_ascii_graphic() && c != '.' && c != '\\'
                } else {
                    !c.is_control() && !is_invisible_format(c)
                };
                let mut buf = [0; 4];
                let bytes = c.encode_utf8(&mut buf).as_bytes();
                if shown {
                    s.extend_from_slice(bytes);
                } else {
                    escape(&mut s, bytes);
                }
            }
            escape(&mut s, chunk.invalid());
        }
    }
    String::from_utf8(s).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `\DDD` (RFC 1035) for each byte.
fn escape(s: &mut Vec<u8>, bytes: &[u8]) {
    for b in bytes {
        s.extend_from_slice(&[b'\\', b'0' + b / 100, b'0' + b / 10 % 10, b'0' + b % 10]);
    }
}

/// Dotted quad by hand: `Ipv4Addr`'s `Display` took 1.8 k instructions an
/// answer (callgrind), a tenth of a DNS response's cost.
fn ipv4_str(a: Ipv4Addr) -> String {
    let mut s = String::with_capacity(15);
    let mut buf = itoa::Buffer::new();
    for (i, o) in a.octets().into_iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        s.push_str(buf.format(o));
    }
    s
}

/// Characters that change how text around them is shown while showing
/// nothing themselves (bidi controls, zero-width marks, BOM): escaped, like
/// control characters, so a name cannot reorder or hide what follows it.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{00ad}' | '\u{061c}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}')
        || matches!(c, '\u{2060}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
}

/// Type mnemonic ("A", "HTTPS"), or `TYPEn` (RFC 3597) for types without one.
pub(crate) fn type_str(t: RecordType) -> String {
    match t {
        RecordType::Unknown(n) => format!("TYPE{n}"),
        t => {
            // hickory's mnemonic table, without going through Display.
            let s: &'static str = t.into();
            if s.is_empty() || s == "Unknown" { format!("TYPE{}", u16::from(t)) } else { s.to_owned() }
        }
    }
}

pub(crate) fn rcode_str(r: u8) -> String {
    match r {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        6 => "YXDOMAIN".into(),
        7 => "YXRRSET".into(),
        8 => "NXRRSET".into(),
        9 => "NOTAUTH".into(),
        10 => "NOTZONE".into(),
        n => format!("RCODE{n}"),
    }
}

/// Adds a message to the connection's record; true if it was a response.
/// A question or answer that does not fit (and is not a repeat) sets
/// `truncated`.
pub(crate) fn merge(info: &mut DnsInfo, m: Message) -> bool {
    info.truncated |= m.truncated;
    for q in m.questions {
        if !info.queries.contains(&q) {
            if info.queries.len() < MAX_ITEMS {
                info.queries.push(q);
            } else {
                info.truncated = true;
            }
        }
    }
    if m.response {
        info.rcode = Some(rcode_str(m.rcode));
        for a in m.answers {
            if !info.answers.contains(&a) {
                if info.answers.len() < MAX_ITEMS {
                    info.answers.push(a);
                } else {
                    info.truncated = true;
                }
            }
        }
    }
    m.response
}

/// True when `m` holds a question or answer that `info` does not.
fn adds_new(info: &DnsInfo, m: &Message) -> bool {
    m.truncated
        || m.questions.iter().any(|q| !info.queries.contains(q))
        || (m.response && m.answers.iter().any(|a| !info.answers.contains(a)))
}

/// True when nothing more can be added: both lists are full and something
/// was already left out (reading on until then is what makes `truncated`
/// true only when a name was really lost).
pub(crate) fn full(info: &DnsInfo) -> bool {
    info.truncated && info.queries.len() >= MAX_ITEMS && info.answers.len() >= MAX_ITEMS
}

/// The first DNS-over-TCP message of `data` (RFC 1035 §4.2.2: a 2-byte
/// length, then the message), or None while it is incomplete.
fn frame(data: &[u8]) -> Option<&[u8]> {
    let len = usize::from(u16::from_be_bytes([*data.first()?, *data.get(1)?]));
    data.get(2..2 + len)
}

/// Who sent a message: responses come from the server.
fn sender(m: &Message) -> Side {
    if m.response { Side::Server } else { Side::Client }
}

/// A stream whose first length-prefixed message parses (strictly off the
/// DNS ports). That message is kept for the reader, not parsed again.
pub(crate) fn classify_stream(s: &Stream<'_>) -> Sniffed {
    let dns_port = s.has_port(is_dns_port);
    if let Some(msg) = frame(s.data) {
        return match parse(msg, !dns_port) {
            Some(m) => Sniffed::Yes(Match::new(Reader::new(!dns_port, MAX_CLASSIFIED, Some(m)), None)),
            None => Sniffed::No,
        };
    }
    // Too short to tell, or the start of a DNS-sized message.
    let plausible = s.data.len() < 2 || u16::from_be_bytes([s.data[0], s.data[1]]) >= 12;
    if dns_port && plausible { Sniffed::NeedMore } else { Sniffed::No }
}

/// Which protocol speaks DNS's wire format on a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavour {
    Dns,
    /// Multicast DNS (udp/5353).
    Mdns,
    /// LLMNR (udp/5355).
    Llmnr,
}

/// The flavour the ports name, as tshark picks it: the lower port first,
/// then the higher (so 53 <-> 5353 is DNS); None when neither is a DNS port.
pub(crate) fn port_flavour(ports: (u16, u16)) -> Option<Flavour> {
    let of = |p| match p {
        53 => Some(Flavour::Dns),
        5353 => Some(Flavour::Mdns),
        5355 => Some(Flavour::Llmnr),
        _ => None,
    };
    let (lo, hi) = if ports.0 <= ports.1 { ports } else { (ports.1, ports.0) };
    of(lo).or_else(|| of(hi))
}

/// A datagram whose ports name `flavour` and that parses as DNS (leniently).
pub(crate) fn classify_flavour(
    d: &Datagram<'_>,
    flavour: Flavour,
    app: &mut Option<AppInfo>,
) -> Option<(Match, Outcome)> {
    if port_flavour(d.ports) != Some(flavour) {
        return None;
    }
    classify_datagram(d, false, flavour, app)
}

/// A datagram on the DNS port that parses as DNS (leniently).
pub(crate) fn classify_on_dns_port(d: &Datagram<'_>, app: &mut Option<AppInfo>) -> Option<(Match, Outcome)> {
    classify_flavour(d, Flavour::Dns, app)
}

/// A datagram on any port but NetBIOS's that parses strictly as DNS (a
/// NetBIOS name packet NetBIOS's reader refused is still not DNS).
pub(crate) fn classify_anywhere(d: &Datagram<'_>, app: &mut Option<AppInfo>) -> Option<(Match, Outcome)> {
    if d.has_port(super::netbios::is_datagram_port) {
        return None;
    }
    classify_datagram(d, true, Flavour::Dns, app)
}

fn classify_datagram(
    d: &Datagram<'_>,
    strict: bool,
    flavour: Flavour,
    app: &mut Option<AppInfo>,
) -> Option<(Match, Outcome)> {
    let m = parse(d.payload, strict)?;
    let side = sender(&m);
    // UDP DNS ends on the message count, not on packets.
    let mut r = Reader::new(!d.has_port(is_dns_port), u32::MAX, None);
    r.flavour = flavour;
    let out = r.message(m, app);
    Some((Match::new(r, Some(side)), out))
}

/// Reads DNS messages, datagrams or length-prefixed on a stream.
#[derive(Debug)]
struct Reader {
    /// Parse as off a DNS port (see [`parse`]).
    strict: bool,
    /// The message the classifier parsed, still at the stream's read point.
    pending: Option<Message>,
    messages: u32,
    max_packets: u32,
    flavour: Flavour,
}

impl Reader {
    fn new(strict: bool, max_packets: u32, pending: Option<Message>) -> Self {
        Reader { strict, pending, messages: 0, max_packets, flavour: Flavour::Dns }
    }

    fn message(&mut self, m: Message, app: &mut Option<AppInfo>) -> Outcome {
        let info = match self.flavour {
            Flavour::Dns => super::dns_info(app),
            Flavour::Mdns => super::mdns_info(app),
            Flavour::Llmnr => super::llmnr_info(app),
        };
        let Some(info) = info else {
            return Outcome::need_more();
        };
        self.messages += 1;
        if self.messages as usize > MAX_MESSAGES {
            // One message past the limit is looked at only to tell whether
            // stopping loses anything.
            info.truncated |= adds_new(info, &m);
            return Outcome::new(Verdict::Done, None);
        }
        let response = merge(info, m);
        let done = full(info);
        let state = if response { State::DnsResponse } else { State::DnsQuery };
        Outcome::new(if done { Verdict::Done } else { Verdict::NeedMore }, Some(state))
    }
}

impl Inspector for Reader {
    fn on_datagram(&mut self, _side: Side, payload: &[u8], app: &mut Option<AppInfo>) -> Outcome {
        match parse(payload, self.strict) {
            Some(m) => self.message(m, app),
            None => Outcome::need_more(),
        }
    }

    fn on_stream(&mut self, _side: Side, r: &mut Reassembler, app: &mut Option<AppInfo>) -> Outcome {
        let mut out = Outcome::need_more();
        while let Some(msg) = frame(r.data()) {
            let len = msg.len();
            if let Some(m) = self.pending.take().or_else(|| parse(msg, self.strict)) {
                let o = self.message(m, app);
                out = Outcome::new(o.verdict, o.state.or(out.state));
            }
            r.consume(2 + len);
            if out.verdict == Verdict::Done {
                break;
            }
        }
        out
    }

    fn max_packets(&self) -> u32 {
        self.max_packets
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A query for `name` (type `qtype`), built by hand.
    pub(crate) fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
        let mut d = id.to_be_bytes().to_vec();
        d.extend_from_slice(&[1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        for l in name.split('.') {
            d.push(l.len() as u8);
            d.extend_from_slice(l.as_bytes());
        }
        d.push(0);
        d.extend_from_slice(&qtype.to_be_bytes());
        d.extend_from_slice(&[0, 1]);
        d
    }

    /// The response to `query` with one A answer and one TYPE65 answer.
    pub(crate) fn response(q: &[u8], rcode: u8) -> Vec<u8> {
        let mut d = q.to_vec();
        d[2] = 0x81;
        d[3] = 0x80 | rcode;
        d[7] = 2;
        d.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
        d.extend_from_slice(&[0xc0, 12, 0, 65, 0, 1, 0, 0, 0, 60, 0, 3, 0, 1, 0]);
        d
    }

    #[test]
    fn query_and_response() {
        let q = query(0x1234, "www.example.com", 1);
        let m = parse(&q, true).expect("query");
        assert!(!m.response);
        assert_eq!(m.questions[0].name, "www.example.com");
        assert_eq!(m.questions[0].qtype, "A");
        let r = parse(&response(&q, 0), true).expect("response");
        assert!(r.response);
        assert_eq!(r.answers[0].data, "192.0.2.1");
        assert_eq!(r.answers[0].rtype, "A");
        assert_eq!(r.answers[1].rtype, "HTTPS");
        let mut info = DnsInfo::default();
        merge(&mut info, r);
        assert_eq!(info.rcode.as_deref(), Some("NOERROR"));
    }

    #[test]
    fn broken_answer_keeps_question() {
        let q = query(1, "www.xt.com", 1);
        let mut r = response(&q, 3);
        r.truncate(r.len() - 20);
        let m = parse(&r, false).expect("lenient");
        assert_eq!(m.questions.len(), 1);
        assert_eq!(m.answers.len(), 0);
        assert_eq!(m.rcode, 3);
    }

    #[test]
    fn odd_bytes_in_names_are_escaped() {
        let mut q = query(1, "ab", 1);
        q[13] = 4; // 'a' -> \004
        let m = parse(&q, false).expect("parses");
        assert_eq!(m.questions[0].name, "\\004b");
    }

    /// name_str of one name made of raw `labels`.
    fn shown(labels: &[&[u8]]) -> String {
        let name = Name::from_labels(labels.iter().copied()).unwrap_or_else(|e| panic!("{labels:?}: {e}"));
        name_str(&name)
    }

    #[test]
    fn utf8_names_are_shown_as_text() {
        // The LLMNR query of the corpus, as tshark shows it.
        let q = query(1, "小佛專機", 1);
        assert_eq!(parse(&q, false).expect("parses").questions[0].name, "小佛專機");
        assert_eq!(shown(&["café".as_bytes(), b"local"]), "café.local");
    }

    #[test]
    fn control_and_invisible_characters_stay_escaped() {
        assert_eq!(shown(&[b"a\x07b", b"c d"]), "a\\007b.c\\032d");
        // C1 control NEL (U+0085), right-to-left override (U+202E), zero-width space.
        assert_eq!(shown(&["x\u{85}".as_bytes()]), "x\\194\\133");
        assert_eq!(shown(&["\u{202e}gpj.exe".as_bytes()]), "\\226\\128\\174gpj\\046exe");
        assert_eq!(shown(&["a\u{200b}".as_bytes()]), "a\\226\\128\\139");
    }

    #[test]
    fn invalid_utf8_bytes_stay_escaped() {
        assert_eq!(shown(&[&[0xff, b'a', 0xe5, 0xb0]]), "\\255a\\229\\176");
        // The valid part of a label is still text.
        assert_eq!(shown(&[&[0xe5, 0xb0, 0x8f, 0xff]]), "小\\255");
    }

    #[test]
    fn dot_and_backslash_inside_a_label_are_escaped() {
        assert_eq!(shown(&[b"a.b\\c", b"d"]), "a\\046b\\092c.d");
    }

    #[test]
    fn ipv4_answers_read_as_display_writes_them() {
        for a in [[0, 0, 0, 0], [255, 255, 255, 255], [10, 0, 100, 7], [192, 168, 1, 20]] {
            let a = Ipv4Addr::from(a);
            assert_eq!(ipv4_str(a), a.to_string());
        }
    }

    #[test]
    fn random_bytes_are_not_dns_when_strict() {
        assert!(parse(b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c", true).is_none());
        assert!(parse(&[0xff; 40], true).is_none());
        assert!(parse(&[0; 5], false).is_none());
        // Zero questions: not accepted off the DNS ports.
        let mut q = query(1, "a.b", 1);
        q[5] = 0;
        assert!(parse(&q, true).is_none());
    }

    #[test]
    fn compression_loop_does_not_hang() {
        let mut d = vec![0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
        d.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]); // question name points to itself
        let _ = parse(&d, false);
    }
}
