//! The workers' side of IPFIX export (`--ipfix`): finished connections and,
//! for long-lived ones, interim records every active timeout, each with the
//! counters added since the connection's previous record. Sent to the
//! exporter thread through a bounded queue: live, a full queue drops the
//! batch (counted) rather than slow the capture; from a file it waits, so a
//! replay exports every record.

use crossbeam_channel::{Sender, TrySendError};
use rustnet_core::Timestamp;
use rustnet_core::ipfix::Delta;
use rustnet_core::track::Connection;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One record for the exporter.
#[derive(Debug)]
pub struct IpfixRecord {
    pub conn: Connection,
    pub fwd: Delta,
    pub rev: Delta,
    pub interim: bool,
}

/// What a worker needs to export: the queue and the active timeout.
#[derive(Clone, Debug)]
pub struct IpfixTap {
    pub tx: Sender<Vec<IpfixRecord>>,
    pub active_timeout: Duration,
    /// Records lost because the exporter's queue was full.
    pub dropped: Arc<AtomicU64>,
}

/// How often a worker looks for connections due an interim record, in
/// packet time: a tenth of the active timeout, from 10 ms to 1 s. The
/// interim records are at most this late.
fn scan_every(active_timeout: Duration) -> Duration {
    (active_timeout / 10).clamp(Duration::from_millis(10), Duration::from_secs(1))
}

/// One worker's export state.
#[derive(Debug)]
pub struct WorkerIpfix {
    tap: IpfixTap,
    live: bool,
    /// Connections that had an interim record: when, and their counters
    /// then. Bounded by the table: removed when the connection ends.
    reported: HashMap<u64, (Timestamp, [Delta; 2])>,
    next_scan: Timestamp,
    out: Vec<IpfixRecord>,
}

impl WorkerIpfix {
    pub fn new(tap: IpfixTap, live: bool) -> Self {
        WorkerIpfix { tap, live, reported: HashMap::new(), next_scan: Timestamp::ZERO, out: Vec::new() }
    }

    /// The final record of a connection that left the table.
    pub fn finished(&mut self, c: &Connection) {
        let before = self.reported.remove(&c.id).map(|r| r.1);
        self.out.push(record(c, before, false));
    }

    /// Forgets a finished connection that is not exported (filtered out).
    pub fn forget(&mut self, c: &Connection) {
        self.reported.remove(&c.id);
    }

    /// The active timeout: open connections get a record this often.
    pub fn active_timeout(&self) -> Duration {
        self.tap.active_timeout
    }

    /// Whether a scan for interim records is due at `now`.
    pub fn scan_due(&self, now: Timestamp) -> bool {
        now >= self.next_scan
    }

    /// Interim record of a connection still open, if its active timeout
    /// passed since its start or its previous record and it had packets
    /// since then; none once closed (its final record follows soon). Call
    /// for each connection when [`Self::scan_due`].
    pub fn maybe_interim(&mut self, c: &Connection, now: Timestamp) -> bool {
        let prev = self.reported.get(&c.id).copied();
        let since = prev.map_or(c.first_seen, |p| p.0);
        if now.since(since) < self.tap.active_timeout || c.last_seen <= since || c.is_closed() {
            return false;
        }
        self.out.push(record(c, prev.map(|p| p.1), true));
        self.reported.insert(c.id, (now, counters(c)));
        true
    }

    /// Ends a scan at `now`.
    pub fn scanned(&mut self, now: Timestamp) {
        self.next_scan = now + scan_every(self.tap.active_timeout);
    }

    /// Hands the records gathered to the exporter.
    pub fn send(&mut self) {
        if self.out.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.out);
        let n = batch.len() as u64;
        let sent = if self.live {
            self.tap.tx.try_send(batch)
        } else {
            self.tap.tx.send(batch).map_err(|e| TrySendError::Disconnected(e.0))
        };
        if sent.is_err() {
            self.tap.dropped.fetch_add(n, Ordering::Relaxed);
        }
    }
}

/// The connection's counters so far: local → remote, remote → local.
fn counters(c: &Connection) -> [Delta; 2] {
    [
        Delta { packets: c.tx_packets, bytes: c.tx_bytes, ip_bytes: c.tx_ip_bytes },
        Delta { packets: c.rx_packets, bytes: c.rx_bytes, ip_bytes: c.rx_ip_bytes },
    ]
}

/// The record with the counters added since `before` (the whole
/// connection's when it had no record yet).
fn record(c: &Connection, before: Option<[Delta; 2]>, interim: bool) -> IpfixRecord {
    let [f0, r0] = before.unwrap_or_default();
    let [f, r] = counters(c);
    let minus = |a: Delta, b: Delta| Delta {
        packets: a.packets.saturating_sub(b.packets),
        bytes: a.bytes.saturating_sub(b.bytes),
        ip_bytes: a.ip_bytes.saturating_sub(b.ip_bytes),
    };
    IpfixRecord { conn: slim(c), fwd: minus(f, f0), rev: minus(r, r0), interim }
}

