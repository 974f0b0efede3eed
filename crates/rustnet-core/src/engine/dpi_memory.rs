//! DPI's reassembly memory, seen from the engine: which connections hold
//! buffered bytes, stalest first, so that the engine can give up their
//! inspection when they idle past `Config::reassembly_idle` or when the
//! engine's budget (`Config::reassembly_budget`) is over its limit.
//!
//! "Stalest" is the connection whose last payload packet is oldest (ties:
//! the older connection). Giving up drops the connection's DPI state, which
//! releases its reservation; what DPI already learned stays on the record.
//!
//! Idle release gives the same result whatever else the engine holds (so
//! whatever the worker count): the queue releases a connection at the first
//! sweep at least `reassembly_idle` after its last payload, and a packet of a
//! connection idle that long gives it up first (`update_state`), whichever
//! comes first. Eviction when the budget is over does depend on the other
//! connections; it only happens when they buffer the whole budget.

use super::Engine;
use super::table::{Entry, Queued};
use crate::time::Timestamp;
use crate::track::FlowKey;
use std::cmp::Reverse;

/// Slack of stale places kept before the queue is rebuilt.
const COMPACT_SLACK: usize = 1024;

impl Engine {
    /// After DPI read a packet of `key` and asked for it
    /// (`DpiState::needs_engine`): queues the connection if it now holds
    /// bytes, then gives up the stalest while the budget is over.
    #[cold]
    #[inline(never)]
    pub(super) fn dpi_memory(&mut self, key: FlowKey) {
        if let Some(e) = self.inspected(key, None)
            && let Some(d) = e.dpi.as_mut()
            && d.held() > 0
            && !d.queued
        {
            d.queued = true;
            let q = Queued { at: d.touched().as_nanos(), id: e.conn.id, key };
            self.dpi_holders.push(Reverse(q));
            self.compact_dpi_holders();
        }
        while self.dpi_budget.over() && self.release_stalest(None).is_some() {}
    }

    /// Gives up the inspection of every connection that held bytes without a
    /// payload packet for `reassembly_idle` (once per sweep).
    pub(super) fn release_idle_dpi(&mut self) {
        while self.release_stalest(Some(self.now)).is_some() {}
    }

    /// When the stalest connection holding bytes idles out, if any (`next_deadline`).
    pub(super) fn next_dpi_deadline(&self) -> Option<Timestamp> {
        self.dpi_holders.peek().map(|Reverse(q)| Timestamp::from_nanos(q.at) + self.cfg.reassembly_idle)
    }

    /// Takes the front of the queue: the stalest connection, if it is idle
    /// as of `idle_at` (None: whatever its age). Returns whether it was given
    /// up, or None when there was nothing (more) to take. A place whose
    /// connection is gone or holds nothing is dropped; one whose connection
    /// got payload since is queued again at that time.
    fn release_stalest(&mut self, idle_at: Option<Timestamp>) -> Option<bool> {
        let Reverse(q) = *self.dpi_holders.peek()?;
        if let Some(now) = idle_at
            && now.since(Timestamp::from_nanos(q.at)) < self.cfg.reassembly_idle
        {
            return None;
        }
        self.dpi_holders.pop();
        let Some(e) = self.inspected(q.key, Some(q.id)) else {
            return Some(false);
        };
        let Some(d) = e.dpi.as_mut() else { return Some(false) };
        if d.held() == 0 {
            d.queued = false;
            return Some(false);
        }
        let touched = d.touched().as_nanos();
        if touched != q.at {
            self.dpi_holders.push(Reverse(Queued { at: touched, ..q }));
            return Some(false);
        }
        e.dpi = None;
        Some(true)
    }

    /// The connection on `key`, if it is connection `id` (when given).
    fn inspected(&mut self, key: FlowKey, id: Option<u64>) -> Option<&mut Entry> {
        let e = self.table.map.get_mut(&key)?;
        id.is_none_or(|id| e.conn.id == id).then_some(&mut **e)
    }

