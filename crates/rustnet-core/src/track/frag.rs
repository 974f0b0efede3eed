//! IP fragments: later fragments carry no ports, so they are counted on the
//! flow that the datagram's first fragment named.

use super::key::FlowKey;
use crate::time::Timestamp;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

/// A datagram: (src, dst, ip protocol, identification).
pub(crate) type DatagramId = (IpAddr, IpAddr, u8, u32);

/// Fragments seen before their first fragment, waiting for its flow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pending {
    /// Fragments held.
    pub packets: u64,
    /// Their total wire length in bytes.
    pub bytes: u64,
    /// Their total IP length in bytes.
    pub ip_bytes: u64,
    /// Packet time of the last one held.
    pub last: Timestamp,
}

/// Bounded maps from datagram to flow, and of orphans.
#[derive(Debug, Default)]
pub(crate) struct FragTable {
    known: HashMap<DatagramId, (FlowKey, Timestamp)>,
    pending: HashMap<DatagramId, Pending>,
    /// No entry expires before this (kept by insert and sweep, so the
    /// engine's `next_deadline` stays O(1)); may be early, never late.
    earliest: Option<Timestamp>,
}

/// RFC 791's suggested reassembly lifetime upper bound is 15 s; 30 s covers slow links.
const LIFETIME: Duration = Duration::from_secs(30);
const MAX_ENTRIES: usize = 65_536;

impl FragTable {
    /// The first fragment of `id` belongs to `key`; returns fragments that came early.
    pub(crate) fn first(&mut self, id: DatagramId, key: FlowKey, ts: Timestamp) -> Option<Pending> {
        if self.known.len() < MAX_ENTRIES {
            self.known.insert(id, (key, ts));
            self.note(ts);
        }
        self.pending.remove(&id)
    }

    /// The flow of a later fragment, or None (then it is held as pending).
    pub(crate) fn later(&mut self, id: DatagramId, ts: Timestamp, (bytes, ip_bytes): (u32, u32)) -> Option<FlowKey> {
        if let Some((k, seen)) = self.known.get_mut(&id) {
            *seen = ts;
            return Some(*k);
        }
        if self.pending.len() < MAX_ENTRIES || self.pending.contains_key(&id) {
            let p = self.pending.entry(id).or_default();
            p.packets += 1;
            p.bytes += u64::from(bytes);
            p.ip_bytes += u64::from(ip_bytes);
            p.last = ts;
            self.note(ts);
        }
        None
    }

    /// Drops entries idle for longer than the reassembly lifetime; returns
    /// the number of orphan fragments given up on.
    pub(crate) fn sweep(&mut self, now: Timestamp) -> u64 {
        let mut earliest: Option<Timestamp> = None;
        let mut keep = |seen: Timestamp| {
            let keep = now.since(seen) < LIFETIME;
            if keep {
                let t = seen + LIFETIME;
                earliest = Some(earliest.map_or(t, |e| e.min(t)));
            }
            keep
        };
        self.known.retain(|_, (_, seen)| keep(*seen));
        let mut orphans = 0;
        self.pending.retain(|_, p| {
            let kept = keep(p.last);
            if !kept {
                orphans += p.packets;
            }
            kept
        });
        self.earliest = earliest;
        orphans
    }

    /// When the next entry expires (None when empty).
    pub(crate) fn next_expiry(&self) -> Option<Timestamp> {
        self.earliest
    }

    fn note(&mut self, seen: Timestamp) {
        let t = seen + LIFETIME;
        self.earliest = Some(self.earliest.map_or(t, |e| e.min(t)));
    }

    /// Fragments still waiting for a first fragment (end of input).
    pub(crate) fn pending_packets(&self) -> u64 {
        self.pending.values().map(|p| p.packets).sum()
    }
}
