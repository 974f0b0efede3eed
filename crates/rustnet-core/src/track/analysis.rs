//! TCP analysis per direction, defined as tshark's `tcp.analysis.*` flags so
//! that the counts compare: retransmissions (fast and spurious ones
//! included), out-of-order segments, duplicate ACKs, zero windows, and the
//! handshake round-trip time (`tcp.analysis.initial_rtt`).
//!
//! The rules follow Wireshark's documented behaviour (User's Guide, "TCP
//! Analysis"); the state is a few numbers per direction, no segment list.

use super::srtt::{self, RttLeg};
use crate::time::Timestamp;
use crate::wire::tcp_flags::{ACK, FIN, RST, SYN};
use std::time::Duration;

/// Counts of one direction's segments, as tshark flags them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpDirStats {
    /// Segments flagged `tcp.analysis.retransmission` (fast and spurious
    /// retransmissions included, as tshark flags them too).
    pub retransmits: u32,
    /// Segments flagged `tcp.analysis.fast_retransmission`.
    pub fast_retransmits: u32,
    /// Segments flagged `tcp.analysis.out_of_order`.
    pub out_of_order: u32,
    /// Segments flagged `tcp.analysis.duplicate_ack`.
    pub dup_acks: u32,
    /// Segments flagged `tcp.analysis.zero_window`.
    pub zero_window: u32,
    /// The OR of the flag bytes seen (FIN 0x01 … CWR 0x80).
    pub flags: u8,
}

impl TcpDirStats {
    /// The flags seen as letters from "FSRPAUEC" (FIN first, CWR last), as
    /// the JSON prints them; at most 8 bytes.
    pub fn flag_letters(&self) -> FlagLetters {
        let mut out = FlagLetters { buf: [0; 8], len: 0 };
        for (i, ch) in b"FSRPAUEC".iter().enumerate() {
            if self.flags & (1 << i) != 0 {
                out.buf[usize::from(out.len)] = *ch;
                out.len += 1;
            }
        }
        out
    }
}

/// TCP flag letters, without allocating.
#[derive(Clone, Copy, Debug)]
pub struct FlagLetters {
    buf: [u8; 8],
    len: u8,
}

impl FlagLetters {
    /// The letters, e.g. "SPA".
    pub fn as_str(&self) -> &str {
        // Only ASCII letters are written, so this never fails.
        std::str::from_utf8(self.buf.get(..usize::from(self.len)).unwrap_or_default()).unwrap_or_default()
    }
}

/// TCP analysis of both directions, from the local side's view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpStats {
    /// Segments sent by the local side.
    pub tx: TcpDirStats,
    /// Segments received by the local side.
    pub rx: TcpDirStats,
    /// Smoothed RTT at the capture point from data/ACK pairs (RFC 6298
    /// SRTT, Karn's rule), for the live view; None until both directions
    /// had a sample (the handshake gives each its first).
    pub smoothed_rtt: Option<Duration>,
}

impl TcpStats {
    /// Retransmitted segments of both directions.
    pub fn retransmits(&self) -> u64 {
        u64::from(self.tx.retransmits) + u64::from(self.rx.retransmits)
    }

    /// True once a FIN or RST was seen in either direction.
    pub fn fin_or_rst(&self) -> bool {
        (self.tx.flags | self.rx.flags) & (FIN | RST) != 0
    }
}

/// One segment, as the analyser needs it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Segment {
    pub from_local: bool,
    pub ts: Timestamp,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    /// Payload length as the IP header declares it.
    pub len: u32,
}

/// What one direction's sender has shown so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct DirState {
    /// Sequence number just past the highest one sent (SYN/FIN count one);
    /// None until a segment with data, SYN or FIN.
    next_seq: Option<u32>,
    /// When `next_seq` last advanced.
    next_seq_at: Timestamp,
    /// The last segment's acknowledgment number (None without ACK).
    last_ack: Option<u32>,
    /// When the last segment was seen.
    last_ack_at: Timestamp,
    /// The last segment's raw window; None before the first segment.
    window: Option<u16>,
    /// Duplicate ACKs in a row.
    dup_acks_in_row: u32,
    /// The last segment was a keep-alive.
    keep_alive: bool,
    /// The last segment was a zero-window probe.
    zero_window_probe: bool,
    /// Timing of this direction's segments to the other side's ACKs.
    rtt: RttLeg,
}

