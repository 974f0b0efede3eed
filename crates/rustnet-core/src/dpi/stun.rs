//! STUN and TURN (RFC 5389/8489, RFC 8656): the first message's type and the
//! first SOFTWARE attribute, recognised on any port by the magic cookie; over
//! UDP, and over TCP both bare and in RFC 4571 framing (ICE-TCP). Read by
//! hand: a 20-byte header and TLV attributes; the STUN crates are built for
//! endpoints (they check integrity and build messages).

use super::AppInfo;
use super::inspect::{Datagram, Inspector, Match, Outcome, Sniffed, Stream, Verdict};
use super::reassembly::Reassembler;
use super::side::Side;

const COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];
const HEADER: usize = 20;
const ATTR_SOFTWARE: u16 = 0x8022;
/// SOFTWARE is at most 763 bytes (RFC 8489 14.14); longer values are cut.
const MAX_SOFTWARE: usize = 763;

/// A whole STUN message: (type, attributes), or None.
fn message(d: &[u8]) -> Option<(u16, &[u8])> {
    let h = d.get(..HEADER)?;
    let t = u16::from_be_bytes([h[0], h[1]]);
    let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
    if t & 0xc000 != 0 || len % 4 != 0 || h[4..8] != COOKIE {
        return None;
    }
    Some((t, d.get(HEADER..HEADER + len)?))
}

/// Whether `d` can be the start of a STUN header: None = too short to say.
fn header_start(d: &[u8]) -> Option<bool> {
    let ok = d.first().is_none_or(|b| b & 0xc0 == 0)
        && d.get(3).is_none_or(|b| b % 4 == 0)
        && d.iter().skip(4).zip(COOKIE).all(|(a, b)| *a == b);
    if !ok {
        Some(false)
    } else if d.len() < 8 {
        None
    } else {
        Some(true)
    }
}

/// A datagram that is exactly one STUN message.
pub(crate) fn classify(d: &Datagram<'_>, app: &mut Option<AppInfo>) -> Option<(Match, Outcome)> {
    let (t, attrs) = message(d.payload)?;
    if HEADER + attrs.len() != d.payload.len() {
        return None;
    }
    let mut st = Stun::default();
    let out = st.read(t, attrs, app);
    Some((Match::new(st, None), out))
}

/// A stream that starts with a STUN header, bare or after an RFC 4571 length.
pub(crate) fn classify_stream(s: &Stream<'_>) -> Sniffed {
    let bare = header_start(s.data);
    let framed = header_start(s.data.get(2..).unwrap_or(&[]));
    let framed = match (framed, s.data.get(..6)) {
        // The frame holds the whole message: its length is the header's + 20.
        (Some(true), Some(h)) => {
            let (frame, msg) = (u16::from_be_bytes([h[0], h[1]]), u16::from_be_bytes([h[4], h[5]]));
            Some(usize::from(frame) == usize::from(msg) + HEADER)
        }
        (f, _) => f,
    };
    let framing = match (bare, framed) {
        (Some(true), _) => false,
        (_, Some(true)) => true,
        (Some(false), Some(false)) => return Sniffed::No,
        _ => return Sniffed::NeedMore,
    };
    Sniffed::Yes(Match::new(Stun { framed: framing }, None))
}

/// Reads STUN messages until the type and SOFTWARE are known.
#[derive(Debug, Default)]
struct Stun {
    /// TCP messages carry an RFC 4571 length prefix.
    framed: bool,
}

impl Stun {
    fn read(&mut self, t: u16, attrs: &[u8], app: &mut Option<AppInfo>) -> Outcome {
        let Some(info) = super::stun_info(app) else {
            return Outcome::need_more();
        };
        info.message_type.get_or_insert_with(|| type_name(t));
        if info.software.is_none() {
            info.software = software(attrs);
        }
        let verdict = if info.software.is_some() { Verdict::Done } else { Verdict::NeedMore };
        Outcome::new(verdict, None)
    }
}

impl Inspector for Stun {
    fn on_datagram(&mut self, _side: Side, payload: &[u8], app: &mut Option<AppInfo>) -> Outcome {
        // Other datagrams of the flow (TURN ChannelData, DTLS, RTP) are passed over.
        match message(payload) {
            Some((t, attrs)) => self.read(t, attrs, app),
            None => Outcome::need_more(),
        }
    }

