//! A capture file read as fast as it reads (the headless replay).

use super::SourceEnd;
use super::live::SourceCounters;
use crate::capture::Packet;
use crate::capture::bpf::UserFilter;
use crate::capture::file::{CaptureFile, FileError, Sink};
use crate::capture::open::file_filter;
use crate::capture::tap::Tap;
use crate::pipeline::Dispatcher;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Opens `path` (`-`: standard input) once, and the user-space capture
/// filter for it (`-f` on a file), compiled for the link type the file
/// declares first. `Err(code)`: refused, the reason already printed.
pub fn open(path: &Path, expr: Option<&str>, stop: &Arc<AtomicBool>) -> Result<(CaptureFile, Option<UserFilter>), i32> {
    let mut file = match CaptureFile::open(path, stop.clone()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("rustnet: {}: {e}", label(path));
            return Err(exit_code(&e));
        }
    };
    let Some(expr) = expr else { return Ok((file, None)) };
    match file_filter(file.first_link(), expr) {
        Ok(f) => Ok((file, Some(f))),
        Err(e) => {
            eprintln!("rustnet: {e}");
            Err(e.exit_code())
        }
    }
}

/// The file as messages and the screen name it (`-` is standard input).
pub fn label(path: &Path) -> String {
    if path.as_os_str() == "-" { "standard input".into() } else { path.display().to_string() }
}

/// The exit status for a file that could not be read to its end: 2 when it
/// is damaged (as tshark), 1 when it could not be opened or is not a capture.
pub fn exit_code(e: &FileError) -> i32 {
    match e {
        FileError::Corrupt { .. } => 2,
        FileError::Open(_) | FileError::NotCapture(_) | FileError::Format(_) => 1,
    }
}

/// Replays a capture file as fast as it reads.
pub fn run_file(
    file: CaptureFile,
    disp: Dispatcher,
    stop: Arc<AtomicBool>,
    mut tap: Tap,
    counters: &SourceCounters,
) -> SourceEnd {
    let mut feed = Feed { disp, tap: &mut tap, stop: &stop };
    let r = file.read_into(&mut feed);
    feed.disp.finish();
    counters.export_drops.store(tap.finish(), Ordering::Relaxed);
    r.into()
}

/// The file's packets into the pipeline.
struct Feed<'a> {
    disp: Dispatcher,
    tap: &'a mut Tap,
    stop: &'a AtomicBool,
}

impl Sink for Feed<'_> {
    fn packet(&mut self, p: &Packet<'_>) -> bool {
        if self.tap.pass(p) {
            self.disp.push(p);
        }
        !self.stop.load(Ordering::Relaxed)
    }

    /// A stream that pauses (`tcpdump -w - | rustnet --read -`): the
    /// partial batches go to the workers now, not when more packets come,
    /// and every worker's clock moves to the latest packet's time, so flows
    /// that time has expired end even on a worker that got no packet.
    fn idle(&mut self) {
        self.disp.flush();
        self.disp.advance(self.disp.last_packet_time());
        self.tap.flush();
    }
}
