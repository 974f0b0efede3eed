//! SSDP (UPnP discovery): HTTP-like messages in UDP datagrams on port 1900
//! (M-SEARCH, NOTIFY and their responses); method, ST, NT, USN and SERVER of
//! the first. Headers read by a lenient line reader, not httparse: devices
//! send heads it rejects (bare LF, no blank line, odd tokens), and only five
//! fields are wanted.

use super::inspect::{Datagram, Inspector, Match, Outcome};
use super::side::Side;
use super::{AppInfo, SsdpInfo};

/// The SSDP port (tshark dissects SSDP there only).
pub(crate) const SSDP_PORT: u16 = 1900;
/// Header values longer than this are cut.
const MAX_VALUE: usize = 512;

/// A request (client) or response (server) start line.
fn start(p: &[u8]) -> Option<Option<Side>> {
    const REQUESTS: [&[u8]; 4] = [b"M-SEARCH ", b"NOTIFY ", b"SUBSCRIBE ", b"UNSUBSCRIBE "];
    if REQUESTS.iter().any(|m| p.starts_with(m)) {
        Some(Some(Side::Client))
    } else if p.starts_with(b"HTTP/1.") {
        Some(Some(Side::Server))
    } else {
        None
    }
}

/// A datagram on port 1900 that starts like an SSDP request or response.
pub(crate) fn classify(d: &Datagram<'_>, app: &mut Option<AppInfo>) -> Option<(Match, Outcome)> {
    if !d.has_port(|p| p == SSDP_PORT) {
        return None;
    }
    let sender = start(d.payload)?;
    *app = Some(AppInfo::Ssdp(parse(d.payload)));
    Some((Match::new(Ssdp, sender), Outcome::done()))
}

/// The fields of one message.
fn parse(p: &[u8]) -> SsdpInfo {
    let mut lines = p.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let first = lines.next().unwrap_or_default();
    let mut info = SsdpInfo::default();
    if !first.starts_with(b"HTTP/") {
        let m = first.split(|&b| b == b' ').next().unwrap_or_default();
        info.method = Some(String::from_utf8_lossy(m).into_owned());
    }
    for l in lines.take_while(|l| !l.is_empty()) {
        let Some(i) = l.iter().position(|&b| b == b':') else { continue };
        let (k, v) = (&l[..i], l[i + 1..].trim_ascii());
        let slot = match k.trim_ascii().to_ascii_uppercase().as_slice() {
            b"ST" => &mut info.st,
            b"NT" => &mut info.nt,
            b"USN" => &mut info.usn,
            b"SERVER" => &mut info.server,
            _ => continue,
        };
        slot.get_or_insert_with(|| String::from_utf8_lossy(&v[..v.len().min(MAX_VALUE)]).into_owned());
    }
    info
}

/// Everything is read from the first datagram.
#[derive(Debug)]
struct Ssdp;

impl Inspector for Ssdp {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_notify_and_response() {
        let m = b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n";
        let mut app = None;
        assert!(classify(&Datagram { payload: m, ports: (56446, SSDP_PORT) }, &mut app).is_some());
        let Some(AppInfo::Ssdp(s)) = &app else { panic!("{app:?}") };
        assert_eq!((s.method.as_deref(), s.st.as_deref()), (Some("M-SEARCH"), Some("ssdp:all")));
        let n = b"NOTIFY * HTTP/1.1\nHOST: 239.255.255.250:1900\nNT: upnp:rootdevice\nNTS: ssdp:alive\nUSN: uuid:abc::upnp:rootdevice\nSERVER: Linux/5.10 UPnP/1.0 MiniUPnPd/2.3\n";
        let i = parse(n);
        assert_eq!(i.nt.as_deref(), Some("upnp:rootdevice"));
        assert_eq!(i.usn.as_deref(), Some("uuid:abc::upnp:rootdevice"));
        assert_eq!(i.server.as_deref(), Some("Linux/5.10 UPnP/1.0 MiniUPnPd/2.3"));
        let r = parse(b"HTTP/1.1 200 OK\r\nst: upnp:rootdevice\r\n\r\n");
        assert_eq!((r.method, r.st.as_deref()), (None, Some("upnp:rootdevice")));
        assert!(classify(&Datagram { payload: m, ports: (5000, 5001) }, &mut app).is_none());
        assert!(classify(&Datagram { payload: b"\x00\x01", ports: (1900, 5001) }, &mut app).is_none());
    }
}