    /// Rebuilds the queue from the table when most of its places belong to
    /// connections gone: O(table), at most once per table's worth of
    /// connections queued, so O(1) amortised.
    fn compact_dpi_holders(&mut self) {
        if self.dpi_holders.len() <= 2 * self.table.map.len() + COMPACT_SLACK {
            return;
        }
        let places: Vec<Reverse<Queued>> = self
            .table
            .map
            .iter()
            .filter_map(|(k, e)| {
                let d = e.dpi.as_ref().filter(|d| d.queued)?;
                Some(Reverse(Queued { at: d.touched().as_nanos(), id: e.conn.id, key: *k }))
            })
            .collect();
        self.dpi_holders = places.into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Config;
    use crate::wire::LinkType;
    use etherparse::PacketBuilder;
    use std::time::Duration;

    const T0: Timestamp = Timestamp::from_nanos(1_700_000_000_000_000_000);
    const ISN: u32 = 1000;
    /// Starts a TLS record of 100 bytes and its ClientHello: a stream that
    /// waits for 96 more bytes.
    const PARTIAL_HELLO: &[u8] = &[0x16, 3, 1, 0, 100, 1, 0, 0, 96];

    fn ms(n: u64) -> Timestamp {
        T0 + Duration::from_millis(n)
    }

    #[derive(Clone, Copy)]
    enum F {
        Syn,
        Data,
        Fin,
        Rst,
    }

    /// Client port `port` -> 10.0.0.2:443, sequence number `seq`.
    fn send(e: &mut Engine, at: Timestamp, port: u16, seq: u32, f: F, payload: &[u8]) {
        let b =
            PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).tcp(port, 443, seq, 64240);
        let b = match f {
            F::Syn => b.syn(),
            F::Data => b.ack(1).psh(),
            F::Fin => b.ack(1).fin(),
            F::Rst => b.ack(1).rst(),
        };
        let mut v = Vec::new();
        // Writing into a Vec cannot fail.
        b.write(&mut v, payload).expect("vec write");
        e.process(LinkType::Ethernet, at, &v, v.len() as u32);
    }

    /// A flow from `port` that leaves `n` bytes out of order (byte ISN+1 never comes).
    fn hole(e: &mut Engine, at: Timestamp, port: u16, n: usize) {
        send(e, at, port, ISN, F::Syn, b"");
        send(e, at, port, ISN + 2, F::Data, &vec![b'x'; n]);
    }

    fn engine(budget: usize) -> Engine {
        Engine::new(Config { reassembly_budget: budget, ..Config::default() })
    }

    /// DPI state of the flow from `port`, if its inspection goes on.
    fn dpi(e: &Engine, port: u16) -> Option<&crate::dpi::DpiState> {
        e.table.map.values().find(|x| x.conn.local.port == port)?.dpi.as_deref()
    }

    /// Bytes the reassemblers and inspectors of the engine buffer, counted from them.
    fn buffered(e: &Engine) -> usize {
        e.table.map.values().filter_map(|x| x.dpi.as_ref()).map(|d| d.buffered()).sum()
    }

    #[test]
    fn reserved_bytes_are_the_bytes_buffered() {
        let mut e = engine(1 << 20);
        for (i, n) in [1, 7, 300].into_iter().enumerate() {
            hole(&mut e, ms(i as u64), 40_000 + i as u16, n);
        }
        // In order, classified as TLS, waiting for the rest of the record.
        send(&mut e, ms(5), 41_000, ISN, F::Syn, b"");
        send(&mut e, ms(5), 41_000, ISN + 1, F::Data, PARTIAL_HELLO);
        assert_eq!(buffered(&e), 1 + 7 + 300 + PARTIAL_HELLO.len());
        assert_eq!(e.dpi_budget.used(), buffered(&e));
        // The rest of the hello: read, consumed, nothing held.
        let mut body = vec![3, 3];
        body.resize(96, 0);
        send(&mut e, ms(6), 41_000, ISN + 1 + PARTIAL_HELLO.len() as u32, F::Data, &body);
        assert_eq!(dpi(&e, 41_000).map(|d| d.held()), Some(0), "the client side is read, the server's awaited");
        assert_eq!(e.dpi_budget.used(), 308);
        assert_eq!(e.dpi_budget.used(), buffered(&e));
        e.finish_all();
        assert_eq!(e.dpi_budget.used(), 0, "connections leaving release what they held");
    }

