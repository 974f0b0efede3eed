//! IPFIX export (RFC 7011) of connections as bidirectional flow records
//! (RFC 5103): records in, messages no larger than a path MTU out. Sans-IO:
//! the caller sends the messages (UDP datagrams, or TCP with the message
//! length as framing) and passes the export time in.
//!
//! Hand-written: the few hundred lines of encoding are simpler than adapting
//! a general IPFIX library, and the Rust crates that exist decode only.
//!
//! The forward direction is local → remote; reverse counters use the
//! RFC 5103 reverse PEN. Element list: `fields.rs` and the README.

pub mod decode;
#[cfg(test)]
mod decode_tests;
mod elements;
mod fields;
pub mod flows;
#[cfg(test)]
mod tests;

use crate::app::AppInfo;
use crate::track::{Connection, EndReason, Proto};
use fields::{Dir, Field, TcpCounter, VARLEN, Value, text_cap};
use std::net::IpAddr;

/// RFC 5103's enterprise number for reverse information elements.
pub const REVERSE_PEN: u32 = 29305;
/// ntop's enterprise number (nProbe/ntopng elements, decoded by Wireshark).
pub const NTOP_PEN: u32 = 35632;
/// The enterprise number of rustnet's own elements: RFC 5612's number for
/// documentation use, until one is registered.
pub const RUSTNET_PEN: u32 = 32473;

/// The smallest message size accepted: the largest record (text elements
/// at their caps) fits in it.
pub const MIN_MTU: usize = 1200;
/// The largest: an IPFIX message's length is 16 bits.
pub const MAX_MTU: usize = 65_535;

const VERSION: u16 = 10;
const HEADER_LEN: usize = 16;
const SET_HEADER_LEN: usize = 4;
const TEMPLATE_SET: u16 = 2;
const OPTIONS_TEMPLATE_SET: u16 = 3;
const TEMPLATE_V4: u16 = 256;
const TEMPLATE_V6: u16 = 257;
const TEMPLATE_DOMAIN: u16 = 258;
/// observationDomainId (scope) and observationDomainName.
const IE_DOMAIN_ID: u16 = 149;
const IE_DOMAIN_NAME: u16 = 300;

/// Exporter settings for one transport session (one collector).
#[derive(Clone, Debug)]
pub struct ExportConfig {
    /// Observation Domain ID of every message.
    pub domain_id: u32,
    /// observationDomainName, sent with the templates (the host name).
    pub domain_name: String,
    /// Largest message, in bytes (clamped to [`MIN_MTU`]..=[`MAX_MTU`]).
    pub mtu: usize,
    /// Resend the templates when this many seconds of export time passed
    /// since they were last sent (RFC 7011 §8.4, UDP); 0: only at start.
    pub template_refresh_secs: u32,
    /// Also resend them after this many messages; 0: never for that reason.
    pub template_refresh_messages: u32,
    /// biflowDirection: the local side is inside the observed host
    /// (perimeter, 3) when capturing live; from a file it opened the
    /// connection (initiator, 1).
    pub live: bool,
}

impl Default for ExportConfig {
    fn default() -> Self {
        ExportConfig {
            domain_id: 0,
            domain_name: String::new(),
            mtu: 1400,
            template_refresh_secs: 60,
            template_refresh_messages: 1000,
            live: true,
        }
    }
}

/// One direction's counters since the connection's previous record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delta {
    /// Packets.
    pub packets: u64,
    /// Bytes on the wire (frame length): layer2OctetDeltaCount.
    pub bytes: u64,
    /// IP-layer bytes: octetDeltaCount.
    pub ip_bytes: u64,
}

/// One record to export: a connection and what it added since its last one.
#[derive(Clone, Copy, Debug)]
pub struct FlowRecord<'a> {
    /// The connection, as of this record.
    pub conn: &'a Connection,
    /// Local → remote since the previous record.
    pub fwd: Delta,
    /// Remote → local since the previous record.
    pub rev: Delta,
    /// An interim record of a connection still open (active timeout).
    pub interim: bool,
}

impl<'a> FlowRecord<'a> {
    /// The whole connection in one record (its first and last).
    pub fn whole(conn: &'a Connection, interim: bool) -> Self {
        FlowRecord {
            conn,
            fwd: Delta { packets: conn.tx_packets, bytes: conn.tx_bytes, ip_bytes: conn.tx_ip_bytes },
            rev: Delta { packets: conn.rx_packets, bytes: conn.rx_bytes, ip_bytes: conn.rx_ip_bytes },
            interim,
        }
    }
}

