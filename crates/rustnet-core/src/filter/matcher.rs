//! Matching one term against one connection, without allocating.

use super::{Field, Needle, Term};
use crate::dpi::AppInfo;
use crate::track::{Connection, Endpoint, State};
use std::fmt::{self, Write};
use std::net::IpAddr;

pub(super) fn term_matches(t: &Term, c: &Connection, state: State) -> bool {
    let n = &t.needle;
    let ports = c.proto.has_ports();
    match t.field {
        Field::Any => any_field(n, c, state),
        Field::Port => ports && (port(n, c.local.port) || port(n, c.remote.port)),
        Field::Sport => ports && port(n, c.local.port),
        Field::Dport => ports && port(n, c.remote.port),
        Field::Src => addr(n, c.local.addr),
        Field::Dst => addr(n, c.remote.addr) || opt(n, c.hostname.as_deref()),
        Field::Proto => {
            found(n, c.proto.name()) || c.app.as_ref().is_some_and(|a| found(n, a.protocol()))
        }
        Field::Process => process(n, c),
        Field::Service => opt(n, c.service()),
        Field::State => found(n, state.name()),
        Field::Sni => opt(n, sni(c.app.as_ref())),
        Field::Host => host(n, c),
        Field::Ssh => match &c.app {
            Some(AppInfo::Ssh(s)) => {
                opt(n, s.client.as_deref())
                    || opt(n, s.server.as_deref())
                    || opt(n, s.software.as_deref())
            }
            _ => false,
        },
        Field::App => match &c.app {
            Some(AppInfo::Ssh(s)) => found(n, "SSH") || opt(n, s.software.as_deref()),
            Some(a) => found(n, a.protocol()),
            None => false,
        },
    }
}

/// A bare word: every field a user can see for the connection.
fn any_field(n: &Needle, c: &Connection, state: State) -> bool {
    endpoint(n, c, &c.local)
        || endpoint(n, c, &c.remote)
        || found(n, c.proto.name())
        || found(n, state.name())
        || opt(n, c.service())
        || process(n, c)
        || opt(n, c.hostname.as_deref())
        || c.app.as_ref().is_some_and(|a| app_any(n, a))
}

/// Every text field DPI found.
fn app_any(n: &Needle, app: &AppInfo) -> bool {
    let list = |v: &[String]| v.iter().any(|s| found(n, s));
    found(n, app.protocol())
        || match app {
            AppInfo::Http(h) => {
                opt(n, h.host.as_deref())
                    || opt(n, h.method.as_deref())
                    || opt(n, h.path.as_deref())
                    || opt(n, h.user_agent.as_deref())
            }
            AppInfo::Tls(t) => {
                opt(n, t.sni.as_deref()) || list(&t.alpn) || opt(n, t.version.as_deref())
            }
            AppInfo::Dns(d) => {
                d.queries
                    .iter()
                    .any(|q| found(n, &q.name) || found(n, &q.qtype))
                    || d.answers
                        .iter()
                        .any(|a| found(n, &a.name) || found(n, &a.rtype) || found(n, &a.data))
                    || opt(n, d.rcode.as_deref())
            }
            AppInfo::Ssh(s) => {
                opt(n, s.client.as_deref())
                    || opt(n, s.server.as_deref())
                    || opt(n, s.software.as_deref())
            }
            AppInfo::Quic(q) => {
                opt(n, q.version.as_deref())
                    || opt(n, q.sni.as_deref())
                    || list(&q.alpn)
                    || q.close.as_ref().is_some_and(|c| found(n, &c.reason))
            }
        }
}

fn sni(app: Option<&AppInfo>) -> Option<&str> {
    match app? {
        AppInfo::Tls(t) => t.sni.as_deref(),
        AppInfo::Quic(q) => q.sni.as_deref(),
        _ => None,
    }
}

fn host(n: &Needle, c: &Connection) -> bool {
    let http = match &c.app {
        Some(AppInfo::Http(h)) => h.host.as_deref(),
        _ => None,
    };
    opt(n, http) || opt(n, sni(c.app.as_ref())) || opt(n, c.hostname.as_deref())
}

fn process(n: &Needle, c: &Connection) -> bool {
    c.process
        .as_ref()
        .is_some_and(|p| found(n, &p.name) || (n.digits && number(n, u64::from(p.pid))))
}

fn port(n: &Needle, p: u16) -> bool {
    n.digits && number(n, u64::from(p))
}

fn number(n: &Needle, v: u64) -> bool {
    found(n, itoa::Buffer::new().format(v))
}

fn addr(n: &Needle, a: IpAddr) -> bool {
    if !n.addr {
        return false;
    }
    let mut buf = StackText::new();
    write!(buf, "{a}").is_ok() && found(n, buf.as_str())
}

/// The endpoint as the UI and JSON show it (`10.0.0.5:443`, `[::1]:443`, `10.0.0.5`).
fn endpoint(n: &Needle, c: &Connection, ep: &Endpoint) -> bool {
    if !n.addr {
        return false;
    }
    let mut buf = StackText::new();
    write!(buf, "{}", ep.display(c.proto)).is_ok() && found(n, buf.as_str())
}

fn opt(n: &Needle, hay: Option<&str>) -> bool {
    hay.is_some_and(|h| found(n, h))
}

/// ASCII-case-insensitive substring search; the needle is already lowercase.
/// By hand: std and memchr only search case-sensitively.
fn found(n: &Needle, hay: &str) -> bool {
    let (h, p) = (hay.as_bytes(), n.text.as_bytes());
    let Some((&first, tail)) = p.split_first() else {
        return true;
    };
    if p.len() > h.len() {
        return false;
    }
    h.windows(p.len()).any(|w| {
        w[0].to_ascii_lowercase() == first
            && w[1..]
                .iter()
                .zip(tail)
                .all(|(a, b)| a.to_ascii_lowercase() == *b)
    })
}

/// Fixed-size text buffer on the stack: an endpoint's text is at most
/// 47 bytes (`[` + 39-byte IPv6 + `]:` + 5 digits).
struct StackText {
    buf: [u8; 64],
    len: usize,
}

impl StackText {
    fn new() -> Self {
        StackText {
            buf: [0; 64],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        // Only whole `&str`s are ever copied in, so the prefix is UTF-8.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needle(s: &str) -> Needle {
        let t = super::super::parse::parse(s).unwrap();
        t[0].needle.clone()
    }

    #[test]
    fn substring_ascii_case_insensitive() {
        assert!(found(&needle("open"), "SSH-2.0-OpenSSH_9.2"));
        assert!(found(&needle("OPENSSH_9"), "SSH-2.0-OpenSSH_9.2"));
        assert!(found(&needle("2"), "SSH-2.0-OpenSSH_9.2"));
        assert!(!found(&needle("opensshx"), "OpenSSH"));
        assert!(!found(&needle("long-needle"), "short"));
        assert!(found(&needle("é"), "café"));
        // Non-ASCII letters are not case-folded (documented).
        assert!(!found(&needle("é"), "CAFÉ"));
    }

    #[test]
    fn stack_text_holds_the_longest_endpoint() {
        let ep = Endpoint::new(
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap(),
            65535,
        );
        let mut b = StackText::new();
        write!(b, "{}", ep.display(crate::track::Proto::Tcp)).unwrap();
        assert_eq!(
            b.as_str(),
            "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"
        );
        let mut b = StackText::new();
        assert!(write!(b, "{}", "x".repeat(65)).is_err());
    }
}
