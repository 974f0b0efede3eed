//! The information elements the collector understands: those rustnet
//! exports (fields.rs) and the standard ones other exporters use for the
//! same facts (totals, other time units, separate ICMP type and code).

use super::decode::{addr, is_reverse, uint};
use super::{NTOP_PEN, RUSTNET_PEN};
use std::net::IpAddr;

/// What a field means to the collector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Ignore,
    Src,
    Dst,
    SrcPort,
    DstPort,
    Protocol,
    /// Delta counters: packets, IP octets, layer-2 octets; [forward, reverse].
    Packets(u8),
    Octets(u8),
    L2Octets(u8),
    /// Total counters (packetTotalCount, octetTotalCount).
    PacketsTotal(u8),
    OctetsTotal(u8),
    /// Times: start (0) or end (1), in the unit given.
    Secs(u8),
    Millis(u8),
    /// NTP-format timestamps (dateTimeMicroseconds / Nanoseconds).
    Ntp(u8),
    /// flowStart/EndSysUpTime: milliseconds since systemInitTimeMilliseconds.
    Uptime(u8),
    SysInitMs,
    /// flowStart/EndDeltaMicroseconds: before the message's export time.
    DeltaMicros(u8),
    TcpFlags(u8),
    EndReason,
    IcmpTypeCode,
    IcmpType,
    IcmpCode,
    HttpMethod,
    HttpHost,
    HttpTarget,
    HttpUserAgent,
    Pid,
    ProcessName,
    AppName,
    Sni,
    DnsQuery,
    State,
    RttUs,
    SmoothedRttUs,
    /// A TCP analysis counter: [direction][counter].
    Tcp(u8, u8),
    DomainName,
}

/// The meaning of element `id` of enterprise `pen` (0: IANA), sent with
/// length `len`; [`Kind::Ignore`] when unknown or its length does not fit.
pub(super) fn kind_of(pen: u32, id: u16, len: u16) -> Kind {
    let d = u8::from(is_reverse(pen));
    let int = (1..=8).contains(&len);
    let k = match (pen, id) {
        (0, 8 | 27) => Kind::Src,
        (0, 12 | 28) => Kind::Dst,
        (0, 7) => Kind::SrcPort,
        (0, 11) => Kind::DstPort,
        (0, 4) => Kind::Protocol,
        (0, 300) => return Kind::DomainName,
        (0 | super::REVERSE_PEN, _) => match id {
            1 => Kind::Octets(d),
            2 => Kind::Packets(d),
            352 => Kind::L2Octets(d),
            85 => Kind::OctetsTotal(d),
            86 => Kind::PacketsTotal(d),
            6 => Kind::TcpFlags(d),
            150 | 151 if d == 0 => Kind::Secs((id - 150) as u8),
            152 | 153 if d == 0 => Kind::Millis((id - 152) as u8),
            154..=157 if d == 0 && len == 8 => return Kind::Ntp(u8::from(id % 2 == 1)),
            22 if d == 0 => Kind::Uptime(0),
            21 if d == 0 => Kind::Uptime(1),
            160 if d == 0 => Kind::SysInitMs,
            158 | 159 if d == 0 => Kind::DeltaMicros((id - 158) as u8),
            136 if d == 0 => Kind::EndReason,
            32 | 139 if d == 0 => Kind::IcmpTypeCode,
            176 | 178 if d == 0 => Kind::IcmpType,
            177 | 179 if d == 0 => Kind::IcmpCode,
            459 if d == 0 => return Kind::HttpMethod,
            460 if d == 0 => return Kind::HttpHost,
            461 if d == 0 => return Kind::HttpTarget,
            468 if d == 0 => return Kind::HttpUserAgent,
            _ => Kind::Ignore,
        },
        (NTOP_PEN, 168) => Kind::Pid,
        (NTOP_PEN, 169) => return Kind::ProcessName,
        (NTOP_PEN, 119) => return Kind::AppName,
        (NTOP_PEN, 188) => return Kind::Sni,
        (NTOP_PEN, 205) => return Kind::DnsQuery,
        (RUSTNET_PEN, 101) => return Kind::State,
        (RUSTNET_PEN, 102) => Kind::RttUs,
        (RUSTNET_PEN, 103) => Kind::SmoothedRttUs,
        (RUSTNET_PEN, n) if (104..=108).contains(&(n & !0x4000)) => {
            Kind::Tcp(u8::from(n & 0x4000 != 0), ((n & !0x4000) - 104) as u8)
        }
        _ => Kind::Ignore,
    };
    match k {
        // Addresses: 4 or 16 bytes, checked per value.
        Kind::Src | Kind::Dst => k,
        _ if int => k,
        _ => Kind::Ignore,
    }
}

