//! Runs a packet source on the capture thread, feeding the dispatcher until
//! the input ends, the duration passes, or a stop is requested.

use crate::capture::LiveSource;
use crate::capture::file::{FileError, read_file};
use crate::capture::tap::Tap;
use crate::pipeline::Dispatcher;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How the capture ended.
#[derive(Debug)]
pub enum SourceEnd {
    /// End of file, duration reached, or stopped.
    Done,
    /// The file was damaged after some good packets (a warning, not fatal).
    Damaged(FileError),
    /// Nothing could be read (not a capture file, I/O error).
    Failed(String),
}

impl From<Result<u64, FileError>> for SourceEnd {
    /// How reading a capture file ended.
    fn from(r: Result<u64, FileError>) -> Self {
        match r {
            Ok(_) => SourceEnd::Done,
            Err(e @ FileError::Corrupt { .. }) => SourceEnd::Damaged(e),
            Err(e) => SourceEnd::Failed(e.to_string()),
        }
    }
}

impl SourceEnd {
    /// Tells the user how the capture ended (on stderr); returns the exit code.
    pub fn report(self) -> i32 {
        match self {
            SourceEnd::Done => 0,
            SourceEnd::Damaged(e) => {
                eprintln!("rustnet: warning: {e}");
                0
            }
            SourceEnd::Failed(e) => {
                eprintln!("rustnet: {e}");
                1
            }
        }
    }
}

/// Warns on stderr if the kernel dropped packets.
pub fn warn_kernel_drops(counters: &SourceCounters) {
    let drops = counters.kernel_drops.load(Ordering::Relaxed);
    if drops > 0 {
        eprintln!("rustnet: warning: the kernel dropped {drops} packets (capture ring full)");
    }
}

/// Counters the capture side shares with the UI.
#[derive(Debug, Default)]
pub struct SourceCounters {
    pub kernel_drops: AtomicU64,
    /// Set when the capture has ended (duration, error or stop).
    pub done: AtomicBool,
}

const POLL: Duration = Duration::from_millis(100);
/// How often the kernel's drop counter is read for the UI.
const STATS_EVERY: Duration = Duration::from_millis(250);

/// Replays a capture file as fast as it reads.
pub fn run_file(path: PathBuf, mut disp: Dispatcher, stop: Arc<AtomicBool>, mut tap: Tap) -> SourceEnd {
    let r = read_file(&path, &mut |p| {
        if tap.pass(p) {
            disp.push(p);
        }
        !stop.load(Ordering::Relaxed)
    });
    disp.finish();
    tap.finish();
    r.into()
}

/// Captures live until `stop` or `duration`.
pub fn run_live(
    mut cap: Box<dyn LiveSource>,
    mut disp: Dispatcher,
    stop: Arc<AtomicBool>,
    duration: Option<Duration>,
    counters: Arc<SourceCounters>,
    mut tap: Tap,
) -> SourceEnd {
    let start = Instant::now();
    let mut last_stats = Instant::now();
    let mut end = SourceEnd::Done;
    while !stop.load(Ordering::Relaxed) && duration.is_none_or(|d| start.elapsed() < d) {
        let wait = duration.map_or(POLL, |d| d.saturating_sub(start.elapsed()).min(POLL));
        let pushed = cap.poll(wait, &mut |p| {
            if tap.pass(p) {
                disp.push(p)
            }
        });
        if let Err(e) = pushed {
            log::error!("capture on {} failed: {e}", cap.interface());
            end = SourceEnd::Failed(format!("capture on {} failed: {e}", cap.interface()));
            break;
        }
        disp.flush();
        tap.flush();
        // Workers move their own clocks (at their engines' deadlines).
        if last_stats.elapsed() >= STATS_EVERY {
            last_stats = Instant::now();
            let k = cap.stats();
            counters.kernel_drops.store(k.drops, Ordering::Relaxed);
        }
    }
    let k = cap.stats();
    counters.kernel_drops.store(k.drops, Ordering::Relaxed);
    if k.drops > 0 {
        log::warn!("kernel dropped {} of {} packets", k.drops, k.packets);
    }
    disp.finish();
    tap.finish();
    counters.done.store(true, Ordering::Relaxed);
    end
}