/// A copy of `c` with only what the encoder reads: the whole connection's
/// clone (command line, parents, DNS answers, JA4 …) and its drop on the
/// exporter thread cost more than the encoding itself (callgrind).
fn slim(c: &Connection) -> Connection {
    use rustnet_core::dpi::AppInfo;
    use rustnet_core::track::ProcessInfo;
    let mut s = Connection::new(c.id, c.proto, c.local, c.remote, c.first_seen, c.state);
    s.last_seen = c.last_seen;
    (s.tx_packets, s.rx_packets, s.tx_bytes, s.rx_bytes) = (c.tx_packets, c.rx_packets, c.tx_bytes, c.rx_bytes);
    (s.tx_ip_bytes, s.rx_ip_bytes) = (c.tx_ip_bytes, c.rx_ip_bytes);
    (s.rtt, s.tcp, s.icmp, s.end_reason) = (c.rtt, c.tcp, c.icmp, c.end_reason);
    s.process =
        c.process.as_ref().map(|p| Box::new(ProcessInfo { pid: p.pid, name: p.name.clone(), ..Default::default() }));
    s.app = c.app.as_ref().map(|a| match a {
        AppInfo::Tls(t) => {
            let mut slim = rustnet_core::dpi::TlsInfo::default();
            slim.sni.clone_from(&t.sni);
            AppInfo::Tls(slim)
        }
        AppInfo::Quic(q) => {
            let mut slim = rustnet_core::dpi::QuicInfo::default();
            slim.sni.clone_from(&q.sni);
            AppInfo::Quic(slim)
        }
        AppInfo::Dns(d) => AppInfo::Dns(first_question(d)),
        AppInfo::Mdns(d) => AppInfo::Mdns(first_question(d)),
        AppInfo::Llmnr(d) => AppInfo::Llmnr(first_question(d)),
        other => other.clone(),
    });
    s
}

fn first_question(d: &rustnet_core::dpi::DnsInfo) -> rustnet_core::dpi::DnsInfo {
    let mut slim = rustnet_core::dpi::DnsInfo::default();
    slim.queries = d.queries.iter().take(1).cloned().collect();
    slim
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_channel::bounded;
    use rustnet_core::track::{Endpoint, Proto, State};

    fn at(s: u64) -> Timestamp {
        Timestamp::from_secs_nanos(1_000 + s, 0)
    }

    fn grow(c: &mut Connection, ts: u64, n: u64) {
        c.last_seen = at(ts);
        c.tx_packets += n;
        c.tx_bytes += 100 * n;
        c.tx_ip_bytes += 86 * n;
        c.rx_packets += 2 * n;
        c.rx_bytes += 1_000 * n;
        c.rx_ip_bytes += 986 * n;
    }

    /// Interim records every active timeout while packets come, none while
    /// idle or once closed; their deltas and the final one add up to the
    /// connection's totals.
    #[test]
    fn interim_deltas_add_up_to_the_totals() {
        let (tx, rx) = bounded(16);
        let dropped = Arc::new(AtomicU64::new(0));
        let tap = IpfixTap { tx, active_timeout: Duration::from_secs(60), dropped: dropped.clone() };
        let mut w = WorkerIpfix::new(tap, false);
        let ep = |a: [u8; 4], p| Endpoint::new(std::net::IpAddr::from(a), p);
        let mut c =
            Connection::new(7, Proto::Tcp, ep([10, 0, 0, 1], 5000), ep([10, 0, 0, 2], 80), at(0), State::Established);
        grow(&mut c, 0, 3);
        assert!(!w.maybe_interim(&c, at(59)), "before the timeout");
        grow(&mut c, 59, 5);
        assert!(w.maybe_interim(&c, at(61)));
        assert!(!w.maybe_interim(&c, at(62)), "just reported");
        grow(&mut c, 100, 4);
        assert!(!w.maybe_interim(&c, at(120)), "60 s after the last record, not the start");
        assert!(w.maybe_interim(&c, at(121)));
        assert!(!w.maybe_interim(&c, at(190)), "no packets since");
        grow(&mut c, 200, 1);
        w.finished(&c);
        w.send();
        let recs = rx.try_recv().expect("one batch");
        let interims: Vec<bool> = recs.iter().map(|r| r.interim).collect();
        assert_eq!(interims, [true, true, false]);
        let packets: Vec<(u64, u64)> = recs.iter().map(|r| (r.fwd.packets, r.rev.packets)).collect();
        assert_eq!(packets, [(8, 16), (4, 8), (1, 2)]);
        let sum = |f: fn(&IpfixRecord) -> u64| recs.iter().map(f).sum::<u64>();
        assert_eq!(sum(|r| r.fwd.bytes), c.tx_bytes);
        assert_eq!(sum(|r| r.rev.ip_bytes), c.rx_ip_bytes);
        assert!(w.reported.is_empty(), "forgotten once finished");
        assert_eq!(dropped.load(Ordering::Relaxed), 0);
    }

    /// Live, a full queue drops the batch and counts its records.
    #[test]
    fn a_full_queue_drops_and_counts_live() {
        let (tx, _rx) = bounded(1);
        let dropped = Arc::new(AtomicU64::new(0));
        let tap = IpfixTap { tx, active_timeout: Duration::from_secs(60), dropped: dropped.clone() };
        let mut w = WorkerIpfix::new(tap, true);
        let ep = Endpoint::new(std::net::IpAddr::from([10, 0, 0, 1]), 1);
        let c = Connection::new(1, Proto::Udp, ep, ep, at(0), State::UdpActive);
        for _ in 0..3 {
            w.finished(&c);
            w.finished(&c);
            w.send();
        }
        assert_eq!(dropped.load(Ordering::Relaxed), 4);
    }
}