/// One direction's counters in a record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Packets.
    pub packets: Option<u64>,
    /// IP-layer bytes (octetDeltaCount).
    pub octets: Option<u64>,
    /// Frame bytes (layer2OctetDeltaCount).
    pub l2_octets: Option<u64>,
    /// Totals since the flow began (packetTotalCount, octetTotalCount).
    pub packets_total: Option<u64>,
    /// Total IP octets since the flow began.
    pub octets_total: Option<u64>,
}

/// What one data record said, element by element (None: not sent).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowData {
    /// Source address (sourceIPv4/IPv6Address).
    pub src: Option<IpAddr>,
    /// Destination address.
    pub dst: Option<IpAddr>,
    /// Source port.
    pub src_port: Option<u16>,
    /// Destination port.
    pub dst_port: Option<u16>,
    /// IP protocol number.
    pub protocol: Option<u8>,
    /// Forward (source → destination) and reverse (RFC 5103).
    pub counts: [Counts; 2],
    /// Start and end, in milliseconds since the Unix epoch.
    pub times_ms: [Option<u64>; 2],
    /// flowStart/EndSysUpTime.
    pub uptime_ms: [Option<u64>; 2],
    /// systemInitTimeMilliseconds.
    pub sys_init_ms: Option<u64>,
    /// flowStart/EndDeltaMicroseconds.
    pub delta_us: [Option<u64>; 2],
    /// tcpControlBits, forward and reverse.
    pub tcp_flags: [Option<u8>; 2],
    /// flowEndReason (RFC 5102).
    pub end_reason: Option<u8>,
    /// ICMP type.
    pub icmp_type: Option<u8>,
    /// ICMP code.
    pub icmp_code: Option<u8>,
    /// httpRequestMethod.
    pub http_method: Option<String>,
    /// httpRequestHost.
    pub http_host: Option<String>,
    /// httpRequestTarget.
    pub http_target: Option<String>,
    /// httpUserAgent.
    pub http_user_agent: Option<String>,
    /// Process id (ntop 168).
    pub pid: Option<u32>,
    /// Process name (ntop 169).
    pub process_name: Option<String>,
    /// Application name (ntop 119).
    pub app_name: Option<String>,
    /// TLS SNI (ntop 188).
    pub sni: Option<String>,
    /// DNS query (ntop 205).
    pub dns_query: Option<String>,
    /// rustnet's state name (own 101).
    pub state: Option<String>,
    /// RTT in microseconds (own 102).
    pub rtt_us: Option<u32>,
    /// Smoothed TCP RTT in microseconds (own 103).
    pub smoothed_rtt_us: Option<u32>,
    /// Retransmits, fast retransmits, out of order, dup ACKs, zero window;
    /// [forward, reverse].
    pub tcp: [[Option<u32>; 5]; 2],
}

/// Longest text kept of any element, in bytes.
const MAX_TEXT: usize = 256;

/// A text element as a string: invalid UTF-8 replaced, control characters
/// dropped, cut to `cap` bytes at a character boundary.
pub(super) fn text(b: &[u8], cap: usize) -> String {
    let s: String = String::from_utf8_lossy(b).chars().filter(|c| !c.is_control()).collect();
    let mut end = s.len().min(cap);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default().to_string()
}

fn some_text(b: &[u8]) -> Option<String> {
    let s = text(b, MAX_TEXT);
    (!s.is_empty()).then_some(s)
}

fn ntp_ms(b: &[u8]) -> Option<u64> {
    // Seconds since 1900 and a binary fraction (RFC 7011 §6.1.9).
    let v = uint(b)?;
    let secs = (v >> 32).checked_sub(2_208_988_800)?;
    Some(secs * 1000 + (((v & 0xffff_ffff) * 1000) >> 32))
}

