//! The connection table: flows by key, with a size cap. It lives in the
//! engine, not in `track`, because an entry holds DPI state: tracking stays
//! free of the inspectors.

use crate::dpi::DpiState;
use crate::track::{Connection, FlowKey, State, TcpTracker};
use rustc_hash::FxHashMap;

/// A connection plus the tracking state that is not part of its public record.
#[derive(Debug)]
pub(crate) struct Entry {
    pub conn: Connection,
    pub tcp: TcpTracker,
    /// None once DPI is finished or disabled.
    pub dpi: Option<Box<DpiState>>,
    /// The application protocol's own state, once DPI reports one.
    pub app_state: Option<State>,
}

/// Connections by flow key.
#[derive(Debug)]
pub(crate) struct Table {
    /// Boxed entries keep buckets small, so growth and tombstone rehashes stay cheap in memory.
    pub map: FxHashMap<FlowKey, Box<Entry>>,
    pub cap: usize,
}

impl Table {
    pub(super) fn new(cap: usize) -> Self {
        Table { map: FxHashMap::default(), cap: cap.max(1) }
    }

    /// Removes the longest-idle entries when the table is full, so that one
    /// more fits. Evicts a batch at a time to keep the cost per insert low.
    pub(super) fn make_room(&mut self, out: &mut Vec<Connection>) -> u64 {
        if self.map.len() < self.cap {
            return 0;
        }
        let batch = (self.cap / 64).max(1);
        let mut ages: Vec<(u64, FlowKey)> = self.map.iter().map(|(k, e)| (e.conn.last_seen.as_nanos(), *k)).collect();
        let n = batch.min(ages.len());
        if n < ages.len() {
            ages.select_nth_unstable_by_key(n, |a| a.0);
        }
        for (_, k) in ages.iter().take(n) {
            if let Some(e) = self.map.remove(k) {
                out.push(e.conn);
            }
        }
        n as u64
    }
}
