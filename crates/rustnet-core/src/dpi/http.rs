//! HTTP/1.x requests: method, host, path and user agent of the first
//! request, read with httparse from the client's first bytes, over TCP
//! (HTTP over UDP on port 1900 is SSDP, in `ssdp.rs`).

use super::inspect::{Inspector, Match, Outcome, Sniffed, Stream, Verdict};
use super::reassembly::Reassembler;
use super::side::Side;
use super::{AppInfo, HttpInfo};

/// Request heads larger than this are not waited for.
pub(crate) const MAX_HEAD: usize = 8 * 1024;
const MAX_HEADERS: usize = 64;

const METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"PATCH",
    b"CONNECT",
    b"TRACE",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"REPORT",
    b"SEARCH",
    b"NOTIFY",
    b"SUBSCRIBE",
    b"UNSUBSCRIBE",
    b"M-SEARCH",
];

/// Whether a stream starts like an HTTP request: Some(true/false), None = too short to say.
pub(crate) fn sniff(d: &[u8]) -> Option<bool> {
    let mut maybe = false;
    for m in METHODS {
        let n = m.len().min(d.len());
        if d[..n] == m[..n] {
            if d.len() > m.len() {
                if d[m.len()] == b' ' {
                    return Some(true);
                }
            } else {
                maybe = true;
            }
        }
    }
    if maybe { None } else { Some(false) }
}

/// A stream that starts with a request method is HTTP, sent by the client.
pub(crate) fn classify(s: &Stream<'_>) -> Sniffed {
    match sniff(s.data) {
        Some(true) => Sniffed::Yes(Match::new(Request, Some(Side::Client))),
        None => Sniffed::NeedMore,
        Some(false) => Sniffed::No,
    }
}

/// Reads the first request head of the client; the server's bytes are not needed.
#[derive(Debug)]
struct Request;

impl Inspector for Request {
    fn on_stream(&mut self, side: Side, r: &mut Reassembler, app: &mut Option<AppInfo>) -> Outcome {
        if side == Side::Server {
            return Outcome::new(Verdict::SideDone, None);
        }
        match parse_request(r.data()) {
            Parsed::NeedMore => return Outcome::need_more(),
            Parsed::Done(h) => *app = Some(AppInfo::Http(h)),
            Parsed::Invalid => {}
        }
        Outcome::done()
    }
}

/// Result of parsing a request head.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    Done(HttpInfo),
    NeedMore,
    Invalid,
}

/// Parses the request head at the start of `d`.
pub(crate) fn parse_request(d: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(d) {
        Ok(httparse::Status::Complete(_)) => Parsed::Done(info_of(&req)),
        Ok(httparse::Status::Partial) => {
            if d.len() >= MAX_HEAD {
                // Too long to wait for: keep what the request line gave.
                partial(d)
            } else {
                Parsed::NeedMore
            }
        }
        Err(httparse::Error::TooManyHeaders) => partial(d),
        Err(_) => Parsed::Invalid,
    }
}

fn info_of(req: &httparse::Request<'_, '_>) -> HttpInfo {
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
    };
    HttpInfo {
        host: header("host"),
        method: req.method.map(str::to_string),
        path: req.path.map(str::to_string),
        user_agent: header("user-agent"),
    }
}

/// The request line and whatever headers parse before the limit.
fn partial(d: &[u8]) -> Parsed {
    Parsed::Done(partial_info(d))
}

fn partial_info(d: &[u8]) -> HttpInfo {
    let line_end = d.iter().position(|&b| b == b'\n').unwrap_or(d.len());
    let line = String::from_utf8_lossy(&d[..line_end]);
    let mut parts = line.trim_end().split(' ');
    let method = parts.next().map(str::to_string);
    let path = parts.next().map(str::to_string);
    let mut info = HttpInfo { method, path, ..HttpInfo::default() };
    for l in d[line_end.min(d.len())..].split(|&b| b == b'\n') {
        let l = String::from_utf8_lossy(l);
        if let Some((k, v)) = l.split_once(':') {
            let v = v.trim().to_string();
            if k.eq_ignore_ascii_case("host") {
                info.host.get_or_insert(v);
            } else if k.eq_ignore_ascii_case("user-agent") {
                info.user_agent.get_or_insert(v);
            }
        }
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_request() {
        let r = b"GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.0\r\n\r\n";
        assert_eq!(sniff(r), Some(true));
        let Parsed::Done(i) = parse_request(r) else { panic!("not parsed") };
        assert_eq!(i.host.as_deref(), Some("example.com"));
        assert_eq!(i.method.as_deref(), Some("GET"));
        assert_eq!(i.path.as_deref(), Some("/index.html?q=1"));
        assert_eq!(i.user_agent.as_deref(), Some("curl/8.0"));
    }

    #[test]
    fn split_head_needs_more() {
        let r = b"POST /x HTTP/1.1\r\nHost: a.b\r\nUser-Ag";
        assert_eq!(parse_request(r), Parsed::NeedMore);
        assert_eq!(sniff(b"PO"), None);
        assert_eq!(sniff(b"\x16\x03\x01"), Some(false));
        assert_eq!(sniff(b"GETX"), Some(false));
    }

    #[test]
    fn garbage_is_invalid() {
        assert_eq!(parse_request(b"GET \x00\x01 HTTP/1.1\r\n\r\n"), Parsed::Invalid);
    }

    #[test]
    fn oversized_head_keeps_request_line_and_host() {
        let mut r = b"GET /big HTTP/1.1\r\nHost: h.example\r\n".to_vec();
        while r.len() < MAX_HEAD {
            r.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        let Parsed::Done(i) = parse_request(&r) else { panic!("not parsed") };
        assert_eq!(i.host.as_deref(), Some("h.example"));
        assert_eq!(i.path.as_deref(), Some("/big"));
    }
}
