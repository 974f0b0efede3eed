//! A capture file read as fast as it reads (the headless replay).

use super::SourceEnd;
use super::live::SourceCounters;
use crate::capture::bpf::UserFilter;
use crate::capture::file::read_file;
use crate::capture::open::file_filter;
use crate::capture::tap::Tap;
use crate::pipeline::Dispatcher;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The user-space capture filter for `path` (`-f` on a file). `Err(code)`:
/// refused, the reason already printed.
pub fn filter(path: &Path, expr: Option<&str>) -> Result<Option<UserFilter>, i32> {
    let Some(expr) = expr else { return Ok(None) };
    match file_filter(path, expr) {
        Ok(f) => Ok(Some(f)),
        Err(e) => {
            eprintln!("rustnet: {e}");
            Err(e.exit_code())
        }
    }
}

/// Replays a capture file as fast as it reads.
pub fn run_file(
    path: PathBuf,
    mut disp: Dispatcher,
    stop: Arc<AtomicBool>,
    mut tap: Tap,
    counters: &SourceCounters,
) -> SourceEnd {
    let r = read_file(&path, &mut |p| {
        if tap.pass(p) {
            disp.push(p);
        }
        !stop.load(Ordering::Relaxed)
    });
    disp.finish();
    counters.export_drops.store(tap.finish(), Ordering::Relaxed);
    r.into()
}
