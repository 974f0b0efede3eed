//! Bounded reassembly of one TCP direction, keyed on sequence numbers.
//!
//! DPI only needs the first few kilobytes of a stream (a ClientHello, a
//! request head, an SSH key exchange), so this keeps a contiguous window from
//! a read point, plus out-of-order segments ahead of it, and gives up once
//! more than `cap` bytes would have to be held. Written by hand because the
//! usual stream reassemblers are unbounded or tied to a capture framework.
//!
//! Memory is bounded twice: per direction by `cap`, and per engine by a
//! [`Budget`]: each connection's DPI state holds a [`Reservation`] of exactly
//! the payload bytes it buffers (both directions, plus what its inspector
//! keeps), and the engine gives up the stalest connection's inspection when
//! the total passes the limit, and any connection's that held bytes for
//! [`DEFAULT_IDLE`] without a new segment. A flood of flows that each leave a
//! byte waiting thus costs its bytes, for seconds, and cannot starve later
//! connections. The budget belongs to the engine, not to the process, so one
//! engine's traffic never changes what another engine reports.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Default bytes one direction may hold (a 16 KiB TLS record plus its header).
pub(crate) const DEFAULT_CAP: usize = 16 * 1024 + 5;
/// The most any direction may be raised to (see [`Reassembler::raise_cap`]).
pub(crate) const MAX_CAP: usize = 64 * 1024;
/// Bytes the reassemblers of one engine may hold together, by default.
pub const DEFAULT_BUDGET: usize = 64 * 1024 * 1024;
/// A connection whose DPI holds bytes and gets no payload for this long is
/// given up: a lost segment is retransmitted well within it (RFC 6298: 1 s,
/// then 2 s, 4 s), a hole that an attacker left never is.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(10);
/// Out-of-order segments kept per direction.
const MAX_OOO_SEGMENTS: usize = 32;

/// Bytes all reservations sharing it may hold together, and for how long
/// a connection may hold some without a new payload packet. Clones share the
/// counter (an `Arc`: a connection's reservation releases into it when the
/// connection is dropped, wherever that happens). Nothing is refused here:
/// the owner evicts when [`Budget::over`] says so.
#[derive(Clone, Debug)]
pub(crate) struct Budget(Arc<BudgetInner>);

#[derive(Debug)]
struct BudgetInner {
    used: AtomicUsize,
    limit: usize,
    idle: Duration,
}

impl Budget {
    pub(crate) fn new(limit: usize, idle: Duration) -> Self {
        Budget(Arc::new(BudgetInner { used: AtomicUsize::new(0), limit, idle }))
    }

    /// How long bytes may be held without a new payload packet.
    pub(crate) fn idle(&self) -> Duration {
        self.0.idle
    }

    /// Bytes reserved now.
    pub(crate) fn used(&self) -> usize {
        self.0.used.load(Ordering::Relaxed)
    }

    /// More is reserved than the limit allows.
    pub(crate) fn over(&self) -> bool {
        self.used() > self.0.limit
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new(DEFAULT_BUDGET, DEFAULT_IDLE)
    }
}

/// A reservation against a budget of exactly the bytes its owner buffers,
/// released on drop.
#[derive(Debug)]
pub(crate) struct Reservation {
    budget: Budget,
    bytes: usize,
}

impl Reservation {
    pub(crate) fn new(budget: Budget) -> Self {
        Reservation { budget, bytes: 0 }
    }

    /// Bytes reserved.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn budget(&self) -> &Budget {
        &self.budget
    }

    /// Makes the reservation exactly `n` bytes.
    pub(crate) fn set(&mut self, n: usize) {
        if n > self.bytes {
            self.budget.0.used.fetch_add(n - self.bytes, Ordering::Relaxed);
        } else if n < self.bytes {
            self.budget.0.used.fetch_sub(self.bytes - n, Ordering::Relaxed);
        }
        self.bytes = n;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.set(0);
    }
}

