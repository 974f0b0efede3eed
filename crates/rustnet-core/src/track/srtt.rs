//! Smoothed round-trip time from data/ACK pairs, for the live view (the
//! JSON `rtt` stays the handshake's).
//!
//! Each direction times one segment at a time, as classic TCP does (RFC
//! 6298 section 3): a segment that takes new sequence space starts a timer
//! when none runs, the other side's first ACK that covers it ends it. Karn's
//! rule: a segment that does not take new space (a retransmission, or a
//! reordering we cannot tell from one) cancels the running timer, so no
//! sample ever comes from an ambiguous ACK. Samples are smoothed as RFC 6298
//! section 2 does SRTT: the first sample is taken as is, later ones as
//! SRTT = 7/8 SRTT + 1/8 R. (RTTVAR is not kept: nothing shows an RTO.)
//!
//! One direction's samples time the path from the capture point to that
//! direction's receiver and back; the connection's RTT at the capture point
//! is the sum of both directions' (as the handshake's is SYN → SYN/ACK plus
//! SYN/ACK → ACK; the handshake itself gives each direction its first sample).

use super::analysis::seq_lt;
use crate::time::Timestamp;
use std::time::Duration;

/// One direction's timer and smoothed time (24 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RttLeg {
    /// When the timed segment was seen (valid while `timing`).
    timed_at: Timestamp,
    /// Smoothed time in nanoseconds (valid once `sampled`).
    srtt_ns: u64,
    /// Sequence number just past the timed segment.
    timed_end: u32,
    timing: bool,
    sampled: bool,
}

impl RttLeg {
    /// A segment of this direction that occupies sequence space up to `end`
    /// (exclusive); `new` when it starts at or past the highest sequence
    /// number sent so far.
    pub(crate) fn on_sent(&mut self, end: u32, new: bool, ts: Timestamp) {
        if !new {
            // Karn: once a range is sent twice, no ACK tells which copy it answers.
            self.timing = false;
        } else if !self.timing {
            self.timing = true;
            self.timed_end = end;
            self.timed_at = ts;
        }
    }

    /// An acknowledgment number from the other direction; true when it
    /// completed a sample.
    pub(crate) fn on_ack(&mut self, ack: u32, ts: Timestamp) -> bool {
        if !self.timing || seq_lt(ack, self.timed_end) {
            return false;
        }
        self.timing = false;
        // Nanoseconds straight from the stamps (a Duration would go through u128).
        let r = ts.as_nanos().saturating_sub(self.timed_at.as_nanos());
        self.srtt_ns = if self.sampled { (self.srtt_ns - self.srtt_ns / 8).saturating_add(r / 8) } else { r };
        self.sampled = true;
        true
    }

    /// The smoothed time, once there was a sample.
    pub(crate) fn srtt(&self) -> Option<Duration> {
        self.sampled.then(|| Duration::from_nanos(self.srtt_ns))
    }
}

/// The connection's smoothed RTT at the capture point: both directions'
/// smoothed times added, once both have one.
pub(crate) fn combined(a: &RttLeg, b: &RttLeg) -> Option<Duration> {
    Some(a.srtt()?.saturating_add(b.srtt()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Timestamp {
        Timestamp::from_nanos(v * 1_000_000)
    }

    #[test]
    fn first_sample_then_seven_eighths_smoothing() {
        let mut l = RttLeg::default();
        l.on_sent(101, true, ms(0));
        assert!(!l.on_ack(100, ms(10)), "an ACK short of the timed segment's end");
        assert!(l.on_ack(101, ms(40)));
        assert_eq!(l.srtt(), Some(Duration::from_millis(40)));
        // Second sample 80 ms: 40 - 40/8 + 80/8 = 45 ms.
        l.on_sent(201, true, ms(100));
        assert!(l.on_ack(250, ms(180)));
        assert_eq!(l.srtt(), Some(Duration::from_millis(45)));
        // Third 13 ms: 45 - 5.625 + 1.625 = 41 ms.
        l.on_sent(301, true, ms(200));
        l.on_sent(401, true, ms(201)); // a second segment while one is timed: not timed
        assert!(l.on_ack(301, ms(213)));
        assert!(!l.on_ack(401, ms(214)), "one timer at a time");
        assert_eq!(l.srtt(), Some(Duration::from_millis(41)));
    }

    #[test]
    fn karn_no_sample_across_a_retransmission() {
        let mut l = RttLeg::default();
        l.on_sent(101, true, ms(0));
        l.on_sent(101, false, ms(300)); // the same segment again
        assert!(!l.on_ack(101, ms(320)));
        assert_eq!(l.srtt(), None);
        // The next new segment is timed again.
        l.on_sent(201, true, ms(400));
        assert!(l.on_ack(201, ms(420)));
        assert_eq!(l.srtt(), Some(Duration::from_millis(20)));
    }

    #[test]
    fn wraparound_and_combined() {
        let mut a = RttLeg::default();
        let mut b = RttLeg::default();
        a.on_sent(5, true, ms(0)); // the segment ends past the wrap point
        assert!(!a.on_ack(u32::MAX - 10, ms(3)));
        assert!(a.on_ack(5, ms(12)));
        assert_eq!(combined(&a, &b), None, "one direction alone is half the path");
        b.on_sent(1, true, ms(12));
        assert!(b.on_ack(1, ms(20)));
        assert_eq!(combined(&a, &b), Some(Duration::from_millis(20)));
    }

    #[test]
    fn absurd_times_saturate() {
        let mut l = RttLeg::default();
        l.on_sent(1, true, Timestamp::ZERO);
        assert!(l.on_ack(1, Timestamp::MAX));
        l.on_sent(2, true, Timestamp::ZERO);
        assert!(l.on_ack(2, Timestamp::MAX));
        assert!(l.srtt().is_some());
        // A reply "before" the segment (timestamps going back) is 0, not a wrap.
        let mut m = RttLeg::default();
        m.on_sent(1, true, ms(10));
        assert!(m.on_ack(1, ms(5)));
        assert_eq!(m.srtt(), Some(Duration::ZERO));
    }
}
