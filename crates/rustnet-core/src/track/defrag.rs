//! IP datagram reassembly, for DPI only: the counters never wait for it
//! (every fragment counts on its datagram's flow when it arrives, `frag.rs`).
//! A datagram whose fragments all came is handed back whole once, so that
//! an HTTP request whose Host header is in a later fragment, or a DNS
//! message spread over fragments, is read like an unfragmented one.
//!
//! Bounded everywhere: a datagram is at most 65 535 bytes, 256 fragments
//! holding at most twice that (duplicates count), and 64 runs of bytes held
//! apart by holes; an engine holds at most
//! [`MAX_DATAGRAMS`] datagrams and [`MAX_BYTES`] bytes; a datagram not
//! complete [`LIFETIME`] (packet time) after its first fragment is dropped.
//! When full, new datagrams are refused (as Linux does above its high
//! threshold), never the ones under way.
//!
//! Overlaps: as tshark assembles them. The fragments are kept as they came
//! and laid out in offset order (ties: the first to arrive), each adding
//! only the bytes past those already laid (Wireshark's reassemble.c): the
//! lower offset wins, and a duplicate or retransmitted fragment adds
//! nothing (checked with tshark 4.0.17 on crafted conflicting overlaps,
//! in and out of order; it also flags them "Conflicting data in fragment
//! overlap"). A fragment that contradicts the datagram's length (ends past
//! a last fragment's end, or a second last fragment with another end) drops
//! the datagram, as Linux does for a corrupt queue.
//!
//! Hand-written: etherparse's `IpDefragPool` has no byte budget or datagram
//! cap, and a later fragment overwrites earlier bytes (last wins).

use super::frag::DatagramId;
use crate::time::Timestamp;
use std::collections::HashMap;
use std::time::Duration;

/// Reassembly lifetime in packet time, as the fragment table's (`frag.rs`).
pub(crate) const LIFETIME: Duration = Duration::from_secs(30);
/// Datagrams being reassembled at once, per engine.
pub(crate) const MAX_DATAGRAMS: usize = 1024;
/// Bytes held for reassembly, per engine.
pub(crate) const MAX_BYTES: usize = 4 << 20;
/// Largest datagram payload (IPv4's total length field; IPv6 without jumbograms).
const MAX_DATAGRAM: usize = 65_535;
/// Separate runs of received bytes per datagram; more means a hostile pattern.
const MAX_PIECES: usize = 64;
/// Fragments kept per datagram (a 64 KiB datagram over a 576-byte link takes 120).
const MAX_FRAGMENTS: usize = 256;

/// One datagram under way.
#[derive(Debug)]
struct Partial {
    /// The fragments' bytes, in arrival order (duplicates too).
    arena: Vec<u8>,
    /// Each fragment as (offset in the datagram, start in `arena`, length), in arrival order.
    frags: Vec<(usize, usize, usize)>,
    /// Received byte ranges [start, end), sorted, merged, disjoint.
    have: Vec<(usize, usize)>,
    /// The highest end seen.
    high: usize,
    /// The datagram's length, once its last fragment came.
    total: Option<usize>,
    /// Time of its first fragment to arrive.
    since: Timestamp,
}

/// What a fragment did to its datagram.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Added {
    /// Held, the datagram still has holes (or was refused or dropped).
    Pending,
    /// The datagram is complete: its payload (transport header first).
    Complete(Vec<u8>),
}

/// Datagrams being reassembled.
#[derive(Debug, Default)]
pub(crate) struct Defrag {
    map: HashMap<DatagramId, Partial>,
    bytes: usize,
    /// No datagram expires before this (may be early, never late).
    earliest: Option<Timestamp>,
}

impl Defrag {
    /// Adds the fragment at byte `offset` of datagram `id`; `more` is its
    /// more-fragments flag.
    pub(crate) fn add(&mut self, id: DatagramId, offset: u32, more: bool, data: &[u8], ts: Timestamp) -> Added {
        let start = offset as usize;
        let end = start.saturating_add(data.len());
        if end > MAX_DATAGRAM || (more && data.is_empty()) {
            self.drop_datagram(&id);
            return Added::Pending;
        }
        if !self.map.contains_key(&id) {
            if self.map.len() >= MAX_DATAGRAMS {
                return Added::Pending;
            }
            let since = ts;
            let p = Partial { arena: Vec::new(), frags: Vec::new(), have: Vec::new(), high: 0, total: None, since };
            self.map.insert(id, p);
            self.earliest = Some(self.earliest.map_or(since + LIFETIME, |e| e.min(since + LIFETIME)));
        }
        let room = MAX_BYTES.saturating_sub(self.bytes);
        let Some(p) = self.map.get_mut(&id) else { return Added::Pending };
        let before = p.arena.len();
        let kept = p.fill(start, end, more, data, room);
        self.bytes += p.arena.len() - before;
        if !kept {
            self.drop_datagram(&id);
            return Added::Pending;
        }
        if !p.complete() {
            return Added::Pending;
        }
        let Some(p) = self.map.remove(&id) else { return Added::Pending };
        self.bytes -= p.arena.len();
        p.assemble().map_or(Added::Pending, Added::Complete)
    }

