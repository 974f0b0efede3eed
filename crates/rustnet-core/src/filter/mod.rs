//! Filter language (DESIGN.md): space-separated terms, all must match,
//! case-insensitive substring matching, keywords and `!` negation.
//!
//! ```text
//! google  port:44  sport:80  dport:443  src:192.168  dst:github.com
//! process:"Web Content"  state:fin_wait  !proto:udp  dport:22 ssh:openssh
//! ```
//!
//! Keywords (the part before `:`):
//! - `port` either port, `sport` the local port, `dport` the remote port
//!   (decimal text; only for TCP/UDP).
//! - `src` the local address, `dst` the remote address or remote hostname.
//! - `proto` transport name (`tcp`, `udp`, `icmp`, `icmpv6`, `arp`) or the
//!   application protocol found by DPI (`http`, `tls`, `dns`, `ssh`, `quic`).
//! - `process` process name or pid; `service` well-known port name.
//! - `state` state name (`ESTABLISHED`, `FIN_WAIT1`, `QUIC_CONNECTED` …).
//! - `sni` TLS/QUIC server name; `host` HTTP host, SNI or resolved hostname.
//! - `ssh` SSH banners and software; `app` application protocol name or
//!   SSH software.
//! - `rtt` round-trip time, `retrans` retransmitted TCP segments: compared
//!   with `>`, `<` or `=` (`rtt:>50ms`, `retrans:>0`); times take a unit
//!   (`ns`, `us`, `ms`, `s`). A connection without the number never matches.
//!
//! A bare word matches any of these fields and also the endpoint text
//! (`10.0.0.5:443`), HTTP method/path, DNS questions and answers, TLS/QUIC
//! version and ALPN. A value may be quoted to hold spaces or a colon:
//! `process:"Web Content"`, `"a:b"`.
//!
//! Case folding is ASCII only: needles are ASCII-lowercased once at parse
//! time and compared with ASCII case folding, so non-ASCII letters must
//! match exactly. Matching never allocates: numbers and addresses are
//! formatted into stack buffers.
//!
//! Time: a connection's `state` is stamped by the engine as of its clock
//! (UDP activity states age with idle time), so the state filtered on is
//! the state a JSON record or the table shows.

mod matcher;
mod numeric;
mod parse;
#[cfg(test)]
mod tests;

use crate::track::Connection;
use std::fmt;

/// A parse error, with a message fit for the filter bar or stderr.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    /// What is wrong, and where.
    pub message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FilterError {}

/// The field a term looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Any,
    Port,
    Sport,
    Dport,
    Src,
    Dst,
    Proto,
    Process,
    /// `user:` the process owner's name or uid.
    User,
    /// `container:` the container's name, id, runtime, pod or namespace.
    Container,
    /// `country:` the remote address's country code, city or network (GeoIP).
    Country,
    /// `exporter:` collector mode: the host that exported the record.
    Exporter,
    Service,
    State,
    Sni,
    Host,
    Ssh,
    App,
    /// `rtt:` and `retrans:`: the comparison is in `Term::num`.
    Numeric,
}

/// A lowercased needle plus, computed once at parse time, which of the
/// small closed sets of names and numbers it occurs in: matching then tests
/// a bit instead of searching text.
#[derive(Clone, Debug)]
struct Needle {
    text: Box<str>,
    /// Only ASCII digits: ports whose decimal text contains the needle.
    ports: Option<Box<PortSet>>,
    /// Only hex digits, `.`, `:`, `[`, `]`: can occur in an endpoint's text.
    addr: bool,
    /// Contains a `.`: only dotted (IPv4 or IPv4-mapped) address text can hold it.
    dotted: bool,
    /// Bit `State as u32`: the state's name contains the needle.
    states: u64,
    /// Bit `Proto as u8`: the transport's name contains the needle.
    protos: u8,
    /// Bit per application protocol (see `matcher::app_bit`).
    apps: u32,
    /// Some well-known service name contains the needle.
    service: bool,
    /// Digits and 1–3 dots: the pieces between the dots, for matching IPv4
    /// text octet by octet instead of formatting it.
    v4: Option<Box<[Box<[u8]>]>>,
    /// The needle read as a uid (`user:0`), parsed once, not per connection.
    uid: Option<u32>,
}

/// One bit per port number.
#[derive(Clone, Debug)]
struct PortSet([u64; 1024]);

impl PortSet {
    fn contains(&self, port: u16) -> bool {
        self.0[usize::from(port >> 6)] & (1 << (port & 63)) != 0
    }

