//! Collector mode's connection table: decoded records in, connections out,
//! as the JSON, filter and TUI know them. Sans-IO: `now` is passed in.
//!
//! A flow is one exporter's 5-tuple and start time: its interim records
//! (flowEndReason 2, active timeout) add their counters to one connection;
//! any other record ends it. One that gets no record for the idle timeout
//! ends as idle; when the table is full the least recently updated is
//! evicted.

use super::decode::{ExporterKey, Received};
use super::elements::FlowData;
use crate::app::{AppInfo, DnsQuestion};
use crate::time::Timestamp;
use crate::track::{Connection, EndReason, Endpoint, IcmpInfo, ProcessInfo, Proto, State};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Duration;

/// Table settings.
#[derive(Clone, Copy, Debug)]
pub struct TableConfig {
    /// Most connections kept.
    pub max_connections: usize,
    /// A connection with no record for this long ends as idle (longer than
    /// an exporter's idle timeout: rustnet's is 5 minutes for TCP).
    pub idle: Duration,
}

impl Default for TableConfig {
    fn default() -> Self {
        TableConfig { max_connections: 100_000, idle: Duration::from_secs(600) }
    }
}

/// What the table counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableStats {
    /// Records folded into a connection.
    pub records: u64,
    /// Packets and bytes (both directions) those records carried.
    pub packets: u64,
    /// Packets those records carried, both directions.
    pub bytes: u64,
    /// Records of IP protocols other than TCP, UDP, ICMP and ICMPv6.
    pub unsupported: u64,
    /// Connections evicted because the table was full.
    pub evicted: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    exporter: ExporterKey,
    proto: Proto,
    src: Endpoint,
    dst: Endpoint,
    start_ms: u64,
}

#[derive(Debug)]
struct Entry {
    conn: Connection,
    tick: u64,
    seen: Timestamp,
}

/// The collector's connections.
#[derive(Debug, Default)]
pub struct FlowTable {
    cfg: TableConfig,
    map: HashMap<Key, Entry>,
    /// Update order: oldest first.
    lru: BTreeMap<u64, Key>,
    tick: u64,
    next_id: u64,
    finished: Vec<Connection>,
    stats: TableStats,
}

impl FlowTable {
    /// An empty table.
    pub fn new(cfg: TableConfig) -> Self {
        FlowTable { cfg, ..FlowTable::default() }
    }

    /// What was counted so far.
    pub fn stats(&self) -> &TableStats {
        &self.stats
    }

    /// Connections open now.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no connection is open.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The open connections.
    pub fn connections(&self) -> impl Iterator<Item = &Connection> {
        self.map.values().map(|e| &e.conn)
    }

    /// Connections that ended since the last call.
    pub fn take_finished(&mut self, out: &mut Vec<Connection>) {
        out.append(&mut self.finished);
    }

    /// Folds a decoded record in, received at `now`.
    pub fn add(&mut self, r: &Received, now: Timestamp) {
        let f = &r.flow;
        let (Some(src), Some(dst)) = (f.src, f.dst) else { return };
        let proto = match f.protocol {
            Some(6) => Proto::Tcp,
            Some(17) => Proto::Udp,
            Some(1) => Proto::Icmp,
            Some(58) => Proto::Icmpv6,
            _ => {
                self.stats.unsupported += 1;
                return;
            }
        };
        let now_ms = now.as_nanos() / 1_000_000;
        let [start, end] = f.times(r.export_time);
        let end_ms = end.or(start).unwrap_or(now_ms);
        let start_ms = start.unwrap_or(end_ms).min(end_ms);
        let ports = proto.has_ports();
        let port = |p: Option<u16>| if ports { p.unwrap_or(0) } else { 0 };
        let key = Key {
            exporter: r.exporter,
            proto,
            src: Endpoint::new(src, port(f.src_port)),
            dst: Endpoint::new(dst, port(f.dst_port)),
            start_ms,
        };
        self.tick += 1;
        let tick = self.tick;
        if let Some(e) = self.map.get_mut(&key) {
            self.lru.remove(&e.tick);
            e.tick = tick;
        } else {
            if self.map.len() >= self.cfg.max_connections.max(1) {
                self.evict_oldest();
            }
            self.next_id += 1;
            let mut c = Connection::new(self.next_id, proto, key.src, key.dst, ms(start_ms), State::Established);
            c.exporter = Some(r.label.clone());
            self.map.insert(key, Entry { conn: c, tick, seen: now });
        }
        self.lru.insert(tick, key);
        let Some(e) = self.map.get_mut(&key) else { return };
        e.seen = now;
        let (packets, bytes) = apply(&mut e.conn, f, ms(end_ms), now);
        self.stats.records += 1;
        // Counters come from the network: any value, saturating (fuzzing found it).
        self.stats.packets = self.stats.packets.saturating_add(packets);
        self.stats.bytes = self.stats.bytes.saturating_add(bytes);
        // flowEndReason 2 is the active timeout: the flow goes on.
        if f.end_reason != Some(2) {
            let reason = match f.end_reason {
                Some(3) => EndReason::Closed,
                Some(4) => EndReason::EndOfInput,
                Some(5) => EndReason::Evicted,
                _ => EndReason::Idle,
            };
            self.finish(&key, reason);
        }
    }