    fn on_stream(&mut self, _side: Side, r: &mut Reassembler, app: &mut Option<AppInfo>) -> Outcome {
        loop {
            let d = r.data();
            let skip = usize::from(self.framed) * 2;
            let Some(h) = d.get(skip..skip + 4) else {
                return Outcome::need_more();
            };
            let (t, len) = (u16::from_be_bytes([h[0], h[1]]), usize::from(u16::from_be_bytes([h[2], h[3]])));
            let total = match (self.framed, t >> 14) {
                (true, _) => 2 + usize::from(u16::from_be_bytes([d[0], d[1]])),
                (false, 0) => HEADER + len,
                // TURN ChannelData: 4-byte header, data padded to 4 over TCP.
                (false, 1) => 4 + len.div_ceil(4) * 4,
                _ => return Outcome::new(Verdict::SideDone, None),
            };
            let Some(m) = d.get(skip..total) else {
                let v = if r.overflowed() { Verdict::SideDone } else { Verdict::NeedMore };
                return Outcome::new(v, None);
            };
            let out = match message(m) {
                Some((t, attrs)) => self.read(t, attrs, app),
                None => Outcome::need_more(),
            };
            r.consume(total);
            if out.verdict == Verdict::Done {
                return out;
            }
        }
    }
}

/// The SOFTWARE attribute's value.
fn software(mut a: &[u8]) -> Option<String> {
    while let [t0, t1, l0, l1, rest @ ..] = a {
        let (t, len) = (u16::from_be_bytes([*t0, *t1]), usize::from(u16::from_be_bytes([*l0, *l1])));
        let v = rest.get(..len)?;
        if t == ATTR_SOFTWARE {
            return Some(String::from_utf8_lossy(&v[..len.min(MAX_SOFTWARE)]).into_owned());
        }
        a = rest.get(len.div_ceil(4) * 4..)?;
    }
    None
}

/// "Binding Request", "Allocate Error Response", … as tshark names them.
fn type_name(t: u16) -> String {
    let method = (t & 0x000f) | ((t & 0x00e0) >> 1) | ((t & 0x3e00) >> 2);
    let class = ((t & 0x0010) >> 4) | ((t & 0x0100) >> 7);
    let m = match method {
        0x001 => "Binding".to_string(),
        0x002 => "SharedSecret".to_string(),
        0x003 => "Allocate".to_string(),
        0x004 => "Refresh".to_string(),
        0x006 => "Send".to_string(),
        0x007 => "Data".to_string(),
        0x008 => "CreatePermission".to_string(),
        0x009 => "ChannelBind".to_string(),
        0x00a => "Connect".to_string(),
        0x00b => "ConnectionBind".to_string(),
        0x00c => "ConnectionAttempt".to_string(),
        m => format!("0x{m:03x}"),
    };
    let c = ["Request", "Indication", "Success Response", "Error Response"][usize::from(class & 3)];
    format!("{m} {c}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Binding Request with a SOFTWARE attribute (as stunclient sends it).
    fn request(software: &[u8]) -> Vec<u8> {
        let padded = software.len().div_ceil(4) * 4;
        let mut m = vec![0x00, 0x01];
        m.extend(((4 + padded) as u16).to_be_bytes());
        m.extend(COOKIE);
        m.extend([7u8; 12]);
        m.extend(ATTR_SOFTWARE.to_be_bytes());
        m.extend((software.len() as u16).to_be_bytes());
        m.extend(software);
        m.resize(HEADER + 4 + padded, 0);
        m
    }

    #[test]
    fn datagram_and_streams() {
        let m = request(b"pion/1.0");
        let mut app = None;
        let d = Datagram { payload: &m, ports: (40000, 19302) };
        let (_, out) = classify(&d, &mut app).expect("STUN");
        assert_eq!(out.verdict, Verdict::Done);
        let Some(AppInfo::Stun(s)) = &app else { panic!("{app:?}") };
        assert_eq!(s.message_type.as_deref(), Some("Binding Request"));
        assert_eq!(s.software.as_deref(), Some("pion/1.0"));
        assert!(classify(&Datagram { payload: &m[..m.len() - 1], ports: (1, 2) }, &mut app).is_none());
        assert!(matches!(classify_stream(&Stream { data: &m[..6], ports: (1, 2) }), Sniffed::NeedMore));
        assert!(matches!(classify_stream(&Stream { data: &m, ports: (1, 2) }), Sniffed::Yes(_)));
        let mut framed = (m.len() as u16).to_be_bytes().to_vec();
        framed.extend(&m);
        let Sniffed::Yes(mut st) = classify_stream(&Stream { data: &framed, ports: (1, 2) }) else { panic!() };
        let (mut r, mut app) = (Reassembler::default(), None);
        r.push(0, &framed[..30]);
        assert_eq!(st.inspector.on_stream(Side::Client, &mut r, &mut app).verdict, Verdict::NeedMore);
        r.push(30, &framed[30..]);
        assert_eq!(st.inspector.on_stream(Side::Client, &mut r, &mut app).verdict, Verdict::Done);
        let Some(AppInfo::Stun(s)) = &app else { panic!("{app:?}") };
        assert_eq!(s.software.as_deref(), Some("pion/1.0"));
        assert!(matches!(classify_stream(&Stream { data: b"GET / HTTP/1.1\r\n", ports: (1, 2) }), Sniffed::No));
        assert_eq!(type_name(0x0113), "Allocate Error Response");
        assert_eq!(type_name(0x0101), "Binding Success Response");
        assert_eq!(type_name(0x0016), "Send Indication");
    }
}
