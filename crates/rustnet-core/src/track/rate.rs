//! Current throughput per direction over a short sliding window.

use crate::time::Timestamp;

const SLOT_NS: u64 = 250_000_000;
const SLOTS: usize = 8;
/// Window length in seconds (SLOTS × 250 ms).
const WINDOW_SECS: f64 = 2.0;

/// Bytes per 250 ms slot over the last 2 s, both directions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RateMeter {
    newest: u64,
    tx: [u32; SLOTS],
    rx: [u32; SLOTS],
}

impl RateMeter {
    /// Counts `bytes` (wire length) at packet time `ts`: sent by the local
    /// end when `tx`, received otherwise. Packets older than the window
    /// (out-of-order capture) are ignored.
    pub fn add(&mut self, ts: Timestamp, tx: bool, bytes: u32) {
        let slot = ts.as_nanos() / SLOT_NS;
        if slot > self.newest {
            let gap = (slot - self.newest).min(SLOTS as u64);
            for s in 1..=gap {
                let i = ((self.newest + s) % SLOTS as u64) as usize;
                self.tx[i] = 0;
                self.rx[i] = 0;
            }
            self.newest = slot;
        } else if self.newest - slot >= SLOTS as u64 {
            return; // older than the window (out-of-order capture)
        }
        let i = (slot % SLOTS as u64) as usize;
        let c = if tx { &mut self.tx[i] } else { &mut self.rx[i] };
        *c = c.saturating_add(bytes);
    }

    /// (tx, rx) in bytes per second as of `now`.
    pub fn rates(&self, now: Timestamp) -> (f64, f64) {
        let now_slot = now.as_nanos() / SLOT_NS;
        let mut sums = (0u64, 0u64);
        for back in 0..SLOTS as u64 {
            let Some(slot) = self.newest.checked_sub(back) else {
                break;
            };
            if now_slot.saturating_sub(slot) >= SLOTS as u64 {
                break;
            }
            let i = (slot % SLOTS as u64) as usize;
            sums.0 += u64::from(self.tx[i]);
            sums.1 += u64::from(self.rx[i]);
        }
        (sums.0 as f64 / WINDOW_SECS, sums.1 as f64 / WINDOW_SECS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_stream_and_decay() {
        let mut r = RateMeter::default();
        let t0 = 1_700_000_000_000_000_000u64;
        // 1000 bytes every 100 ms for 3 s: 10 kB/s.
        for i in 0..30 {
            r.add(Timestamp::from_nanos(t0 + i * 100_000_000), true, 1000);
        }
        let now = Timestamp::from_nanos(t0 + 2_999_000_000);
        let (tx, rx) = r.rates(now);
        assert!((9_000.0..=11_000.0).contains(&tx), "{tx}");
        assert_eq!(rx, 0.0);
        assert_eq!(r.rates(Timestamp::from_nanos(t0 + 10_000_000_000)), (0.0, 0.0));
    }
}