    fn finish(&mut self, key: &Key, reason: EndReason) {
        if let Some(mut e) = self.map.remove(key) {
            self.lru.remove(&e.tick);
            e.conn.end_reason = Some(reason);
            self.finished.push(e.conn);
        }
    }

    fn evict_oldest(&mut self) {
        if let Some((_, key)) = self.lru.pop_first() {
            self.stats.evicted += 1;
            if let Some(mut e) = self.map.remove(&key) {
                e.conn.end_reason = Some(EndReason::Evicted);
                self.finished.push(e.conn);
            }
        }
    }

    /// Ends the connections that had no record for the idle timeout.
    pub fn expire(&mut self, now: Timestamp) {
        while let Some((_, key)) = self.lru.first_key_value() {
            let key = *key;
            match self.map.get(&key) {
                Some(e) if now.since(e.seen) >= self.cfg.idle => self.finish(&key, EndReason::Idle),
                Some(_) => break,
                None => {
                    self.lru.pop_first();
                }
            }
        }
    }

    /// End of input: every connection left ends.
    pub fn finish_all(&mut self) {
        let keys: Vec<Key> = self.lru.values().copied().collect();
        for k in keys {
            self.finish(&k, EndReason::EndOfInput);
        }
    }
}

fn ms(t: u64) -> Timestamp {
    Timestamp::from_secs_nanos(t / 1000, (t % 1000) as u32 * 1_000_000)
}

fn micros(us: Option<u32>) -> Option<Duration> {
    us.filter(|&u| u > 0).map(|u| Duration::from_micros(u64::from(u)))
}

