//! Bounded reassembly of one TCP direction, keyed on sequence numbers.
//!
//! DPI only needs the first few kilobytes of a stream (a ClientHello, a
//! request head, an SSH key exchange), so this keeps a contiguous window from
//! a read point, plus out-of-order segments ahead of it, and gives up once
//! more than `cap` bytes would have to be held. Written by hand because the
//! usual stream reassemblers are unbounded or tied to a capture framework.
//!
//! Memory is bounded twice: per direction by `cap`, and per engine by a
//! [`Budget`] shared by all reassemblers of that engine (an atomic counter),
//! so a flood of half-open handshakes cannot grow DPI memory without limit.
//! The budget belongs to the engine, not to the process, so one engine's
//! traffic never changes what another engine reports.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Default bytes one direction may hold (a 16 KiB TLS record plus its header).
pub(crate) const DEFAULT_CAP: usize = 16 * 1024 + 5;
/// The most any direction may be raised to (see [`Reassembler::raise_cap`]).
pub(crate) const MAX_CAP: usize = 64 * 1024;
/// Bytes the reassemblers of one engine may hold together, by default.
pub const DEFAULT_BUDGET: usize = 64 * 1024 * 1024;
/// Out-of-order segments kept per direction.
const MAX_OOO_SEGMENTS: usize = 32;
/// Reservations against the budget are taken in chunks of this size.
const CHUNK: usize = 4096;

/// Bytes all reassemblers sharing it may hold together. Clones share the
/// counter (an `Arc`: the reservations that release into it on drop may
/// outlive the engine's own handle).
#[derive(Clone, Debug)]
pub(crate) struct Budget(Arc<BudgetInner>);

#[derive(Debug)]
struct BudgetInner {
    used: AtomicUsize,
    limit: usize,
}

impl Budget {
    pub(crate) fn new(limit: usize) -> Self {
        Budget(Arc::new(BudgetInner { used: AtomicUsize::new(0), limit }))
    }

    /// Bytes reserved now.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.0.used.load(Ordering::Relaxed)
    }

    fn take(&self, n: usize) -> bool {
        let prev = self.0.used.fetch_add(n, Ordering::Relaxed);
        if prev + n > self.0.limit {
            self.0.used.fetch_sub(n, Ordering::Relaxed);
            return false;
        }
        true
    }

    fn give(&self, n: usize) {
        self.0.used.fetch_sub(n, Ordering::Relaxed);
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new(DEFAULT_BUDGET)
    }
}

/// A reservation against a budget, released on drop.
#[derive(Debug)]
struct Reservation {
    budget: Budget,
    bytes: usize,
}

impl Reservation {
    fn new(budget: Budget) -> Self {
        Reservation { budget, bytes: 0 }
    }

    /// Makes sure at least `need` bytes are reserved; false if the budget is spent.
    fn ensure(&mut self, need: usize) -> bool {
        if need <= self.bytes {
            return true;
        }
        let want = need.div_ceil(CHUNK) * CHUNK - self.bytes;
        if !self.budget.take(want) {
            return false;
        }
        self.bytes += want;
        true
    }

    fn release(&mut self) {
        self.budget.give(self.bytes);
        self.bytes = 0;
    }
}

impl Clone for Reservation {
    /// A clone holds copies of the buffers, so it reserves as much (even past the budget:
    /// cloning is rare and refusing it is not possible here).
    fn clone(&self) -> Self {
        self.budget.0.used.fetch_add(self.bytes, Ordering::Relaxed);
        Reservation { budget: self.budget.clone(), bytes: self.bytes }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.release();
    }
}

/// Result of feeding one segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Push {
    /// New contiguous bytes are available at the read point.
    Grew,
    /// Nothing new to read (duplicate, retransmission, or held out of order).
    Same,
    /// The cap or the budget was exceeded: the stream is abandoned.
    Overflow,
}

/// One direction of a TCP stream from a read point on.
#[derive(Clone, Debug)]
pub(crate) struct Reassembler {
    /// Sequence number of `buf[0]`; None until the first segment (or SYN).
    next: Option<u32>,
    buf: Vec<u8>,
    /// Segments beyond the end of `buf`, in arrival order.
    ooo: Vec<(u32, Vec<u8>)>,
    ooo_bytes: usize,
    /// The start was fixed by a SYN, or bytes were consumed: never move it back.
    anchored: bool,
    overflow: bool,
    cap: usize,
    reserved: Reservation,
}

impl Default for Reassembler {
    /// With a budget of its own (tests, fuzzing); the engine's come from [`Reassembler::with_budget`].
    fn default() -> Self {
        Reassembler::new(DEFAULT_CAP)
    }
}

/// Signed distance from `b` to `a` in sequence space.
fn diff(a: u32, b: u32) -> i64 {
    i64::from(a.wrapping_sub(b) as i32)
}

impl Reassembler {
    pub(crate) fn new(cap: usize) -> Self {
        Reassembler::with_budget(cap, Budget::default())
    }

