//! Closed TCP connections after they leave the table (`Config::closed_linger`):
//! their record is held back for a while, so that a late packet of the same
//! connection (a RST after the FINs, a retransmitted FIN) is counted on it, as
//! tshark keeps such packets on the same stream until a new SYN opens another
//! one, instead of starting a one-packet connection. A late packet brings the
//! connection back into the table (CLOSED); a SYN ends it there and opens the
//! new connection. Bounded by [`MAX_LINGERING`]; beyond it, or with a zero
//! linger, records are written when the connection leaves the table.

use super::Engine;
use super::table::Entry;
use crate::time::Timestamp;
use crate::track::{EndReason, FlowKey, Proto};
use rustc_hash::FxHashMap;

/// Closed connections held back at once, per engine.
pub(super) const MAX_LINGERING: usize = 65_536;

/// Connections held back, with when their record is due.
#[derive(Debug, Default)]
pub(super) struct Lingering {
    map: FxHashMap<FlowKey, (Box<Entry>, Timestamp)>,
    /// No record is due before this (may be early, never late).
    earliest: Option<Timestamp>,
}

impl Lingering {
    /// When the next record is due (None when nothing is held).
    pub(super) fn next_due(&self) -> Option<Timestamp> {
        self.earliest
    }

    pub(super) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The connections held back.
    pub(super) fn connections_mut(&mut self) -> impl Iterator<Item = &mut crate::track::Connection> {
        self.map.values_mut().map(|(e, _)| &mut e.conn)
    }

    /// Takes the connection held back on `key`, if any, with when its
    /// record is due (a packet at or after that time no longer revives it,
    /// whenever the last sweep ran).
    pub(super) fn take(&mut self, key: &FlowKey) -> Option<(Box<Entry>, Timestamp)> {
        if self.map.is_empty() {
            return None;
        }
        self.map.remove(key)
    }
}

impl Engine {
    /// A connection leaving the table: a closed TCP one is held back when
    /// lingering is on and there is room; the others are finished.
    pub(super) fn retire(&mut self, key: FlowKey, mut e: Box<Entry>, now: Timestamp) {
        let linger = self.cfg.closed_linger;
        let keep = !linger.is_zero()
            && e.conn.proto == Proto::Tcp
            && e.conn.is_closed()
            && self.lingering.map.len() < MAX_LINGERING;
        if keep {
            // What DPI holds is of no use any more; it returns its budget.
            e.dpi = None;
            // From when it left the table by its timeout, not from when a
            // sweep found it: an engine that sees no packets for a while
            // sweeps late, and the output must not depend on that (nor on
            // how flows are spread over workers).
            let expired = e.conn.last_seen + self.cfg.timeouts.idle_limit(e.conn.state);
            let due = now.min(expired) + linger;
            self.lingering.earliest = Some(self.lingering.earliest.map_or(due, |t| t.min(due)));
            self.lingering.map.insert(key, (e, due));
        } else {
            let mut c = e.conn;
            c.end_reason = Some(if c.is_closed() { EndReason::Closed } else { EndReason::Idle });
            self.finished.push(c);
        }
    }

    /// Writes the records that are due (all of them with `all`).
    pub(super) fn release_lingering(&mut self, now: Timestamp, all: bool) {
        if self.lingering.earliest.is_none_or(|t| now < t && !all) {
            return;
        }
        let mut earliest: Option<Timestamp> = None;
        let due = self.lingering.map.extract_if(|_, (_, due)| {
            let out = all || *due <= now;
            if !out {
                earliest = Some(earliest.map_or(*due, |t| t.min(*due)));
            }
            out
        });
        let (clock, t) = (self.now, &self.cfg.timeouts);
        self.finished.extend(due.map(|(_, (e, _))| {
            let mut c = e.conn;
            c.state = t.aged(c.state, clock.since(c.last_seen));
            c.end_reason = Some(EndReason::Closed);
            c
        }));
        self.lingering.earliest = earliest;
    }
}