impl FlowData {
    /// Stores one field's value (lengths were checked against the kind).
    pub(super) fn set(&mut self, kind: Kind, v: &[u8]) {
        let n = uint(v);
        let n32 = n.map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        let low8 = n.map(|n| n as u8);
        match kind {
            Kind::Ignore | Kind::DomainName => {}
            Kind::Src => self.src = addr(v),
            Kind::Dst => self.dst = addr(v),
            Kind::SrcPort => self.src_port = n.map(|n| n as u16),
            Kind::DstPort => self.dst_port = n.map(|n| n as u16),
            Kind::Protocol => self.protocol = low8,
            Kind::Packets(d) => self.counts[usize::from(d & 1)].packets = n,
            Kind::Octets(d) => self.counts[usize::from(d & 1)].octets = n,
            Kind::L2Octets(d) => self.counts[usize::from(d & 1)].l2_octets = n,
            Kind::PacketsTotal(d) => self.counts[usize::from(d & 1)].packets_total = n,
            Kind::OctetsTotal(d) => self.counts[usize::from(d & 1)].octets_total = n,
            Kind::Secs(i) => self.times_ms[usize::from(i & 1)] = n.and_then(|s| s.checked_mul(1000)),
            Kind::Millis(i) => self.times_ms[usize::from(i & 1)] = n,
            Kind::Ntp(i) => self.times_ms[usize::from(i & 1)] = ntp_ms(v),
            Kind::Uptime(i) => self.uptime_ms[usize::from(i & 1)] = n,
            Kind::SysInitMs => self.sys_init_ms = n,
            Kind::DeltaMicros(i) => self.delta_us[usize::from(i & 1)] = n,
            // tcpControlBits is 16 bits with the header's flags in the low byte.
            Kind::TcpFlags(d) => self.tcp_flags[usize::from(d & 1)] = low8,
            Kind::EndReason => self.end_reason = low8,
            Kind::IcmpTypeCode => {
                if let Some(tc) = n {
                    self.icmp_type = Some((tc >> 8) as u8);
                    self.icmp_code = Some(tc as u8);
                }
            }
            Kind::IcmpType => self.icmp_type = low8,
            Kind::IcmpCode => self.icmp_code = low8,
            Kind::HttpMethod => self.http_method = some_text(v),
            Kind::HttpHost => self.http_host = some_text(v),
            Kind::HttpTarget => self.http_target = some_text(v),
            Kind::HttpUserAgent => self.http_user_agent = some_text(v),
            Kind::Pid => self.pid = n32,
            Kind::ProcessName => self.process_name = some_text(v),
            Kind::AppName => self.app_name = some_text(v),
            Kind::Sni => self.sni = some_text(v),
            Kind::DnsQuery => self.dns_query = some_text(v),
            Kind::State => self.state = some_text(v),
            Kind::RttUs => self.rtt_us = n32,
            Kind::SmoothedRttUs => self.smoothed_rtt_us = n32,
            Kind::Tcp(d, c) => {
                if let Some(slot) = self.tcp[usize::from(d & 1)].get_mut(usize::from(c)) {
                    *slot = n32;
                }
            }
        }
    }

    /// A flow record: both addresses, of one family.
    pub(super) fn is_flow(&self) -> bool {
        matches!(
            (self.src, self.dst),
            (Some(IpAddr::V4(_)), Some(IpAddr::V4(_))) | (Some(IpAddr::V6(_)), Some(IpAddr::V6(_)))
        )
    }

    /// Start and end in milliseconds since the Unix epoch, from whichever
    /// time elements the record has; `export_time` in seconds.
    pub fn times(&self, export_time: u32) -> [Option<u64>; 2] {
        let mut t = self.times_ms;
        for (i, ti) in t.iter_mut().enumerate() {
            if ti.is_none() {
                *ti = match (self.uptime_ms[i], self.sys_init_ms, self.delta_us[i]) {
                    (Some(up), Some(init), _) => init.checked_add(up),
                    (_, _, Some(d)) => (u64::from(export_time) * 1000).checked_sub(d / 1000),
                    _ => None,
                };
            }
        }
        t
    }
}