    #[test]
    fn rst_and_fin_release_what_is_held() {
        let mut e = engine(1 << 20);
        hole(&mut e, ms(0), 40_000, 10);
        send(&mut e, ms(1), 40_000, ISN + 12, F::Rst, b"");
        assert!(dpi(&e, 40_000).is_none(), "RST: the connection is gone");
        assert_eq!(e.dpi_budget.used(), 0);
        // A FIN right after what arrived: the stream cannot complete.
        send(&mut e, ms(2), 40_001, ISN, F::Syn, b"");
        send(&mut e, ms(2), 40_001, ISN + 1, F::Data, PARTIAL_HELLO);
        assert_eq!(e.dpi_budget.used(), PARTIAL_HELLO.len());
        send(&mut e, ms(3), 40_001, ISN + 1 + PARTIAL_HELLO.len() as u32, F::Fin, b"");
        assert_eq!(e.dpi_budget.used(), 0);
        assert_eq!(dpi(&e, 40_001).map(|d| d.held()), Some(0), "the server side may still tell");
        // A FIN after a hole: the missing byte may still be retransmitted.
        hole(&mut e, ms(4), 40_002, 5);
        send(&mut e, ms(5), 40_002, ISN + 7, F::Fin, b"");
        assert_eq!(e.dpi_budget.used(), 5);
        assert_eq!(e.dpi_budget.used(), buffered(&e));
    }

    #[test]
    fn bytes_held_past_the_idle_deadline_are_released() {
        let idle = crate::dpi::DEFAULT_REASSEMBLY_IDLE;
        let mut e = engine(1 << 20);
        hole(&mut e, T0, 40_000, 3);
        hole(&mut e, T0 + Duration::from_millis(500), 40_001, 4);
        assert_eq!(e.next_deadline(), Some(T0 + idle), "the engine asks to come back then");
        e.advance(T0 + idle - Duration::from_secs(1));
        assert_eq!(e.dpi_budget.used(), 7, "a sweep before the deadline releases nothing");
        assert_eq!(e.next_deadline(), Some(T0 + idle));
        // The sweep at the deadline releases the first; the second is 0.5 s younger.
        e.advance(T0 + idle);
        assert!(dpi(&e, 40_000).is_none());
        assert_eq!(e.dpi_budget.used(), 4);
        // No sweep is due before T0+idle+1s, but a packet of the second flow
        // after its deadline finds it stalled all the same: the result does
        // not depend on when the sweep runs (on what else the engine holds).
        send(&mut e, T0 + idle + Duration::from_millis(600), 40_001, ISN + 1, F::Data, b"y");
        assert!(dpi(&e, 40_001).is_none());
        assert_eq!(e.dpi_budget.used(), 0);
        assert_eq!(e.len(), 2, "the connections stay; only their inspection ends");
    }

    #[test]
    fn a_full_budget_evicts_the_stalest_not_the_newest() {
        let mut e = engine(10);
        hole(&mut e, ms(1), 40_001, 4);
        hole(&mut e, ms(2), 40_002, 4);
        hole(&mut e, ms(3), 40_003, 4);
        // 12 > 10: the flow whose last payload is oldest goes.
        assert!(dpi(&e, 40_001).is_none());
        assert!(dpi(&e, 40_002).is_some() && dpi(&e, 40_003).is_some());
        assert_eq!(e.dpi_budget.used(), 8);
        // 40_002 sends again (a duplicate): now 40_003 is the stalest.
        send(&mut e, ms(4), 40_002, ISN + 2, F::Data, b"xxxx");
        hole(&mut e, ms(5), 40_004, 4);
        assert!(dpi(&e, 40_003).is_none());
        assert!(dpi(&e, 40_002).is_some() && dpi(&e, 40_004).is_some());
        assert_eq!(e.dpi_budget.used(), 8);
        assert_eq!(e.dpi_budget.used(), buffered(&e));
        // One flow alone over the budget gives itself up.
        hole(&mut e, ms(6), 40_005, 11);
        assert!(dpi(&e, 40_005).is_none());
        assert_eq!(e.dpi_budget.used(), 0);
    }

    #[test]
    fn the_queue_stays_near_the_table_size() {
        // Flows that hold a byte each and are evicted from a small table
        // leave places behind; the queue is rebuilt, not left to grow.
        let mut e = Engine::new(Config { max_connections: 100, ..Config::default() });
        for i in 0..5_000u16 {
            hole(&mut e, ms(u64::from(i)), 10_000 + i, 1);
        }
        assert!(e.dpi_holders.len() <= 2 * 100 + COMPACT_SLACK + 1, "{} places", e.dpi_holders.len());
        assert_eq!(e.dpi_budget.used(), buffered(&e));
    }
}
