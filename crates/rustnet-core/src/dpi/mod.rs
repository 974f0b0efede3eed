//! Deep packet inspection: per-connection state that reads application
//! protocols from payloads until the connection is classified and its fields
//! are complete, then stops.

pub mod dns;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod quic;
pub mod reassembly;
pub mod ssh;
#[cfg(test)]
mod tests;
pub mod tls;

use crate::track::{Proto, State};
use crate::wire::tcp_flags::{ACK, SYN};
use quic::QuicState;
use reassembly::{Push, Reassembler};
use ssh::SshState;
use tls::TlsState;

pub use crate::app::{AppInfo, DnsAnswer, DnsInfo, DnsQuestion, HttpInfo, QuicClose, QuicInfo, SshInfo, TlsInfo};

/// One packet's payload as DPI sees it.
#[derive(Clone, Copy, Debug)]
pub struct DpiInput<'a> {
    pub proto: Proto,
    /// From the connection's local side (usually the client).
    pub from_local: bool,
    pub local_port: u16,
    pub remote_port: u16,
    /// TCP sequence number and flags (None for UDP).
    pub tcp: Option<(u32, u8)>,
    pub payload: &'a [u8],
}

impl DpiInput<'_> {
    /// Whether either end is a DNS port (DNS there is parsed less strictly).
    fn dns_port(&self) -> bool {
        dns::is_dns_port(self.local_port) || dns::is_dns_port(self.remote_port)
    }
}

/// The first DNS-over-TCP message of `data` (RFC 1035 §4.2.2: a 2-byte
/// length, then the message), or None while it is incomplete.
fn dns_frame(data: &[u8]) -> Option<&[u8]> {
    let len = usize::from(u16::from_be_bytes([*data.first()?, *data.get(1)?]));
    data.get(2..2 + len)
}

/// Payload packets (or datagrams) looked at before an unknown flow is given up.
const MAX_UNCLASSIFIED: u32 = 8;
/// Packets looked at after classification (TLS, HTTP, DNS over TCP) before
/// DPI stops even if a field is still missing (e.g. no ServerHello seen).
const MAX_CLASSIFIED: u32 = 64;
/// SSH needs the key exchange and the first encrypted packets.
const MAX_SSH: u32 = 512;

/// Which protocol a connection carries, with its parser state.
#[derive(Clone, Debug, Default)]
enum Kind {
    #[default]
    Unknown,
    Http,
    Tls(Box<TlsState>),
    Dns,
    Ssh(Box<SshState>),
    Quic(Box<QuicState>),
}

/// Per-connection inspection state.
#[derive(Clone, Debug, Default)]
pub struct DpiState {
    done: bool,
    kind: Kind,
    /// TCP streams: [from local, from remote].
    dirs: [Reassembler; 2],
    /// Direction that carries nothing we recognise (or is finished).
    closed: [bool; 2],
    /// Whether the client is the local side (from the SYN or the protocol).
    client_local: Option<bool>,
    packets: u32,
    dns_messages: u32,
}

impl DpiState {
    pub fn new() -> Self {
        DpiState::default()
    }

    /// True once nothing more will be learned: the engine stops calling `inspect`.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Looks at one payload; updates `app`. Returns the application state
    /// (DNS_QUERY, BANNER, QUIC_CONNECTED …) when the protocol defines one.
    pub fn inspect(&mut self, input: &DpiInput<'_>, app: &mut Option<AppInfo>) -> Option<State> {
        if self.done {
            return None;
        }
        let state = match (input.proto, input.tcp) {
            (Proto::Tcp, Some((seq, flags))) => self.tcp(input, seq, flags, app),
            (Proto::Udp, _) => self.udp(input, app),
            _ => {
                self.finish();
                None
            }
        };
        if self.done {
            self.finish();
        }
        state
    }

    /// Frees all buffers; nothing more will be done.
    fn finish(&mut self) {
        self.done = true;
        self.dirs = Default::default();
    }