    /// A reassembler whose buffers count against `budget`.
    pub(crate) fn with_budget(cap: usize, budget: Budget) -> Self {
        Reassembler {
            next: None,
            buf: Vec::new(),
            ooo: Vec::new(),
            ooo_bytes: 0,
            anchored: false,
            overflow: false,
            cap: cap.min(MAX_CAP),
            reserved: Reservation::new(budget),
        }
    }

    /// The stream starts right after this SYN's sequence number.
    pub(crate) fn on_syn(&mut self, seq: u32) {
        if self.next.is_none() {
            self.next = Some(seq.wrapping_add(1));
            self.anchored = true;
        }
    }

    /// Lets a parser that knows a message is larger (a TLS handshake header)
    /// raise the cap, up to [`MAX_CAP`].
    pub(crate) fn raise_cap(&mut self, cap: usize) {
        self.cap = self.cap.max(cap.min(MAX_CAP));
    }

    /// Whether the stream start is known (SYN seen or bytes consumed).
    pub(crate) fn anchored(&self) -> bool {
        self.anchored
    }

    pub(crate) fn overflowed(&self) -> bool {
        self.overflow
    }

    /// Contiguous bytes at the read point.
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf
    }

    /// Releases everything (the caller is done with this direction),
    /// including its share of the budget.
    pub(crate) fn clear(&mut self) {
        self.buf = Vec::new();
        self.ooo = Vec::new();
        self.ooo_bytes = 0;
        self.reserved.release();
    }

    /// Drops `n` bytes from the read point; `n` may reach past what has
    /// arrived, and those bytes are then dropped as they come.
    pub(crate) fn consume(&mut self, n: usize) {
        self.anchored = true;
        let Some(next) = self.next else { return };
        let have = n.min(self.buf.len());
        self.buf.drain(..have);
        // Bytes consumed beyond what arrived (buf is then empty): the read
        // point moves past them, and held segments may now touch it.
        let rest = u32::try_from(n - have).unwrap_or(u32::MAX);
        self.next = Some(next.wrapping_add(have as u32).wrapping_add(rest));
        if rest > 0 {
            self.drain_ooo();
        }
    }

    /// Feeds one segment's payload.
    pub(crate) fn push(&mut self, seq: u32, payload: &[u8]) -> Push {
        if self.overflow {
            return Push::Overflow;
        }
        if payload.is_empty() {
            return Push::Same;
        }
        let next = *self.next.get_or_insert(seq);
        let end = next.wrapping_add(self.buf.len() as u32);
        let rel = diff(seq, next);
        if rel < 0 && !self.anchored && -rel < self.cap as i64 && self.held() < self.cap {
            // Unanchored start and an earlier segment arrived late: move the start back.
            self.rebase(seq, payload);
            return if self.overflow { Push::Overflow } else { Push::Grew };
        }
        let from_end = diff(seq, end);
        let seg_end = from_end + payload.len() as i64;
        if seg_end <= 0 {
            return Push::Same; // old data (retransmission)
        }
        // A segment is taken if it starts within `cap` of the read point, so
        // at most `cap` plus one segment is ever held.
        if diff(seq, next) >= self.cap as i64 || self.held() >= self.cap {
            return self.fail();
        }
        if from_end <= 0 {
            // Starts at or before the end: append the new tail.
            let new = &payload[(-from_end) as usize..];
            if !self.reserve(self.held() + new.len()) {
                return Push::Overflow;
            }
            self.buf.extend_from_slice(new);
            self.drain_ooo();
            return Push::Grew;
        }
        // A hole before this segment: hold it.
        if self.ooo.len() >= MAX_OOO_SEGMENTS {
            return self.fail();
        }
        if self.ooo.iter().any(|(s, d)| *s == seq && d.len() >= payload.len()) {
            return Push::Same;
        }
        if !self.reserve(self.held() + payload.len()) {
            return Push::Overflow;
        }
        self.ooo_bytes += payload.len();
        self.ooo.push((seq, payload.to_vec()));
        Push::Same
    }

    fn held(&self) -> usize {
        self.buf.len() + self.ooo_bytes
    }

    fn rebase(&mut self, seq: u32, payload: &[u8]) {
        let old_next = self.next.unwrap_or(seq);
        let old = std::mem::take(&mut self.buf);
        if !old.is_empty() {
            self.ooo_bytes += old.len();
            self.ooo.push((old_next, old));
        }
        self.next = Some(seq);
        if self.reserve(self.ooo_bytes + payload.len()) {
            self.buf.extend_from_slice(payload);
            self.drain_ooo();
        } else {
            self.fail();
        }
    }

    /// Appends held segments that now touch the end of `buf`.
    fn drain_ooo(&mut self) {
        let Some(next) = self.next else { return };
        loop {
            let end = next.wrapping_add(self.buf.len() as u32);
            let mut progressed = false;
            let mut i = 0;
            while i < self.ooo.len() {
                let s = self.ooo[i].0;
                let from_end = diff(s, end);
                if from_end > 0 {
                    i += 1;
                    continue;
                }
                let (_, d) = self.ooo.swap_remove(i);
                self.ooo_bytes -= d.len();
                let skip = (-from_end) as usize;
                if skip < d.len() {
                    self.buf.extend_from_slice(&d[skip..]);
                    progressed = true;
                }
            }
            if !progressed {
                break;
            }
        }
    }

    fn reserve(&mut self, need: usize) -> bool {
        if !self.reserved.ensure(need) {
            self.fail();
            return false;
        }
        true
    }

    fn fail(&mut self) -> Push {
        self.overflow = true;
        self.clear();
        Push::Overflow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_and_retransmission() {
        let mut r = Reassembler::default();
        assert_eq!(r.push(100, b"hello "), Push::Grew);
        assert_eq!(r.push(100, b"hello "), Push::Same);
        assert_eq!(r.push(106, b"world"), Push::Grew);
        assert_eq!(r.data(), b"hello world");
        // Overlapping retransmission with new bytes at the end.
        assert_eq!(r.push(109, b"ld!!"), Push::Grew);
        assert_eq!(r.data(), b"hello world!!");
    }

    #[test]
    fn out_of_order_after_syn() {
        let mut r = Reassembler::default();
        r.on_syn(999);
        assert_eq!(r.push(1005, b"world"), Push::Same);
        assert!(r.data().is_empty());
        assert_eq!(r.push(1000, b"hello"), Push::Grew);
        assert_eq!(r.data(), b"helloworld");
    }

    #[test]
    fn late_first_segment_without_syn_rebases() {
        let mut r = Reassembler::default();
        assert_eq!(r.push(1005, b"world"), Push::Grew);
        assert_eq!(r.push(1000, b"hello"), Push::Grew);
        assert_eq!(r.data(), b"helloworld");
    }

    #[test]
    fn segment_before_syn_is_ignored() {
        let mut r = Reassembler::default();
        r.on_syn(999);
        assert_eq!(r.push(990, b"junk"), Push::Same);
        assert!(r.data().is_empty());
    }

    #[test]
    fn cap_overflow_gives_up() {
        let mut r = Reassembler::new(10);
        assert_eq!(r.push(0, b"0123456789"), Push::Grew);
        assert_eq!(r.push(10, b"x"), Push::Overflow);
        assert!(r.overflowed());
        assert!(r.data().is_empty());
        assert_eq!(r.push(11, b"y"), Push::Overflow);
    }

    #[test]
    fn far_ahead_segment_overflows() {
        let mut r = Reassembler::new(100);
        r.push(0, b"a");
        assert_eq!(r.push(500, b"b"), Push::Overflow);
    }

    #[test]
    fn consume_past_end_skips_future_bytes() {
        let mut r = Reassembler::default();
        r.push(0, b"abcd");
        r.consume(6); // 2 bytes not yet arrived
        assert!(r.data().is_empty());
        assert_eq!(r.push(4, b"efgh"), Push::Grew);
        assert_eq!(r.data(), b"gh");
    }

    #[test]
    fn sequence_wraparound() {
        let mut r = Reassembler::default();
        r.push(u32::MAX - 2, b"abc");
        r.push(0, b"def");
        assert_eq!(r.data(), b"abcdef");
    }

    #[test]
    fn clear_gives_the_reservation_back() {
        let mut r = Reassembler::default();
        r.push(0, b"abc");
        assert_eq!(r.reserved.bytes, CHUNK);
        r.clear();
        assert_eq!(r.reserved.bytes, 0);
    }

    #[test]
    fn reservation_is_chunked_and_budgeted() {
        let budget = Budget::default();
        let mut r = Reservation::new(budget.clone());
        assert!(r.ensure(10));
        assert_eq!(r.bytes, CHUNK);
        assert!(r.ensure(CHUNK + 1));
        assert_eq!(r.bytes, 2 * CHUNK);
        assert!(!r.ensure(DEFAULT_BUDGET + 1));
        assert_eq!(r.bytes, 2 * CHUNK);
        assert_eq!(budget.used(), 2 * CHUNK);
        drop(r);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn budgets_are_separate() {
        let (a, b) = (Budget::new(CHUNK), Budget::new(CHUNK));
        let mut ra = Reassembler::with_budget(DEFAULT_CAP, a.clone());
        let mut rb = Reassembler::with_budget(DEFAULT_CAP, b.clone());
        assert_eq!(ra.push(0, &[0; CHUNK]), Push::Grew);
        assert_eq!(ra.push(CHUNK as u32, b"x"), Push::Overflow);
        // The other budget is untouched by the first one running out.
        assert_eq!(rb.push(0, &[0; CHUNK]), Push::Grew);
        assert_eq!((a.used(), b.used()), (0, CHUNK));
    }
}
