//! MQTT (3.1, 3.1.1, 5.0): protocol version and client identifier of the
//! client's CONNECT, recognised on any port by its fixed header and protocol
//! name. Read by hand: the few fields before the client id; the MQTT crates
//! decode whole sessions (and would hold the password we must not keep).

use super::AppInfo;
use super::inspect::{Inspector, Match, Outcome, Sniffed, Stream, Verdict};
use super::reassembly::Reassembler;
use super::side::Side;

/// Client ids longer than this are cut (MQTT allows 65535 bytes).
const MAX_CLIENT_ID: usize = 256;

/// Result of reading the start of a stream as a CONNECT.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    /// (version, client id) — the id None when the packet ended before it.
    Connect(&'static str, Option<String>),
    NeedMore,
    No,
}

/// A stream whose first packet is an MQTT CONNECT.
pub(crate) fn classify(s: &Stream<'_>) -> Sniffed {
    match parse_connect(s.data) {
        Parsed::Connect(..) => Sniffed::Yes(Match::new(Mqtt, Some(Side::Client))),
        Parsed::NeedMore => Sniffed::NeedMore,
        Parsed::No => Sniffed::No,
    }
}

/// MQTT's variable-length integer at the start of `d`: (value, bytes), or
/// Err(true) when more bytes are needed, Err(false) when malformed.
fn varint(d: &[u8]) -> Result<(usize, usize), bool> {
    let mut v = 0usize;
    for i in 0..4 {
        let b = *d.get(i).ok_or(true)?;
        v |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((v, i + 1));
        }
    }
    Err(false)
}

/// Reads a CONNECT at the start of `d` far enough for the version and the client id.
fn parse_connect(d: &[u8]) -> Parsed {
    match d.first() {
        Some(0x10) => {}
        Some(_) => return Parsed::No,
        None => return Parsed::NeedMore,
    }
    let (len, n) = match varint(&d[1..]) {
        Ok(x) => x,
        Err(more) => return if more { Parsed::NeedMore } else { Parsed::No },
    };
    // The protocol name: "MQTT" (3.1.1, 5.0) or "MQIsdp" (3.1), compared as far as we have it.
    let body = &d[1 + n..];
    let names: [&[u8]; 2] = [b"\x00\x04MQTT", b"\x00\x06MQIsdp"];
    let Some(name) = names.iter().find(|m| body.iter().zip(m.iter()).all(|(a, b)| a == b)) else {
        return Parsed::No;
    };
    // name, level, flags, keep-alive
    let Some(hdr) = body.get(..name.len() + 4) else {
        return Parsed::NeedMore;
    };
    if len < hdr.len() {
        return Parsed::No;
    }
    let (level, flags) = (hdr[name.len()], hdr[name.len() + 1]);
    let version = match (name.len(), level) {
        (8, 3) => "3.1",
        (6, 4) => "3.1.1",
        (6, 5) => "5.0",
        _ => return Parsed::No,
    };
    if flags & 1 != 0 {
        return Parsed::No; // reserved bit
    }
    let body = &body[..len.min(body.len())];
    let mut rest = &body[hdr.len()..];
    if level == 5 {
        // Properties: a length and that many bytes.
        match varint(rest) {
            Ok((plen, pn)) => rest = rest.get(pn + plen..).unwrap_or(&[]),
            Err(_) => rest = &[],
        }
    }
    let id = match rest {
        [a, b, id @ ..] if id.len() >= usize::from(u16::from_be_bytes([*a, *b])) => {
            let l = usize::from(u16::from_be_bytes([*a, *b]));
            Some(String::from_utf8_lossy(&id[..l.min(MAX_CLIENT_ID)]).into_owned())
        }
        _ => None,
    };
    Parsed::Connect(version, id)
}

/// Reads the client's CONNECT; the server's bytes are not needed.
#[derive(Debug)]
struct Mqtt;

impl Inspector for Mqtt {
    fn on_stream(&mut self, side: Side, r: &mut Reassembler, app: &mut Option<AppInfo>) -> Outcome {
        if side == Side::Server {
            return Outcome::new(Verdict::SideDone, None);
        }
        let Some(info) = super::mqtt_info(app) else {
            return Outcome::need_more();
        };
        match parse_connect(r.data()) {
            Parsed::Connect(v, id) => {
                info.version = Some(v.to_string());
                // Wait for the client id unless it cannot come any more.
                if id.is_none() && !r.overflowed() && r.data().len() < MAX_CLIENT_ID * 4 {
                    return Outcome::need_more();
                }
                info.client_id = id;
            }
            Parsed::NeedMore if !r.overflowed() => return Outcome::need_more(),
            Parsed::NeedMore | Parsed::No => {}
        }
        Outcome::done()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_versions_and_client_id() {
        // mosquitto_pub -V 311 -i sensor-7 -P secret
        let v311 = b"\x10\x22\x00\x04MQTT\x04\xc2\x00\x3c\x00\x08sensor-7\x00\x04anna\x00\x06secret";
        assert_eq!(parse_connect(v311), Parsed::Connect("3.1.1", Some("sensor-7".into())));
        let v31 = b"\x10\x12\x00\x06MQIsdp\x03\x02\x00\x3c\x00\x04abcd";
        assert_eq!(parse_connect(v31), Parsed::Connect("3.1", Some("abcd".into())));
        // 5.0 with a session-expiry property.
        let v5 = b"\x10\x15\x00\x04MQTT\x05\x02\x00\x3c\x05\x11\x00\x00\x00\x10\x00\x03xyz";
        assert_eq!(parse_connect(v5), Parsed::Connect("5.0", Some("xyz".into())));
        assert_eq!(parse_connect(&v311[..5]), Parsed::NeedMore);
        assert_eq!(parse_connect(&v311[..14]), Parsed::Connect("3.1.1", None));
        assert_eq!(parse_connect(b"\x10\x24\x00\x04MQTX"), Parsed::No);
        assert_eq!(parse_connect(b"\x20\x02\x00\x00"), Parsed::No);
        assert_eq!(parse_connect(b"\x10\xff\xff\xff\xff"), Parsed::No);
        let mut app = None;
        let mut r = Reassembler::default();
        r.push(0, v311);
        assert_eq!(Mqtt.on_stream(Side::Client, &mut r, &mut app).verdict, Verdict::Done);
        let Some(AppInfo::Mqtt(m)) = &app else { panic!("{app:?}") };
        assert_eq!((m.version.as_deref(), m.client_id.as_deref()), (Some("3.1.1"), Some("sensor-7")));
        assert!(!format!("{app:?}").contains("secret"));
    }
}