    /// Adds the ports `lo..=hi`, a word at a time; ports above 65535 are ignored.
    fn insert_range(&mut self, lo: u32, hi: u32) {
        let hi = hi.min(u32::from(u16::MAX));
        let mut p = lo;
        while p <= hi {
            let bit = p & 63;
            let n = (hi - p + 1).min(64 - bit);
            let mask = if n == 64 { u64::MAX } else { ((1u64 << n) - 1) << bit };
            self.0[(p >> 6) as usize] |= mask;
            p += n;
        }
    }
}

/// One compiled term.
#[derive(Clone, Debug)]
struct Term {
    negate: bool,
    field: Field,
    needle: Needle,
    /// The comparison of a numeric keyword (`Field::Numeric`).
    num: Option<numeric::NumTerm>,
}

/// A compiled filter. The empty filter matches everything.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    terms: Vec<Term>,
}

impl Filter {
    /// Compiles `text`; errors name the offending term and what was expected.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        let mut terms = parse::parse(text)?;
        terms.sort_by_key(matcher::cost);
        Ok(Filter { terms })
    }

    /// True for the empty filter, which matches everything.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether `conn` matches (on the state stamped in it).
    pub fn matches(&self, conn: &Connection) -> bool {
        self.terms.iter().all(|t| matcher::term_matches(t, conn) != t.negate)
    }

    /// Appends to `out` the indices of the connections that match, in order.
    /// Prefer this over `matches` in a loop for large tables: it prefetches
    /// the connections and their text ahead, since on 100 000 connections
    /// the time goes to waiting for memory.
    pub fn select(&self, conns: &[Connection], out: &mut Vec<usize>) {
        if self.terms.is_empty() {
            out.extend(0..conns.len());
            return;
        }
        // Text lies two pointers away (the boxed process record, then its
        // name): each hop is asked for a few connections after the one
        // before it arrived, and only when a term reads text. Reading the
        // box to find the name at once stalled on every connection, even
        // for `port:443` (6.8 ms over 100 000 connections, now see README).
        let text = self.terms.iter().any(|t| t.field.reads_text());
        for (i, c) in conns.iter().enumerate() {
            if let Some(ahead) = conns.get(i + 9) {
                prefetch_struct(ahead);
            }
            if text {
                if let Some(ahead) = conns.get(i + 6) {
                    prefetch_process(ahead);
                }
                if let Some(ahead) = conns.get(i + 3) {
                    prefetch_text(ahead);
                }
            }
            if self.matches(c) {
                out.push(i);
            }
        }
    }
}

impl Field {
    /// Whether matching reads text on the heap (beyond the connection).
    fn reads_text(self) -> bool {
        !matches!(
            self,
            Field::Port | Field::Sport | Field::Dport | Field::Src | Field::Proto | Field::State | Field::Numeric
        )
    }
}

/// Asks the CPU to load a connection's process record, which lies
/// elsewhere on the heap, a few connections ahead of the one a pass reads.
fn prefetch_process(c: &Connection) {
    if let Some(p) = &c.process {
        prefetch((&raw const **p).cast::<u8>());
    }
}

/// Asks the CPU to load a connection's cache lines (see [`prefetch_process`]).
fn prefetch_struct(c: &Connection) {
    let p = (c as *const Connection).cast::<u8>();
    for off in (0..std::mem::size_of::<Connection>()).step_by(64) {
        prefetch(p.wrapping_add(off));
    }
}

/// Asks the CPU to load the start of a connection's most-read text fields.
fn prefetch_text(c: &Connection) {
    if let Some(p) = &c.process {
        prefetch(p.name.as_ptr());
    }
    if let Some(h) = &c.hostname {
        prefetch(h.as_ptr());
    }
    let first = match &c.app {
        Some(crate::app::AppInfo::Tls(t)) => t.sni.as_deref(),
        Some(crate::app::AppInfo::Http(h)) => h.host.as_deref(),
        Some(crate::app::AppInfo::Quic(q)) => q.sni.as_deref(),
        Some(crate::app::AppInfo::Ssh(s)) => s.client.as_deref(),
        Some(crate::app::AppInfo::Dns(d)) => d.queries.first().map(|q| q.name.as_str()),
        // Issue 14's protocols are rare: not worth a prefetch.
        Some(_) | None => None,
    };
    if let Some(t) = first {
        prefetch(t.as_ptr());
    }
}

#[inline(always)]
#[allow(unsafe_code)] // the one unsafe block: prefetching took bare-word filters over 100k connections from 6-8 ms to 3 ms (commit 57c90c0)
fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it never faults or reads into the program,
    // whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