    fn udp(&mut self, input: &DpiInput<'_>, app: &mut Option<AppInfo>) -> Option<State> {
        let p = input.payload;
        if p.is_empty() {
            return None;
        }
        self.packets += 1;
        let dns_port = input.dns_port();
        // The message that classified the flow as DNS, reused below.
        let mut first = None;
        if let Kind::Unknown = self.kind {
            if dns_port && let Some(m) = dns::parse(p, false) {
                first = Some(m);
                self.kind = Kind::Dns;
            } else if QuicState::looks_like_quic(p) {
                self.kind = Kind::Quic(Box::default());
                self.client_local = Some(input.from_local);
            } else if let Some(m) = dns::parse(p, true) {
                first = Some(m);
                self.kind = Kind::Dns;
            } else {
                self.done = self.packets >= MAX_UNCLASSIFIED;
                return None;
            }
        }
        match &mut self.kind {
            Kind::Dns => {
                let m = match first {
                    Some(m) => m,
                    None => dns::parse(p, !dns_port)?,
                };
                self.dns_message(m, app)
            }
            Kind::Quic(q) => {
                let from_client = self.client_local == Some(input.from_local);
                let info = quic_info(app)?;
                let s = q.on_datagram(from_client, p, info);
                self.done = q.is_done();
                s
            }
            _ => None,
        }
    }

    fn dns_message(&mut self, m: dns::Message, app: &mut Option<AppInfo>) -> Option<State> {
        let info = dns_info(app)?;
        let response = dns::merge(info, m);
        self.dns_messages += 1;
        self.done = self.dns_messages as usize >= dns::MAX_MESSAGES || dns::full(info);
        Some(if response { State::DnsResponse } else { State::DnsQuery })
    }

    fn tcp(&mut self, input: &DpiInput<'_>, seq: u32, flags: u8, app: &mut Option<AppInfo>) -> Option<State> {
        let d = usize::from(!input.from_local);
        if flags & SYN != 0 {
            self.dirs[d].on_syn(seq);
            if flags & ACK == 0 {
                self.client_local = Some(input.from_local);
            }
        }
        if input.payload.is_empty() {
            return self.app_state();
        }
        self.packets += 1;
        // SSH after NEWKEYS: encrypted, only counted.
        if let Kind::Ssh(s) = &mut self.kind {
            let client = self.client_local.unwrap_or(true) == input.from_local;
            if s.newkeys(client) {
                s.on_segment(client);
                self.done = s.is_done() || self.packets >= MAX_SSH;
                return s.phase;
            }
        }
        if !self.closed[d] && self.dirs[d].push(seq, input.payload) == Push::Overflow {
            self.closed[d] = true;
        }
        let dns_port = input.dns_port();
        let mut first = None;
        if let Kind::Unknown = self.kind {
            first = self.classify_tcp(d, dns_port);
            if let Kind::Unknown = self.kind {
                self.done = self.packets >= MAX_UNCLASSIFIED || self.closed.iter().all(|c| *c);
                return None;
            }
        }
        let state = self.run_tcp(d, input.from_local, dns_port, first, app);
        let limit = if matches!(self.kind, Kind::Ssh(_)) { MAX_SSH } else { MAX_CLASSIFIED };
        if self.packets >= limit || self.closed.iter().all(|c| *c) {
            self.done = true;
        }
        state
    }

    fn app_state(&self) -> Option<State> {
        match &self.kind {
            Kind::Ssh(s) => s.phase,
            _ => None,
        }
    }

