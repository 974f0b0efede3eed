//! FTP control connections (RFC 959, RFC 2428) on port 21: the server's
//! greeting, the user name, the last command and reply, and the data
//! connection the last PASV/EPSV reply or PORT/EPRT command announced.
//! Read by hand: a line protocol, and no crate reads a passive view of it.
//! The password (PASS) and account (ACCT) arguments are never kept.
//!
//! Data connections are labelled FTP-data when they come from port 20 (RFC
//! 959's default active-mode data port), and when they open to an endpoint
//! that a control connection announced ([`Announce`], kept by the engine as
//! an expectation: `engine::ftp_expect`), as tshark links them.

use super::inspect::{Inspector, Match, Outcome, Sniffed, Stream, Verdict};
use super::reassembly::Reassembler;
use super::side::Side;
use super::{AppInfo, FtpDataInfo, FtpInfo};
use crate::track::Endpoint;
use std::net::IpAddr;

/// The FTP control port (tshark dissects FTP there only).
pub(crate) const FTP_PORT: u16 = 21;
/// The active-mode data port (the server connects from it).
pub(crate) const FTP_DATA_PORT: u16 = 20;
/// Lines longer than this are cut (RFC 959 sets no limit; real ones are short).
const MAX_LINE: usize = 512;
/// Payload packets looked at: a control session is long but cheap to read.
const MAX_FTP: u32 = 128;

/// A stream on port 21 whose first line is an FTP reply (from the server)
/// or command (from the client).
pub(crate) fn classify(s: &Stream<'_>) -> Sniffed {
    if !s.has_port(|p| p == FTP_PORT) {
        return Sniffed::No;
    }
    let Some(end) = s.data.iter().take(MAX_LINE).position(|&b| b == b'\n') else {
        let start = &s.data[..s.data.len().min(5)];
        let plausible = reply_code(start).is_some() || start.iter().all(|b| b.is_ascii_alphanumeric());
        return if s.data.len() < MAX_LINE && plausible { Sniffed::NeedMore } else { Sniffed::No };
    };
    let line = trim(&s.data[..end]);
    if reply_code(line).is_some() {
        Sniffed::Yes(Match::new(Ftp::default(), Some(Side::Server)))
    } else if command(line).is_some() {
        Sniffed::Yes(Match::new(Ftp::default(), Some(Side::Client)))
    } else {
        Sniffed::No
    }
}

/// A stream with payload on port 20: an active-mode data connection.
pub(crate) fn classify_data(s: &Stream<'_>) -> Sniffed {
    if s.has_port(|p| p == FTP_DATA_PORT) { Sniffed::Yes(Match::new(FtpData, None)) } else { Sniffed::No }
}

/// Labels the connection; nothing to read.
#[derive(Debug)]
struct FtpData;

impl Inspector for FtpData {
    fn on_stream(&mut self, _side: Side, _r: &mut Reassembler, app: &mut Option<AppInfo>) -> Outcome {
        *app = Some(AppInfo::FtpData(FtpDataInfo::default()));
        Outcome::done()
    }
}

/// A data connection announced on a control connection: by the server
/// (PASV/EPSV reply: the server listens) or by the client (PORT/EPRT: the
/// client listens). An EPSV reply names only the port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Announce {
    /// Announced by the server (it will listen), not by the client.
    pub by_server: bool,
    /// The announced address; None when only a port is given (EPSV).
    pub addr: Option<IpAddr>,
    /// The announced port.
    pub port: u16,
}

impl Announce {
    /// Where the data connection will be opened to, given the control
    /// connection's client and server: the announced endpoint, and the
    /// announcer's address as seen on the control connection when that
    /// differs (a NAT rewrites the one but not the other).
    pub fn listeners(&self, client: Endpoint, server: Endpoint) -> [Option<Endpoint>; 2] {
        let seen = if self.by_server { server.addr } else { client.addr };
        let told = self.addr.unwrap_or(seen);
        let second = (told != seen).then(|| Endpoint::new(seen, self.port));
        [Some(Endpoint::new(told, self.port)), second]
    }
}

