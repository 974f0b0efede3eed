//! A capture file for the screen: packets replayed at the pace of their
//! timestamps through the pipeline, a snapshot published every refresh, then
//! the final table kept on screen for browsing until the user quits.

use super::live::SourceCounters;
use super::source::Screen;
use crate::capture::Packet;
use crate::capture::file::{CaptureFile, FileError, Sink};
use crate::pipeline::Dispatcher;
use rustnet_core::Timestamp;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Quiet stretches of a capture longer than this are skipped, not waited out
/// (some files span years between packets).
const MAX_GAP: Duration = Duration::from_secs(2);
/// How often the replay wakes while waiting for the next packet's time.
const NAP: Duration = Duration::from_millis(20);

/// Feeds the file at the pace of its timestamps, publishing snapshots; after
/// the last packet publishes a final one, then flushes the workers: the
/// connections they held back (closed TCP ones lingering for late packets)
/// reach the screen's history with the rest, so every connection of the
/// file is listed. Then waits for `stop`.
pub fn replay(
    file: CaptureFile,
    disp: Dispatcher,
    screen: &Screen<'_>,
    stop: &AtomicBool,
    tap: crate::capture::tap::Tap,
    counters: &SourceCounters,
) -> Result<u64, FileError> {
    let mut feed = Paced { disp, tap, screen, stop, clock: ReplayClock::default(), last_snap: Instant::now() };
    let result = file.read_into(&mut feed);
    let Paced { mut disp, mut tap, .. } = feed;
    let Screen { pipeline, label: source, snaps, .. } = *screen;
    disp.flush();
    tap.flush();
    // Blocking send: the final table must reach the screen (fails only if the UI is gone).
    let _ = snaps.send(pipeline.snapshot(source, 0, true, disp.last_packet_time()));
    disp.finish();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(NAP);
    }
    // After the UI has left the screen: finish may print warnings.
    counters.export_drops.store(tap.finish(), Ordering::Relaxed);
    result
}

/// The file's packets into the pipeline at their pace, with snapshots.
struct Paced<'a, 's> {
    disp: Dispatcher,
    tap: crate::capture::tap::Tap,
    screen: &'a Screen<'s>,
    stop: &'a AtomicBool,
    clock: ReplayClock,
    last_snap: Instant,
}

/// Whether a snapshot first moves the workers' clocks to its time (while
/// the replay waits out a quiet stretch), or leaves them at their packets'.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Clocks {
    Advance,
    AsPackets,
}

impl Paced<'_, '_> {
    /// Hands the workers what is queued (moving their clocks to `now` if
    /// asked) and publishes a snapshot at `now` (packet time).
    fn publish(&mut self, now: Timestamp, clocks: Clocks) {
        let s = self.screen;
        self.disp.flush();
        if clocks == Clocks::Advance {
            self.disp.advance(now);
        }
        let _ = s.snaps.try_send(s.pipeline.snapshot(s.label, 0, false, now));
        self.last_snap = Instant::now();
    }
}

impl Sink for Paced<'_, '_> {
    fn packet(&mut self, p: &Packet<'_>) -> bool {
        while let Some(wait) = self.clock.wait_for(p.ts) {
            if self.stop.load(Ordering::Relaxed) {
                return false;
            }
            std::thread::sleep(wait.min(NAP));
            if self.last_snap.elapsed() >= self.screen.refresh {
                self.publish(self.clock.now(), Clocks::Advance);
            }
        }
        if self.tap.pass(p) {
            self.disp.push(p);
        }
        if self.last_snap.elapsed() >= self.screen.refresh {
            self.publish(self.clock.now(), Clocks::AsPackets);
        }
        !self.stop.load(Ordering::Relaxed)
    }

    /// A stream that pauses: what came so far is shown now, not when the
    /// next packet comes.
    fn idle(&mut self) {
        self.tap.flush();
        self.publish(self.clock.now(), Clocks::AsPackets);
    }
}

/// Maps packet time to wall time: the first packet plays now, each next one
/// after the same delay as in the file, with long gaps cut to `MAX_GAP`.
#[derive(Default)]
struct ReplayClock {
    /// (wall time, packet time) of the reference point.
    base: Option<(Instant, Timestamp)>,
}

impl ReplayClock {
    /// How long to wait before playing a packet of time `ts`, or None if due.
    fn wait_for(&mut self, ts: Timestamp) -> Option<Duration> {
        let Some((wall, t0)) = self.base else {
            self.base = Some((Instant::now(), ts));
            return None;
        };
        let due = ts.since(t0);
        let played = wall.elapsed();
        if due <= played {
            return None;
        }
        if due - played > MAX_GAP {
            // Skip the quiet stretch: rebase so this packet plays now.
            self.base = Some((Instant::now(), ts));
            return None;
        }
        Some(due - played)
    }

    /// Packet time that corresponds to the present.
    fn now(&self) -> Timestamp {
        self.base.map_or(Timestamp::ZERO, |(wall, t0)| t0 + wall.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_clock_paces_and_skips_long_gaps() {
        let mut c = ReplayClock::default();
        let t0 = Timestamp::from_secs_nanos(1_000, 0);
        assert_eq!(c.wait_for(t0), None, "first packet plays at once");
        let w = c.wait_for(t0 + Duration::from_millis(500)).expect("half a second ahead");
        assert!(w > Duration::from_millis(400) && w <= Duration::from_millis(500), "{w:?}");
        // Ten years later: played at once, and the clock rebased on it.
        let later = t0 + Duration::from_secs(10 * 365 * 86400);
        assert_eq!(c.wait_for(later), None);
        assert!(c.now() >= later);
        assert_eq!(c.wait_for(later), None);
    }
}