/// Nanoseconds from `earlier` to `t`, zero if `earlier` is later.
fn ns_since(t: Timestamp, earlier: Timestamp) -> u64 {
    t.as_nanos().saturating_sub(earlier.as_nanos())
}

/// `a < b` in sequence space (RFC 1982 arithmetic).
pub(super) fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// A retransmission this close (after the duplicate ACKs) is a fast one.
const FAST_RETRANSMIT_WINDOW_NS: u64 = 20_000_000;
/// Out-of-order threshold while the handshake RTT is unknown.
const DEFAULT_OOO_THRESHOLD_NS: u64 = 3_000_000;

/// Per-connection analyser state: two directions and the handshake timing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TcpAnalyzer {
    local: DirState,
    remote: DirState,
    /// Time of the most recent SYN (without ACK).
    last_syn: Option<Timestamp>,
    /// Handshake RTT in nanoseconds, once measured (nanoseconds, not a
    /// Duration: the per-segment comparisons stay single integer compares).
    initial_rtt_ns: Option<u64>,
}

impl TcpAnalyzer {
    /// The handshake RTT (`tcp.analysis.initial_rtt`).
    pub(crate) fn initial_rtt(&self) -> Option<Duration> {
        self.initial_rtt_ns.map(Duration::from_nanos)
    }

    /// Feeds one segment with a parsed header; counts its flags in `stats`.
    pub(crate) fn on_segment(&mut self, s: &Segment, stats: &mut TcpStats) {
        self.handshake_rtt(s);
        let (fwd, rev, out) = if s.from_local {
            (&mut self.local, &mut self.remote, &mut stats.tx)
        } else {
            (&mut self.remote, &mut self.local, &mut stats.rx)
        };
        out.flags |= s.flags;
        // The ACK ends the other direction's timer; `analyze` starts this one's.
        let sampled = s.flags & ACK != 0 && rev.rtt.on_ack(s.ack, s.ts);
        let ooo_threshold_ns = self.initial_rtt_ns.unwrap_or(DEFAULT_OOO_THRESHOLD_NS);
        analyze(fwd, rev, s, ooo_threshold_ns, out);
        if sampled {
            stats.smoothed_rtt = srtt::combined(&self.local.rtt, &self.remote.rtt);
        }
    }

    /// tshark times the handshake from the most recent SYN to the first
    /// segment with ACK and without SYN, in either direction.
    fn handshake_rtt(&mut self, s: &Segment) {
        match s.flags & (SYN | ACK) {
            SYN => self.last_syn = Some(s.ts),
            ACK if self.initial_rtt_ns.is_none() => {
                self.initial_rtt_ns = self.last_syn.map(|syn| ns_since(s.ts, syn));
            }
            _ => {}
        }
    }
}

/// One segment of direction `fwd` (its sender), `rev` the other direction.
// Inlined into its one caller: the call's register saves were a tenth of
// the analysis's instructions on the bench file.
#[inline(always)]
fn analyze(fwd: &mut DirState, rev: &DirState, s: &Segment, ooo_threshold_ns: u64, out: &mut TcpDirStats) {
    let control = s.flags & (SYN | FIN | RST) != 0;
    // The common case first: in-order data in an open window. It can only be
    // a (spurious) retransmission of data the receiver already acknowledged.
    if !control && s.len > 1 && s.window != 0 && fwd.next_seq == Some(s.seq) {
        let end = s.seq.wrapping_add(s.len);
        if rev.last_ack.is_some_and(|a| !seq_lt(a, end)) {
            out.retransmits = out.retransmits.saturating_add(1);
        }
        if seq_lt(s.seq, end) {
            fwd.next_seq = Some(end);
            fwd.next_seq_at = s.ts;
        }
        fwd.rtt.on_sent(end, true, s.ts);
        if fwd.last_ack != ack_of(s) {
            fwd.dup_acks_in_row = 0;
        }
        fwd.window = Some(s.window);
        fwd.last_ack = ack_of(s);
        fwd.last_ack_at = s.ts;
        fwd.keep_alive = false;
        fwd.zero_window_probe = false;
        return;
    }
    let occupies = s.len > 0 || s.flags & (SYN | FIN) != 0;
    let at_next = fwd.next_seq == Some(s.seq);
    // A one-byte segment at the edge of a closed window probes it; nothing
    // else is checked for it.
    let zero_window_probe = s.len == 1 && at_next && rev.window == Some(0);
    let mut keep_alive = false;
    let mut dup_ack = false;
    if !zero_window_probe {
        if s.window == 0 && !control {
            out.zero_window = out.zero_window.saturating_add(1);
        }
        // Keep-alives and (duplicate) ACKs are short: most segments stop here.
        if s.len <= 1 && !control {
            keep_alive = fwd.next_seq.is_some_and(|n| n.wrapping_sub(1) == s.seq);
            dup_ack = s.len == 0 && at_next && is_dup_ack(fwd, rev, s);
        }
    }
    if dup_ack {
        fwd.dup_acks_in_row = fwd.dup_acks_in_row.saturating_add(1);
        out.dup_acks = out.dup_acks.saturating_add(1);
    } else if fwd.last_ack != ack_of(s) {
        // Only a new acknowledgment number ends a run of duplicates: a
        // window update or data with the same ACK between them does not.
        fwd.dup_acks_in_row = 0;
    }
    if occupies {
        if !keep_alive {
            retransmission(fwd, rev, s, ooo_threshold_ns, out);
        }
        let end = s.seq.wrapping_add(s.len).wrapping_add(u32::from(s.flags & (SYN | FIN) != 0));
        // A probe of a closed window waits for it to open: not timed.
        if !zero_window_probe {
            fwd.rtt.on_sent(end, fwd.next_seq.is_none_or(|n| !seq_lt(s.seq, n)), s.ts);
        }
        if fwd.next_seq.is_none_or(|n| seq_lt(n, end)) && !zero_window_probe {
            fwd.next_seq = Some(end);
            fwd.next_seq_at = s.ts;
        }
    }
    fwd.window = Some(s.window);
    fwd.last_ack = ack_of(s);
    fwd.last_ack_at = s.ts;
    fwd.keep_alive = keep_alive;
    fwd.zero_window_probe = zero_window_probe;
}

