//! FTP control connections (RFC 959, RFC 2428) on port 21: the server's
//! greeting, the user name, the last command and reply, and the data
//! connection the last PASV/EPSV reply or PORT/EPRT command announced.
//! Read by hand: a line protocol, and no crate reads a passive view of it.
//! The password (PASS) and account (ACCT) arguments are never kept.
//!
//! Data connections are labelled FTP-data only in active mode, from port 20
//! (RFC 959's default data port, where tshark labels them too): linking a
//! passive one to its announcement needs state across flows, which live on
//! different workers.

use super::inspect::{Inspector, Match, Outcome, Sniffed, Stream, Verdict};
use super::reassembly::Reassembler;
use super::side::Side;
use super::{AppInfo, FtpDataInfo, FtpInfo};

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
        Sniffed::Yes(Match::new(Ftp, Some(Side::Server)))
    } else if command(line).is_some() {
        Sniffed::Yes(Match::new(Ftp, Some(Side::Client)))
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
        *app = Some(AppInfo::FtpData(FtpDataInfo {}));
        Outcome::done()
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
#[derive(Debug)]
struct Ftp;

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
}

/// Reads one server line; true when it starts TLS (234).
fn on_reply(line: &[u8], info: &mut FtpInfo) -> bool {
    let Some(code) = reply_code(line) else {
        return false; // a continuation line of a multi-line reply
    };
    if code == b"220" && info.banner.is_none() {
        info.banner = Some(text(line));
    }
    if code == b"227" {
        // "227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)"
        let inner = line.iter().position(|&b| b == b'(').map_or(&line[4.min(line.len())..], |i| &line[i + 1..]);
        if let Some(ep) = host_port(inner) {
            info.data = Some(ep);
        }
    }
    if code == b"229" {
        // "229 Entering Extended Passive Mode (|||port|)"
        if let Some(p) = line.iter().position(|&b| b == b'(').and_then(|i| eprt(&line[i + 1..], true)) {
            info.data = Some(p);
        }
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
        b"PORT" => info.data = host_port(arg).or(info.data.take()),
        b"EPRT" => info.data = eprt(arg, false).or(info.data.take()),
        _ => {}
    }
    let mut c = verb;
    if !arg.is_empty() {
        c.push(b' ');
        c.extend_from_slice(arg);
    }
    info.command = Some(text(&c));
}

/// "h1,h2,h3,h4,p1,p2" (what follows is ignored) as "h1.h2.h3.h4:port".
fn host_port(s: &[u8]) -> Option<String> {
    let mut n = [0u8; 6];
    let mut it = s.split(|&b| b == b',');
    for v in &mut n {
        let f = it.next()?;
        let digits: Vec<u8> = f.iter().copied().take_while(u8::is_ascii_digit).collect();
        *v = std::str::from_utf8(&digits).ok()?.parse().ok()?;
    }
    let port = u16::from(n[4]) << 8 | u16::from(n[5]);
    Some(format!("{}.{}.{}.{}:{port}", n[0], n[1], n[2], n[3]))
}

/// RFC 2428's "|proto|addr|port|" (EPRT) or "|||port|" (EPSV reply, when
/// `port_only`) as "addr:port", "[v6]:port" or ":port".
fn eprt(s: &[u8], port_only: bool) -> Option<String> {
    let d = *s.first()?;
    let mut f = s.get(1..)?.split(|&b| b == d);
    let (proto, addr, port) = (f.next()?, f.next()?, f.next()?);
    let port: u16 = std::str::from_utf8(port).ok()?.parse().ok()?;
    let addr = std::str::from_utf8(addr).ok()?;
    if port_only {
        return Some(format!(":{port}"));
    }
    match proto {
        b"1" => Some(format!("{}:{port}", addr.parse::<std::net::Ipv4Addr>().ok()?)),
        b"2" => Some(format!("[{}]:{port}", addr.parse::<std::net::Ipv6Addr>().ok()?)),
        _ => None,
    }
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
        let s = Stream { data: b"220 (vsFTPd 3.0.3)\r\n", ports: (40000, 21) };
        assert!(matches!(classify(&s), Sniffed::Yes(_)));
        assert!(matches!(classify(&Stream { data: b"220 ", ports: (40000, 21) }), Sniffed::NeedMore));
        assert!(matches!(classify(&Stream { data: b"220 mail ESMTP\r\n", ports: (40000, 25) }), Sniffed::No));
        assert!(matches!(classify(&Stream { data: b"\x16\x03\x01\x00", ports: (40000, 21) }), Sniffed::No));
        let (mut st, mut app) = (Ftp, None);
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
        assert_eq!(app, Some(AppInfo::FtpData(FtpDataInfo {})));
        assert!(matches!(classify_data(&Stream { data: b"x", ports: (2020, 40000) }), Sniffed::No));
    }

    #[test]
    fn auth_tls_ends_inspection() {
        let (mut st, mut app) = (Ftp, None);
        let mut s = Reassembler::default();
        s.push(0, b"234 Proceed with negotiation.\r\n");
        assert_eq!(st.on_stream(Side::Server, &mut s, &mut app).verdict, Verdict::Done);
        assert_eq!(host_port(b"1,2,3"), None);
        assert_eq!(host_port(b"1,2,3,4,300,1"), None);
        assert_eq!(eprt(b"", false), None);
    }
}