    /// Decides the protocol from the first bytes of direction `d`. When
    /// that is DNS, returns the first message (the one at the read point).
    fn classify_tcp(&mut self, d: usize, dns_port: bool) -> Option<dns::Message> {
        let data = self.dirs[d].data();
        if data.is_empty() {
            return None;
        }
        let local = d == 0;
        let mut undecided = false;
        match ssh::sniff(data) {
            Some(true) => {
                self.kind = Kind::Ssh(Box::default());
                self.client_local.get_or_insert(true);
                return None;
            }
            None => undecided = true,
            Some(false) => {}
        }
        match tls::sniff(data) {
            tls::Sniff::Yes => {
                self.kind = Kind::Tls(Box::default());
                // The side whose first handshake message is not a ServerHello is the client.
                let server_hello = data.get(5) == Some(&2) && data[0] == 22;
                self.client_local = Some(local != server_hello);
                return None;
            }
            tls::Sniff::NeedMore => undecided = true,
            tls::Sniff::No => {}
        }
        match http::sniff(data) {
            Some(true) => {
                self.kind = Kind::Http;
                self.client_local = Some(local);
                return None;
            }
            None => undecided = true,
            Some(false) => {}
        }
        if let Some(msg) = dns_frame(data) {
            if let Some(m) = dns::parse(msg, !dns_port) {
                self.kind = Kind::Dns;
                return Some(m);
            }
        } else if dns_port && (data.len() < 2 || u16::from_be_bytes([data[0], data[1]]) >= 12) {
            // Too short to tell, or the start of a DNS-sized message.
            undecided = true;
        }
        // Only final when the start of the stream is known (a SYN was seen);
        // otherwise an earlier segment may still come and move the start back.
        if !undecided && self.dirs[d].anchored() {
            self.closed[d] = true;
            self.dirs[d].clear();
        }
        None
    }

    /// `first`: the DNS message `classify_tcp` just parsed at the read point of `d`.
    fn run_tcp(
        &mut self,
        d: usize,
        from_local: bool,
        dns_port: bool,
        mut first: Option<dns::Message>,
        app: &mut Option<AppInfo>,
    ) -> Option<State> {
        let client = self.client_local.unwrap_or(true) == from_local;
        match &mut self.kind {
            Kind::Http => {
                if !client || self.closed[d] {
                    self.closed[d] = true;
                    self.dirs[d].clear();
                    return None;
                }
                match http::parse_request(self.dirs[d].data()) {
                    http::Parsed::NeedMore => return None,
                    http::Parsed::Done(h) => *app = Some(AppInfo::Http(h)),
                    http::Parsed::Invalid => {}
                }
                self.done = true;
                None
            }
            Kind::Tls(t) => {
                let info = tls_info(app)?;
                let i = usize::from(!client);
                t.on_data(client, &mut self.dirs[d], info);
                // Overflowed: the parser will not get more data.
                t.done[i] |= self.closed[d];
                self.closed[d] |= t.done[i];
                self.done = t.done == [true, true];
                None
            }
            Kind::Ssh(s) => {
                let info = ssh_info(app)?;
                s.on_data(client, &mut self.dirs[d], info);
                self.done = s.is_done();
                s.phase
            }
            Kind::Dns => {
                let mut state = None;
                while let Some(msg) = dns_frame(self.dirs[d].data()) {
                    let len = msg.len();
                    if let Some(m) = first.take().or_else(|| dns::parse(msg, !dns_port)) {
                        state = self.dns_message(m, app).or(state);
                    }
                    self.dirs[d].consume(2 + len);
                    if self.done {
                        break;
                    }
                }
                state
            }
            Kind::Quic(_) | Kind::Unknown => None,
        }
    }
}

/// The connection's `app` as the given variant, created if it is not yet that.
macro_rules! app_as {
    ($name:ident, $variant:ident, $ty:ty) => {
        fn $name(app: &mut Option<AppInfo>) -> Option<&mut $ty> {
            if !matches!(app, Some(AppInfo::$variant(_))) {
                *app = Some(AppInfo::$variant(<$ty>::default()));
            }
            match app {
                Some(AppInfo::$variant(x)) => Some(x),
                _ => None,
            }
        }
    };
}
app_as!(tls_info, Tls, TlsInfo);
app_as!(dns_info, Dns, DnsInfo);
app_as!(ssh_info, Ssh, SshInfo);
app_as!(quic_info, Quic, QuicInfo);
