//! What the Graph tab plots: one sample per refresh, in a bounded ring.

use rustnet_core::Timestamp;
use std::collections::VecDeque;

/// Samples kept: 10 minutes at the default 1 s refresh.
pub const SAMPLES: usize = 600;

/// One refresh's figures, per second.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sample {
    /// Packet time of the snapshot.
    pub at: Timestamp,
    /// Bytes per second received / sent (the connections' rates added).
    pub rx: f64,
    pub tx: f64,
    /// Packets per second (engine counter, between snapshots).
    pub packets: f64,
    /// TCP segments retransmitted per second (open and ended connections).
    pub retrans: f64,
    /// Packets dropped per second (kernel ring and internal queues).
    pub drops: f64,
}

/// Cumulative counters at one snapshot, to turn the next into rates.
#[derive(Clone, Copy, Debug, Default)]
pub struct Totals {
    pub at: Timestamp,
    pub packets: u64,
    pub retrans: u64,
    pub drops: u64,
}

#[derive(Debug, Default)]
pub struct Samples {
    ring: VecDeque<Sample>,
    last: Option<Totals>,
}

impl Samples {
    /// Adds a sample: `rx`/`tx` rates now, and rates of the counters since
    /// the previous call. The first call only remembers the counters.
    pub fn push(&mut self, rx: f64, tx: f64, t: Totals) {
        let prev = self.last.replace(t);
        let Some(p) = prev else {
            self.add(Sample { at: t.at, rx, tx, ..Default::default() });
            return;
        };
        let dt = t.at.since(p.at).as_secs_f64();
        if dt <= 0.0 {
            // The same packet time (a paused replay): no new point.
            return;
        }
        let per_s = |a: u64, b: u64| a.saturating_sub(b) as f64 / dt;
        self.add(Sample {
            at: t.at,
            rx,
            tx,
            packets: per_s(t.packets, p.packets),
            retrans: per_s(t.retrans, p.retrans),
            drops: per_s(t.drops, p.drops),
        });
    }

    fn add(&mut self, s: Sample) {
        if self.ring.len() == SAMPLES {
            self.ring.pop_front();
        }
        self.ring.push_back(s);
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Sample> + ExactSizeIterator {
        self.ring.iter()
    }

    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn last(&self) -> Option<&Sample> {
        self.ring.back()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rates_between_snapshots_and_bounded() {
        let t0 = Timestamp::from_secs_nanos(1_000, 0);
        let mut s = Samples::default();
        s.push(1.0, 2.0, Totals { at: t0, packets: 100, retrans: 5, drops: 0 });
        let at = t0 + Duration::from_secs(2);
        s.push(3.0, 4.0, Totals { at, packets: 300, retrans: 9, drops: 6 });
        let last = *s.last().expect("two samples");
        assert_eq!(last, Sample { at, rx: 3.0, tx: 4.0, packets: 100.0, retrans: 2.0, drops: 3.0 });
        // Same time again: no point.
        s.push(3.0, 4.0, Totals { at, packets: 300, retrans: 9, drops: 6 });
        assert_eq!(s.len(), 2);
        for i in 0..2 * SAMPLES as u64 {
            s.push(0.0, 0.0, Totals { at: at + Duration::from_secs(i + 1), ..Default::default() });
        }
        assert_eq!(s.len(), SAMPLES, "bounded");
    }
}