/// Applies one record to its connection; returns the packets and bytes it added.
fn apply(c: &mut Connection, f: &FlowData, end: Timestamp, now: Timestamp) -> (u64, u64) {
    let (mut packets, mut bytes) = (0u64, 0u64);
    for (d, n) in f.counts.iter().enumerate() {
        let tx = d == 0;
        let (p, b, ip) = if tx {
            (&mut c.tx_packets, &mut c.tx_bytes, &mut c.tx_ip_bytes)
        } else {
            (&mut c.rx_packets, &mut c.rx_bytes, &mut c.rx_ip_bytes)
        };
        let (dp, db, dip) = match (n.packets, n.l2_octets.or(n.octets), n.octets) {
            (None, None, None) => {
                // Totals: the new total replaces the old.
                let tp = n.packets_total.unwrap_or(0).saturating_sub(*p);
                let tb = n.octets_total.unwrap_or(0).saturating_sub(*b);
                (tp, tb, n.octets_total.unwrap_or(0).saturating_sub(*ip))
            }
            (dp, db, dip) => (dp.unwrap_or(0), db.unwrap_or(0), dip.unwrap_or(0)),
        };
        *p = p.saturating_add(dp);
        *b = b.saturating_add(db);
        *ip = ip.saturating_add(dip);
        c.rate.add(now, tx, u32::try_from(db).unwrap_or(u32::MAX));
        packets = packets.saturating_add(dp);
        bytes = bytes.saturating_add(db);
    }
    c.last_seen = c.last_seen.max(end);
    if let Some(t) = c.tcp.as_mut() {
        for (d, s) in [&mut t.tx, &mut t.rx].into_iter().enumerate() {
            s.flags |= f.tcp_flags[d].unwrap_or(0);
            let [r, fr, ooo, dup, zw] = f.tcp[d];
            s.retransmits = r.unwrap_or(s.retransmits);
            s.fast_retransmits = fr.unwrap_or(s.fast_retransmits);
            s.out_of_order = ooo.unwrap_or(s.out_of_order);
            s.dup_acks = dup.unwrap_or(s.dup_acks);
            s.zero_window = zw.unwrap_or(s.zero_window);
        }
        if f.smoothed_rtt_us.is_some() {
            t.smoothed_rtt = micros(f.smoothed_rtt_us);
        }
    }
    if f.rtt_us.is_some() {
        c.rtt = micros(f.rtt_us);
    }
    if let (Some(t), code) = (f.icmp_type, f.icmp_code.unwrap_or(0)) {
        let v6 = c.proto == Proto::Icmpv6 || matches!(c.remote.addr, IpAddr::V6(_));
        let echo = if v6 { matches!(t, 128 | 129) } else { matches!(t, 0 | 8) };
        if !echo && (t, code) != (0, 0) {
            c.icmp = Some(IcmpInfo { v6, icmp_type: t, code });
        }
    }
    if f.pid.is_some_and(|p| p > 0) || f.process_name.is_some() {
        c.process = Some(Box::new(ProcessInfo {
            pid: f.pid.unwrap_or(0),
            name: f.process_name.clone().unwrap_or_default(),
            ..ProcessInfo::default()
        }));
    }
    if let Some(app) = app(f) {
        c.app = Some(app);
    }
    c.state = state(c, f);
    (packets, bytes)
}

/// The state the exporter named, else one from what the record shows.
fn state(c: &Connection, f: &FlowData) -> State {
    let ssh = matches!(c.app, Some(AppInfo::Ssh(_)));
    if let Some(s) = f.state.as_deref().and_then(|n| State::ALL.iter().find(|s| s.name() == n)) {
        return if *s == State::Established && ssh { State::SshEstablished } else { *s };
    }
    match c.proto {
        Proto::Tcp if c.is_closed() => State::Closed,
        Proto::Tcp => State::Established,
        Proto::Udp => State::UdpActive,
        _ => match f.icmp_type {
            Some(8 | 128) => State::EchoRequest,
            Some(0 | 129) => State::EchoReply,
            _ if c.icmp.is_some_and(|i| i.is_error()) => State::IcmpError,
            _ => State::IcmpOther,
        },
    }
}

/// The application the record names (ntop's applicationName, also as
/// nProbe's "TLS.Google"), with the fields IPFIX carries for it.
fn app(f: &FlowData) -> Option<AppInfo> {
    let implied = if f.http_host.is_some() || f.http_method.is_some() {
        Some("HTTP")
    } else if f.sni.is_some() {
        Some("TLS")
    } else if f.dns_query.is_some() {
        Some("DNS")
    } else {
        None
    };
    let name = f.app_name.as_deref().or(implied)?;
    let mut app = by_name(name).or_else(|| by_name(name.split('.').next()?))?;
    match &mut app {
        AppInfo::Http(h) => {
            h.host.clone_from(&f.http_host);
            h.method.clone_from(&f.http_method);
            h.path.clone_from(&f.http_target);
            h.user_agent.clone_from(&f.http_user_agent);
        }
        AppInfo::Tls(t) => t.sni.clone_from(&f.sni),
        AppInfo::Quic(q) => q.sni.clone_from(&f.sni),
        AppInfo::Dns(d) | AppInfo::Mdns(d) | AppInfo::Llmnr(d) => {
            // IPFIX carries the first question's name only, not its type.
            d.queries = f.dns_query.iter().map(|q| DnsQuestion { name: q.clone(), qtype: String::new() }).collect();
        }
        _ => {}
    }
    Some(app)
}

/// An empty record of the protocol JSON calls `name`: the names come from
/// AppInfo's own serde tags, so a new protocol needs nothing here.
fn by_name(name: &str) -> Option<AppInfo> {
    use serde::de::value::{Error, MapDeserializer};
    AppInfo::deserialize(MapDeserializer::<_, Error>::new(std::iter::once(("protocol", name)))).ok()
}