/// Encodes records into IPFIX messages for one transport session, keeping
/// its sequence number and template timer.
#[derive(Debug)]
pub struct Encoder {
    cfg: ExportConfig,
    /// Data records sent so far, modulo 2^32 (the header's sequence number).
    sequence: u32,
    /// Export time of the last template set; None: never sent.
    templates_at: Option<u32>,
    messages_since_templates: u32,
    /// Data records in the message being filled.
    pending: u32,
    /// The data templates, IPv4 and IPv6.
    templates: [Vec<Field>; 2],
    /// Records skipped: not IP (ARP), or mixed address families.
    skipped: u64,
}

impl Encoder {
    /// An encoder that sends the templates first.
    pub fn new(mut cfg: ExportConfig) -> Self {
        cfg.mtu = cfg.mtu.clamp(MIN_MTU, MAX_MTU);
        let templates = [fields::template(false), fields::template(true)];
        Encoder { cfg, sequence: 0, templates_at: None, messages_since_templates: 0, pending: 0, templates, skipped: 0 }
    }

    /// Sends the templates with the next message (a new TCP connection).
    pub fn resend_templates(&mut self) {
        self.templates_at = None;
    }

    /// Records that could not be expressed in IPFIX (ARP) so far.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Data records encoded so far (modulo 2^32).
    pub fn sequence(&self) -> u32 {
        self.sequence
    }

    fn templates_due(&self, now: u32) -> bool {
        let c = &self.cfg;
        match self.templates_at {
            None => true,
            Some(at) => {
                (c.template_refresh_secs > 0 && now.saturating_sub(at) >= c.template_refresh_secs)
                    || (c.template_refresh_messages > 0 && self.messages_since_templates >= c.template_refresh_messages)
            }
        }
    }

    /// Encodes `records` into messages appended to `out`, each at most the
    /// MTU; the templates go first when due. `now` is the export time in
    /// seconds since the Unix epoch.
    pub fn encode(&mut self, now: u32, records: &[FlowRecord<'_>], out: &mut Vec<Vec<u8>>) {
        let mut msg = Message::new(self.cfg.mtu);
        if self.templates_due(now) {
            self.write_templates(&mut msg);
            self.templates_at = Some(now);
            self.messages_since_templates = 0;
        }
        let mut rec = Vec::with_capacity(256);
        for r in records {
            let Some(v6) = ip_version(r.conn) else {
                self.skipped += 1;
                continue;
            };
            rec.clear();
            let t = if v6 { &self.templates[1] } else { &self.templates[0] };
            encode_record(&mut rec, r, t, self.cfg.live);
            let set = if v6 { TEMPLATE_V6 } else { TEMPLATE_V4 };
            if !msg.fits(set, rec.len()) {
                self.flush(now, &mut msg, out);
            }
            msg.push(set, &rec);
            self.pending += 1;
        }
        self.flush(now, &mut msg, out);
    }

    fn write_templates(&mut self, msg: &mut Message) {
        let mut set = Vec::with_capacity(512);
        for (id, t) in [(TEMPLATE_V4, &self.templates[0]), (TEMPLATE_V6, &self.templates[1])] {
            put_u16(&mut set, id);
            put_u16(&mut set, t.len() as u16);
            for f in t {
                put_field_spec(&mut set, f);
            }
        }
        msg.push(TEMPLATE_SET, &set);
        // Options template: scope observationDomainId, then its name.
        let mut opt = Vec::with_capacity(16);
        for v in [TEMPLATE_DOMAIN, 2, 1, IE_DOMAIN_ID, 4, IE_DOMAIN_NAME, VARLEN] {
            put_u16(&mut opt, v);
        }
        msg.push(OPTIONS_TEMPLATE_SET, &opt);
        let mut data = Vec::with_capacity(64);
        put_u32(&mut data, self.cfg.domain_id);
        put_text(&mut data, &self.cfg.domain_name, 128);
        msg.push(TEMPLATE_DOMAIN, &data);
        self.pending += 1;
    }

    /// Finishes the message (if it holds anything) and starts the next.
    fn flush(&mut self, now: u32, msg: &mut Message, out: &mut Vec<Vec<u8>>) {
        if msg.is_empty() {
            return;
        }
        let done = std::mem::replace(msg, Message::new(self.cfg.mtu));
        out.push(done.finish(now, self.sequence, self.cfg.domain_id));
        self.sequence = self.sequence.wrapping_add(self.pending);
        self.pending = 0;
        self.messages_since_templates = self.messages_since_templates.saturating_add(1);
    }
}

/// Whether the connection is IPv6; None when it is not an IP flow.
fn ip_version(c: &Connection) -> Option<bool> {
    match (c.proto, c.local.addr, c.remote.addr) {
        (Proto::Arp, _, _) => None,
        (_, IpAddr::V4(_), IpAddr::V4(_)) => Some(false),
        (_, IpAddr::V6(_), IpAddr::V6(_)) => Some(true),
        _ => None,
    }
}

/// One message being filled: header space, then sets.
struct Message {
    buf: Vec<u8>,
    mtu: usize,
    /// Id and start of the set being filled.
    open: Option<(u16, usize)>,
}

impl Message {
    fn new(mtu: usize) -> Self {
        let mut buf = Vec::with_capacity(mtu);
        buf.resize(HEADER_LEN, 0);
        Message { buf, mtu, open: None }
    }