    /// Drops datagrams older than the lifetime.
    pub(crate) fn sweep(&mut self, now: Timestamp) {
        if self.earliest.is_none_or(|e| now < e) {
            return;
        }
        let mut earliest: Option<Timestamp> = None;
        let mut freed = 0;
        self.map.retain(|_, p| {
            let keep = now.since(p.since) < LIFETIME;
            if keep {
                let t = p.since + LIFETIME;
                earliest = Some(earliest.map_or(t, |e| e.min(t)));
            } else {
                freed += p.arena.len();
            }
            keep
        });
        self.bytes -= freed;
        self.earliest = earliest;
    }

    /// When the next datagram expires (None when none is held).
    pub(crate) fn next_expiry(&self) -> Option<Timestamp> {
        self.earliest
    }

    fn drop_datagram(&mut self, id: &DatagramId) {
        if let Some(p) = self.map.remove(id) {
            self.bytes -= p.arena.len();
        }
    }

    /// Bytes held (for tests).
    #[cfg(test)]
    fn held(&self) -> usize {
        debug_assert_eq!(self.bytes, self.map.values().map(|p| p.arena.len()).sum::<usize>());
        self.bytes
    }
}

impl Partial {
    /// Keeps the fragment [start, end); false when the datagram must be
    /// dropped (it contradicts its length, has too many fragments, pieces
    /// or bytes, or would take more than `room`).
    fn fill(&mut self, start: usize, end: usize, more: bool, data: &[u8], room: usize) -> bool {
        match (self.total, more) {
            (Some(t), _) if end > t => return false,
            (Some(t), false) if end != t => return false,
            (None, false) if self.high > end => return false,
            (_, false) => self.total = Some(end),
            _ => {}
        }
        let full = self.arena.len() + data.len() > 2 * MAX_DATAGRAM || self.frags.len() >= MAX_FRAGMENTS;
        if data.len() > room || full {
            return false;
        }
        self.frags.push((start, self.arena.len(), data.len()));
        self.arena.extend_from_slice(data);
        self.high = self.high.max(end);
        self.have.push((start, end));
        self.have.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(self.have.len());
        for &(s, e) in &self.have {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.have = merged;
        self.have.len() <= MAX_PIECES
    }

    fn complete(&self) -> bool {
        self.total.is_some_and(|t| self.have.as_slice() == [(0, t)])
    }

    /// The datagram laid out in offset order (ties: arrival order), each
    /// fragment adding the bytes past those already laid; None if a hole
    /// remains (not when `complete`).
    fn assemble(&self) -> Option<Vec<u8>> {
        let mut order = self.frags.clone();
        order.sort_by_key(|&(start, _, _)| start);
        let mut out = Vec::with_capacity(self.total.unwrap_or(0));
        for (start, at, len) in order {
            if start > out.len() {
                return None;
            }
            let skip = out.len() - start;
            if skip < len {
                out.extend_from_slice(self.arena.get(at + skip..at + len)?);
            }
        }
        (Some(out.len()) == self.total).then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn id(n: u32) -> DatagramId {
        (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 17, n)
    }

    fn t(s: u64) -> Timestamp {
        Timestamp::from_nanos(s * 1_000_000_000)
    }

    fn bytes(n: usize, fill: u8) -> Vec<u8> {
        (0..n).map(|i| fill.wrapping_add(i as u8)).collect()
    }

    #[test]
    fn in_order_and_out_of_order() {
        let whole = bytes(3000, 0);
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0], [2, 0, 1]] {
            let mut d = Defrag::default();
            let pieces = [(0, &whole[..1480]), (1480, &whole[1480..2960]), (2960, &whole[2960..])];
            let mut out = Vec::new();
            for i in order {
                let (off, data) = pieces[i];
                out.push(d.add(id(1), off, i != 2, data, t(1)));
            }
            assert_eq!(out[..2], [Added::Pending, Added::Pending], "{order:?}");
            assert_eq!(out[2], Added::Complete(whole.clone()), "{order:?}");
            assert_eq!(d.held(), 0);
        }
    }

    #[test]
    fn overlaps_are_laid_out_in_offset_order() {
        let mut d = Defrag::default();
        assert_eq!(d.add(id(1), 8, true, &[1; 16], t(0)), Added::Pending);
        // Overlaps both ends of the first: the lower offset wins.
        assert_eq!(d.add(id(1), 0, true, &[2; 32], t(0)), Added::Pending);
        // A duplicate offset: the first to arrive wins.
        assert_eq!(d.add(id(1), 0, true, &[3; 32], t(0)), Added::Pending);
        let Added::Complete(v) = d.add(id(1), 24, false, &[4; 16], t(0)) else { panic!("not complete") };
        let mut want = vec![2; 32];
        want.extend([4; 8]);
        assert_eq!(v, want);
        assert_eq!(d.held(), 0);
    }