/// Result of feeding one segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Push {
    /// New contiguous bytes are available at the read point.
    Grew,
    /// Nothing new to read (duplicate, retransmission, or held out of order).
    Same,
    /// The cap was exceeded: the stream is abandoned.
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
}

impl Default for Reassembler {
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
        Reassembler {
            next: None,
            buf: Vec::new(),
            ooo: Vec::new(),
            ooo_bytes: 0,
            anchored: false,
            overflow: false,
            cap: cap.min(MAX_CAP),
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

    /// Releases everything (the caller is done with this direction).
    pub(crate) fn clear(&mut self) {
        self.buf = Vec::new();
        self.ooo = Vec::new();
        self.ooo_bytes = 0;
    }

    /// Payload bytes buffered (contiguous and out of order): what the
    /// direction counts against its engine's budget.
    pub(crate) fn held(&self) -> usize {
        self.buf.len() + self.ooo_bytes
    }

    /// True when every byte before `seq` has arrived and none after is
    /// waiting: a FIN at `seq` then ends a stream that can grow no more.
    pub(crate) fn ends_at(&self, seq: u32) -> bool {
        let Some(next) = self.next else { return true };
        self.ooo.is_empty() && diff(seq, next.wrapping_add(self.buf.len() as u32)) <= 0
    }

    /// Drops `n` bytes from the read point; `n` may reach past what has
    /// arrived, and those bytes are then dropped as they come.
    pub(crate) fn consume(&mut self, n: usize) {
        self.anchored = true;
        let Some(next) = self.next else { return };
        let have = n.min(self.buf.len());
        self.buf.drain(..have);
        // Keep the allocation near what is counted against the budget.
        if self.buf.is_empty() {
            self.buf = Vec::new();
        } else if self.buf.capacity() > 4 * self.buf.len() + 4096 {
            self.buf.shrink_to_fit();
        }
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
            return Push::Grew;
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
        self.ooo_bytes += payload.len();
        self.ooo.push((seq, payload.to_vec()));
        Push::Same
    }

    fn rebase(&mut self, seq: u32, payload: &[u8]) {
        let old_next = self.next.unwrap_or(seq);
        let old = std::mem::take(&mut self.buf);
        if !old.is_empty() {
            self.ooo_bytes += old.len();
            self.ooo.push((old_next, old));
        }
        self.next = Some(seq);
        self.buf.extend_from_slice(payload);
        self.drain_ooo();
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
    fn held_counts_buffered_bytes_and_consume_frees_the_allocation() {
        let mut r = Reassembler::default();
        r.on_syn(99);
        assert_eq!(r.push(101, b"b"), Push::Same);
        assert_eq!(r.held(), 1, "one byte out of order holds one byte");
        assert!(!r.ends_at(102), "byte 100 is missing");
        assert_eq!(r.push(100, &[b'a'; 9000]), Push::Grew);
        assert_eq!(r.held(), 9000);
        assert!(r.ends_at(9100));
        r.consume(8999);
        assert_eq!((r.held(), r.data()), (1, &b"a"[..]));
        assert!(r.buf.capacity() <= 4 + 4096, "capacity {} kept for 1 byte", r.buf.capacity());
        r.consume(1);
        assert_eq!(r.buf.capacity(), 0);
        r.clear();
        assert_eq!(r.held(), 0);
    }

    #[test]
    fn reservation_is_exact_and_released_on_drop() {
        let budget = Budget::new(10, DEFAULT_IDLE);
        let mut r = Reservation::new(budget.clone());
        r.set(1);
        assert_eq!((budget.used(), budget.over()), (1, false));
        r.set(11);
        assert_eq!((budget.used(), budget.over()), (11, true));
        r.set(4);
        assert_eq!(budget.used(), 4);
        drop(r);
        assert_eq!(budget.used(), 0);
    }
}
