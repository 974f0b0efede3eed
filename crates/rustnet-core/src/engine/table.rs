//! The connection table: flows by key, with a size cap. It lives in the
//! engine, not in `track`, because an entry holds DPI state: tracking stays
//! free of the inspectors.

use crate::dpi::DpiState;
use crate::time::Timestamp;
use crate::track::analysis::{Segment, TcpAnalyzer};
use crate::track::rtt::RttTracker;
use crate::track::{Connection, EndReason, FlowKey, State, TcpTracker};
use rustc_hash::FxHashMap;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// A connection plus the tracking state that is not part of its public record.
#[derive(Debug)]
pub(crate) struct Entry {
    pub conn: Connection,
    pub tcp: TcpTracker,
    /// None once DPI is finished or disabled.
    pub dpi: Option<Box<DpiState>>,
    /// The application protocol's own state, once DPI reports one.
    pub app_state: Option<State>,
    /// Connection analytics that are not part of the public record.
    pub analysis: Analysis,
}

impl Entry {
    /// A TCP segment with a parsed header through the analysis; the first
    /// handshake RTT becomes the record's `rtt`. Shared by the packet path
    /// and reassembled fragments (which are analysed when complete).
    pub(super) fn analyse_tcp(&mut self, seg: &Segment) {
        if let (Analysis::Tcp(a), Some(stats)) = (&mut self.analysis, &mut self.conn.tcp) {
            a.on_segment(seg, stats);
            if self.conn.rtt.is_none() {
                self.conn.rtt = a.initial_rtt();
            }
        }
    }

    /// A UDP datagram through the request/response timing (DNS, QUIC).
    pub(super) fn analyse_udp(&mut self, from_local: bool, ports: (u16, u16), payload: &[u8], ts: Timestamp) {
        if let Analysis::Rtt(r) = &mut self.analysis
            && let Some(rtt) = r.on_udp(from_local, ports, payload, ts)
        {
            self.conn.rtt = Some(rtt);
        }
    }
}

/// Per-protocol analytics state (one of them per connection).
#[derive(Debug)]
pub(crate) enum Analysis {
    /// TCP: sequence analysis and handshake RTT.
    Tcp(TcpAnalyzer),
    /// UDP and ICMP: request/response times.
    Rtt(RttTracker),
}

/// A place in an eviction order (this table's, DPI's in `dpi_memory`): a
/// connection as it was when queued.
#[derive(Debug, Clone, Copy)]
pub(super) struct Queued {
    /// Its time (nanoseconds) when queued, `last_seen` here; never later than the connection's.
    pub at: u64,
    /// Tells a connection from a later one on the same key.
    pub id: u64,
    pub key: FlowKey,
}

impl Queued {
    fn rank(&self) -> (u64, u64) {
        (self.at, self.id)
    }
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.rank() == other.rank()
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank().cmp(&other.rank())
    }
}

/// Slack of stale places kept before the eviction order is rebuilt.
const COMPACT_SLACK: usize = 1024;
/// Capacity (connections) below which the table never shrinks: small
/// tables are not worth giving back.
const SHRINK_FLOOR: usize = 4096;

/// Connections by flow key.
#[derive(Debug)]
pub(crate) struct Table {
    /// Boxed entries keep buckets small, so growth and tombstone rehashes stay cheap in memory.
    pub map: FxHashMap<FlowKey, Box<Entry>>,
    pub cap: usize,
    /// Eviction order, least recently seen first. Each connection is queued
    /// once when created, so packets of known flows cost nothing here; one
    /// seen since it was queued is queued again, at its newer time, when it
    /// reaches the front. Places of connections gone are skipped there, and
    /// dropped in bulk when they outnumber the table (`compact`).
    idle: BinaryHeap<Reverse<Queued>>,
}

impl Table {
    pub(super) fn new(cap: usize) -> Self {
        Table { map: FxHashMap::default(), cap: cap.max(1), idle: BinaryHeap::new() }
    }

    /// Adds a connection (its key must be free) and returns it.
    pub(super) fn insert(&mut self, key: FlowKey, entry: Box<Entry>) -> &mut Entry {
        self.compact();
        self.idle.push(Reverse(Queued { at: entry.conn.last_seen.as_nanos(), id: entry.conn.id, key }));
        self.map.entry(key).insert_entry(entry).into_mut()
    }

    /// Empties the table, returning its entries.
    pub(super) fn take_all(&mut self) -> FxHashMap<FlowKey, Box<Entry>> {
        self.idle = BinaryHeap::new();
        std::mem::take(&mut self.map)
    }

    /// Places in the eviction order, stale ones included.
    #[cfg(test)]
    pub(super) fn queued(&self) -> usize {
        self.idle.len()
    }

    /// Rebuilds the eviction order from the table when most of its places
    /// belong to connections gone (expired, closed): O(table), at most once
    /// per table's worth of inserts or removals, so O(1) amortised.
    pub(super) fn compact(&mut self) {
        if self.idle.len() <= 2 * self.map.len() + COMPACT_SLACK {
            return;
        }
        let places: Vec<Reverse<Queued>> = self
            .map
            .iter()
            .map(|(k, e)| Reverse(Queued { at: e.conn.last_seen.as_nanos(), id: e.conn.id, key: *k }))
            .collect();
        self.idle = BinaryHeap::from(places);
    }

    /// Gives memory back once the table is at most a quarter full (a flood
    /// has expired): capacity down to twice what is left. O(table), and only
    /// when it at least halves the capacity, so O(1) amortised. True when it
    /// shrank.
    pub(super) fn shrink(&mut self) -> bool {
        let cap = self.map.capacity();
        if cap <= SHRINK_FLOOR || self.map.len() * 4 > cap {
            return false;
        }
        self.map.shrink_to(self.map.len() * 2);
        self.compact();
        self.idle.shrink_to(self.map.len().max(COMPACT_SLACK) * 2);
        true
    }

    /// Evicts the longest-idle connections (least `last_seen`; ties: the
    /// oldest connection first) until one more fits under the cap. Returns
    /// how many were evicted. Each step is O(log n), and a connection is
    /// queued again at most once per packet it received: no scan, no copy.
    pub(super) fn make_room(&mut self, out: &mut Vec<Connection>) -> u64 {
        let mut n = 0;
        while self.map.len() >= self.cap {
            // Every connection has a place, so the queue is not empty here.
            let Some(Reverse(q)) = self.idle.pop() else { break };
            let Some(e) = self.map.get(&q.key) else { continue };
            if e.conn.id != q.id {
                continue;
            }
            let last = e.conn.last_seen.as_nanos();
            if last != q.at {
                self.idle.push(Reverse(Queued { at: last, ..q }));
                continue;
            }
            if let Some(mut e) = self.map.remove(&q.key) {
                e.conn.end_reason = Some(EndReason::Evicted);
                out.push(e.conn);
                n += 1;
            }
        }
        n
    }
}
