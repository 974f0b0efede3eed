//! Snapshots for the screen from a source that does not publish its own
//! (live capture): one every refresh until the capture ends.

use super::live::SourceCounters;
use super::source::Screen;
use std::sync::atomic::{AtomicBool, Ordering};

/// Publishes a snapshot every refresh until `stop` or the capture's end;
/// one the UI has not taken yet is replaced (latest wins).
pub fn every_refresh(screen: &Screen<'_>, stop: &AtomicBool, counters: &SourceCounters) {
    while !stop.load(Ordering::Relaxed) && !counters.done.load(Ordering::Relaxed) {
        let drops = counters.kernel_drops.load(Ordering::Relaxed);
        let _ =
            screen.snaps.try_send(screen.pipeline.snapshot(screen.label, drops, false, crate::pipeline::wall_clock()));
        std::thread::sleep(screen.refresh);
    }
}