    fn is_empty(&self) -> bool {
        self.buf.len() == HEADER_LEN
    }

    fn fits(&self, set: u16, len: usize) -> bool {
        let header = if matches!(self.open, Some((id, _)) if id == set) { 0 } else { SET_HEADER_LEN };
        self.buf.len() + header + len <= self.mtu
    }

    /// Appends a record to the set `set`, opening it if another is open.
    fn push(&mut self, set: u16, rec: &[u8]) {
        if !matches!(self.open, Some((id, _)) if id == set) {
            self.close_set();
            self.open = Some((set, self.buf.len()));
            put_u16(&mut self.buf, set);
            put_u16(&mut self.buf, 0);
        }
        self.buf.extend_from_slice(rec);
    }

    fn close_set(&mut self) {
        if let Some((_, start)) = self.open.take() {
            let len = (self.buf.len() - start) as u16;
            set_u16(&mut self.buf, start + 2, len);
        }
    }

    fn finish(mut self, now: u32, sequence: u32, domain: u32) -> Vec<u8> {
        self.close_set();
        let len = self.buf.len() as u16;
        let mut h = Vec::with_capacity(HEADER_LEN);
        put_u16(&mut h, VERSION);
        put_u16(&mut h, len);
        put_u32(&mut h, now);
        put_u32(&mut h, sequence);
        put_u32(&mut h, domain);
        if let Some(head) = self.buf.get_mut(..HEADER_LEN) {
            head.copy_from_slice(&h);
        }
        self.buf
    }
}

fn put_u16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_be_bytes());
}

fn put_u32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_be_bytes());
}

fn put_u64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_be_bytes());
}

fn set_u16(b: &mut [u8], at: usize, v: u16) {
    if let Some(s) = b.get_mut(at..at + 2) {
        s.copy_from_slice(&v.to_be_bytes());
    }
}

fn put_field_spec(b: &mut Vec<u8>, f: &Field) {
    if f.pen == 0 {
        put_u16(b, f.id);
        put_u16(b, f.len);
    } else {
        put_u16(b, f.id | 0x8000);
        put_u16(b, f.len);
        put_u32(b, f.pen);
    }
}

/// A variable-length string (RFC 7011 §7, one length byte), cut to `cap`
/// bytes at a character boundary.
fn put_text(b: &mut Vec<u8>, s: &str, cap: usize) {
    let mut end = s.len().min(cap.min(254));
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    b.push(end as u8);
    b.extend_from_slice(s.get(..end).unwrap_or("").as_bytes());
}

fn micros(d: Option<std::time::Duration>) -> u32 {
    d.map_or(0, |d| u32::try_from(d.as_micros()).unwrap_or(u32::MAX))
}

/// flowEndReason (RFC 5102): idle timeout 1, active timeout 2, end of flow
/// detected 3, forced end 4, lack of resources 5.
fn end_reason(r: &FlowRecord<'_>) -> u8 {
    if r.interim {
        return 2;
    }
    match r.conn.end_reason {
        Some(EndReason::Idle) => 1,
        Some(EndReason::Closed) => 3,
        Some(EndReason::EndOfInput) | None => 4,
        Some(EndReason::Evicted) => 5,
    }
}