/// The data connections the complete lines of one control-connection
/// segment announce (`by_server`: the segment comes from port 21). For
/// routers that must keep a data connection with its control connection
/// without reassembling: a line split over segments is missed here.
pub fn announcements(payload: &[u8], by_server: bool) -> impl Iterator<Item = Announce> + '_ {
    let mut lines = payload.split(|&b| b == b'\n');
    // The part after the last newline is not a complete line.
    let complete = payload.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut used = 0;
    std::iter::from_fn(move || {
        loop {
            let line = lines.next()?;
            used += line.len() + 1;
            if used > complete {
                return None;
            }
            if let Some(a) = announce(trim(line), by_server) {
                return Some(a);
            }
        }
    })
}

/// The announcement a line makes, if any: a 227/229 reply from the server,
/// a PORT/EPRT command from the client.
fn announce(line: &[u8], by_server: bool) -> Option<Announce> {
    let (addr, port) = if by_server {
        match reply_code(line)? {
            b"227" => {
                let inner = line.iter().position(|&b| b == b'(').map_or(line.get(4..)?, |i| &line[i + 1..]);
                host_port(inner).map(|(a, p)| (Some(a), p))?
            }
            b"229" => eprt(&line[line.iter().position(|&b| b == b'(')? + 1..], true)?,
            _ => return None,
        }
    } else {
        let (verb, arg) = command(line)?;
        match verb.to_ascii_uppercase().as_slice() {
            b"PORT" => host_port(arg).map(|(a, p)| (Some(a), p))?,
            b"EPRT" => eprt(arg, false)?,
            _ => return None,
        }
    };
    Some(Announce { by_server, addr, port })
}

/// "addr:port", "[v6]:port", or ":port" when only the port is known.
fn endpoint_text(addr: Option<IpAddr>, port: u16) -> String {
    match addr {
        Some(IpAddr::V4(a)) => format!("{a}:{port}"),
        Some(IpAddr::V6(a)) => format!("[{a}]:{port}"),
        None => format!(":{port}"),
    }
}

fn trim(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// "220" of "220 Welcome" / "220-Welcome" / "220".
fn reply_code(line: &[u8]) -> Option<&[u8]> {
    let code = line.get(..3)?;
    let ok = matches!(code.first(), Some(b'1'..=b'5')) && code.iter().all(u8::is_ascii_digit);
    (ok && matches!(line.get(3), None | Some(b' ' | b'-'))).then_some(code)
}

/// (verb, argument) of "USER anna": a verb of 3-4 letters.
fn command(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let (verb, arg) = match line.iter().position(|&b| b == b' ') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, &[][..]),
    };
    ((3..=4).contains(&verb.len()) && verb.iter().all(u8::is_ascii_alphabetic)).then_some((verb, arg))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Reads the control connection's lines, both directions.
#[derive(Debug, Default)]
struct Ftp {
    /// The last announcement not yet taken by the engine.
    announced: Option<Announce>,
}

impl Inspector for Ftp {
    fn on_stream(&mut self, side: Side, r: &mut Reassembler, app: &mut Option<AppInfo>) -> Outcome {
        let Some(info) = super::ftp_info(app) else {
            return Outcome::need_more();
        };
        loop {
            let d = r.data();
            let Some(end) = d.iter().position(|&b| b == b'\n') else {
                if d.len() > MAX_LINE || r.overflowed() {
                    // A line too long to be FTP's: this direction is not read further.
                    return Outcome::new(Verdict::SideDone, None);
                }
                return Outcome::need_more();
            };
            let line = trim(&d[..end.min(MAX_LINE)]);
            if let Some(a) = announce(line, side == Side::Server) {
                info.data = Some(endpoint_text(a.addr, a.port));
                self.announced = Some(a);
            }
            let tls = match side {
                Side::Server => on_reply(line, info),
                Side::Client => {
                    on_command(line, info);
                    false
                }
            };
            r.consume(end + 1);
            if tls {
                // 234 answers AUTH TLS: the rest is a TLS session.
                return Outcome::done();
            }
        }
    }

    fn max_packets(&self) -> u32 {
        MAX_FTP
    }

    fn take_announce(&mut self) -> Option<Announce> {
        self.announced.take()
    }
}

/// Reads one server line; true when it starts TLS (234).
fn on_reply(line: &[u8], info: &mut FtpInfo) -> bool {
    let Some(code) = reply_code(line) else {
        return false; // a continuation line of a multi-line reply
    };
    if code == b"220" && info.banner.is_none() {
        info.banner = Some(text(line));
    }
    info.reply = Some(text(line));
    code == b"234"
}