/// An empty segment at the sender's next sequence number without SYN, FIN
/// or RST: a duplicate ACK when ACK and window repeat the last segment's,
/// unless it answers a keep-alive or a zero-window probe.
fn is_dup_ack(fwd: &DirState, rev: &DirState, s: &Segment) -> bool {
    let same_ack = fwd.last_ack == ack_of(s);
    if s.window == 0 {
        // At best a zero-window probe's ACK, never a duplicate.
        return false;
    }
    same_ack && fwd.window == Some(s.window) && !rev.keep_alive
}

fn ack_of(s: &Segment) -> Option<u32> {
    (s.flags & ACK != 0).then_some(s.ack)
}

/// A segment that occupies sequence space: a retransmission (spurious, fast
/// or plain), out of order, or new.
fn retransmission(fwd: &DirState, rev: &DirState, s: &Segment, ooo_threshold_ns: u64, out: &mut TcpDirStats) {
    let end = s.seq.wrapping_add(s.len);
    // Data the receiver had already acknowledged: a spurious retransmission,
    // checked first (tshark 4.0 does: a late copy of acknowledged data is not
    // "out of order" however soon it comes).
    if s.len > 0 && rev.last_ack.is_some_and(|a| !seq_lt(a, end)) {
        out.retransmits = out.retransmits.saturating_add(1);
        return;
    }
    let not_advanced = fwd.next_seq.is_some_and(|n| seq_lt(s.seq, n));
    if !not_advanced {
        return;
    }
    // After two or more duplicate ACKs for this very sequence number.
    if rev.dup_acks_in_row >= 2
        && rev.last_ack == Some(s.seq)
        && ns_since(s.ts, rev.last_ack_at) < FAST_RETRANSMIT_WINDOW_NS
    {
        out.fast_retransmits = out.fast_retransmits.saturating_add(1);
        out.retransmits = out.retransmits.saturating_add(1);
        return;
    }
    // Soon after the highest segment, and not a copy of it (SYN and FIN
    // count one): out of order.
    let occupied_end = end.wrapping_add(u32::from(s.flags & (SYN | FIN) != 0));
    if ns_since(s.ts, fwd.next_seq_at) < ooo_threshold_ns && fwd.next_seq != Some(occupied_end) {
        out.out_of_order = out.out_of_order.saturating_add(1);
        return;
    }
    out.retransmits = out.retransmits.saturating_add(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const L: bool = true;
    const R: bool = false;

    /// (from_local, ms, seq, ack, flags, window, len)
    type Seg = (bool, u64, u32, u32, u8, u16, u32);

    fn run(segs: &[Seg]) -> (TcpStats, Option<Duration>) {
        let mut a = TcpAnalyzer::default();
        let mut st = TcpStats::default();
        for &(from_local, ms, seq, ack, flags, window, len) in segs {
            let ts = Timestamp::from_nanos(ms * 1_000_000);
            a.on_segment(&Segment { from_local, ts, seq, ack, flags, window, len }, &mut st);
        }
        (st, a.initial_rtt())
    }

    const PA: u8 = 0x18;

    #[test]
    fn handshake_rtt_from_the_latest_syn() {
        let (st, rtt) = run(&[
            (L, 0, 100, 0, SYN, 1000, 0),
            (L, 1000, 100, 0, SYN, 1000, 0),
            (R, 1010, 500, 101, SYN | ACK, 1000, 0),
            (L, 1030, 101, 501, ACK, 1000, 0),
        ]);
        assert_eq!(rtt, Some(Duration::from_millis(30)));
        // The second SYN, a second later, is a retransmission.
        assert_eq!((st.tx.retransmits, st.tx.out_of_order), (1, 0));
        assert_eq!(st.tx.flag_letters().as_str(), "SA");
        assert_eq!(st.rx.flag_letters().as_str(), "SA");
    }

    #[test]
    fn dup_acks_then_fast_retransmit() {
        // tshark compares an ACK's sequence number with the next one the
        // sender is known to send: the SYN-ACK makes it known.
        let (st, _) = run(&[
            (R, 0, 0, 1, SYN | ACK, 100, 0),
            (L, 0, 1, 1, PA, 100, 100),
            (L, 1, 101, 1, PA, 100, 100),
            (L, 2, 201, 1, PA, 100, 100),
            (R, 50, 1, 101, ACK, 100, 0),
            (R, 51, 1, 101, ACK, 100, 0),
            (R, 52, 1, 101, ACK, 100, 0),
            (L, 53, 101, 1, PA, 100, 100),
        ]);
        assert_eq!(st.rx.dup_acks, 2);
        assert_eq!((st.tx.retransmits, st.tx.fast_retransmits, st.tx.out_of_order), (1, 1, 0));
    }

    #[test]
    fn out_of_order_within_the_threshold_and_zero_window() {
        let (st, _) = run(&[
            (L, 0, 1, 1, PA, 100, 100),
            (L, 100, 201, 1, PA, 100, 100),
            (L, 101, 101, 1, PA, 100, 100),
            (R, 150, 1, 301, ACK, 0, 0),
        ]);
        assert_eq!((st.tx.out_of_order, st.tx.retransmits), (1, 0));
        assert_eq!(st.rx.zero_window, 1);
    }

    #[test]
    fn acknowledged_data_again_is_spurious_not_out_of_order() {
        // 2 ms after the highest segment (under the 3 ms threshold), but the
        // receiver already acknowledged up to 201: a spurious retransmission.
        let (st, _) = run(&[
            (L, 0, 1, 1, PA, 100, 100),
            (L, 1, 101, 1, PA, 100, 100),
            (R, 2, 1, 201, ACK, 100, 0),
            (L, 3, 1, 1, PA, 100, 100),
        ]);
        assert_eq!((st.tx.retransmits, st.tx.out_of_order), (1, 0));
    }

    #[test]
    fn window_update_does_not_end_a_dup_ack_run() {
        // dup, window update (same ACK, new window), dup: two in a row for
        // the fast-retransmit rule, since the ACK number never changed.
        let (st, _) = run(&[
            (R, 0, 0, 1, SYN | ACK, 100, 0),
            (L, 0, 1, 1, PA, 100, 100),
            (L, 1, 101, 1, PA, 100, 100),
            (R, 50, 1, 101, ACK, 100, 0),
            (R, 51, 1, 101, ACK, 100, 0),
            (R, 52, 1, 101, ACK, 200, 0),
            (R, 53, 1, 101, ACK, 200, 0),
            (L, 54, 101, 1, PA, 100, 100),
        ]);
        assert_eq!(st.rx.dup_acks, 2);
        assert_eq!((st.tx.retransmits, st.tx.fast_retransmits, st.tx.out_of_order), (1, 1, 0));
    }

    #[test]
    fn fin_copy_soon_after_is_a_retransmission() {
        // The FIN segment again 1 ms later ends where the first one did
        // (FIN counts one), so it is a copy, not out of order.
        let (st, _) =
            run(&[(L, 0, 1, 1, PA, 100, 100), (L, 1, 101, 1, PA | FIN, 100, 10), (L, 2, 101, 1, PA | FIN, 100, 10)]);
        assert_eq!((st.tx.retransmits, st.tx.out_of_order), (1, 0));
    }

    #[test]
    fn smoothed_rtt_from_handshake_and_data() {
        let mut segs =
            vec![(L, 0, 100, 0, SYN, 1000, 0), (R, 10, 500, 101, SYN | ACK, 1000, 0), (L, 30, 101, 501, ACK, 1000, 0)];
        // The handshake times both directions: SYN -> SYN/ACK 10 ms, SYN/ACK -> ACK 20 ms.
        assert_eq!(run(&segs).0.smoothed_rtt, Some(Duration::from_millis(30)));
        // Data acknowledged 50 ms later: 10 - 10/8 + 50/8 = 15 ms, plus 20.
        segs.extend([(L, 100, 101, 501, PA, 1000, 100), (R, 150, 501, 201, ACK, 1000, 0)]);
        assert_eq!(run(&segs).0.smoothed_rtt, Some(Duration::from_millis(35)));
        // Karn: the segment sent again at 500 ms; its ACK is no sample.
        segs.extend([
            (L, 200, 201, 501, PA, 1000, 100),
            (L, 500, 201, 501, PA, 1000, 100),
            (R, 510, 501, 301, ACK, 1000, 0),
        ]);
        let (st, rtt) = run(&segs);
        assert_eq!(st.smoothed_rtt, Some(Duration::from_millis(35)));
        assert_eq!(rtt, Some(Duration::from_millis(30)), "the handshake RTT stays");
        // The next new segment is timed again: 15 - 15/8 + 40/8 = 18.125 ms.
        segs.extend([(L, 600, 301, 501, PA, 1000, 100), (R, 640, 501, 401, ACK, 1000, 0)]);
        assert_eq!(run(&segs).0.smoothed_rtt, Some(Duration::from_micros(38_125)));
    }

    #[test]
    fn keep_alive_is_not_a_retransmission() {
        let (st, _) = run(&[(L, 0, 1, 1, PA, 100, 100), (R, 10, 1, 101, ACK, 100, 0), (L, 5000, 100, 1, ACK, 100, 1)]);
        assert_eq!(st.tx, TcpDirStats { flags: PA, ..TcpDirStats::default() });
    }

    #[test]
    fn sequence_wraparound() {
        let top = u32::MAX - 49;
        let (st, _) = run(&[
            (L, 0, top, 1, PA, 100, 100),
            (L, 1, top.wrapping_add(100), 1, PA, 100, 100),
            (L, 2000, top, 1, PA, 100, 100),
        ]);
        assert_eq!((st.tx.retransmits, st.tx.out_of_order), (1, 0));
    }

    fn seg() -> impl Strategy<Value = Seg> {
        // Sequence numbers near the wrap point, anywhere, or repeated.
        let seq = prop_oneof![any::<u32>(), (u32::MAX - 3000)..=u32::MAX, 0u32..3000];
        (any::<bool>(), 0u64..5000, seq.clone(), seq, any::<u8>(), prop_oneof![Just(0u16), any::<u16>()], 0u32..3000)
    }

    proptest! {
        /// Absurd sequence numbers, wraparound, mid-stream pickup, duplicate
        /// SYNs, ACKs for unseen data: no panic, and every count is bounded
        /// by the segments of its direction.
        #[test]
        fn any_segments_are_safe_and_bounded(mut segs in proptest::collection::vec(seg(), 0..60)) {
            segs.sort_by_key(|s| s.1);
            let (st, rtt) = run(&segs);
            for (dir, from_local) in [(&st.tx, L), (&st.rx, R)] {
                let n = segs.iter().filter(|s| s.0 == from_local).count() as u32;
                prop_assert!(dir.retransmits + dir.out_of_order <= n);
                prop_assert!(dir.fast_retransmits <= dir.retransmits);
                prop_assert!(dir.dup_acks <= n && dir.zero_window <= n);
                let zero_len = segs.iter().filter(|s| s.0 == from_local && s.6 == 0).count() as u32;
                prop_assert!(dir.dup_acks <= zero_len);
            }
            if let Some(r) = rtt {
                prop_assert!(r <= Duration::from_secs(5));
            }
            // Each direction's smoothed time is an average of samples no
            // longer than the 5 s the segments span.
            if let Some(r) = st.smoothed_rtt {
                prop_assert!(r <= Duration::from_secs(10));
            }
        }
    }
}
