//! Where a session's packets come from. Every source is listed here.

use super::{Sink, file, live, paced};
use crate::capture::LiveSource;
use crate::capture::file::{CaptureFile, FileError};
use crate::capture::tap::Tap;
use crate::cli::Cli;
use crate::host::process::hints::FlowHints;
use crate::pipeline::{Dispatcher, Pipeline};
use crate::snapshot::Snapshot;
use crossbeam_channel::Sender;
use live::SourceCounters;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// The sources: add a variant (and its module) for a new one.
pub enum Source {
    /// A live interface.
    Live {
        cap: Box<dyn LiveSource>,
        /// Early word of new outgoing flows, for the process lookup (taken by enrich).
        hints: Option<FlowHints>,
    },
    /// A capture file read as fast as it reads (headless), and its name.
    File(CaptureFile, String),
    /// A capture file replayed at the pace of its timestamps (for the screen).
    PacedFile(CaptureFile, String),
}

/// How the capture ended.
#[derive(Debug)]
pub enum SourceEnd {
    /// End of file, duration reached, or stopped.
    Done,
    /// The file was damaged after some good packets: they were processed
    /// (and their records written), and the exit status is 2, as tshark's.
    Damaged(FileError),
    /// Nothing could be read (not a capture file, I/O error).
    Failed(String),
    /// The capture thread panicked: a bug, reported as one (exit status 101,
    /// as a Rust panic).
    Panicked(String),
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
                eprintln!("rustnet: {e}");
                file::exit_code(&e)
            }
            SourceEnd::Failed(e) => {
                eprintln!("rustnet: {e}");
                1
            }
            SourceEnd::Panicked(what) => {
                eprintln!(
                    "rustnet: internal error: the capture thread panicked ({what}); this is a bug in rustnet, please report it"
                );
                101
            }
        }
    }

    /// How the capture thread ended: its result, or its panic as a bug.
    pub fn from_thread(r: std::thread::Result<SourceEnd>) -> SourceEnd {
        r.unwrap_or_else(|p| {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            SourceEnd::Panicked(what)
        })
    }
}

/// What a source needs while it feeds the pipeline on the capture thread.
pub struct Feed<'a> {
    pub stop: Arc<AtomicBool>,
    pub duration: Option<Duration>,
    pub counters: Arc<SourceCounters>,
    /// The screen, for a source that publishes its own snapshots; None headless.
    pub screen: Option<Screen<'a>>,
}

/// Where snapshots for the screen go, and how often.
#[derive(Clone, Copy)]
pub struct Screen<'a> {
    pub pipeline: &'a Pipeline,
    /// Interface name or file, as shown in the header.
    pub label: &'a str,
    pub refresh: Duration,
    pub snaps: &'a Sender<Snapshot>,
}

impl Source {
    /// Opens the source the command line names; with `--read`, a paced
    /// replay when the sink is the screen. Live capture sets `engine`'s local
    /// addresses and drops privileges once the socket is open.
    /// `Ok(Err(code))`: refused, the reason already printed.
    /// A file is opened once (`-` is standard input); waiting for its first
    /// bytes ends when `stop` is set.
    pub fn open(
        cli: &Cli,
        sink: Sink,
        engine: &mut rustnet_core::Config,
        stop: &Arc<AtomicBool>,
    ) -> anyhow::Result<Result<(Source, Tap), i32>> {
        let mut tap = Tap::default();
        let source = match &cli.read {
            Some(path) => {
                let (f, filter) = match file::open(path, cli.bpf_filter.as_deref(), stop) {
                    Ok(opened) => opened,
                    Err(code) => return Ok(Err(code)),
                };
                tap.filter = filter;
                let label = file::label(path);
                match sink {
                    Sink::Tui => Source::PacedFile(f, label),
                    Sink::Json => Source::File(f, label),
                }
            }
            None => match live::open(cli, engine)? {
                Ok((cap, hints, user_filter)) => {
                    tap.filter = user_filter;
                    Source::Live { cap, hints }
                }
                Err(code) => return Ok(Err(code)),
            },
        };
        Ok(Ok((source, tap)))
    }

    pub fn is_live(&self) -> bool {
        matches!(self, Source::Live { .. })
    }

    /// The interface name of a live source.
    pub fn interface(&self) -> Option<&str> {
        match self {
            Source::Live { cap, .. } => Some(cap.interface()),
            Source::File(..) | Source::PacedFile(..) => None,
        }
    }

    /// Interface name or file, as the screen shows it.
    pub fn label(&self) -> String {
        match self {
            Source::Live { cap, .. } => cap.interface().to_string(),
            Source::File(_, label) | Source::PacedFile(_, label) => label.clone(),
        }
    }

    /// Whether the source publishes the screen's snapshots itself (paced by
    /// its own clock); otherwise the sink publishes every refresh.
    pub fn publishes_itself(&self) -> bool {
        matches!(self, Source::PacedFile(..))
    }

    /// Feeds `disp` until the input ends, the duration passes, or a stop is
    /// requested; runs on the capture thread.
    pub fn feed(self, disp: Dispatcher, tap: Tap, feed: Feed<'_>) -> SourceEnd {
        match self {
            Source::Live { cap, .. } => live::run_live(cap, disp, feed.stop, feed.duration, feed.counters, tap),
            Source::File(f, _) => file::run_file(f, disp, feed.stop, tap, &feed.counters),
            Source::PacedFile(f, _) => match feed.screen {
                Some(screen) => paced::replay(f, disp, &screen, &feed.stop, tap, &feed.counters).into(),
                // No screen to pace for: read at full speed.
                None => file::run_file(f, disp, feed.stop, tap, &feed.counters),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capture_thread_panic_is_reported_as_a_bug() {
        let r = std::thread::spawn(|| -> SourceEnd { panic!("index out of bounds") }).join();
        let end = SourceEnd::from_thread(r);
        assert!(matches!(&end, SourceEnd::Panicked(m) if m == "index out of bounds"), "{end:?}");
        assert_eq!(end.report(), 101);
    }

    #[test]
    fn a_damaged_file_exits_2() {
        let e = FileError::Corrupt { packets: 3, offset: 100, reason: "truncated record (1 of 2 bytes)".into() };
        assert_eq!(SourceEnd::from(Err(e)).report(), 2);
        assert_eq!(SourceEnd::from(Ok(7)).report(), 0);
    }
}