/// Reads one client line.
fn on_command(line: &[u8], info: &mut FtpInfo) {
    let Some((verb, arg)) = command(line) else {
        return;
    };
    let verb = verb.to_ascii_uppercase();
    match verb.as_slice() {
        b"PASS" | b"ACCT" => {
            info.command = Some(text(&verb));
            return;
        }
        b"USER" => info.user = Some(text(arg)),
        _ => {}
    }
    let mut c = verb;
    if !arg.is_empty() {
        c.push(b' ');
        c.extend_from_slice(arg);
    }
    info.command = Some(text(&c));
}

/// "h1,h2,h3,h4,p1,p2" (what follows is ignored): "227 Entering Passive
/// Mode (h1,h2,h3,h4,p1,p2)" and PORT's argument.
fn host_port(s: &[u8]) -> Option<(IpAddr, u16)> {
    let mut n = [0u8; 6];
    let mut it = s.split(|&b| b == b',');
    for v in &mut n {
        let f = it.next()?;
        let digits: Vec<u8> = f.iter().copied().take_while(u8::is_ascii_digit).collect();
        *v = std::str::from_utf8(&digits).ok()?.parse().ok()?;
    }
    let port = u16::from(n[4]) << 8 | u16::from(n[5]);
    Some((IpAddr::from([n[0], n[1], n[2], n[3]]), port))
}