fn ms(t: crate::time::Timestamp) -> u64 {
    t.as_nanos() / 1_000_000
}

fn encode_record(b: &mut Vec<u8>, r: &FlowRecord<'_>, template: &[Field], live: bool) {
    let c = r.conn;
    let http = match &c.app {
        Some(AppInfo::Http(h)) => Some(h),
        _ => None,
    };
    let sni = match &c.app {
        Some(AppInfo::Tls(t)) => t.sni.as_deref(),
        Some(AppInfo::Quic(q)) => q.sni.as_deref(),
        _ => None,
    };
    let dns = match &c.app {
        Some(AppInfo::Dns(d) | AppInfo::Mdns(d) | AppInfo::Llmnr(d)) => d.queries.first().map(|q| q.name.as_str()),
        _ => None,
    };
    let tcp = c.tcp.unwrap_or_default();
    for f in template {
        let text = |s: Option<&str>, b: &mut Vec<u8>| put_text(b, s.unwrap_or(""), text_cap(f.value));
        match f.value {
            Value::SrcV4 | Value::SrcV6 => put_addr(b, c.local.addr),
            Value::DstV4 | Value::DstV6 => put_addr(b, c.remote.addr),
            Value::SrcPort => put_u16(b, if c.proto.has_ports() { c.local.port } else { 0 }),
            Value::DstPort => put_u16(b, if c.proto.has_ports() { c.remote.port } else { 0 }),
            Value::Protocol => b.push(match c.proto {
                Proto::Tcp => 6,
                Proto::Udp => 17,
                Proto::Icmp => 1,
                Proto::Icmpv6 => 58,
                Proto::Arp => 0,
            }),
            Value::Packets(d) => put_u64(b, pick(d, r.fwd, r.rev).packets),
            Value::Octets(d) => put_u64(b, pick(d, r.fwd, r.rev).ip_bytes),
            Value::L2Octets(d) => put_u64(b, pick(d, r.fwd, r.rev).bytes),
            Value::FlowStartMs => put_u64(b, ms(c.first_seen)),
            Value::FlowEndMs => put_u64(b, ms(c.last_seen)),
            Value::TcpFlags(d) => b.push(pick(d, tcp.tx, tcp.rx).flags),
            Value::EndReason => b.push(end_reason(r)),
            Value::BiflowDirection => b.push(if live { 3 } else { 1 }),
            Value::IcmpTypeCode => put_u16(b, c.icmp.map_or(0, |i| u16::from(i.icmp_type) << 8 | u16::from(i.code))),
            Value::HttpMethod => text(http.and_then(|h| h.method.as_deref()), b),
            Value::HttpHost => text(http.and_then(|h| h.host.as_deref()), b),
            Value::HttpTarget => text(http.and_then(|h| h.path.as_deref()), b),
            Value::HttpUserAgent => text(http.and_then(|h| h.user_agent.as_deref()), b),
            Value::ProcessPid => put_u32(b, c.process.as_ref().map_or(0, |p| p.pid)),
            Value::ProcessName => text(c.process.as_ref().map(|p| p.name.as_str()), b),
            Value::AppName => text(c.app.as_ref().map(|a| a.protocol()), b),
            Value::TlsSni => text(sni, b),
            Value::DnsQuery => text(dns, b),
            Value::State => text(Some(c.state.name()), b),
            Value::RttUs => put_u32(b, micros(c.rtt)),
            Value::SmoothedRttUs => put_u32(b, micros(tcp.smoothed_rtt)),
            Value::Tcp(d, counter) => {
                let s = pick(d, tcp.tx, tcp.rx);
                put_u32(
                    b,
                    match counter {
                        TcpCounter::Retransmits => s.retransmits,
                        TcpCounter::FastRetransmits => s.fast_retransmits,
                        TcpCounter::OutOfOrder => s.out_of_order,
                        TcpCounter::DupAcks => s.dup_acks,
                        TcpCounter::ZeroWindow => s.zero_window,
                    },
                );
            }
        }
    }
}

fn pick<T>(d: Dir, fwd: T, rev: T) -> T {
    match d {
        Dir::Fwd => fwd,
        Dir::Rev => rev,
    }
}

fn put_addr(b: &mut Vec<u8>, a: IpAddr) {
    match a {
        IpAddr::V4(a) => b.extend_from_slice(&a.octets()),
        IpAddr::V6(a) => b.extend_from_slice(&a.octets()),
    }
}
