//! Connections that have left the pipeline's tables (closed, idle, evicted),
//! kept by the UI so they stay browsable: `t` shows them in the overview,
//! and after a `--read` replay every connection of the file is listed.
//! Bounded: beyond [`HISTORY_CAP`] the oldest are dropped (and counted).

use rustc_hash::FxHashSet;
use rustnet_core::track::Connection;

/// Most ended connections kept.
pub const HISTORY_CAP: usize = 10_000;

#[derive(Default)]
pub struct History {
    /// Oldest first.
    conns: Vec<Connection>,
    ids: FxHashSet<u64>,
    /// Arrived since the last `commit`: not yet indexed by the view's rows.
    pending: Vec<Connection>,
    /// Dropped to stay within the cap.
    pub dropped: u64,
    cap: usize,
}

impl History {
    pub fn new() -> Self {
        Self::with_cap(HISTORY_CAP)
    }

    pub fn with_cap(cap: usize) -> Self {
        History { cap, ..Default::default() }
    }

    /// Queues ended connections; they join the list at the next `commit`
    /// (the view's row indices stay valid until it is rebuilt).
    pub fn add(&mut self, conns: impl IntoIterator<Item = Connection>) {
        self.pending.extend(conns);
        if self.pending.len() > self.cap {
            let extra = self.pending.len() - self.cap;
            self.pending.drain(..extra);
            self.dropped += extra as u64;
        }
    }

    /// Moves what arrived into the list, dropping the oldest beyond the cap.
    /// A connection already listed (same id) is replaced by its later copy.
    pub fn commit(&mut self) {
        for c in self.pending.drain(..) {
            if self.ids.insert(c.id) {
                self.conns.push(c);
            } else if let Some(old) = self.conns.iter_mut().find(|o| o.id == c.id) {
                *old = c;
            }
        }
        if self.conns.len() > self.cap {
            let extra = self.conns.len() - self.cap;
            for c in self.conns.drain(..extra) {
                self.ids.remove(&c.id);
            }
            self.dropped += extra as u64;
        }
    }

    pub fn as_slice(&self) -> &[Connection] {
        &self.conns
    }

    pub fn len(&self) -> usize {
        self.conns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    pub fn contains(&self, id: u64) -> bool {
        self.ids.contains(&id)
    }

    pub fn get(&self, id: u64) -> Option<&Connection> {
        if !self.contains(id) {
            return None;
        }
        self.conns.iter().rev().find(|c| c.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::fixture::ranked;

    fn conns(ids: std::ops::Range<u64>) -> Vec<Connection> {
        let mut v = ranked(ids.clone().count(), |_| 0, |_| 0).connections;
        for (c, id) in v.iter_mut().zip(ids) {
            c.id = id;
        }
        v
    }

    #[test]
    fn bounded_oldest_dropped_and_counted() {
        let mut h = History::with_cap(5);
        h.add(conns(0..3));
        assert!(h.is_empty(), "nothing listed before the commit");
        h.commit();
        assert_eq!(h.len(), 3);
        h.add(conns(3..7));
        h.commit();
        let ids: Vec<u64> = h.as_slice().iter().map(|c| c.id).collect();
        assert_eq!(ids, [2, 3, 4, 5, 6]);
        assert_eq!(h.dropped, 2);
        assert!(!h.contains(1) && h.contains(2));
        // More pending than the cap: only the newest are kept.
        h.add(conns(10..22));
        h.commit();
        let ids: Vec<u64> = h.as_slice().iter().map(|c| c.id).collect();
        assert_eq!(ids, [17, 18, 19, 20, 21]);
        assert_eq!(h.dropped, 2 + 7 + 5);
    }

    #[test]
    fn a_later_copy_replaces_the_earlier() {
        let mut h = History::with_cap(5);
        h.add(conns(0..2));
        let mut again = conns(1..2);
        again[0].rx_bytes = 77;
        h.add(again);
        h.commit();
        assert_eq!(h.len(), 2);
        assert_eq!(h.get(1).map(|c| c.rx_bytes), Some(77));
    }

    #[test]
    fn the_overview_lists_ended_connections_once_and_t_hides_them() {
        use crate::ui::app::{App, RowKind};
        use rustnet_core::track::EndReason;
        let mut a = App::new(std::time::Duration::from_secs(1), false);
        a.show_history = true;
        a.set_snapshot(ranked(3, |_| 0, |_| 0));
        // 101 expired: it is in the history and (a snapshot late) still in the table.
        let mut gone = conns(101..102);
        gone[0].end_reason = Some(EndReason::Idle);
        let mut more = conns(200..202);
        more.iter_mut().for_each(|c| c.end_reason = Some(EndReason::Closed));
        a.add_ended(gone.into_iter().chain(more).collect());
        a.rebuild();
        let mut ids: Vec<u64> = a.rows.iter().filter_map(|&i| a.conn(i)).map(|c| c.id).collect();
        ids.sort_unstable();
        assert_eq!(ids, [100, 101, 102, 200, 201]);
        let kind = |a: &App, id| a.rows.iter().filter_map(|&i| a.conn(i)).find(|c| c.id == id).map(|c| a.row_kind(c));
        assert_eq!(kind(&a, 101), Some(RowKind::Closed), "the ended copy is shown");
        a.toggle_history();
        assert_eq!(a.rows.len(), 3);
        assert_ne!(kind(&a, 101), Some(RowKind::Closed));
    }
}
