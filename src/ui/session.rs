//! The TUI over a capture file: packets replayed at file speed through the
//! pipeline, a snapshot published every refresh, then the final table kept on
//! screen for browsing until the user quits.

use super::UiConfig;
use crate::capture::file::{FileError, read_file};
use crate::pipeline::{Enrich, Pipeline, PipelineConfig};
use crate::snapshot::Snapshot;
use crate::source::{SourceEnd, warn_kernel_drops};
use crossbeam_channel::{Sender, bounded};
use rustnet_core::Timestamp;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Quiet stretches of a capture longer than this are skipped, not waited out
/// (some files span years between packets).
const MAX_GAP: Duration = Duration::from_secs(2);
/// How often the replay wakes while waiting for the next packet's time.
const NAP: Duration = Duration::from_millis(20);

/// Runs the TUI over `path`. Returns the process exit code.
pub fn run_file(
    path: &Path,
    cfg: &PipelineConfig,
    enrich: Arc<dyn Enrich>,
    ui: UiConfig,
    stop: Arc<AtomicBool>,
    tap: crate::capture::tap::Tap,
) -> anyhow::Result<i32> {
    // Fail before taking over the screen when the file cannot even be opened.
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    // Connections leaving the table are not needed by the TUI.
    let pipeline = Pipeline::start(cfg, enrich, None);
    let (snap_tx, snap_rx) = bounded::<Snapshot>(2);
    let refresh = ui.refresh;
    let source = path.display().to_string();
    let (ui_result, read) = std::thread::scope(|s| {
        let reader = s.spawn(|| replay(path, &pipeline, &source, refresh, &snap_tx, &stop, tap));
        let ui_result = super::run(ui, snap_rx, stop.clone());
        stop.store(true, Ordering::SeqCst);
        let read = reader.join().unwrap_or_else(|_| Err(FileError::Format("reader thread panicked".into())));
        (ui_result, read)
    });
    pipeline.join();
    ui_result?;
    Ok(SourceEnd::from(read).report())
}

/// Feeds the file at the pace of its timestamps, publishing snapshots; after
/// the last packet publishes a final one and waits for `stop` before flushing
/// the workers (which empties their tables).
fn replay(
    path: &Path,
    pipeline: &Pipeline,
    source: &str,
    refresh: Duration,
    snaps: &Sender<Snapshot>,
    stop: &AtomicBool,
    mut tap: crate::capture::tap::Tap,
) -> Result<u64, FileError> {
    let mut disp = pipeline.dispatcher(false);
    let mut clock = ReplayClock::default();
    let mut last_snap = Instant::now();
    let result = read_file(path, &mut |p| {
        while let Some(wait) = clock.wait_for(p.ts) {
            if stop.load(Ordering::Relaxed) {
                return false;
            }
            std::thread::sleep(wait.min(NAP));
            if last_snap.elapsed() >= refresh {
                disp.flush();
                disp.advance(clock.now());
                let _ = snaps.try_send(pipeline.snapshot(source, 0, false, clock.now()));
                last_snap = Instant::now();
            }
        }
        if tap.pass(p) {
            disp.push(p);
        }
        if last_snap.elapsed() >= refresh {
            disp.flush();
            let _ = snaps.try_send(pipeline.snapshot(source, 0, false, clock.now()));
            last_snap = Instant::now();
        }
        !stop.load(Ordering::Relaxed)
    });
    disp.flush();
    tap.flush();
    // Blocking send: the final table must reach the screen (fails only if the UI is gone).
    let _ = snaps.send(pipeline.snapshot(source, 0, true, disp.last_packet_time()));
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(NAP);
    }
    disp.finish();
    // After the UI has left the screen: finish may print warnings.
    tap.finish();
    result
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

/// Runs the TUI over a live capture until the user quits (or `duration`
/// passes, or a signal). Returns the process exit code.
pub fn run_live(
    cap: Box<dyn crate::capture::LiveSource>,
    cfg: &PipelineConfig,
    enrich: Arc<dyn Enrich>,
    ui: UiConfig,
    stop: Arc<AtomicBool>,
    duration: Option<Duration>,
    tap: crate::capture::tap::Tap,
) -> anyhow::Result<i32> {
    use crate::source::{SourceCounters, run_live};
    // Connections leaving the table are not needed by the TUI.
    let pipeline = Pipeline::start(cfg, enrich, None);
    let (snap_tx, snap_rx) = bounded::<Snapshot>(2);
    let refresh = ui.refresh;
    let source = cap.interface().to_string();
    let counters = Arc::new(SourceCounters::default());
    let disp = pipeline.dispatcher(true);
    let (ui_result, end) = std::thread::scope(|s| {
        let capture = s.spawn(|| run_live(cap, disp, stop.clone(), duration, counters.clone(), tap));
        // Publishes a snapshot every refresh until the capture ends.
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) && !capture_done(&counters) {
                let drops = counters.kernel_drops.load(Ordering::Relaxed);
                let _ = snap_tx.try_send(pipeline.snapshot(&source, drops, false, crate::pipeline::wall_clock()));
                std::thread::sleep(refresh);
            }
        });
        let ui_result = super::run(ui, snap_rx, stop.clone());
        stop.store(true, Ordering::SeqCst);
        let end = capture.join().unwrap_or(SourceEnd::Failed("capture thread panicked".into()));
        (ui_result, end)
    });
    pipeline.join();
    ui_result?;
    warn_kernel_drops(&counters);
    Ok(end.report())
}

fn capture_done(c: &crate::source::SourceCounters) -> bool {
    c.done.load(Ordering::Relaxed)
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
