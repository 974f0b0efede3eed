//! SNMP (v1, v2c, v3) on ports 161 and 162: version and PDU type. Read by
//! hand: four BER tag-length headers; the SNMP crates decode whole messages,
//! community string included, which we must not keep.

use super::AppInfo;
use super::inspect::{Datagram, Inspector, Match, Outcome};
use super::side::Side;

/// Agent and trap ports (tshark dissects SNMP over UDP there).
fn is_snmp_port(p: u16) -> bool {
    p == 161 || p == 162
}

/// One BER element at the start of `d`: (tag, contents, rest).
fn tlv(d: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, d) = d.split_first()?;
    let (&l, mut d) = d.split_first()?;
    let len = if l < 0x80 {
        usize::from(l)
    } else {
        let n = usize::from(l & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let (b, rest) = (d.get(..n)?, d.get(n..)?);
        d = rest;
        b.iter().fold(0usize, |v, &x| v << 8 | usize::from(x))
    };
    Some((tag, d.get(..len)?, d.get(len..)?))
}

/// (version, PDU type) of an SNMP message; the type None when encrypted.
fn parse(p: &[u8]) -> Option<(&'static str, Option<&'static str>)> {
    let (0x30, msg, _) = tlv(p)? else { return None };
    let (0x02, v, rest) = tlv(msg)? else { return None };
    let version = match v {
        [0] => "v1",
        [1] => "v2c",
        [3] => "v3",
        _ => return None,
    };
    let pdu = if version == "v3" {
        let (0x30, _global, rest) = tlv(rest)? else { return None };
        let (0x04, _security, rest) = tlv(rest)? else { return None };
        match tlv(rest)? {
            // A plaintext ScopedPDU: context engine id, context name, PDU.
            (0x30, scoped, _) => {
                let (0x04, _, s) = tlv(scoped)? else { return None };
                let (0x04, _, s) = tlv(s)? else { return None };
                Some(tlv(s)?.0)
            }
            (0x04, _, _) => None,
            _ => return None,
        }
    } else {
        // The community string is stepped over, never read.
        let (0x04, _community, rest) = tlv(rest)? else { return None };
        Some(tlv(rest)?.0)
    };
    let name = match pdu {
        None => None,
        Some(t) => Some(pdu_name(t)?),
    };
    Some((version, name))
}

/// tshark's names for the PDU tags.
fn pdu_name(tag: u8) -> Option<&'static str> {
    Some(match tag {
        0xa0 => "get-request",
        0xa1 => "get-next-request",
        0xa2 => "get-response",
        0xa3 => "set-request",
        0xa4 => "trap",
        0xa5 => "getBulkRequest",
        0xa6 => "informRequest",
        0xa7 => "snmpV2-trap",
        0xa8 => "report",
        _ => return None,
    })
}

/// A datagram on an SNMP port that parses as SNMP.
pub(crate) fn classify(d: &Datagram<'_>, app: &mut Option<AppInfo>) -> Option<(Match, Outcome)> {
    if !d.has_port(is_snmp_port) {
        return None;
    }
    parse(d.payload)?;
    let out = Snmp.on_datagram(Side::Client, d.payload, app);
    Some((Match::new(Snmp, None), out))
}

/// Reads messages until one shows its PDU type.
#[derive(Debug)]
struct Snmp;

impl Inspector for Snmp {
    fn on_datagram(&mut self, _side: Side, payload: &[u8], app: &mut Option<AppInfo>) -> Outcome {
        let Some((version, pdu)) = parse(payload) else {
            return Outcome::need_more();
        };
        let Some(info) = super::snmp_info(app) else {
            return Outcome::need_more();
        };
        info.version.get_or_insert_with(|| version.to_string());
        if let Some(p) = pdu {
            info.pdu_type = Some(p.to_string());
            return Outcome::done();
        }
        Outcome::need_more()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2c_get_and_v3() {
        // snmpget -v2c -c public host 1.3.6.1.2.1.1.1.0
        let get = b"\x30\x29\x02\x01\x01\x04\x06public\xa0\x1c\x02\x04\x12\x34\x56\x78\x02\x01\x00\x02\x01\x00\x30\x0e\x30\x0c\x06\x08\x2b\x06\x01\x02\x01\x01\x01\x00\x05\x00";
        assert_eq!(parse(get), Some(("v2c", Some("get-request"))));
        let mut app = None;
        assert!(classify(&Datagram { payload: get, ports: (40000, 161) }, &mut app).is_some());
        let Some(AppInfo::Snmp(s)) = &app else { panic!("{app:?}") };
        assert_eq!((s.version.as_deref(), s.pdu_type.as_deref()), (Some("v2c"), Some("get-request")));
        assert!(!format!("{app:?}").contains("public"));
        assert!(classify(&Datagram { payload: get, ports: (40000, 53) }, &mut app).is_none());
        // v3 with an encrypted PDU, then a long-form length.
        let v3 = b"\x30\x16\x02\x01\x03\x30\x03\x02\x01\x01\x04\x02\x00\x00\x04\x08\x01\x02\x03\x04\x05\x06\x07\x08";
        assert_eq!(parse(v3), Some(("v3", None)));
        assert_eq!(tlv(b"\x04\x81\x02ab"), Some((4, &b"ab"[..], &b""[..])));
        assert_eq!(tlv(b"\x04\x85\x02ab"), None);
        assert_eq!(parse(&get[..20]), None);
    }
}