/// RFC 2428's "|proto|addr|port|" (EPRT) or "|||port|" (EPSV reply, when
/// `port_only`: no address).
fn eprt(s: &[u8], port_only: bool) -> Option<(Option<IpAddr>, u16)> {
    let d = *s.first()?;
    let mut f = s.get(1..)?.split(|&b| b == d);
    let (proto, addr, port) = (f.next()?, f.next()?, f.next()?);
    let port: u16 = std::str::from_utf8(port).ok()?.parse().ok()?;
    let addr = std::str::from_utf8(addr).ok()?;
    if port_only {
        return Some((None, port));
    }
    let addr = match proto {
        b"1" => IpAddr::V4(addr.parse().ok()?),
        b"2" => IpAddr::V6(addr.parse().ok()?),
        _ => return None,
    };
    Some((Some(addr), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(st: &mut Ftp, side: Side, r: &mut Reassembler, at: &mut u32, b: &[u8], app: &mut Option<AppInfo>) {
        r.push(*at, b);
        *at += b.len() as u32;
        st.on_stream(side, r, app);
    }

    #[test]
    fn session_keeps_user_not_password() {
        let mut st = Ftp::default();
        let s = Stream { data: b"220 (vsFTPd 3.0.3)\r\n", ports: (40000, 21) };
        assert!(matches!(classify(&s), Sniffed::Yes(_)));
        assert!(matches!(classify(&Stream { data: b"220 ", ports: (40000, 21) }), Sniffed::NeedMore));
        assert!(matches!(classify(&Stream { data: b"220 mail ESMTP\r\n", ports: (40000, 25) }), Sniffed::No));
        assert!(matches!(classify(&Stream { data: b"\x16\x03\x01\x00", ports: (40000, 21) }), Sniffed::No));
        let mut app = None;
        let (mut c, mut s) = (Reassembler::default(), Reassembler::default());
        let (mut ca, mut sa) = (0, 0);
        feed(&mut st, Side::Server, &mut s, &mut sa, b"220 (vsFTPd 3.0.3)\r\n", &mut app);
        feed(&mut st, Side::Client, &mut c, &mut ca, b"USER anna\r\n", &mut app);
        feed(&mut st, Side::Server, &mut s, &mut sa, b"331 Please specify the password.\r\n", &mut app);
        feed(&mut st, Side::Client, &mut c, &mut ca, b"PASS s3cret\r\nPA", &mut app);
        let Some(AppInfo::Ftp(i)) = &app else { panic!("{app:?}") };
        assert_eq!(i.command.as_deref(), Some("PASS"));
        feed(&mut st, Side::Client, &mut c, &mut ca, b"SV\r\n", &mut app);
        feed(&mut st, Side::Server, &mut s, &mut sa, b"227 Entering Passive Mode (90,130,70,73,100,85).\r\n", &mut app);
        let Some(AppInfo::Ftp(i)) = &app else { panic!("{app:?}") };
        assert_eq!(i.banner.as_deref(), Some("220 (vsFTPd 3.0.3)"));
        assert_eq!(i.user.as_deref(), Some("anna"));
        assert_eq!(i.command.as_deref(), Some("PASV"));
        assert_eq!(i.data.as_deref(), Some("90.130.70.73:25685"));
        let told = Some(IpAddr::from([90, 130, 70, 73]));
        assert_eq!(st.take_announce(), Some(Announce { by_server: true, addr: told, port: 25685 }));
        assert_eq!(st.take_announce(), None);
        assert!(!format!("{app:?}").contains("s3cret"));
        feed(&mut st, Side::Client, &mut c, &mut ca, b"EPRT |2|fd00::1|6446|\r\n", &mut app);
        let Some(AppInfo::Ftp(i)) = &app else { panic!("{app:?}") };
        assert_eq!(i.data.as_deref(), Some("[fd00::1]:6446"));
        feed(&mut st, Side::Server, &mut s, &mut sa, b"229 Entering Extended Passive Mode (|||6446|)\r\n", &mut app);
        let Some(AppInfo::Ftp(i)) = &app else { panic!("{app:?}") };
        assert_eq!(i.data.as_deref(), Some(":6446"));
        assert_eq!(i.reply.as_deref(), Some("229 Entering Extended Passive Mode (|||6446|)"));
    }

    #[test]
    fn active_data_connection_from_port_20() {
        let Sniffed::Yes(mut m) = classify_data(&Stream { data: b"-rw-r--r-- 1", ports: (20, 40000) }) else {
            panic!("not FTP-data")
        };
        let mut app = None;
        assert_eq!(m.inspector.on_stream(Side::Server, &mut Reassembler::default(), &mut app).verdict, Verdict::Done);
        assert_eq!(app, Some(AppInfo::FtpData(FtpDataInfo::default())));
        assert!(matches!(classify_data(&Stream { data: b"x", ports: (2020, 40000) }), Sniffed::No));
    }

    #[test]
    fn auth_tls_ends_inspection() {
        let (mut st, mut app) = (Ftp::default(), None);
        let mut s = Reassembler::default();
        s.push(0, b"234 Proceed with negotiation.\r\n");
        assert_eq!(st.on_stream(Side::Server, &mut s, &mut app).verdict, Verdict::Done);
        assert_eq!(st.take_announce(), None);
        assert_eq!(host_port(b"1,2,3"), None);
        assert_eq!(host_port(b"1,2,3,4,300,1"), None);
        assert_eq!(eprt(b"", false), None);
    }

    #[test]
    fn announcements_of_one_segment() {
        let v4 = |a, b, c, d| Some(IpAddr::from([a, b, c, d]));
        let seg = b"150 Here comes\r\n227 Entering Passive Mode (10,0,0,2,117,51).\r\n229 Entering Extended Passive Mode (|||30003|)\r\n227 (1,2,3,4,0,";
        let got: Vec<Announce> = announcements(seg, true).collect();
        assert_eq!(
            got,
            [
                Announce { by_server: true, addr: v4(10, 0, 0, 2), port: 117 * 256 + 51 },
                Announce { by_server: true, addr: None, port: 30003 },
            ]
        );
        let got: Vec<Announce> = announcements(b"port 10,0,0,1,4,1\r\nEPRT |2|fd00::1|6446|\r\n", false).collect();
        assert_eq!(got[0], Announce { by_server: false, addr: v4(10, 0, 0, 1), port: 1025 });
        assert_eq!(got[1].port, 6446);
        // A reply line from the client or a command from the server means nothing.
        assert_eq!(announcements(b"PORT 10,0,0,1,4,1\r\n", true).count(), 0);
        assert_eq!(announcements(b"227 (10,0,0,1,4,1)\r\n", false).count(), 0);
        // Behind a NAT the announced address is not the one seen: both are listened for.
        let a = Announce { by_server: true, addr: v4(192, 168, 0, 9), port: 5000 };
        let (client, server) = (Endpoint::new([10, 0, 0, 1].into(), 40000), Endpoint::new([10, 0, 0, 2].into(), 21));
        assert_eq!(
            a.listeners(client, server),
            [Some(Endpoint::new([192, 168, 0, 9].into(), 5000)), Some(Endpoint::new([10, 0, 0, 2].into(), 5000))]
        );
        let epsv = Announce { by_server: true, addr: None, port: 5000 };
        assert_eq!(epsv.listeners(client, server), [Some(Endpoint::new([10, 0, 0, 2].into(), 5000)), None]);
    }
}
