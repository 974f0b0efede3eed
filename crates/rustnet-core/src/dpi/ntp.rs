//! NTP (RFC 5905, and the mode 6/7 control messages) on port 123: version,
//! mode and stratum of the last packet. Read by hand: three fields of the
//! first two bytes.

use super::AppInfo;
use super::inspect::{Datagram, Inspector, Match, Outcome, Verdict};
use super::side::Side;

/// The NTP port (tshark dissects NTP there only).
pub(crate) const NTP_PORT: u16 = 123;
/// An NTP packet without extensions; control messages (modes 6, 7) are shorter.
const PACKET: usize = 48;
/// Header of a mode 6 or 7 control message.
const CONTROL: usize = 8;
const MODE_SERVER: u8 = 4;

/// (version, mode) of a datagram that looks like NTP.
fn header(p: &[u8]) -> Option<(u8, u8)> {
    let b = *p.first()?;
    let (version, mode) = ((b >> 3) & 7, b & 7);
    let min = if mode >= 6 { CONTROL } else { PACKET };
    ((1..=4).contains(&version) && mode != 0 && p.len() >= min).then_some((version, mode))
}

/// A datagram on port 123 that looks like NTP.
pub(crate) fn classify(d: &Datagram<'_>, app: &mut Option<AppInfo>) -> Option<(Match, Outcome)> {
    if !d.has_port(|p| p == NTP_PORT) {
        return None;
    }
    header(d.payload)?;
    let out = Ntp.on_datagram(Side::Client, d.payload, app);
    Some((Match::new(Ntp, None), out))
}

/// Reads each packet until a server's reply.
#[derive(Debug)]
struct Ntp;

impl Inspector for Ntp {
    fn on_datagram(&mut self, _side: Side, payload: &[u8], app: &mut Option<AppInfo>) -> Outcome {
        let Some((version, mode)) = header(payload) else {
            return Outcome::need_more();
        };
        let Some(info) = super::ntp_info(app) else {
            return Outcome::need_more();
        };
        info.version = Some(version);
        info.mode = Some(mode_name(mode).to_string());
        info.stratum = if mode < 6 { payload.get(1).copied() } else { None };
        let verdict = if mode == MODE_SERVER { Verdict::Done } else { Verdict::NeedMore };
        Outcome::new(verdict, None)
    }
}

fn mode_name(mode: u8) -> &'static str {
    match mode {
        1 => "symmetric active",
        2 => "symmetric passive",
        3 => "client",
        4 => "server",
        5 => "broadcast",
        6 => "control",
        7 => "private",
        _ => "reserved",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_then_server() {
        let mut req = vec![0u8; PACKET];
        req[0] = 0x23; // v4, client
        let mut app = None;
        let d = Datagram { payload: &req, ports: (40000, NTP_PORT) };
        let (mut m, out) = classify(&d, &mut app).expect("NTP");
        assert_eq!(out.verdict, Verdict::NeedMore);
        let mut resp = req.clone();
        resp[0] = 0x24;
        resp[1] = 2;
        assert_eq!(m.inspector.on_datagram(Side::Server, &resp, &mut app).verdict, Verdict::Done);
        let Some(AppInfo::Ntp(n)) = &app else { panic!("{app:?}") };
        assert_eq!((n.version, n.mode.as_deref(), n.stratum), (Some(4), Some("server"), Some(2)));
        assert!(classify(&Datagram { payload: &req, ports: (40000, 124) }, &mut app).is_none());
        assert!(classify(&Datagram { payload: &req[..47], ports: (40000, NTP_PORT) }, &mut app).is_none());
        assert!(
            classify(&Datagram { payload: &[0x16, 0, 1, 0, 0, 0, 0, 0], ports: (40000, NTP_PORT) }, &mut app).is_some()
        );
    }
}
