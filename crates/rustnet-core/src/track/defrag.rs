//! IP datagram reassembly, for DPI only: the counters never wait for it
//! (every fragment counts on its datagram's flow when it arrives, `frag.rs`).
//! A datagram whose fragments all came is handed back whole once, so that
//! an HTTP request whose Host header is in a later fragment, or a DNS
//! message spread over fragments, is read like an unfragmented one.
//!
//! Bounded everywhere: a datagram is at most 65 535 bytes and 64 pieces
//! (runs of bytes held apart by holes); an engine holds at most
//! [`MAX_DATAGRAMS`] datagrams and [`MAX_BYTES`] bytes; a datagram not
//! complete [`LIFETIME`] (packet time) after its first fragment is dropped.
//! When full, new datagrams are refused (as Linux does above its high
//! threshold), never the ones under way.
//!
//! Overlaps: first wins. Bytes already received are kept and an overlapping
//! fragment only fills holes, so a duplicate or retransmitted fragment adds
//! nothing. tshark agrees when fragments arrive in offset order; it assembles
//! in offset order instead (the lower offset wins, whatever came first), so
//! the two differ only for overlapping fragments with different bytes that
//! arrive out of order (checked with tshark 4.0.17 on a crafted capture:
//! it also flags them "Conflicting data in fragment overlap"). A fragment that
//! contradicts the datagram's length (ends past a last fragment's end, or a
//! second last fragment with another end) drops the datagram, as Linux does
//! for a corrupt queue.
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

/// One datagram under way.
#[derive(Debug)]
struct Partial {
    /// The bytes so far, as long as the highest end seen.
    buf: Vec<u8>,
    /// Received byte ranges [start, end), sorted, merged, disjoint.
    have: Vec<(usize, usize)>,
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
            self.map.insert(id, Partial { buf: Vec::new(), have: Vec::new(), total: None, since });
            self.earliest = Some(self.earliest.map_or(since + LIFETIME, |e| e.min(since + LIFETIME)));
        }
        let room = MAX_BYTES.saturating_sub(self.bytes);
        let Some(p) = self.map.get_mut(&id) else { return Added::Pending };
        let before = p.buf.len();
        let kept = p.fill(start, end, more, data, room);
        self.bytes += p.buf.len() - before;
        if !kept {
            self.drop_datagram(&id);
            return Added::Pending;
        }
        if !p.complete() {
            return Added::Pending;
        }
        let whole = self.map.remove(&id).map(|p| p.buf).unwrap_or_default();
        self.bytes -= whole.len();
        Added::Complete(whole)
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
                freed += p.buf.len();
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
            self.bytes -= p.buf.len();
        }
    }

    /// Bytes held (for tests).
    #[cfg(test)]
    fn held(&self) -> usize {
        debug_assert_eq!(self.bytes, self.map.values().map(|p| p.buf.len()).sum::<usize>());
        self.bytes
    }
}

impl Partial {
    /// Copies the bytes of [start, end) not yet received (the buffer grows
    /// to `end`); false when the datagram must be dropped (it contradicts
    /// its length, has too many pieces, or would grow by more than `room`).
    fn fill(&mut self, start: usize, end: usize, more: bool, data: &[u8], room: usize) -> bool {
        match (self.total, more) {
            (Some(t), _) if end > t => return false,
            (Some(t), false) if end != t => return false,
            (None, false) if self.buf.len() > end => return false,
            (_, false) => self.total = Some(end),
            _ => {}
        }
        if end.saturating_sub(self.buf.len()) > room {
            return false;
        }
        if end > self.buf.len() {
            self.buf.resize(end, 0);
        }
        // First wins: copy only into the holes of [start, end).
        let mut at = start;
        for &(s, e) in &self.have {
            if e <= at || s >= end {
                continue;
            }
            if s > at {
                copy(&mut self.buf, at, s, start, data);
            }
            at = at.max(e);
        }
        if at < end {
            copy(&mut self.buf, at, end, start, data);
        }
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
}

/// Copies buffer bytes [from, to) out of the fragment that starts at `start`.
fn copy(buf: &mut [u8], from: usize, to: usize, start: usize, data: &[u8]) {
    if let (Some(dst), Some(src)) = (buf.get_mut(from..to), data.get(from - start..to - start)) {
        dst.copy_from_slice(src);
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
    fn overlaps_keep_the_first_bytes() {
        let mut d = Defrag::default();
        assert_eq!(d.add(id(1), 8, true, &[1; 16], t(0)), Added::Pending);
        // Overlaps both ends of the first piece and fills the hole before it.
        assert_eq!(d.add(id(1), 0, true, &[2; 32], t(0)), Added::Pending);
        // A duplicate of the first, then the last fragment overlapping.
        assert_eq!(d.add(id(1), 8, true, &[3; 16], t(0)), Added::Pending);
        let Added::Complete(v) = d.add(id(1), 24, false, &[4; 16], t(0)) else { panic!("not complete") };
        let mut want = vec![2; 8];
        want.extend([1; 16]);
        want.extend([2; 8]);
        want.extend([4; 8]);
        assert_eq!(v, want);
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
        assert_eq!(d.held(), 65_535);
    }

    #[test]
    fn missing_first_or_last_expires() {
        let mut d = Defrag::default();
        d.add(id(1), 8, true, &[0; 8], t(0));
        d.add(id(2), 0, true, &[0; 8], t(10));
        assert_eq!(d.next_expiry(), Some(t(30)));
        d.sweep(t(29));
        assert_eq!(d.held(), 24);
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
        // Byte budget: each datagram claims 64 KiB with one fragment at its end.
        for n in 0..(MAX_DATAGRAMS as u32) {
            d.add(id(n), 65_000, true, &[0; 8], t(100));
            assert!(d.held() <= MAX_BYTES);
        }
        assert!(d.held() > MAX_BYTES - 65_535);
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
