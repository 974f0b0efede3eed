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
/// packet time: the interim records are at most this late.
const SCAN_EVERY: Duration = Duration::from_secs(1);

/// One worker's export state.
#[derive(Debug)]
pub struct WorkerIpfix {
    tap: IpfixTap,
    live: bool,
    /// Connections that had an interim record: when, and the counters
    /// then (tx packets, tx bytes, rx packets, rx bytes). Bounded by the
    /// table: removed when the connection ends.
    reported: HashMap<u64, (Timestamp, [u64; 4])>,
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
    /// since then. Call for each connection when [`Self::scan_due`].
    pub fn maybe_interim(&mut self, c: &Connection, now: Timestamp) -> bool {
        let prev = self.reported.get(&c.id).copied();
        let since = prev.map_or(c.first_seen, |p| p.0);
        if now.since(since) < self.tap.active_timeout || c.last_seen <= since && prev.is_some() {
            return false;
        }
        self.out.push(record(c, prev.map(|p| p.1), true));
        self.reported.insert(c.id, (now, counters(c)));
        true
    }

    /// Ends a scan at `now`.
    pub fn scanned(&mut self, now: Timestamp) {
        self.next_scan = now + SCAN_EVERY;
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

fn counters(c: &Connection) -> [u64; 4] {
    [c.tx_packets, c.tx_bytes, c.rx_packets, c.rx_bytes]
}

/// The record with the counters added since `before` (the whole
/// connection's when it had no record yet).
fn record(c: &Connection, before: Option<[u64; 4]>, interim: bool) -> IpfixRecord {
    let [tp, tb, rp, rb] = before.unwrap_or_default();
    IpfixRecord {
        conn: c.clone(),
        fwd: Delta { packets: c.tx_packets.saturating_sub(tp), bytes: c.tx_bytes.saturating_sub(tb) },
        rev: Delta { packets: c.rx_packets.saturating_sub(rp), bytes: c.rx_bytes.saturating_sub(rb) },
        interim,
    }
}
