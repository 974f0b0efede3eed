//! Where a session's packets come from. Every source is listed here.

use super::{Sink, file, live, paced};
use crate::capture::LiveSource;
use crate::capture::file::FileError;
use crate::capture::tap::Tap;
use crate::cli::Cli;
use crate::host::process::hints::FlowHints;
use crate::pipeline::{Dispatcher, Pipeline};
use crate::snapshot::Snapshot;
use crossbeam_channel::Sender;
use live::SourceCounters;
use std::path::PathBuf;
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
    /// A capture file read as fast as it reads (headless).
    File(PathBuf),
    /// A capture file replayed at the pace of its timestamps (for the screen).
    PacedFile(PathBuf),
}

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
    pub fn open(
        cli: &Cli,
        sink: Sink,
        engine: &mut rustnet_core::Config,
    ) -> anyhow::Result<Result<(Source, Tap), i32>> {
        let mut tap = Tap::default();
        let source = match &cli.read {
            Some(path) => {
                match file::filter(path, cli.bpf_filter.as_deref()) {
                    Ok(f) => tap.filter = f,
                    Err(code) => return Ok(Err(code)),
                }
                match sink {
                    Sink::Tui => Source::PacedFile(path.clone()),
                    Sink::Json => Source::File(path.clone()),
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
            Source::File(_) | Source::PacedFile(_) => None,
        }
    }

    /// Interface name or file, as the screen shows it.
    pub fn label(&self) -> String {
        match self {
            Source::Live { cap, .. } => cap.interface().to_string(),
            Source::File(p) | Source::PacedFile(p) => p.display().to_string(),
        }
    }

    /// Whether the source publishes the screen's snapshots itself (paced by
    /// its own clock); otherwise the sink publishes every refresh.
    pub fn publishes_itself(&self) -> bool {
        matches!(self, Source::PacedFile(_))
    }

    /// Fails early, before the screen is taken, when the input cannot even be read.
    pub fn check(&self) -> anyhow::Result<()> {
        match self {
            Source::PacedFile(p) => paced::check(p),
            Source::Live { .. } | Source::File(_) => Ok(()),
        }
    }

    /// Feeds `disp` until the input ends, the duration passes, or a stop is
    /// requested; runs on the capture thread.
    pub fn feed(self, disp: Dispatcher, tap: Tap, feed: Feed<'_>) -> SourceEnd {
        match self {
            Source::Live { cap, .. } => live::run_live(cap, disp, feed.stop, feed.duration, feed.counters, tap),
            Source::File(path) => file::run_file(path, disp, feed.stop, tap, &feed.counters),
            Source::PacedFile(path) => match feed.screen {
                Some(screen) => paced::replay(&path, disp, &screen, &feed.stop, tap, &feed.counters).into(),
                // No screen to pace for: read at full speed.
                None => file::run_file(path, disp, feed.stop, tap, &feed.counters),
            },
        }
    }
}
