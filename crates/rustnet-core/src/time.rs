//! Packet time: nanoseconds since the Unix epoch, from capture timestamps.

use std::ops::{Add, Sub};
use std::time::Duration;

/// A point in packet time: nanoseconds since the Unix epoch (UTC).
///
/// The count is private so that every value is built through a constructor
/// that says its unit; arithmetic with [`Duration`] saturates instead of
/// wrapping, so a bad capture timestamp cannot panic or wrap the clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The Unix epoch itself; also the engine's clock before its first packet.
    pub const ZERO: Timestamp = Timestamp(0);

    /// The latest representable instant; arithmetic saturates here, so it
    /// also serves as "never" (e.g. no deadline pending).
    pub const MAX: Timestamp = Timestamp(u64::MAX);

    /// The instant `ns` nanoseconds after the Unix epoch.
    pub const fn from_nanos(ns: u64) -> Self {
        Timestamp(ns)
    }

    /// The instant `secs` seconds plus `nanos` nanoseconds after the Unix
    /// epoch, saturating at the largest representable instant (year 2554).
    pub const fn from_secs_nanos(secs: u64, nanos: u32) -> Self {
        // `u64::from` is not const; `as` widens u32 -> u64 losslessly.
        Timestamp(secs.saturating_mul(1_000_000_000).saturating_add(nanos as u64))
    }

    /// Nanoseconds since the Unix epoch.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Seconds since the Unix epoch, with a fractional part (for display and
    /// rates; an f64 keeps sub-microsecond precision for present-day dates).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Time since `earlier`, zero if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)))
    }
}

impl Sub<Duration> for Timestamp {
    type Output = Timestamp;
    fn sub(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_sub(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)))
    }
}

#[cfg(test)]
mod tests {
    use super::Timestamp;
    use std::time::Duration;

    #[test]
    fn constructors_agree_and_saturate() {
        const T: Timestamp = Timestamp::from_secs_nanos(2, 5);
        assert_eq!(T, Timestamp::from_nanos(2_000_000_005));
        assert_eq!(T.as_nanos(), 2_000_000_005);
        assert_eq!(Timestamp::from_secs_nanos(u64::MAX, 0).as_nanos(), u64::MAX);
        assert_eq!(T - Duration::from_secs(3), Timestamp::ZERO);
        assert_eq!(Timestamp::MAX + Duration::from_secs(1), Timestamp::MAX);
        assert_eq!(Timestamp::ZERO.since(T), Duration::ZERO);
    }
}