    #[test]
    fn conflicting_overlaps_as_tshark_shows_them() {
        // A UDP datagram of 32 bytes in fragments A [0, 16), B [8, 24) and
        // C [16, 32) (last), with different bytes where they overlap. tshark
        // 4.0.17 shows the same reassembly whether they come A B C or C B A:
        // header and 8 A's, then 8 B's, then 8 C's.
        let a: Vec<u8> = [&[0x9c, 0x40, 0x27, 0x0f, 0, 0x20, 0, 0][..], &[b'A'; 8]].concat();
        let want: Vec<u8> = [&a[..], &[b'B'; 8], &[b'C'; 8]].concat();
        for order in [[0, 1, 2], [2, 1, 0]] {
            let mut d = Defrag::default();
            let pieces = [(0, a.as_slice(), true), (8, &[b'B'; 16][..], true), (16, &[b'C'; 16][..], false)];
            let mut last = Added::Pending;
            for i in order {
                let (off, data, more) = pieces[i];
                last = d.add(id(7), off, more, data, t(0));
            }
            assert_eq!(last, Added::Complete(want.clone()), "{order:?}");
        }
    }

    #[test]
    fn contradictions_drop_the_datagram() {
        let mut d = Defrag::default();
        d.add(id(1), 0, true, &[0; 8], t(0));
        d.add(id(1), 16, false, &[0; 8], t(0));
        // A second last fragment with another end.
        assert_eq!(d.add(id(1), 8, false, &[0; 8], t(0)), Added::Pending);
        assert_eq!(d.held(), 0);
        // Past the end a last fragment set.
        d.add(id(2), 16, false, &[0; 8], t(0));
        assert_eq!(d.add(id(2), 0, true, &[0; 64], t(0)), Added::Pending);
        assert_eq!(d.held(), 0);
        // A last fragment before data already held.
        d.add(id(3), 64, true, &[0; 8], t(0));
        assert_eq!(d.add(id(3), 0, false, &[0; 8], t(0)), Added::Pending);
        assert_eq!(d.held(), 0);
        // Empty non-last fragment, huge offset.
        assert_eq!(d.add(id(4), 0, true, &[], t(0)), Added::Pending);
        assert_eq!(d.add(id(5), 65_528, true, &[0; 16], t(0)), Added::Pending);
        assert_eq!(d.held(), 0);
        // The largest legal one is held.
        assert_eq!(d.add(id(6), 65_528, false, &[0; 7], t(0)), Added::Pending);
        assert_eq!(d.held(), 7);
    }

    #[test]
    fn missing_first_or_last_expires() {
        let mut d = Defrag::default();
        d.add(id(1), 8, true, &[0; 8], t(0));
        d.add(id(2), 0, true, &[0; 8], t(10));
        assert_eq!(d.next_expiry(), Some(t(30)));
        d.sweep(t(29));
        assert_eq!(d.held(), 16);
        d.sweep(t(30));
        assert_eq!(d.held(), 8);
        assert_eq!(d.next_expiry(), Some(t(40)));
        d.sweep(t(40));
        assert_eq!(d.held(), 0);
        assert_eq!(d.next_expiry(), None);
    }

    #[test]
    fn bounds_hold_under_a_flood() {
        let mut d = Defrag::default();
        // Count cap: tiny datagrams that never complete.
        for n in 0..(MAX_DATAGRAMS as u32 * 2) {
            d.add(id(n), 8, true, &[0; 8], t(0));
        }
        assert_eq!(d.map.len(), MAX_DATAGRAMS);
        d.sweep(t(60));
        assert_eq!(d.held(), 0);
        // Byte budget: each datagram sends 60 000 bytes of its middle.
        let big = vec![0; 60_000];
        for n in 0..(MAX_DATAGRAMS as u32) {
            d.add(id(n), 8, true, &big, t(100));
            assert!(d.held() <= MAX_BYTES);
        }
        assert!(d.held() > MAX_BYTES - 60_000);
        // Duplicates: one datagram may hold twice its largest size, then goes.
        let mut d = Defrag::default();
        for _ in 0..3 {
            d.add(id(1), 8, true, &big, t(0));
        }
        assert!(d.map.is_empty(), "a third copy passes twice the largest datagram");
        // Pieces: every other 8-byte block of one datagram.
        let mut d = Defrag::default();
        for k in 0..(MAX_PIECES as u32 + 1) {
            d.add(id(1), k * 16, true, &[0; 8], t(0));
        }
        assert!(d.map.is_empty(), "too many pieces drop the datagram");
    }

    #[test]
    fn random_fragments_never_panic_and_stay_bounded() {
        // A small LCG: deterministic hostile input without a dependency.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            x >> 33
        };
        let mut d = Defrag::default();
        for i in 0..20_000u64 {
            let off = (next() % 70_000) as u32 & !7;
            let len = (next() % 3000) as usize;
            let more = next() % 4 != 0;
            let data = vec![i as u8; len];
            let _ = d.add(id((next() % 64) as u32), off, more, &data, t(i / 100));
            assert!(d.held() <= MAX_BYTES);
            d.sweep(t(i / 100));
        }
    }
}
